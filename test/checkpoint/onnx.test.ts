// ONNX export: onnxruntime runs the exported graph to the same logits and final states
// as rnn's own forward pass, for every exportable cell, with one and two layers, with and
// without initial states. Skipped (with the reason printed) where onnxruntime-web is not
// installed.
import { describe, expect, it } from 'vitest';
import { exportOnnx, ExportError } from '../../src/checkpoint/onnx.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { CellKind } from '../../src/nn/layer.js';
import { Model, type ModelConfig } from '../../src/nn/model.js';
import { Rng } from '../../src/util/rng.js';

type Ort = typeof import('onnxruntime-web');
let ort: Ort | null = null;
let missing = '';
try {
  ort = (await import('../helpers/ort.js')).ort;
} catch (e) {
  missing = (e as Error).message.split('\n')[0]!;
  console.warn(`skipping ONNX runtime tests: onnxruntime-web is not available (${missing}); npm install runs them`);
}

const V = 11;
const E = 5;
const H = 7;

function randomModel(cell: CellKind, layers: number, seed: number): Model {
  // float64 reference kernels: the oracle, free of float32 rounding of its own
  const model = new Model(new ReferenceKernels('f64'), { cell, vocab: V, embed: E, hidden: H, layers });
  const rng = new Rng(seed);
  model.init(rng);
  // round every weight to float32 first, as a checkpoint holds them
  for (let i = 0; i < model.params.length; i++) model.params[i] = Math.fround(model.params[i]! * 1.5);
  return model;
}

function paramsOf(model: Model): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const s of model.layout.specs) out.set(s.name, Float32Array.from(model.layout.view(model.params, s.name)));
  return out;
}

function randomState(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.fround(rng.uniform(-0.9, 0.9)));
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) {
    const rel = Math.abs(actual[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), 0.1 * scale);
    worst = Math.max(worst, rel);
  }
  expect(worst, `${what}: worst relative error`).toBeLessThan(1e-5);
}

const CELLS: CellKind[] = ['lstm', 'gru', 'gru-torch', 'rnn', 'rnn-relu'];

describe.skipIf(!ort)('ONNX export runs in onnxruntime to the same numbers', () => {
  for (const cell of CELLS) {
    for (const layers of [1, 2]) {
      it(`${cell}, ${layers} layer(s)`, async () => {
        const model = randomModel(cell, layers, 1000 + layers);
        const cfg: ModelConfig = model.config;
        const src = { model: cfg, params: paramsOf(model), chars: [...'abcdefghijk'] };
        const lstm = cell === 'lstm';
        const withStates = await ort!.InferenceSession.create(exportOnnx(src));
        const idsOnly = await ort!.InferenceSession.create(exportOnnx(src, { stateInputs: false }));
        expect(withStates.inputNames).toEqual(lstm ? ['ids', 'h0', 'c0'] : ['ids', 'h0']);
        expect(idsOnly.inputNames).toEqual(['ids']);
        for (const s of [withStates, idsOnly]) expect(s.outputNames).toEqual(lstm ? ['logits', 'h_n', 'c_n'] : ['logits', 'h_n']);

        const T = 6;
        const B = 3;
        const rng = new Rng(7 * layers + cell.length);
        const ids = Int32Array.from({ length: T * B }, () => rng.int(V));
        const ws = model.workspace(B, T, false);
        ws.ids.set(ids);
        const feeds: Record<string, InstanceType<Ort['Tensor']>> = {
          ids: new ort!.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [T, B]),
        };

        // ids only (zero initial states), then random initial states through h0 (c0)
        for (const withState of [false, true]) {
          const session = withState ? withStates : idsOnly;
          if (withState) {
            const h0 = randomState(rng, layers * B * H);
            const c0 = randomState(rng, layers * B * H);
            for (let l = 0; l < layers; l++) {
              ws.state(l).h.set(h0.subarray(l * B * H, (l + 1) * B * H));
              ws.state(l).c?.set(c0.subarray(l * B * H, (l + 1) * B * H));
            }
            feeds.h0 = new ort!.Tensor('float32', h0, [layers, B, H]);
            if (lstm) feeds.c0 = new ort!.Tensor('float32', c0, [layers, B, H]);
          } else {
            ws.resetState();
          }
          ws.forward();
          const out = await session.run(feeds);
          expect(out.logits!.dims).toEqual([T, B, V]);
          expectClose(out.logits!.data as Float32Array, ws.logits, `${cell} logits (initial state: ${withState})`);
          // final states: slot T of each layer's Hs (and Cs)
          const hn = out.h_n!.data as Float32Array;
          const cn = lstm ? (out.c_n!.data as Float32Array) : null;
          for (let l = 0; l < layers; l++) {
            const c = ws.layers[l]!;
            expectClose(hn.subarray(l * B * H, (l + 1) * B * H), c.Hs.subarray(T * B * H), `${cell} h_n[${l}]`);
            if (cn) expectClose(cn.subarray(l * B * H, (l + 1) * B * H), c.Cs!.subarray(T * B * H), `${cell} c_n[${l}]`);
          }
        }
      });
    }
  }
});

describe('ONNX export refuses what ONNX cannot express', () => {
  for (const cell of ['lstm-peep', 'gru-min'] as const) {
    it(cell, () => {
      const model = randomModel(cell, 1, 3);
      let err: unknown;
      try {
        exportOnnx({ model: model.config, params: paramsOf(model), chars: [...'abcdefghijk'] });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ExportError);
      expect((err as Error).message).toContain(`cell ${cell} cannot be exported to ONNX`);
      expect((err as Error).message).not.toContain('\n');
    });
  }
});
