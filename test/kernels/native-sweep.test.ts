// The native LSTM layer sweep (src/kernels/native/sweep.c: a window's whole time loop in
// one call, each thread owning a block of hidden units) against the per-step path on the
// same backend (bit for bit: the same sums) and against the float64 reference (within
// float32 tolerance), through a whole model's forward, loss and backward on ragged shapes:
// odd B, H not a multiple of the vector width or of the thread blocks, T from 1, several
// K blocks of the products (H > 256), B over the product's few-row limit; every output,
// every gradient, the carried state in and out; 1, 2 and 3 threads bit-identical. Also the
// calls it declines (B ≤ 4: the per-step loop runs) and the errors a caller can cause.
// Skipped without the addon.
import { describe, expect, it } from 'vitest';
import { createNativeKernels, loadNative } from '../../src/kernels/native/index.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { Kernels, Vec } from '../../src/kernels/types.js';
import { Model } from '../../src/nn/model.js';
import { Rng } from '../../src/util/rng.js';

const addon = loadNative().addon;
const isas = addon ? addon.supported() : [];

interface Shape {
  B: number;
  T: number;
  H: number;
  E: number;
  layers: number;
}

const SHAPES: Shape[] = [
  { B: 5, T: 1, H: 7, E: 3, layers: 1 },
  { B: 7, T: 4, H: 19, E: 5, layers: 2 },
  { B: 33, T: 6, H: 40, E: 9, layers: 2 },
  { B: 17, T: 3, H: 67, E: 4, layers: 1 },
  { B: 9, T: 2, H: 130, E: 6, layers: 1 },
  { B: 6, T: 2, H: 300, E: 5, layers: 1 },
  { B: 70, T: 2, H: 20, E: 3, layers: 1 },
  // the bench's M layer: blocks of 128, 64 and 48 units on 1, 2 and 3 threads (AVX2)
  { B: 32, T: 3, H: 256, E: 4, layers: 1 },
];

/** Everything a training step computes: logits, loss, gradients, the carried state out and its gradient in. */
interface Run {
  logits: Float64Array;
  loss: number;
  grads: Float64Array;
  states: Float64Array[];
  stateGrads: Float64Array[];
}

/** One window of a model on kernels k: random weights (larger than init), state, ids and targets from the seed. */
function run(k: Kernels, s: Shape, seed: number): Run {
  const rng = new Rng(seed);
  const V = 11;
  const model = new Model(k, { cell: 'lstm', vocab: V, embed: s.E, hidden: s.H, layers: s.layers });
  model.init(rng);
  for (let i = 0; i < model.params.length; i++) model.params[i] = 0.5 * rng.normal() / Math.sqrt(s.H / 8 + 1);
  const ws = model.workspace(s.B, s.T, true);
  for (let i = 0; i < ws.ids.length; i++) {
    ws.ids[i] = rng.int(V);
    ws.targets[i] = rng.int(V);
  }
  for (let l = 0; l < s.layers; l++) {
    const st = ws.state(l);
    for (let i = 0; i < st.h.length; i++) st.h[i] = rng.uniform(-0.9, 0.9);
    for (let i = 0; i < st.c!.length; i++) st.c![i] = rng.uniform(-2, 2);
  }
  model.grads.fill(0);
  ws.forward();
  const loss = ws.loss();
  ws.backward();
  const stateGrads: Float64Array[] = [];
  for (let l = 0; l < s.layers; l++) {
    const d = ws.stateGrad(l);
    stateGrads.push(Float64Array.from(d.h), Float64Array.from(d.c!));
  }
  ws.carry();
  const states: Float64Array[] = [];
  for (let l = 0; l < s.layers; l++) {
    const st = ws.state(l);
    states.push(Float64Array.from(st.h), Float64Array.from(st.c!));
  }
  return { logits: Float64Array.from(ws.logits), loss, grads: Float64Array.from(model.grads), states, stateGrads };
}

function expectSame(a: Run, b: Run, what: string): void {
  const eq = (x: Float64Array, y: Float64Array, name: string) => {
    for (let i = 0; i < x.length; i++) {
      if (!Object.is(x[i], y[i])) expect.fail(`${what}: ${name}[${i}] ${x[i]} vs ${y[i]}`);
    }
  };
  eq(a.logits, b.logits, 'dLogits');
  expect(a.loss, `${what}: loss`).toBe(b.loss);
  eq(a.grads, b.grads, 'grads');
  a.states.forEach((x, i) => eq(x, b.states[i], `state ${i}`));
  a.stateGrads.forEach((x, i) => eq(x, b.stateGrads[i], `state gradient ${i}`));
}

function expectClose(a: Run, want: Run, what: string): void {
  const close = (x: Float64Array, y: Float64Array, name: string, abs: number) => {
    let worst = 0;
    let at = 0;
    for (let i = 0; i < y.length; i++) {
      const r = Math.abs(x[i] - y[i]) / (abs + 1e-3 * Math.abs(y[i]));
      if (!(r <= worst)) {
        worst = r;
        at = i;
      }
    }
    if (worst > 1) expect.fail(`${what}: ${name}[${at}] ${x[at]}, reference ${y[at]}`);
  };
  close(a.logits, want.logits, 'dLogits', 1e-5);
  expect(Math.abs(a.loss - want.loss)).toBeLessThan(1e-4 * Math.abs(want.loss) + 1e-4);
  close(a.grads, want.grads, 'grads', 2e-5);
  a.states.forEach((x, i) => close(x, want.states[i], `state ${i}`, 2e-5));
  a.stateGrads.forEach((x, i) => close(x, want.stateGrads[i], `state gradient ${i}`, 2e-5));
}

/** Counts the sweep calls that ran (returned true) on kernels k. */
function counting(k: Kernels): { k: Kernels; ran: () => number } {
  let n = 0;
  const wrapped = new Proxy(k, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function') return v;
      if (prop === 'lstmSweepForward' || prop === 'lstmSweepBackward') {
        return (...a: unknown[]) => {
          const r = (v as (...x: unknown[]) => boolean).apply(target, a);
          if (r) n++;
          return r;
        };
      }
      return v.bind(target);
    },
  });
  return { k: wrapped, ran: () => n };
}

describe.skipIf(!addon)('native LSTM layer sweep', () => {
  const ref = new ReferenceKernels('f64');
  for (const isa of isas) {
    describe(isa, () => {
      SHAPES.forEach((s, i) => {
        it(`B ${s.B}, T ${s.T}, H ${s.H}, ${s.layers} layer(s): the per-step path bit for bit on 1/2/3 threads, the reference within tolerance`, () => {
          const seed = 100 + i;
          const steps = run(createNativeKernels({ threads: 1, isa, sweep: false })!, s, seed);
          for (const threads of [1, 2, 3]) {
            const c = counting(createNativeKernels({ threads, isa })!);
            const swept = run(c.k, s, seed);
            expect(c.ran(), 'sweep calls that ran').toBe(2 * s.layers);
            expectSame(swept, steps, `${threads} thread(s)`);
          }
          expectClose(steps, run(ref, s, seed), 'against the float64 reference');
        });
      });

      it('declines B ≤ 4 (the per-step loop runs, same results)', () => {
        const s = { B: 4, T: 3, H: 21, E: 3, layers: 2 };
        const c = counting(createNativeKernels({ threads: 2, isa })!);
        const swept = run(c.k, s, 9);
        expect(c.ran()).toBe(0);
        expectSame(swept, run(createNativeKernels({ threads: 2, isa, sweep: false })!, s, 9), 'B 4');
      });
    });
  }

  it('refuses views too short for the window', () => {
    const k = createNativeKernels({ threads: 2 })!;
    const a = k.arena();
    const B = 6, T = 3, H = 10, n = B * H;
    const f = (m: number): Vec => a.floats(m);
    expect(() => k.lstmSweepForward(B, T, H, f(T * 4 * n - 1), f(4 * H * H), f((T + 1) * n), f((T + 1) * n), f(T * n)))
      .toThrow(/gates has 719 elements, the call needs 720/);
    expect(() => k.lstmSweepForward(B, T, H, f(T * 4 * n), f(4 * H * H), f(T * n), f((T + 1) * n), f(T * n)))
      .toThrow(/Hs has 180 elements, the call needs 240/);
    expect(() => k.lstmSweepBackward(B, T, H, f(T * 4 * n), f(4 * H * H), f((T + 1) * n), f(T * n), f((T + 1) * n), f(n - 1), f(T * 4 * n)))
      .toThrow(/dC has 59 elements, the call needs 60/);
    expect(() => k.lstmSweepForward(B, T, H, new Float64Array(T * 4 * n), f(4 * H * H), f((T + 1) * n), f((T + 1) * n), f(T * n)))
      .toThrow(/gates must be a Float32Array/);
  });
});
