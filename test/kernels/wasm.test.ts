// The WebAssembly SIMD kernels against the TypeScript reference (src/kernels/reference.ts)
// on random data: ragged shapes that are not multiples of the tiles, leading dimensions
// wider than the rows, subarray offsets, beta 0 and 1, every transpose; threads 1 vs 2;
// the accuracy of the polynomial exp / σ / tanh; the arena over a growing shared memory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { Arena, Kernels } from '../../src/kernels/types.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { kernelsModule, relaxedSimdAvailable } from '../../src/kernels/wasm/module.js';
import { workerChunks } from '../../src/kernels/wasm/testing.js';
import { Rng } from '../../src/util/rng.js';
import { compileProbes, type WasmProbes } from '../helpers/wasm-probes.js';

const ref = new ReferenceKernels('f32');
const wasm = createWasmKernels({ threads: 1 });
const arena = wasm.arena();

/** A view of the wasm memory starting `offset` floats into a fresh allocation, filled from `src`. */
function wasmCopy(src: Float32Array, offset = 0, into: Arena = arena): Float32Array {
  const v = (into.floats(src.length + offset) as Float32Array).subarray(offset);
  v.set(src);
  return v;
}

function randomArray(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(lo, hi);
  return a;
}

/** Largest |got − want| / (abs + rel·|want|); ≤ 1 passes. */
function worstRatio(got: Float32Array, want: Float32Array, abs: number, rel: number): { ratio: number; at: number } {
  let ratio = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    const r = d === 0 ? 0 : d / (abs + rel * Math.abs(want[i]));
    if (!(r <= ratio)) {
      ratio = r;
      at = i;
    }
  }
  return { ratio, at };
}

function expectClose(got: Float32Array, want: Float32Array, abs: number, rel: number, what: string): void {
  expect(got.length).toBe(want.length);
  const { ratio, at } = worstRatio(got, want, abs, rel);
  if (!(ratio <= 1)) throw new Error(`${what}: element ${at} is ${got[at]}, reference ${want[at]}`);
}

describe('wasm gemm', () => {
  function checkGemm(
    rng: Rng, k: Kernels, ta: boolean, tb: boolean, M: number, N: number, K: number,
    pad: [number, number, number], beta: 0 | 1, offset: number,
  ): void {
    const lda = (ta ? M : K) + pad[0];
    const ldb = (tb ? K : N) + pad[1];
    const ldc = N + pad[2];
    const A = randomArray(rng, (ta ? K : M) * lda);
    const B = randomArray(rng, (tb ? N : K) * ldb);
    const C0 = randomArray(rng, M * ldc);
    const want = C0.slice();
    ref.gemm(ta, tb, M, N, K, A, lda, B, ldb, beta, want, ldc);
    const a = k.arena();
    const wA = wasmCopy(A, offset, a);
    const wB = wasmCopy(B, (offset + 1) % 4, a);
    const wC = wasmCopy(C0, (offset + 2) % 4, a);
    k.gemm(ta, tb, M, N, K, wA, lda, wB, ldb, beta, wC, ldc);
    // |error| ≤ K·2⁻²³·Σ|a||b| roughly; |a|,|b| ≤ 1, so K·1.2e-7·K bounds it loosely
    const tol = 4e-7 * (K + 1) * Math.sqrt(K + 1) + 1e-6;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < ldc; j++) {
        const got = wC[i * ldc + j];
        const w = want[i * ldc + j];
        if (j >= N) {
          // columns past N (the ldc padding) are untouched
          if (got !== C0[i * ldc + j]) throw new Error(`gemm wrote C[${i},${j}] outside N`);
        } else if (!(Math.abs(got - w) <= tol)) {
          throw new Error(`gemm ta=${ta} tb=${tb} M=${M} N=${N} K=${K} beta=${beta}: C[${i},${j}] ${got} vs ${w}`);
        }
      }
    }
  }

  it('matches the reference on ragged shapes, every transpose, beta 0/1, padded lds, offsets', () => {
    const rng = new Rng(1);
    for (let trial = 0; trial < 160; trial++) {
      const ta = (trial & 1) === 1;
      const tb = (trial & 2) === 2;
      const beta = (trial & 4) === 4 ? 1 : 0;
      const M = 1 + rng.int(70);
      const N = 1 + rng.int(70);
      const K = 1 + rng.int(70);
      const pad: [number, number, number] = [rng.int(5), rng.int(5), rng.int(5)];
      checkGemm(rng, wasm, ta, tb, M, N, K, pad, beta, rng.int(4));
    }
  });

  it('crosses the K, M and N blocking boundaries', () => {
    const rng = new Rng(2);
    for (let v = 0; v < 4; v++) {
      checkGemm(rng, wasm, (v & 1) === 1, (v & 2) === 2, 133, 1029, 261, [1, 2, 3], (v & 1) as 0 | 1, 1);
    }
  });

  it('takes either A·Bᵀ path (dot products / packed panels) at any M', () => {
    const rng = new Rng(4);
    for (const dotMaxM of [0, 1 << 30]) {
      const k = createWasmKernels({ threads: 1, dotMaxM });
      for (let trial = 0; trial < 24; trial++) {
        const M = 1 + rng.int(trial < 12 ? 9 : 150);
        const pad: [number, number, number] = [rng.int(3), rng.int(3), rng.int(3)];
        checkGemm(rng, k, false, true, M, 1 + rng.int(40), 1 + rng.int(40), pad, (trial & 1) as 0 | 1, rng.int(4));
      }
    }
  });

  it('handles K = 0 and empty products', () => {
    const C = wasmCopy(new Float32Array([1, 2, 3, 4]));
    const A = wasmCopy(new Float32Array(4));
    wasm.gemm(false, false, 2, 2, 0, A, 1, A, 2, 1, C, 2);
    expect(Array.from(C)).toEqual([1, 2, 3, 4]);
    wasm.gemm(false, false, 2, 2, 0, A, 1, A, 2, 0, C, 2);
    expect(Array.from(C)).toEqual([0, 0, 0, 0]);
    wasm.gemm(false, false, 0, 2, 3, A, 3, A, 2, 0, C, 2);
  });

  it('rejects views from elsewhere and views too short for the shape', () => {
    const A = wasmCopy(new Float32Array(16));
    expect(() => wasm.gemm(false, false, 4, 4, 4, new Float32Array(16), 4, A, 4, 0, A, 4)).toThrow(/does not live/);
    expect(() => wasm.gemm(false, false, 4, 4, 5, A, 5, A, 4, 0, A, 4)).toThrow(/elements/);
    expect(() => wasm.scale(4, new Float32Array(4), 2)).toThrow(/arena/);
  });
});

describe('wasm gemm on two threads', () => {
  const two = createWasmKernels({ threads: 2 });
  afterAll(() => two.dispose());

  it('is correct before the workers have started (the caller runs every chunk)', () => {
    const lazy = createWasmKernels({ threads: 2 });
    const rng = new Rng(5);
    const a = lazy.arena();
    const M = 40, N = 300, K = 200;
    const A = randomArray(rng, M * K), B = randomArray(rng, K * N);
    const want = new Float32Array(M * N);
    ref.gemm(false, false, M, N, K, A, K, B, N, 0, want, N);
    const A2 = a.floats(M * K) as Float32Array, B2 = a.floats(K * N) as Float32Array, C2 = a.floats(M * N) as Float32Array;
    A2.set(A);
    B2.set(B);
    lazy.gemm(false, false, M, N, K, A2, K, B2, N, 0, C2, N);
    expectClose(C2, want, 1e-5, 1e-5, 'lazy two-thread gemm');
    lazy.dispose();
    lazy.gemm(false, false, M, N, K, A2, K, B2, N, 0, C2, N);
    expectClose(C2, want, 1e-5, 1e-5, 'gemm after dispose');
  });

  it('gives bit-identical results to one thread, splitting N and M', () => {
    two.startWorkers();
    const a2 = two.arena();
    const rng = new Rng(3);
    const shapes: [boolean, boolean, number, number, number][] = [
      [false, false, 32, 1024, 256], // per-step recurrent product: split N
      [false, true, 300, 200, 64], // split M
      [true, false, 64, 1000, 300], // weight gradient
      [true, true, 97, 53, 300],
      [false, true, 2048, 65, 128], // output layer: split M
    ];
    for (const [ta, tb, M, N, K] of shapes) {
      const lda = ta ? M : K;
      const ldb = tb ? K : N;
      const A = randomArray(rng, (ta ? K : M) * lda);
      const B = randomArray(rng, (tb ? N : K) * ldb);
      const C = randomArray(rng, M * N);
      for (const beta of [0, 1] as const) {
        const one = wasmCopy(C);
        wasm.gemm(ta, tb, M, N, K, wasmCopy(A), lda, wasmCopy(B), ldb, beta, one, N);
        const A2 = a2.floats(A.length) as Float32Array;
        const B2 = a2.floats(B.length) as Float32Array;
        const C2 = a2.floats(C.length) as Float32Array;
        A2.set(A);
        B2.set(B);
        C2.set(C);
        two.gemm(ta, tb, M, N, K, A2, lda, B2, ldb, beta, C2, N);
        expect(Buffer.from(C2.buffer, C2.byteOffset, C2.byteLength).equals(
          Buffer.from(one.buffer, one.byteOffset, one.byteLength))).toBe(true);
      }
    }
  });

  it('really hands chunks to the worker', () => {
    two.startWorkers();
    const a2 = two.arena();
    const A = a2.floats(256 * 256) as Float32Array;
    const C = a2.floats(256 * 256) as Float32Array;
    A.fill(0.5);
    const before = workerChunks(two);
    for (let r = 0; r < 200 && (r === 0 || workerChunks(two) === before); r++) {
      two.gemm(false, false, 256, 256, 256, A, 256, A, 256, 0, C, 256);
    }
    expect(workerChunks(two)).toBeGreaterThan(before);
    expect(C[256 * 256 - 1]).toBe(64);
  });
});

describe('wasm polynomial exp, sigmoid, tanh', () => {
  // A dense sweep plus the awkward points: 0, ±tiny, the range-reduction seams, saturation.
  const xs = (() => {
    const list: number[] = [0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 1e-4, 0.3465, 0.3466, 0.34658, 9, 9.01, 20, 30, 87, 88, 100, -87, -100];
    for (let i = 0; i <= 400_000; i++) list.push(-20 + (40 * i) / 400_000);
    for (let i = 0; i <= 10_000; i++) list.push(Math.fround(1e-6 * 1.002 ** i));
    return Float32Array.from(list.flatMap((x) => [x, -x]));
  })();
  // The kernels' vmath.ts, compiled into a test-only module (the shipped modules export no probes).
  let probes: WasmProbes;
  beforeAll(async () => {
    probes = await compileProbes();
  });

  it('σ and tanh are within 2e-7 absolute of Math.* in f64 rounded to f32', () => {
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    for (const [name, f] of [['sigmoid', sig], ['tanh', Math.tanh]] as const) {
      const dst = probes.vector(name, xs);
      let worst = 0;
      let worstRel = 0;
      for (let i = 0; i < xs.length; i++) {
        const want = Math.fround(f(xs[i]));
        const err = Math.abs(dst[i] - want);
        worst = Math.max(worst, err);
        if (Math.abs(want) > 1e-30) worstRel = Math.max(worstRel, err / Math.abs(want));
      }
      expect(worst, name).toBeLessThan(2e-7);
      // and relative accuracy everywhere (tanh near 0 included): a few ulps
      expect(worstRel, name).toBeLessThan(6e-7);
    }
  });

  it('exp is within 4e-7 relative on [−87, 88]', () => {
    const dst = probes.vector('exp', xs);
    let worst = 0;
    for (let i = 0; i < xs.length; i++) {
      if (xs[i] < -87 || xs[i] > 88) continue;
      const want = Math.exp(xs[i]);
      worst = Math.max(worst, Math.abs(dst[i] - want) / want);
    }
    expect(worst).toBeLessThan(4e-7);
  });

  it('the table-free f64 log is accurate', () => {
    for (const x of [1, 2, 0.5, Math.E, 1e-300, 5e-324, 1e300, 65, 1.0000001, 0.9999999, 123.456]) {
      expect(Math.abs(probes.log(x) - Math.log(x))).toBeLessThanOrEqual(4e-16 * Math.max(1, Math.abs(Math.log(x))));
    }
    expect(probes.log(0)).toBe(-Infinity);
    expect(probes.log(-1)).toBeNaN();
  });

  it('the shipped kernel modules export no probes', () => {
    for (const v of relaxedSimdAvailable() ? (['simd', 'fma'] as const) : (['simd'] as const)) {
      const names = WebAssembly.Module.exports(kernelsModule(v)).map((e) => e.name);
      expect(names, v).toContain('adam');
      for (const probe of ['expN', 'sigmoidN', 'tanhN', 'logProbe']) expect(names, v).not.toContain(probe);
    }
  });
});

// ---- pointwise kernels: run the same call on reference copies and wasm views, compare every buffer

interface BufSpec {
  n: number;
  lo?: number;
  hi?: number;
}

function compareCall(
  seed: number, specs: BufSpec[], call: (k: Kernels, b: Float32Array[]) => number | void,
  abs: number, rel: number, what: string,
): void {
  const rng = new Rng(seed);
  const init = specs.map((s) => randomArray(rng, s.n, s.lo ?? -3, s.hi ?? 3));
  const r = init.map((a) => a.slice());
  const w = init.map((a, i) => wasmCopy(a, i % 4));
  const rr = call(ref, r);
  const ww = call(wasm, w);
  if (typeof rr === 'number') expect(Math.abs((ww as number) - rr)).toBeLessThanOrEqual(abs + rel * Math.abs(rr));
  for (let i = 0; i < r.length; i++) expectClose(w[i], r[i], abs, rel, `${what} buffer ${i}`);
}

describe('wasm cell kernels match the reference', () => {
  const shapes: [number, number][] = [[1, 1], [3, 13], [2, 4], [5, 37], [32, 64]];
  const tol = { abs: 3e-7, rel: 2e-6 };
  for (const [n, H] of shapes) {
    const m = n * H;
    it(`rnn n=${n} H=${H}`, () => {
      for (const g of ['tanh', 'relu'] as const) {
        compareCall(10, [{ n: m }, { n: m }], (k, [pre, h]) => k.rnnForward(g, n, H, pre, h), tol.abs, tol.rel, `rnnForward ${g}`);
        compareCall(11, [{ n: m, lo: -1, hi: 1 }, { n: m }, { n: m }], (k, [h, dh, dPre]) => k.rnnBackward(g, n, H, h, dh, dPre),
          tol.abs, tol.rel, `rnnBackward ${g}`);
      }
    });
    it(`lstm n=${n} H=${H}`, () => {
      compareCall(12, [{ n: 4 * m, lo: -6, hi: 6 }, { n: m }, { n: m }, { n: m }, { n: m }],
        (k, [gates, cPrev, c, h, tanhC]) => k.lstmForward(n, H, gates, cPrev, c, h, tanhC), tol.abs, tol.rel, 'lstmForward');
      compareCall(13, [{ n: 4 * m, lo: 0, hi: 1 }, { n: m }, { n: m, lo: -1, hi: 1 }, { n: m }, { n: m }, { n: 4 * m }],
        (k, [gates, cPrev, tanhC, dh, dc, dGates]) => k.lstmBackward(n, H, gates, cPrev, tanhC, dh, dc, dGates),
        tol.abs, tol.rel, 'lstmBackward');
    });
    it(`gru n=${n} H=${H}`, () => {
      const G = 3 * H;
      compareCall(14, [{ n: 3 * m, lo: -6, hi: 6 }, { n: m }, { n: m }],
        (k, [gates, hPrev, rh]) => k.gruResetForward(n, H, gates, hPrev, rh), tol.abs, tol.rel, 'gruResetForward');
      for (const sigU of [false, true]) {
        compareCall(15, [{ n: 3 * m, lo: -4, hi: 4 }, { n: m }, { n: m }],
          (k, [gates, hPrev, h]) => k.gruOutForward(n, H, G, H, 2 * H, sigU, gates, hPrev, h), tol.abs, tol.rel, 'gruOutForward');
        // the minimal GRU layout: [u c] in a row of 2H
        compareCall(16, [{ n: 2 * m, lo: -4, hi: 4 }, { n: m }, { n: m }],
          (k, [gates, hPrev, h]) => k.gruOutForward(n, H, 2 * H, 0, H, sigU, gates, hPrev, h), tol.abs, tol.rel, 'gruOutForward min');
      }
      compareCall(17, [{ n: 3 * m, lo: 0, hi: 1 }, { n: m }, { n: m }, { n: 3 * m }, { n: m }],
        (k, [gates, hPrev, dh, dGates, dhPrev]) => k.gruOutBackward(n, H, G, H, 2 * H, gates, hPrev, dh, dGates, dhPrev),
        tol.abs, tol.rel, 'gruOutBackward');
      compareCall(18, [{ n: 3 * m, lo: 0, hi: 1 }, { n: m }, { n: m }, { n: 3 * m }, { n: m }],
        (k, [gates, hPrev, dRh, dGates, dhPrev]) => k.gruResetBackward(n, H, gates, hPrev, dRh, dGates, dhPrev),
        tol.abs, tol.rel, 'gruResetBackward');
      compareCall(19, [{ n: 3 * m, lo: -4, hi: 4 }, { n: 3 * m }, { n: m }, { n: m }],
        (k, [gates, hw, hPrev, h]) => k.gruTorchForward(n, H, gates, hw, hPrev, h), tol.abs, tol.rel, 'gruTorchForward');
      compareCall(20, [{ n: 3 * m, lo: 0, hi: 1 }, { n: 3 * m }, { n: m }, { n: m }, { n: 3 * m }, { n: 3 * m }, { n: m }],
        (k, [gates, hw, hPrev, dh, dGates, dHw, dhPrev]) => k.gruTorchBackward(n, H, gates, hw, hPrev, dh, dGates, dHw, dhPrev),
        tol.abs, tol.rel, 'gruTorchBackward');
    });
  }
});

describe('wasm row, loss and flat-buffer kernels match the reference', () => {
  it('addBias and sumRows with a leading dimension', () => {
    for (const [rows, N, ldx] of [[1, 1, 1], [7, 13, 16], [33, 65, 70]]) {
      compareCall(30, [{ n: rows * ldx }, { n: N }], (k, [X, b]) => k.addBias(rows, N, X, ldx, b), 1e-7, 1e-7, 'addBias');
      compareCall(31, [{ n: rows * ldx }, { n: N }], (k, [X, b]) => k.sumRows(rows, N, X, ldx, b), 1e-6, 1e-6, 'sumRows');
    }
  });

  it('gatherRows and scatterAddRows, including repeated ids; bad ids throw', () => {
    const rng = new Rng(32);
    for (const [rows, E, V] of [[1, 1, 1], [9, 13, 5], [64, 64, 65]]) {
      const ids = arena.ints(rows);
      for (let r = 0; r < rows; r++) ids[r] = rng.int(V);
      const plainIds = ids.slice();
      compareCall(33, [{ n: V * E }, { n: rows * E }], (k, [table, out]) =>
        k.gatherRows(rows, E, k === wasm ? ids : plainIds, table, out), 0, 0, 'gatherRows');
      compareCall(34, [{ n: rows * E }, { n: V * E }], (k, [dOut, dtable]) =>
        k.scatterAddRows(rows, E, k === wasm ? ids : plainIds, dOut, dtable), 1e-6, 1e-6, 'scatterAddRows');
    }
    const ids = arena.ints(2);
    ids[1] = 5;
    const table = arena.floats(5 * 3);
    const out = arena.floats(2 * 3);
    expect(() => wasm.gatherRows(2, 3, ids, table, out)).toThrow(/outside the table/);
    expect(() => wasm.scatterAddRows(2, 3, ids, out, table)).toThrow(/outside the table/);
  });

  it('softmaxXent: loss and gradient, with and without aliasing', () => {
    const rng = new Rng(35);
    for (const [rows, V] of [[1, 1], [3, 7], [20, 65], [4, 1000]]) {
      const targets = arena.ints(rows);
      for (let r = 0; r < rows; r++) targets[r] = rng.int(V);
      const plain = targets.slice();
      const t = (k: Kernels) => (k === wasm ? targets : plain);
      compareCall(36, [{ n: rows * V, lo: -8, hi: 8 }], (k, [logits]) => k.softmaxXent(rows, V, logits, t(k), null, 1),
        1e-5, 1e-6, 'softmaxXent loss');
      compareCall(37, [{ n: rows * V, lo: -8, hi: 8 }, { n: rows * V }],
        (k, [logits, d]) => k.softmaxXent(rows, V, logits, t(k), d, 1 / rows), 1e-7 / rows, 2e-6, 'softmaxXent grad');
      compareCall(38, [{ n: rows * V, lo: -30, hi: 30 }],
        (k, [logits]) => k.softmaxXent(rows, V, logits, t(k), logits, 0.5), 1e-7, 2e-6, 'softmaxXent aliased');
    }
    const logits = arena.floats(4);
    const bad = arena.ints(1);
    bad[0] = 4;
    expect(() => wasm.softmaxXent(1, 4, logits, bad, null, 1)).toThrow(/outside/);
  });

  // f32 arithmetic with coefficients rounded to f32 (0.9, 0.999): errors are ulps of the
  // operands (|x| ≤ 3 here), so the absolute tolerance is 1e-6.
  it('sumSquares, scale, adam, rmsprop, sgd on ragged lengths', () => {
    for (const n of [1, 3, 4, 17, 1000, 4099]) {
      compareCall(40, [{ n }], (k, [x]) => k.sumSquares(n, x), 0, 1e-9, 'sumSquares');
      compareCall(41, [{ n }], (k, [x]) => k.scale(n, x, 0.3), 0, 2.5e-7, 'scale');
      compareCall(42, [{ n }, { n }, { n }, { n, lo: 0, hi: 1 }],
        (k, [p, g, m, v]) => k.adam(n, p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 1e-5), 1e-6, 1e-6, 'adam');
      compareCall(43, [{ n }, { n }, { n, lo: 0, hi: 1 }],
        (k, [p, g, v]) => k.rmsprop(n, p, g, v, 1e-2, 0.95, 1e-8), 1e-6, 1e-6, 'rmsprop');
      compareCall(44, [{ n }, { n }, { n }], (k, [p, g, m]) => k.sgd(n, p, g, m, 0.1, 0.9), 1e-6, 1e-6, 'sgd');
    }
  });
});

describe('wasm arena', () => {
  it('hands out zeroed, 64-byte-aligned views that stay valid when the memory grows', () => {
    const k = createWasmKernels({ threads: 1 });
    const a = k.arena();
    const x = a.floats(10) as Float32Array;
    const ids = a.ints(3);
    expect(x.byteOffset % 64).toBe(0);
    expect(ids.byteOffset % 64).toBe(0);
    expect(Array.from(x).every((v) => v === 0)).toBe(true);
    x.fill(2);
    const before = k.memory.buffer.byteLength;
    const big = a.floats(50 * 1024 * 1024); // forces a grow
    expect(k.memory.buffer.byteLength).toBeGreaterThan(before);
    expect(big.buffer).not.toBe(x.buffer);
    expect(big[big.length - 1]).toBe(0);
    // the old view still reads and writes the same memory, and kernels accept it
    k.scale(10, x, 0.5);
    expect(Array.from(x)).toEqual(new Array(10).fill(1));
    expect(new Float32Array(k.memory.buffer, x.byteOffset, 10)[3]).toBe(1);
    k.addBias(1, 10, big, 10, x);
    expect(big[9]).toBe(1);
    expect(k.sumSquares(10, x)).toBe(10);
  });
});
