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
import type { Vec } from '../../src/kernels/types.js';
import { expectClose, expectSame, run, sweepCounting, type Shape } from '../helpers/window.js';

const addon = loadNative().addon;
const isas = addon ? addon.supported() : [];

const SHAPES: Shape[] = [
  { cell: 'lstm', B: 5, T: 1, H: 7, E: 3, layers: 1 },
  { cell: 'lstm', B: 7, T: 4, H: 19, E: 5, layers: 2 },
  { cell: 'lstm', B: 33, T: 6, H: 40, E: 9, layers: 2 },
  { cell: 'lstm', B: 17, T: 3, H: 67, E: 4, layers: 1 },
  { cell: 'lstm', B: 9, T: 2, H: 130, E: 6, layers: 1 },
  { cell: 'lstm', B: 6, T: 2, H: 300, E: 5, layers: 1 },
  { cell: 'lstm', B: 70, T: 2, H: 20, E: 3, layers: 1 },
  // the bench's M layer: blocks of 128, 64 and 48 units on 1, 2 and 3 threads (AVX2)
  { cell: 'lstm', B: 32, T: 3, H: 256, E: 4, layers: 1 },
];

describe.skipIf(!addon)('native LSTM layer sweep', () => {
  const ref = new ReferenceKernels('f64');
  for (const isa of isas) {
    describe(isa, () => {
      SHAPES.forEach((s, i) => {
        it(`B ${s.B}, T ${s.T}, H ${s.H}, ${s.layers} layer(s): the per-step path bit for bit on 1/2/3 threads, the reference within tolerance`, () => {
          const seed = 100 + i;
          const steps = run(createNativeKernels({ threads: 1, isa, sweep: false })!, s, seed);
          for (const threads of [1, 2, 3]) {
            const c = sweepCounting(createNativeKernels({ threads, isa })!);
            const swept = run(c.k, s, seed);
            expect(c.ran(), 'sweep calls that ran').toBe(2 * s.layers);
            expectSame(swept, steps, `${threads} thread(s)`);
          }
          expectClose(steps, run(ref, s, seed), 'against the float64 reference');
        });
      });

      it('declines B ≤ 4 (the per-step loop runs, same results)', () => {
        const s: Shape = { cell: 'lstm', B: 4, T: 3, H: 21, E: 3, layers: 2 };
        const c = sweepCounting(createNativeKernels({ threads: 2, isa })!);
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
