// The WebAssembly layer sweeps (src/kernels/wasm/assembly/sweep.ts: a window's whole time
// loop in one call, each thread owning a run of batch rows) against the per-step path on the
// same backend (bit for bit: the same sums) and against the float64 reference (within
// float32 tolerance), through a whole model's forward, loss and backward: LSTM and gru-torch
// layers, odd B and B = 1, H not a multiple of the vector width, several K blocks of the
// products (H > 64 for the backward's K = 4H, H > 256 for the forward's), the widest layers
// whose packed W_hh fits the packing area (LSTM 256, GRU 290) and wider ones, whose backward
// sweep declines (the per-step loop runs); every output, every gradient, the carried state in
// and out; 1, 2 and 3 threads bit-identical, one backend reused across shapes. Also the calls
// it declines (B over the dot-product limit) and the errors a caller can cause.
import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { Kernels, Vec } from '../../src/kernels/types.js';
import { SweepKind } from '../../src/kernels/wasm/abi.js';
import { createWasmKernels, type WasmKernels } from '../../src/kernels/wasm/index.js';
import { claimChunks, JOB_WORDS, JobWord, openCounter, writeJob, writeSweep, type ChunkFns } from '../../src/kernels/wasm/job.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, expectSame, run, sweepCounting, type Shape } from '../helpers/window.js';

const SHAPES: Shape[] = [
  { cell: 'lstm', B: 5, T: 1, H: 7, E: 3, layers: 1 },
  { cell: 'gru-torch', B: 1, T: 4, H: 9, E: 3, layers: 2 },
  { cell: 'lstm', B: 7, T: 4, H: 19, E: 5, layers: 2 },
  { cell: 'gru-torch', B: 33, T: 5, H: 40, E: 9, layers: 2 },
  { cell: 'lstm', B: 17, T: 3, H: 67, E: 4, layers: 1 },
  { cell: 'gru-torch', B: 6, T: 2, H: 300, E: 5, layers: 1 },
  { cell: 'gru-torch', B: 5, T: 2, H: 290, E: 5, layers: 1 },
  { cell: 'lstm', B: 32, T: 2, H: 256, E: 4, layers: 1 },
  { cell: 'lstm', B: 9, T: 2, H: 260, E: 6, layers: 1 },
  { cell: 'lstm', B: 3, T: 1, H: 1030, E: 2, layers: 1 },
  { cell: 'gru-torch', B: 2, T: 2, H: 33, E: 4, layers: 1 },
];

/** Sweeps that run per layer: the forward always, the backward when W_hh packed fits the packing area (KC·NC floats). */
function sweepsPerLayer(s: Shape): number {
  const G = (s.cell === 'lstm' ? 4 : 3) * s.H;
  return G * Math.ceil(s.H / 8) * 8 <= 256 * 1024 ? 2 : 1;
}

describe('WebAssembly layer sweeps', () => {
  const ref = new ReferenceKernels('f64');
  // every product split (splitFlops 1): the sweeps share the rows out on 2 and 3 threads
  const backends: [number, WasmKernels][] = [1, 2, 3].map((threads) => [threads, createWasmKernels({ threads, splitFlops: 1 })]);
  const perStep = createWasmKernels({ threads: 2, splitFlops: 1 });

  SHAPES.forEach((s, i) => {
    it(`${s.cell} B ${s.B}, T ${s.T}, H ${s.H}, ${s.layers} layer(s): the per-step path bit for bit on 1/2/3 threads, the reference within tolerance`, () => {
      const seed = 300 + i;
      const steps = run(sweepCounting(perStep, true).k, s, seed);
      for (const [threads, k] of backends) {
        const c = sweepCounting(k);
        const swept = run(c.k, s, seed);
        expect(c.ran(), `sweep calls that ran on ${threads} thread(s)`).toBe(sweepsPerLayer(s) * s.layers);
        expectSame(swept, steps, `${threads} thread(s)`);
      }
      expectClose(steps, run(ref, s, seed), 'against the float64 reference');
    });
  });

  it('workers ran chunks of the sweeps', () => {
    const k = createWasmKernels({ threads: 2, splitFlops: 1 });
    k.startWorkers();
    const pool = (k as unknown as { pool: { workerChunks(): number } }).pool;
    const before = pool.workerChunks();
    run(k, { cell: 'lstm', B: 40, T: 40, H: 64, E: 4, layers: 1 }, 5);
    expect(pool.workerChunks()).toBeGreaterThan(before);
    k.dispose();
  });

  it('declines B over the dot-product limit (the per-step loop runs, same results)', () => {
    for (const cell of ['lstm', 'gru-torch'] as const) {
      const s = { cell, B: 9, T: 3, H: 21, E: 3, layers: 2 };
      const c = sweepCounting(createWasmKernels({ threads: 2, splitFlops: 1, dotMaxM: 8 }));
      const swept = run(c.k, s, 9);
      expect(c.ran()).toBe(0);
      expectSame(swept, run(sweepCounting(createWasmKernels({ threads: 2, splitFlops: 1, dotMaxM: 8 }), true).k, s, 9), `${cell} B 9`);
    }
  });

  it('refuses views too short for the window', () => {
    const k = createWasmKernels({ threads: 1 });
    const a = k.arena();
    const B = 6, T = 3, H = 10, n = B * H;
    const f = (m: number): Vec => a.floats(m);
    expect(() => k.lstmSweepForward!(B, T, H, f(T * 4 * n - 1), f(4 * H * H), f((T + 1) * n), f((T + 1) * n), f(T * n)))
      .toThrow(/gates has 719 elements, the call needs 720/);
    expect(() => k.lstmSweepForward!(B, T, H, f(T * 4 * n), f(4 * H * H), f(T * n), f((T + 1) * n), f(T * n)))
      .toThrow(/Hs has 180 elements, the call needs 240/);
    expect(() => k.lstmSweepBackward!(B, T, H, f(T * 4 * n), f(4 * H * H), f((T + 1) * n), f(T * n), f((T + 1) * n), f(n - 1), f(T * 4 * n)))
      .toThrow(/dC has 59 elements, the call needs 60/);
    expect(() => k.gruTorchSweepForward!(B, T, H, f(T * 3 * n), f(3 * H * H), f(3 * H - 1), f(T * 3 * n), f((T + 1) * n)))
      .toThrow(/bhh has 29 elements, the call needs 30/);
    expect(() => k.gruTorchSweepBackward!(B, T, H, f(T * 3 * n), f(3 * H * H), f(T * 3 * n), f((T + 1) * n), f((T + 1) * n), f(T * 3 * n), f(T * 3 * n - 1)))
      .toThrow(/dHW has 539 elements, the call needs 540/);
    expect(() => k.lstmSweepForward!(B, T, H, new Float64Array(T * 4 * n), f(4 * H * H), f((T + 1) * n), f((T + 1) * n), f(T * n)))
      .toThrow(/gates must be a Float32Array/);
  });
});

// A large loss (rows·V ≥ 2^17: the head of a large vocabulary) runs its rows on every
// thread, in blocks of 64 rows whose sums the caller adds in order: the same loss and
// gradient, bit for bit, as one thread; and the float64 reference within tolerance.
describe('WebAssembly softmaxXent split across threads', () => {
  const one = createWasmKernels({ threads: 1 });
  const many = [2, 3].map((threads) => createWasmKernels({ threads }));
  const ref = new ReferenceKernels('f64');

  function xent(k: Kernels, rows: number, V: number, seed: number, alias: boolean, targetAt?: [number, number]) {
    const rng = new Rng(seed);
    const a = k.arena();
    const logits = a.floats(rows * V);
    for (let i = 0; i < logits.length; i++) logits[i] = 4 * rng.normal();
    const targets = a.ints(rows);
    for (let r = 0; r < rows; r++) targets[r] = rng.int(V);
    if (targetAt) targets[targetAt[0]] = targetAt[1];
    const d = alias ? logits : a.floats(rows * V);
    const loss = k.softmaxXent(rows, V, logits, targets, d, 1 / rows);
    return { loss, d: Float64Array.from(d) };
  }

  for (const [rows, V] of [[1000, 300], [2048, 65], [130, 5003], [4097, 33]] as const) {
    it(`rows ${rows}, V ${V}: 2 and 3 threads give one thread's loss and gradient bit for bit`, () => {
      for (const alias of [false, true]) {
        const want = xent(one, rows, V, rows + V, alias);
        for (const k of many) {
          const got = xent(k, rows, V, rows + V, alias);
          expect(got.loss).toBe(want.loss);
          for (let i = 0; i < want.d.length; i++) if (!Object.is(got.d[i], want.d[i])) expect.fail(`${k.threads} threads: d[${i}] ${got.d[i]} vs ${want.d[i]}`);
        }
        const r = xent(ref, rows, V, rows + V, alias);
        expect(Math.abs(want.loss - r.loss)).toBeLessThan(1e-6 * r.loss);
      }
    });
  }

  it('runs on the workers, and a target outside the vocabulary is still refused', () => {
    const k = many[0];
    k.startWorkers();
    const pool = (k as unknown as { pool: { workerChunks(): number } }).pool;
    const before = pool.workerChunks();
    xent(k, 4096, 500, 1, false);
    expect(pool.workerChunks()).toBeGreaterThan(before);
    expect(() => xent(k, 4096, 500, 2, false, [3000, 500])).toThrow(/target 500 at row 3000 is outside \[0, 500\)/);
    expect(() => xent(k, 4096, 500, 2, false, [70, -1])).toThrow(/target -1 at row 70 is outside \[0, 500\)/);
  });
});

// The job protocol (src/kernels/wasm/job.ts) when a worker is late: it saw job A's number,
// but by the time it looks, A's chunks are all claimed and the caller is writing job B's
// words (B not yet published). It must run nothing: it reads a job's words only after a
// claim, and the claim (the counter word) carries A's own chunk count.
describe('WebAssembly job protocol', () => {
  const g = { transA: false, transB: false, M: 64, N: 64, K: 8, A: 64, lda: 8, B: 128, ldb: 64, beta: 0 as const, C: 256, ldc: 64, path: 0 as const };
  it('a worker late for a job that is over runs no chunk, whatever the next job\'s words say', () => {
    const j = new Int32Array(new SharedArrayBuffer(JOB_WORDS * 4));
    const calls: string[] = [];
    const fns: ChunkFns = { gemm: () => calls.push('gemm'), sweep: () => calls.push('sweep') };
    // job A: a sweep of 2 chunks, both claimed and run by the caller
    writeSweep(j, { kind: SweepKind.lstmForward, B: 6, T: 2, H: 4, p: [1, 2, 3, 4, 5] }, 3, 2);
    Atomics.store(j, JobWord.counter, openCounter(7, 2));
    expect(claimChunks(j, 7, fns, 0)).toBe(2);
    expect(calls).toEqual(['sweep', 'sweep']);
    // the caller writes job B (a product of 8 chunks) but has not published it yet
    writeJob(j, g, true, 64, 8, 8);
    expect(claimChunks(j, 7, fns, 0)).toBe(0);
    expect(calls).toHaveLength(2);
    // published: B's chunks run, and a worker with A's tag still runs none
    Atomics.store(j, JobWord.counter, openCounter(8, 8));
    expect(claimChunks(j, 7, fns, 0)).toBe(0);
    expect(claimChunks(j, 8, fns, 0)).toBe(8);
    expect(calls.filter((c) => c === 'gemm')).toHaveLength(8);
  });
});
