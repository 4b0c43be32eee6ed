// The native batch-1 step (src/kernels/native/step.c) against the float64 model path: every
// cell kind, one and two layers, sizes that leave partial panels and vector tails, a
// conditioned (tagged) model, prime then steps; the tempered exps and their sum; 1 and 2
// threads (every product split) bit-identical; damaged weights give NaN; the errors a
// caller can cause. Skipped without the addon.
import { describe, expect, it } from 'vitest';
import { createNativeKernels, loadNative } from '../../src/kernels/native/index.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { Stepper, Vec } from '../../src/kernels/types.js';
import { CELL_KINDS, type CellKind } from '../../src/nn/layer.js';
import { Model, type ModelConfig } from '../../src/nn/model.js';
import { StateStream } from '../../src/sample/stream.js';
import { Rng } from '../../src/util/rng.js';

const addon = loadNative().addon;
const isas = addon ? addon.supported() : [];

/** A float32 model on `k` and a float64 reference model holding the same (float32) weights. */
function twin(cfg: ModelConfig, seed: number, k = createNativeKernels({ threads: 1 })!) {
  const native = new Model(k, cfg);
  native.init(new Rng(seed));
  // spread the recurrent weights a little beyond the init so the gates leave their linear range
  const rng = new Rng(seed + 1);
  for (let i = 0; i < native.params.length; i++) native.params[i] *= rng.uniform(0.5, 2.5);
  const ref = new Model(new ReferenceKernels('f64'), cfg);
  ref.params.set(native.params);
  return { native, ref };
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, abs: number, rel: number, what: string): void {
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const r = Math.abs(got[i] - want[i]) / (abs + rel * Math.abs(want[i]));
    if (!(r <= worst)) {
      worst = r;
      at = i;
    }
  }
  if (worst > 1) expect.fail(`${what}: element ${at} is ${got[at]}, the reference ${want[at]} (${worst.toFixed(2)}x the tolerance)`);
}

/** Runs the prime then `steps` ids through both; compares logits, exps and state at every step. */
function compare(native: Model, ref: Model, ids: number[], primeLen: number, tagMix: number[] | null, what: string): void {
  const stepper = native.stepper();
  const stream = new StateStream(ref, 8);
  if (tagMix) {
    native.tagTerm(tagMix, stepper.inputBias!);
    stream.setTagMix(tagMix);
  }
  const prime = Int32Array.from(ids.slice(0, primeLen));
  stepper.advance(prime, 0, prime.length);
  stream.run(prime, 0, prime.length);
  const V = native.config.vocab;
  const temp = 0.7;
  for (let t = primeLen; t < ids.length; t++) {
    const sum = stepper.step(ids[t], temp);
    const logits = stream.step(ids[t]);
    expectClose(stepper.logits, logits, 2e-5, 2e-5, `${what} logits at step ${t}`);
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[j]);
    const exps = Array.from(logits.subarray(0, V), (z) => Math.exp((z - max) / temp));
    expectClose(stepper.probs, exps, 1e-6, 1e-4, `${what} exps at step ${t}`);
    expect(Math.abs(sum - exps.reduce((a, b) => a + b, 0)) / sum).toBeLessThan(1e-4);
    for (let l = 0; l < native.config.layers; l++) {
      const got = stepper.state(l);
      const want = stream.carried(l)!;
      expectClose(got.h, want.h, 2e-5, 2e-5, `${what} h of layer ${l} at step ${t}`);
      if (want.c) expectClose(got.c!, want.c, 2e-5, 2e-5, `${what} c of layer ${l} at step ${t}`);
    }
  }
}

const SHAPES = [
  { vocab: 37, embed: 5, hidden: 19, layers: 2 }, // everything in one partial panel, vector tails
  { vocab: 150, embed: 13, hidden: 67, layers: 1 }, // several panels per layer and in the head
];

describe.skipIf(!addon)('native batch-1 step', () => {
  for (const isa of isas) {
    describe(isa, () => {
      for (const cell of CELL_KINDS) {
        it(`${cell}: prime and steps match the float64 model`, () => {
          for (const [si, shape] of SHAPES.entries()) {
            const { native, ref } = twin({ cell, ...shape }, 10 + si, createNativeKernels({ threads: 1, isa })!);
            const rng = new Rng(3 + si);
            const ids = Array.from({ length: 14 }, () => rng.int(shape.vocab));
            compare(native, ref, ids, 5, null, `${cell} ${JSON.stringify(shape)}`);
          }
        });
      }

      it('a conditioned model: the tag term enters layer 0', () => {
        for (const cell of ['lstm', 'gru-torch', 'gru'] as CellKind[]) {
          const cfg = { cell, vocab: 41, embed: 6, hidden: 23, layers: 2, tags: 3, tagEmbed: 4 };
          const { native, ref } = twin(cfg, 7, createNativeKernels({ threads: 1, isa })!);
          const rng = new Rng(9);
          const ids = Array.from({ length: 9 }, () => rng.int(cfg.vocab));
          compare(native, ref, ids, 3, [0.2, 0.5, 0.3], `tagged ${cell}`);
        }
      });
    });
  }

  it('1 and 2 threads give the same bits, with every product and the exps split', () => {
    const cfg: ModelConfig = { cell: 'lstm', vocab: 2500, embed: 9, hidden: 45, layers: 2 };
    const results: Float32Array[][] = [];
    for (const threads of [1, 2]) {
      const k = createNativeKernels({ threads })!;
      const { native } = twin(cfg, 21, k);
      const stepper = k.stepper(native.stepNet(), { splitBytes: 0, splitExp: 0 });
      const out: Float32Array[] = [];
      stepper.advance(Int32Array.from([5, 17, 2400]), 0, 3);
      for (const id of [7, 1999, 0, 42]) {
        out.push(Float32Array.from([stepper.step(id, 0.9)]), Float32Array.from(stepper.logits), Float32Array.from(stepper.probs),
          Float32Array.from(stepper.state(1).h));
      }
      results.push(out);
    }
    for (let i = 0; i < results[0].length; i++) expect(results[1][i]).toEqual(results[0][i]);
  });

  it('temperature 0 computes the logits only; reset() zeroes the state', () => {
    const { native, ref } = twin({ cell: 'gru-torch', vocab: 30, embed: 4, hidden: 11, layers: 1 }, 2);
    const s: Stepper = native.stepper();
    expect(s.step(3, 0)).toBe(0);
    s.step(4, 0);
    s.reset();
    expect(Array.from(s.state(0).h).every((x) => x === 0)).toBe(true);
    expect(s.step(5, 0)).toBe(0);
    const stream = new StateStream(ref, 1);
    expectClose(s.logits, stream.step(5), 2e-5, 2e-5, 'logits after reset');
  });

  it('a non-finite logit makes step return NaN', () => {
    const { native } = twin({ cell: 'lstm', vocab: 30, embed: 4, hidden: 11, layers: 1 }, 2);
    native.layout.view(native.params, 'head.weight')[5 * 11 + 3] = Infinity;
    expect(native.stepper().step(1, 0.5)).toBeNaN();
    native.layout.view(native.params, 'head.weight')[5 * 11 + 3] = NaN;
    expect(native.stepper().step(1, 0)).toBeNaN();
  });

  it('the errors a caller can cause', () => {
    const { native } = twin({ cell: 'rnn', vocab: 30, embed: 4, hidden: 11, layers: 1 }, 2);
    const s = native.stepper();
    expect(() => s.step(30, 1)).toThrow('native step: id 30 is outside [0, 30)');
    expect(() => s.advance(Int32Array.from([1, -1]), 0, 2)).toThrow('native step: id -1 is outside [0, 30)');
    expect(() => s.advance(Int32Array.from([1]), 0, 2)).toThrow('[from, to) is outside ids');
    const net = native.stepNet();
    const short = { ...net, headW: net.headW.subarray(1) as Vec };
    expect(() => native.k.stepper(short)).toThrow('native step: headW has 329 elements, the net needs 330');
    expect(() => addon!.stepNext({}, 1, 1)).toThrow('not a step handle');
  });
});
