// The native addon's GEMM (src/kernels/native) against a naive float64 loop and against the
// TypeScript reference: every instruction set this CPU runs, every transpose, beta 0 and 1,
// ragged shapes that are not multiples of any tile, leading dimensions wider than the rows,
// views that start at unaligned offsets of the wasm arena; bit-identical results for 1, 2
// and 3 threads; the errors a caller can cause. Skipped when the addon is not built (a
// machine without a C compiler): test/cli/native-fallback.test.ts covers that case.
import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { createKernels, type Arena } from '../../src/kernels/index.js';
import { createNativeKernels, loadNative, missingAddonFunctions, type NativeKernels } from '../../src/kernels/native/index.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { Rng } from '../../src/util/rng.js';

const load = loadNative();
const addon = load.addon;
const isas = addon ? addon.supported() : [];
const ref = new ReferenceKernels('f32');

/** C[i][j] as a float64 sum written column by column (a different loop order from the kernels). */
function naiveGemm(
  ta: boolean, tb: boolean, M: number, N: number, K: number,
  A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: 0 | 1, C: Float32Array, ldc: number,
): Float64Array {
  const out = Float64Array.from(C);
  const a = (i: number, k: number) => (ta ? A[k * lda + i] : A[i * lda + k]);
  const b = (k: number, j: number) => (tb ? B[j * ldb + k] : B[k * ldb + j]);
  for (let j = 0; j < N; j++) {
    for (let i = 0; i < M; i++) {
      let s = 0;
      for (let k = K - 1; k >= 0; k--) s += a(i, k) * b(k, j);
      out[i * ldc + j] = (beta ? C[i * ldc + j] : 0) + s;
    }
  }
  return out;
}

describe('native addon surface', () => {
  it('an addon built from older sources (lacking functions this build calls) is named as such', () => {
    const old = { gemm() {}, configure() {}, info() {}, supported() {} };
    const missing = missingAddonFunctions(old);
    expect(missing).toContain('lstmForward');
    expect(missing).toContain('adam');
    expect(missing).not.toContain('gemm');
  });

  it.skipIf(!addon)('the addon this checkout built has every function', () => {
    expect(missingAddonFunctions(addon!)).toEqual([]);
  });
});

describe.skipIf(!addon)('native gemm', () => {
  // made in beforeAll: the body of a skipped describe still runs
  let k1!: NativeKernels;
  let arena!: Arena;
  beforeAll(() => {
    k1 = createNativeKernels({ threads: 1 })!;
    arena = k1.arena();
  });
  /** A view of the arena `offset` floats into a fresh allocation (unaligned for offset > 0), filled from src. */
  const place = (src: Float32Array, offset: number) => {
    const v = (arena.floats(src.length + offset) as Float32Array).subarray(offset);
    v.set(src);
    return v;
  };
  const random = (rng: Rng, n: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
    return a;
  };

  function check(kern: NativeKernels, rng: Rng, ta: boolean, tb: boolean, M: number, N: number, K: number, beta: 0 | 1): void {
    const lda = (ta ? M : K) + rng.int(3);
    const ldb = (tb ? K : N) + rng.int(3);
    const ldc = N + rng.int(3);
    const A = place(random(rng, Math.max(1, (ta ? K : M) * lda)), rng.int(4));
    const B = place(random(rng, Math.max(1, (tb ? N : K) * ldb)), rng.int(4));
    const C0 = random(rng, M * ldc);
    const C = place(C0, rng.int(4));
    const want = naiveGemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C0, ldc);
    const refC = C0.slice();
    ref.gemm(ta, tb, M, N, K, A, lda, B, ldb, beta, refC, ldc);
    kern.gemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
    const what = `${kern.isa} ${kern.threads}t ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} ${M}x${N}x${K} beta ${beta}`;
    for (let i = 0; i < C.length; i++) {
      const tol = 1e-5 * (K + 1) + 1e-5 * Math.abs(want[i]);
      if (!(Math.abs(C[i] - want[i]) <= tol)) throw new Error(`${what}: C[${i}] = ${C[i]}, naive ${want[i]}`);
      if (!(Math.abs(C[i] - refC[i]) <= tol)) throw new Error(`${what}: C[${i}] = ${C[i]}, reference ${refC[i]}`);
    }
  }

  for (const isa of isas) {
    for (const threads of [1, 2]) {
      it(`${isa}, ${threads} thread(s): every transpose and beta on ragged shapes, ld padding and unaligned views`, () => {
        const kern = createNativeKernels({ threads, isa })!;
        expect(kern.isa).toBe(isa);
        const rng = new Rng(100 + threads);
        // small shapes, and ones that cross the tile, KC (256) and split thresholds; with
        // A·Bᵀ, M ≤ 4 takes the dot-product path, M ≤ 64 the swapped one, larger M the packed
        // one; with A·B, M ≤ 64 reads B and the whole panels of A in place
        const shapes: [number, number, number][] = [[1, 1, 1], [1, 7, 3], [3, 9, 21], [4, 5, 300], [5, 1, 9], [6, 16, 8], [7, 17, 300],
          [13, 33, 257], [33, 70, 40], [64, 65, 129], [65, 31, 64], [100, 90, 120], [2, 300, 520]];
        for (const [M, N, K] of shapes) {
          for (const ta of [false, true]) for (const tb of [false, true]) for (const beta of [0, 1] as const) {
            check(kern, rng, ta, tb, M, N, K, beta);
          }
        }
        for (let r = 0; r < 30; r++) {
          check(kern, rng, rng.int(2) === 1, rng.int(2) === 1, 1 + rng.int(80), 1 + rng.int(80), rng.int(300), rng.int(2) as 0 | 1);
        }
      });
    }

    it(`${isa}: results are bit-identical for 1, 2 and 3 threads`, () => {
      const rng = new Rng(7);
      const ks = [1, 2, 3].map((threads) => createNativeKernels({ threads, isa })!);
      // big enough to be split (≥ 1 MFLOP): packed along M and along N, the swapped path
      // (A·Bᵀ, M ≤ 64) and the dot-product path (A·Bᵀ, M ≤ 4)
      const shapes: [boolean, boolean, number, number, number][] = [
        [false, true, 32, 1024, 256], [false, false, 32, 256, 1024], [true, false, 300, 70, 500],
        [false, true, 200, 129, 130], [true, true, 97, 203, 111], [false, false, 7, 1000, 300],
        [false, true, 1, 1023, 601], [false, true, 3, 999, 333],
        // few rows with A·B: B and the whole MR-row panels of A read in place, split along M
        // (60 rows, 20 columns) and along N with a partial last panel (29 rows)
        [false, false, 60, 20, 2000], [false, false, 29, 300, 700], [true, false, 40, 300, 500],
      ];
      for (const [ta, tb, M, N, K] of shapes) {
        const A = place(random(rng, M * K), 1);
        const B = place(random(rng, K * N), 3);
        const C0 = random(rng, M * N);
        const outs = ks.map((kern) => {
          const C = place(C0, 2);
          kern.gemm(ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, 1, C, N);
          return C.slice();
        });
        expect(outs[1]).toEqual(outs[0]);
        expect(outs[2]).toEqual(outs[0]);
      }
    });
  }

  it('more threads than cores: split products in a row stay bit-identical to one thread', () => {
    // 3 threads a core: a worker that claimed a part is often descheduled in it, so the
    // caller waits for it past its spin (pool.c: it sleeps until the last part wakes it);
    // a lost wake-up would hang here until the test times out
    const threads = 3 * availableParallelism() + 1;
    const many = createNativeKernels({ threads })!;
    expect(many.threads).toBe(threads);
    const rng = new Rng(11);
    const [M, N, K] = [32, 256, 512];
    const A = place(random(rng, M * K), 0);
    const B = place(random(rng, K * N), 0);
    const C0 = random(rng, M * N);
    const want = place(C0, 0);
    k1.gemm(false, false, M, N, K, A, K, B, N, 1, want, N);
    for (let r = 0; r < 300; r++) {
      const C = place(C0, 0);
      many.gemm(false, false, M, N, K, A, K, B, N, 1, C, N);
      if (!C.every((x, i) => Object.is(x, want[i]))) expect.fail(`call ${r}: C differs from one thread's`);
    }
  });

  it('beta 0 overwrites C without reading it (NaN stays out); K = 0 gives beta·C', () => {
    const C = arena.floats(12) as Float32Array;
    C.fill(NaN);
    const A = arena.floats(6) as Float32Array;
    const B = arena.floats(8) as Float32Array;
    A.fill(1);
    B.fill(2);
    k1.gemm(false, false, 3, 4, 2, A, 2, B, 4, 0, C, 4);
    expect([...C]).toEqual(new Array(12).fill(4));
    k1.gemm(false, false, 3, 4, 0, A, 2, B, 4, 1, C, 4);
    expect([...C]).toEqual(new Array(12).fill(4));
    k1.gemm(false, false, 3, 4, 0, A, 2, B, 4, 0, C, 4);
    expect([...C]).toEqual(new Array(12).fill(0));
  });

  it('works on plain Float32Arrays too, and rejects what a caller can get wrong', () => {
    const A = new Float32Array([1, 2, 3, 4]);
    const B = new Float32Array([5, 6, 7, 8]);
    const C = new Float32Array(4);
    k1.gemm(false, false, 2, 2, 2, A, 2, B, 2, 0, C, 2);
    expect([...C]).toEqual([19, 22, 43, 50]);
    expect(() => k1.gemm(false, false, 2, 2, 2, A, 2, B, 2, 0, new Float32Array(3), 2)).toThrow(/C has 3 elements, the call needs 4/);
    expect(() => k1.gemm(false, false, 2, 2, 2, A, 2, B, 2, 0, C, 1)).toThrow(/ldc 1 < N 2/);
    expect(() => k1.gemm(false, false, 2, 2, 2, new Float64Array(4), 2, B, 2, 0, C, 2)).toThrow(/A must be a Float32Array/);
    expect(() => k1.gemm(false, true, 2, 2, 3, A, 2, B, 2, 0, C, 2)).toThrow(/lda 2 < 3/);
  });

  it('refuses an instruction set this CPU does not run', () => {
    const missing = ['avx512', 'avx2', 'neon'].find((x) => !isas.includes(x));
    if (missing) expect(() => createNativeKernels({ isa: missing })).toThrow(/not available on this CPU/);
    expect(isas.at(-1)).toBe('generic');
  });

  it('is what createKernels picks by default, and computes what the wasm backend computes', () => {
    const auto = createKernels();
    expect(auto.name).toBe('native');
    const wasm = createKernels({ backend: 'wasm', threads: 1 });
    // the same product on both: within float tolerance
    const rng = new Rng(3);
    const M = 40, N = 96, K = 72;
    const A0 = random(rng, M * K), B0 = random(rng, N * K);
    const run = (kern: typeof auto) => {
      const ar = kern.arena();
      const A = ar.floats(M * K) as Float32Array, B = ar.floats(N * K) as Float32Array, C = ar.floats(M * N) as Float32Array;
      A.set(A0);
      B.set(B0);
      kern.gemm(false, true, M, N, K, A, K, B, K, 0, C, N);
      return C.slice();
    };
    const a = run(auto), b = run(wasm);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4);
  });
});
