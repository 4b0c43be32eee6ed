// The job block through which the calling thread hands a split GEMM or a sweep to the workers: Int32
// words in the shared memory, named below, and the chunk loop every thread runs on it. Shared
// by the pool (./pool.ts) and the worker module (./worker.ts), so both read one layout.
//
// A job is a split product (kind 0) or a layer sweep (kind 1: ./kernels.ts, assembly/sweep.ts),
// whose chunks are ranges of batch rows, each run for the whole window.
//
// Protocol: the caller writes the product and its split, zeroes `done` and `status`, sets
// `counter` to (tag << 16) | (chunks << 8) (chunk 0 unclaimed), then bumps `seq` and
// notifies it. Every thread (the caller included) claims chunks with a compare-and-swap on
// `counter` until none is left, and reads the job's words only after a claim; a thread that
// finishes the last chunk notifies `done`. A chunk that throws sets `status`. A counter that
// carries another job's tag is a job that is over.
import { SWEEP_POINTERS, type GemmFn, type GemmPath, type SweepFn, type SweepKind, type WasmExports } from './abi.js';

export const JobWord = {
  /** Job number, bumped to publish a job (workers spin, then wait, on it). */
  seq: 0,
  /** (job tag << 16) | (chunks in the job << 8) | next unclaimed chunk. */
  counter: 1,
  /** Chunks finished in the current job. */
  done: 2,
  /** 1 if a chunk failed. */
  status: 3,
  /** 1 asks the workers to exit. */
  quit: 4,
  /** Chunks in the job. */
  chunks: 5,
  /** 1: chunks are column ranges of C; 0: row ranges. */
  byN: 6,
  /** Columns (byN) or rows to share out. */
  total: 7,
  /** Columns or rows per chunk. */
  chunk: 8,
  /** Chunks run by workers so far (statistics for the tests). */
  workerChunks: 9,
  // the product C[M,N] = beta·C + op(A)·op(B), pointers are byte offsets
  transA: 10, transB: 11, M: 12, N: 13, K: 14, A: 15, lda: 16, B: 17, ldb: 18, beta: 19, C: 20, ldc: 21,
  path: 22,
  /** 0: a split product; 1: a layer sweep, chunks of `chunk` batch rows. */
  kind: 23,
  // the sweep: its kind, B, T, H and buffers (SWEEP_POINTERS words from sweepP0)
  sweepKind: 24, sweepB: 25, sweepT: 26, sweepH: 27, sweepP0: 28,
} as const;

/** Word of worker w's ready flag (set to 1 when it has instantiated the module). */
export const readyWord = (w: number): number => 48 + w * 16;
export const MAX_WORKERS = 64;
export const JOB_WORDS = 48 + MAX_WORKERS * 16;
export const TAG_MASK = 0x7fff;
export const MAX_CHUNKS = 255;

/** What a worker is started with (its workerData). */
export interface WorkerInit {
  kind: 'rnn-wasm-gemm-worker';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of the job block. */
  jobPtr: number;
  /** This worker's index (its ready word). */
  index: number;
  /** Byte offset of this worker's GEMM packing area. */
  scratch: number;
  /** How long to spin on `seq` after a job before sleeping (ms). */
  spinMs: number;
}

export interface GemmArgs {
  transA: boolean; transB: boolean; M: number; N: number; K: number;
  A: number; lda: number; B: number; ldb: number; beta: 0 | 1; C: number; ldc: number; path: GemmPath;
}

export interface SweepArgs {
  kind: SweepKind; B: number; T: number; H: number;
  /** Byte offsets of its buffers (assembly/sweep.ts order). */
  p: readonly number[];
}

/** The functions a thread runs chunks with: its own instance's. */
export type ChunkFns = Pick<WasmExports, 'gemm' | 'sweep'>;

/** Writes a sweep and its split (chunks of `chunk` rows) into the job block (everything but the publishing words). */
export function writeSweep(j: Int32Array, s: SweepArgs, chunk: number, chunks: number): void {
  j[JobWord.kind] = 1;
  j[JobWord.chunks] = chunks;
  j[JobWord.total] = s.B;
  j[JobWord.chunk] = chunk;
  j[JobWord.sweepKind] = s.kind;
  j[JobWord.sweepB] = s.B;
  j[JobWord.sweepT] = s.T;
  j[JobWord.sweepH] = s.H;
  for (let i = 0; i < SWEEP_POINTERS; i++) j[JobWord.sweepP0 + i] = s.p[i] ?? 0;
}

/** Writes a product and its split into the job block (everything but the publishing words). */
export function writeJob(j: Int32Array, g: GemmArgs, byN: boolean, total: number, chunk: number, chunks: number): void {
  j[JobWord.kind] = 0;
  j[JobWord.chunks] = chunks;
  j[JobWord.byN] = byN ? 1 : 0;
  j[JobWord.total] = total;
  j[JobWord.chunk] = chunk;
  j[JobWord.transA] = g.transA ? 1 : 0;
  j[JobWord.transB] = g.transB ? 1 : 0;
  j[JobWord.M] = g.M;
  j[JobWord.N] = g.N;
  j[JobWord.K] = g.K;
  j[JobWord.A] = g.A;
  j[JobWord.lda] = g.lda;
  j[JobWord.B] = g.B;
  j[JobWord.ldb] = g.ldb;
  j[JobWord.beta] = g.beta;
  j[JobWord.C] = g.C;
  j[JobWord.ldc] = g.ldc;
  j[JobWord.path] = g.path;
}

/**
 * Claims and runs chunks of job `tag` until none is left; returns how many it ran. The job's
 * words are read only after a claim succeeds: a thread late for a job that is over may meet
 * the next job's words half written, but never a claimable counter of its tag (the counter
 * holds the job's chunk count itself, so "none left" never depends on those words). Once a
 * claim has succeeded, the words are the job's until its last chunk is done, which cannot
 * be before this thread's.
 */
export function claimChunks(j: Int32Array, tag: number, fns: ChunkFns, scratch: number): number {
  const first = claim(j, tag);
  if (first < 0) return 0;
  return j[JobWord.kind] === 1 ? sweepChunks(j, tag, first, fns.sweep, scratch) : gemmChunks(j, tag, first, fns.gemm, scratch);
}

/** The counter word that publishes job `tag` with `chunks` chunks, none claimed. */
export function openCounter(tag: number, chunks: number): number {
  return (tag << 16) | (chunks << 8);
}

// Claims the next chunk of job `tag`: (chunks << 8) | its index, or −1 when none is left.
function claim(j: Int32Array, tag: number): number {
  for (;;) {
    const cur = Atomics.load(j, JobWord.counter);
    if (cur >>> 16 !== tag) return -1;
    const idx = cur & 255;
    if (idx >= ((cur >>> 8) & 255)) return -1;
    if (Atomics.compareExchange(j, JobWord.counter, cur, cur + 1) === cur) return cur & 0xffff;
  }
}

// Counts a chunk done (and notifies the caller after the last); `claimed` as claim() returns it.
function chunkDone(j: Int32Array, claimed: number): void {
  if (Atomics.add(j, JobWord.done, 1) + 1 === claimed >>> 8) Atomics.notify(j, JobWord.done);
}

// A split product: chunk i is columns i·chunk… of C (columns of op(B)) or rows i·chunk… (rows of op(A)).
function gemmChunks(j: Int32Array, tag: number, first: number, gemm: GemmFn, scratch: number): number {
  const byN = j[JobWord.byN] !== 0, total = j[JobWord.total], chunk = j[JobWord.chunk];
  const ta = j[JobWord.transA], tb = j[JobWord.transB], M = j[JobWord.M], N = j[JobWord.N], K = j[JobWord.K];
  const A = j[JobWord.A], lda = j[JobWord.lda], B = j[JobWord.B], ldb = j[JobWord.ldb];
  const beta = j[JobWord.beta], C = j[JobWord.C], ldc = j[JobWord.ldc], path = j[JobWord.path] as GemmPath;
  let ran = 0;
  for (let c = first; c >= 0; c = claim(j, tag)) {
    const lo = (c & 255) * chunk;
    const hi = Math.min(total, lo + chunk);
    try {
      if (byN) gemm(ta, tb, M, hi - lo, K, A, lda, B + (tb ? lo * ldb : lo) * 4, ldb, beta, C + lo * 4, ldc, path, scratch);
      else gemm(ta, tb, hi - lo, N, K, A + (ta ? lo : lo * lda) * 4, lda, B, ldb, beta, C + lo * ldc * 4, ldc, path, scratch);
    } catch {
      Atomics.store(j, JobWord.status, 1);
    }
    ran++;
    chunkDone(j, c);
  }
  return ran;
}

// A sweep: chunk i is batch rows i·chunk … for the whole window.
function sweepChunks(j: Int32Array, tag: number, first: number, sweep: SweepFn, scratch: number): number {
  const total = j[JobWord.total], chunk = j[JobWord.chunk];
  const kind = j[JobWord.sweepKind] as SweepKind, B = j[JobWord.sweepB], T = j[JobWord.sweepT], H = j[JobWord.sweepH];
  const p = JobWord.sweepP0;
  const p0 = j[p], p1 = j[p + 1], p2 = j[p + 2], p3 = j[p + 3], p4 = j[p + 4], p5 = j[p + 5], p6 = j[p + 6];
  let ran = 0;
  for (let c = first; c >= 0; c = claim(j, tag)) {
    const lo = (c & 255) * chunk;
    const hi = Math.min(total, lo + chunk);
    try {
      sweep(kind, lo, hi, B, T, H, p0, p1, p2, p3, p4, p5, p6, scratch);
    } catch {
      Atomics.store(j, JobWord.status, 1);
    }
    ran++;
    chunkDone(j, c);
  }
  return ran;
}
