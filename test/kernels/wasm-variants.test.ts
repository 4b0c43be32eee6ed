// The two builds of the WebAssembly kernels module: relaxed-SIMD FMA against plain SIMD128 and the float64-accumulating reference, on random ragged shapes,
// every transpose, beta 0 and 1, unaligned offsets and wide leading dimensions, one thread
// and two; and the choice between them (feature test, RNN_WASM, the variant option).
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { createWasmKernels, relaxedSimdAvailable, type WasmKernels } from '../../src/kernels/wasm/index.js';
import { chooseVariant } from '../../src/kernels/wasm/module.js';
import { Rng } from '../../src/util/rng.js';
import { runCli, tempDir } from '../helpers/cli.js';

const ref = new ReferenceKernels('f64');

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

/** A view of k's memory `offset` floats into a fresh allocation, holding a copy of src. */
function copyInto(k: WasmKernels, src: Float32Array, offset: number): Float32Array {
  const v = (k.arena().floats(src.length + offset) as Float32Array).subarray(offset);
  v.set(src);
  return v;
}

describe.runIf(relaxedSimdAvailable())('the relaxed-SIMD FMA module', () => {
  const fma1 = createWasmKernels({ variant: 'fma', threads: 1 });
  const fma2 = createWasmKernels({ variant: 'fma', threads: 2, splitFlops: 1 << 14 });
  const simd1 = createWasmKernels({ variant: 'simd', threads: 1 });
  afterAll(() => fma2.dispose());

  it('is the one chosen by default, and says so', () => {
    expect(fma1.variant).toBe('fma');
    expect(fma1.name).toBe('wasm-fma');
    expect(simd1.variant).toBe('simd');
    expect(simd1.name).toBe('wasm-simd');
    if (process.env.RNN_WASM === undefined) expect(createWasmKernels({ threads: 1 }).variant).toBe('fma');
  });

  it('agrees with the plain module and the reference; two threads are bit-identical to one', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 48; trial++) {
      const ta = (trial & 1) === 1, tb = (trial & 2) === 2;
      const beta = ((trial >> 2) & 1) as 0 | 1;
      // ragged sizes around the 4x8 tiles and the blocking (MC 128, KC 256),
      // few rows (the unpacked A·Bᵀ path) as well as many
      const M = trial % 8 < 2 ? 1 + rng.int(12) : 1 + rng.int(trial < 40 ? 140 : 260);
      const N = 1 + rng.int(trial < 40 ? 70 : 300);
      const K = 1 + rng.int(trial < 40 ? 90 : 300);
      const lda = (ta ? M : K) + rng.int(3), ldb = (tb ? K : N) + rng.int(3), ldc = N + rng.int(3);
      const A = randomArray(rng, (ta ? K : M) * lda);
      const B = randomArray(rng, (tb ? N : K) * ldb);
      const C0 = randomArray(rng, M * ldc);
      const want = Float64Array.from(C0);
      ref.gemm(ta, tb, M, N, K, Float64Array.from(A), lda, Float64Array.from(B), ldb, beta, want, ldc);
      const off = rng.int(4);
      const results = [fma1, fma2, simd1].map((k) => {
        const C = copyInto(k, C0, (off + 2) % 4);
        k.gemm(ta, tb, M, N, K, copyInto(k, A, off), lda, copyInto(k, B, (off + 1) % 4), ldb, beta, C, ldc);
        return C;
      });
      const [f1, f2, s1] = results;
      const what = `ta=${ta} tb=${tb} M=${M} N=${N} K=${K} beta=${beta}`;
      expect(Buffer.from(f2.buffer, f2.byteOffset, f2.byteLength)
        .equals(Buffer.from(f1.buffer, f1.byteOffset, f1.byteLength)), `${what}: 2 threads vs 1`).toBe(true);
      // float32 rounding of K products: both modules stay within ~K·2⁻²⁴·Σ|ab| of the exact sum
      const tol = 2e-7 * K + 1e-6;
      let worstRef = 0, worstPlain = 0;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < ldc; j++) {
          const x = i * ldc + j;
          if (j >= N) {
            expect(f1[x], `${what}: wrote past N`).toBe(C0[x]);
            continue;
          }
          worstRef = Math.max(worstRef, Math.abs(f1[x] - want[x]));
          worstPlain = Math.max(worstPlain, Math.abs(f1[x] - s1[x]));
        }
      }
      expect(worstRef, `${what}: fma vs reference`).toBeLessThanOrEqual(tol);
      expect(worstPlain, `${what}: fma vs plain`).toBeLessThanOrEqual(2 * tol);
    }
  });

  it('fuses: a·b + c is rounded once', () => {
    // x = 1 + 2⁻¹², x·x − (1 + 2⁻¹¹) = 2⁻²⁴ exactly; multiply then add rounds x·x first and gets 0
    const x = 1 + 2 ** -12;
    for (const [k, want] of [[fma1, 2 ** -24], [simd1, 0]] as const) {
      const A = copyInto(k, new Float32Array([x]), 0);
      const C = copyInto(k, new Float32Array([-(1 + 2 ** -11)]), 0);
      k.gemm(false, false, 1, 1, 1, A, 1, A, 1, 1, C, 1);
      expect(C[0], k.name).toBe(want);
    }
  });
});

describe('choosing the module', () => {
  it('RNN_WASM picks the module when the caller does not, the variant option overrides it', () => {
    const saved = process.env.RNN_WASM;
    try {
      process.env.RNN_WASM = 'simd';
      expect(chooseVariant()).toBe('simd');
      expect(chooseVariant('auto')).toBe('simd');
      if (relaxedSimdAvailable()) expect(chooseVariant('fma')).toBe('fma');
      process.env.RNN_WASM = 'fma';
      expect(chooseVariant('simd')).toBe('simd');
      delete process.env.RNN_WASM;
      expect(chooseVariant()).toBe(relaxedSimdAvailable() ? 'fma' : 'simd');
    } finally {
      if (saved === undefined) delete process.env.RNN_WASM;
      else process.env.RNN_WASM = saved;
    }
  });

  it('with RNN_WASM=simd the CLI trains and samples on the plain module', async () => {
    const tmp = tempDir();
    try {
      let text = '';
      for (let i = 0; text.length < 6000; i++) text += `line ${i % 17} of the plain module test\n`;
      writeFileSync(join(tmp.dir, 'c.txt'), text);
      const env = { RNN_WASM: 'simd' };
      const small = ['--layers', '1', '--hidden', '24', '--embed', '8', '--batch', '8', '--seq', '16'];
      const t = await runCli(['train', 'c.txt', ...small, '--steps', '12', '--eval-every', '6', '--out', 'ck'], { cwd: tmp.dir, env });
      expect(t.code, t.stderr).toBe(0);
      const s = await runCli(['sample', '-c', join('ck', readdirSync(join(tmp.dir, 'ck')).find((f) => f.endsWith('-last.safetensors'))!), '-n', '40', '--seed', '3'], { cwd: tmp.dir, env });
      expect(s.code, s.stderr).toBe(0);
      expect(s.stdout.length).toBeGreaterThanOrEqual(40);
    } finally {
      tmp.cleanup();
    }
  });
});
