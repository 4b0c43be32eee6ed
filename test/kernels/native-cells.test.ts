// The native addon's pointwise kernels (src/kernels/native/cells_impl.h: every cell's forward
// and backward step, softmax cross-entropy, addBias/sumRows, Adam) against the TypeScript
// reference, on every instruction set this CPU runs: ragged shapes that leave vector tails,
// views at unaligned offsets of the wasm arena and plain Float32Arrays, inputs far out in
// the tails of σ and tanh; the accuracy of the vector σ and tanh against float64; the same
// results with 1 and 2 threads; the errors a caller can cause. Skipped without the addon.
import { describe, expect, it } from 'vitest';
import { createNativeKernels, loadNative, type NativeKernels } from '../../src/kernels/native/index.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { Kernels } from '../../src/kernels/types.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { Rng } from '../../src/util/rng.js';

const addon = loadNative().addon;
const isas = addon ? addon.supported() : [];
const ref = new ReferenceKernels('f32');

function randomArray(rng: Rng, n: number, lo: number, hi: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(lo, hi);
  return a;
}

/** Fails with the worst element when some |got − want| > abs + rel·|want| (NaN must match NaN). */
function expectClose(got: Float32Array, want: Float32Array, abs: number, rel: number, what: string): void {
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]) && Number.isNaN(got[i])) continue;
    const d = Math.abs(got[i] - want[i]);
    const r = d === 0 ? 0 : d / (abs + rel * Math.abs(want[i]));
    if (!(r <= worst)) {
      worst = r;
      at = i;
    }
  }
  if (worst > 1) expect.fail(`${what}: element ${at} is ${got[at]}, the reference ${want[at]} (${worst.toFixed(2)}x the tolerance)`);
}

interface BufSpec {
  n: number;
  lo?: number;
  hi?: number;
}

describe.skipIf(!addon)('native cell, head and optimizer kernels', () => {
  for (const isa of isas) {
    describe(isa, () => {
      const k1 = () => createNativeKernels({ threads: 1, isa })!;

      /** The same call on reference copies and on native views (arena views at offsets 0–3, every
       *  fourth buffer a plain Float32Array); every buffer and the return value compared. */
      function compareCall(
        seed: number, specs: BufSpec[], call: (k: Kernels, b: Float32Array[]) => number | void,
        abs: number, rel: number, what: string,
      ): void {
        const kern = k1();
        const arena = kern.arena();
        const rng = new Rng(seed);
        const init = specs.map((s) => randomArray(rng, s.n, s.lo ?? -3, s.hi ?? 3));
        const r = init.map((a) => a.slice());
        const w = init.map((a, i) => {
          if (i % 4 === 3) return a.slice();
          const v = (arena.floats(a.length + (i % 4)) as Float32Array).subarray(i % 4);
          v.set(a);
          return v;
        });
        const rr = call(ref, r);
        const ww = call(kern, w);
        if (typeof rr === 'number') expect(Math.abs((ww as number) - rr)).toBeLessThanOrEqual(abs + rel * Math.abs(rr));
        for (let i = 0; i < r.length; i++) expectClose(w[i], r[i], abs, rel, `${isa} ${what} buffer ${i}`);
      }

      // one and two rows, tails of every length 1..15 after whole vectors of 8 and 16, and a
      // training-sized block
      const shapes: [number, number][] = [[1, 1], [3, 13], [2, 4], [5, 37], [2, 23], [4, 17], [32, 64]];
      const tol = { abs: 3e-7, rel: 2e-6 };
      for (const [n, H] of shapes) {
        const m = n * H;
        it(`rnn, lstm, gru n=${n} H=${H}`, () => {
          for (const g of ['tanh', 'relu'] as const) {
            compareCall(10, [{ n: m, lo: -12, hi: 12 }, { n: m }], (k, [pre, h]) => k.rnnForward(g, n, H, pre, h), tol.abs, tol.rel, `rnnForward ${g}`);
            compareCall(11, [{ n: m, lo: -1, hi: 1 }, { n: m }, { n: m }], (k, [h, dh, dPre]) => k.rnnBackward(g, n, H, h, dh, dPre),
              tol.abs, tol.rel, `rnnBackward ${g}`);
          }
          compareCall(12, [{ n: 4 * m, lo: -12, hi: 12 }, { n: m }, { n: m }, { n: m }, { n: m }],
            (k, [gates, cPrev, c, h, tanhC]) => k.lstmForward(n, H, gates, cPrev, c, h, tanhC), tol.abs, tol.rel, 'lstmForward');
          compareCall(13, [{ n: 4 * m, lo: 0, hi: 1 }, { n: m }, { n: m, lo: -1, hi: 1 }, { n: m }, { n: m }, { n: 4 * m }],
            (k, [gates, cPrev, tanhC, dh, dc, dGates]) => k.lstmBackward(n, H, gates, cPrev, tanhC, dh, dc, dGates),
            tol.abs, tol.rel, 'lstmBackward');
          const G = 3 * H;
          compareCall(14, [{ n: 3 * m, lo: -12, hi: 12 }, { n: m }, { n: m }],
            (k, [gates, hPrev, rh]) => k.gruResetForward(n, H, gates, hPrev, rh), tol.abs, tol.rel, 'gruResetForward');
          for (const sigU of [false, true]) {
            compareCall(15, [{ n: 3 * m, lo: -8, hi: 8 }, { n: m }, { n: m }],
              (k, [gates, hPrev, h]) => k.gruOutForward(n, H, G, H, 2 * H, sigU, gates, hPrev, h), tol.abs, tol.rel, 'gruOutForward');
            compareCall(16, [{ n: 2 * m, lo: -8, hi: 8 }, { n: m }, { n: m }],
              (k, [gates, hPrev, h]) => k.gruOutForward(n, H, 2 * H, 0, H, sigU, gates, hPrev, h), tol.abs, tol.rel, 'gruOutForward min');
          }
          compareCall(17, [{ n: 3 * m, lo: 0, hi: 1 }, { n: m }, { n: m }, { n: 3 * m }, { n: m }],
            (k, [gates, hPrev, dh, dGates, dhPrev]) => k.gruOutBackward(n, H, G, H, 2 * H, gates, hPrev, dh, dGates, dhPrev),
            tol.abs, tol.rel, 'gruOutBackward');
          compareCall(18, [{ n: 3 * m, lo: 0, hi: 1 }, { n: m }, { n: m }, { n: 3 * m }, { n: m }],
            (k, [gates, hPrev, dRh, dGates, dhPrev]) => k.gruResetBackward(n, H, gates, hPrev, dRh, dGates, dhPrev),
            tol.abs, tol.rel, 'gruResetBackward');
          compareCall(19, [{ n: 3 * m, lo: -8, hi: 8 }, { n: 3 * m }, { n: m }, { n: m }],
            (k, [gates, hw, hPrev, h]) => k.gruTorchForward(n, H, gates, hw, hPrev, h), tol.abs, tol.rel, 'gruTorchForward');
          compareCall(20, [{ n: 3 * m, lo: 0, hi: 1 }, { n: 3 * m }, { n: m }, { n: m }, { n: 3 * m }, { n: 3 * m }, { n: m }],
            (k, [gates, hw, hPrev, dh, dGates, dHw, dhPrev]) => k.gruTorchBackward(n, H, gates, hw, hPrev, dh, dGates, dHw, dhPrev),
            tol.abs, tol.rel, 'gruTorchBackward');
        });
      }

      it('σ and tanh within 2e-7 absolute and 6e-7 relative of float64, the far tails and NaN included', () => {
        const list: number[] = [0, 1e-30, 1e-8, 1e-4, 0.3465, 0.3466, 9, 9.01, 20, 30, 40, 87, 88, 89, 100, 1e4, 3e38, Infinity];
        for (let i = 0; i <= 100_000; i++) list.push(-20 + (40 * i) / 100_000);
        for (let i = 0; i <= 5_000; i++) list.push(Math.fround(1e-6 * 1.004 ** i));
        const xs = Float32Array.from(list.flatMap((x) => [x, -x]));
        const n = xs.length;
        const kern = k1();
        // rnnForward tanh gives tanh; gruResetForward's r block gives σ (u block: σ too)
        const h = new Float32Array(n);
        kern.rnnForward('tanh', 1, n, xs, h);
        const gates = new Float32Array(3 * n);
        gates.set(xs);
        kern.gruResetForward(1, n, gates, new Float32Array(n), new Float32Array(n));
        const sig = (x: number) => 1 / (1 + Math.exp(-x));
        for (const [name, got, f] of [['tanh', h, Math.tanh], ['sigmoid', gates.subarray(0, n), sig]] as const) {
          let worst = 0;
          let worstRel = 0;
          for (let i = 0; i < n; i++) {
            const want = Math.fround(f(xs[i]));
            const err = Math.abs(got[i] - want);
            worst = Math.max(worst, err);
            if (Math.abs(want) > 1e-30) worstRel = Math.max(worstRel, err / Math.abs(want));
          }
          expect(worst, name).toBeLessThan(2e-7);
          expect(worstRel, name).toBeLessThan(6e-7);
        }
        const nan = Float32Array.of(NaN, 1, NaN);
        const out = new Float32Array(3);
        kern.rnnForward('tanh', 1, 3, nan, out);
        expect([Number.isNaN(out[0]), out[1], Number.isNaN(out[2])]).toEqual([true, Math.fround(Math.tanh(1)), true]);
      });

      it('addBias, sumRows, softmaxXent (loss, gradient, aliased), adam on ragged sizes', () => {
        for (const [rows, N, ldx] of [[1, 1, 1], [7, 13, 16], [33, 65, 70]]) {
          compareCall(30, [{ n: rows * ldx }, { n: N }], (k, [X, b]) => k.addBias(rows, N, X, ldx, b), 1e-7, 1e-7, 'addBias');
          compareCall(31, [{ n: rows * ldx }, { n: N }], (k, [X, b]) => k.sumRows(rows, N, X, ldx, b), 1e-6, 1e-6, 'sumRows');
        }
        const rng = new Rng(35);
        for (const [rows, V] of [[1, 1], [3, 7], [20, 65], [4, 1000], [2, 5003]]) {
          const targets = new Int32Array(rows);
          for (let r = 0; r < rows; r++) targets[r] = rng.int(V);
          compareCall(36, [{ n: rows * V, lo: -8, hi: 8 }], (k, [logits]) => k.softmaxXent(rows, V, logits, targets, null, 1),
            1e-5, 1e-6, 'softmaxXent loss');
          compareCall(37, [{ n: rows * V, lo: -8, hi: 8 }, { n: rows * V }],
            (k, [logits, d]) => k.softmaxXent(rows, V, logits, targets, d, 1 / rows), 1e-7 / rows, 2e-6, 'softmaxXent grad');
          compareCall(38, [{ n: rows * V, lo: -30, hi: 30 }],
            (k, [logits]) => k.softmaxXent(rows, V, logits, targets, logits, 0.5), 1e-7, 2e-6, 'softmaxXent aliased');
        }
        for (const n of [1, 3, 4, 17, 1000, 4099]) {
          compareCall(42, [{ n }, { n }, { n }, { n, lo: 0, hi: 1 }],
            (k, [p, g, m, v]) => k.adam(n, p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 1e-5), 1e-6, 1e-6, 'adam');
        }
      });

      it('addBias split across threads (large windows), sumRows on them: the same bits with 1, 2 and 3 threads', () => {
        // from 262,144 floats the addon splits addBias by rows
        const rng = new Rng(51);
        const ks = [1, 2, 3].map((threads) => createNativeKernels({ threads, isa })!);
        for (const [rows, N, ldx] of [[517, 601, 603], [300, 900, 900], [140, 2000, 2001]]) {
          const X = randomArray(rng, rows * ldx, -3, 3);
          const bias = randomArray(rng, N, -1, 1);
          const runs = ks.map((k) => {
            const x = X.slice();
            k.addBias(rows, N, x, ldx, bias);
            const d = bias.slice();
            k.sumRows(rows, N, X, ldx, d);
            return [x, d];
          });
          // bit for bit (byte comparison: toEqual is slow on arrays this long)
          const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
          for (const r of runs.slice(1)) {
            expect(bytes(r[0]).equals(bytes(runs[0][0]))).toBe(true);
            expect(bytes(r[1]).equals(bytes(runs[0][1]))).toBe(true);
          }
          const [x, d] = [X.slice(), bias.slice()];
          ref.addBias(rows, N, x, ldx, bias);
          ref.sumRows(rows, N, X, ldx, d);
          expectClose(runs[1][0], x, 1e-7, 1e-7, 'addBias, 2 threads');
          expectClose(runs[1][1], d, 1e-4, 1e-5, 'sumRows, 2 threads');
        }
      });

      it('the same bits with 1 and 2 threads, and the same Adam steps as the WebAssembly kernel', () => {
        const one = k1();
        const two = createNativeKernels({ threads: 2, isa })!;
        const rng = new Rng(50);
        const n = 32;
        const H = 100;
        const m = n * H;
        const gates = randomArray(rng, 4 * m, -5, 5);
        const cPrev = randomArray(rng, m, -2, 2);
        const runs = [one, two].map((k) => {
          const g = gates.slice();
          const out = [new Float32Array(m), new Float32Array(m), new Float32Array(m)];
          k.lstmForward(n, H, g, cPrev, out[0], out[1], out[2]);
          return [g, ...out];
        });
        for (let i = 0; i < runs[0].length; i++) expect(runs[1][i]).toEqual(runs[0][i]);
        // Adam: no fused multiply-adds, so bit-identical to the wasm kernel's f32 steps
        const wasm = createWasmKernels({ threads: 1 });
        const wa = wasm.arena();
        const N = 1003;
        const init = [randomArray(rng, N, -1, 1), randomArray(rng, N, -1, 1), randomArray(rng, N, -1, 1), randomArray(rng, N, 0, 1)];
        const [nat, was] = [init.map((a) => a.slice()), init.map((a) => {
          const v = wa.floats(N) as Float32Array;
          v.set(a);
          return v;
        })];
        for (let step = 0; step < 3; step++) {
          one.adam(N, nat[0], nat[1], nat[2], nat[3], 2e-3, 0.9, 0.999, 1e-8, 1e-5);
          wasm.adam(N, was[0], was[1], was[2], was[3], 2e-3, 0.9, 0.999, 1e-8, 1e-5);
        }
        for (let i = 0; i < 4; i++) expect(nat[i]).toEqual(Float32Array.from(was[i]));
      });

      it('errors name the kernel and the view', () => {
        const kern = k1();
        const f = (n: number) => new Float32Array(n);
        expect(() => kern.lstmForward(2, 3, f(23), f(6), f(6), f(6), f(6))).toThrow(/lstmForward: gates has 23 elements, the call needs 24/);
        expect(() => kern.rnnForward('tanh', 1, 2, new Float64Array(2), f(2))).toThrow(/rnnForward: pre must be a Float32Array/);
        expect(() => kern.gruOutForward(1, 2, 4, 3, 0, false, f(4), f(2), f(2))).toThrow(/do not fit a row of 4/);
        expect(() => kern.softmaxXent(1, 4, f(4), Int32Array.of(4), null, 1)).toThrow(/target 4 at row 0 is outside \[0, 4\)/);
        expect(() => kern.softmaxXent(1, 4, f(4), new Float32Array(1) as unknown as Int32Array, null, 1)).toThrow(/targets must be an Int32Array/);
        expect(() => kern.addBias(2, 3, f(5), 3, f(3))).toThrow(/X has 5 elements, the call needs 6/);
        // zero sizes do nothing, whatever the views
        expect(kern.softmaxXent(0, 4, f(0), new Int32Array(0), null, 1)).toBe(0);
        kern.lstmForward(0, 3, f(0), f(0), f(0), f(0), f(0));
      });
    });
  }
});
