// STATUS: done and tested (test/kernels/wasm.test.ts, 31 tests, ~2 s): packed GEMM, all
// four transposes, beta 0/1, ragged M,N,K and leading dims, an unpacked dot-product path for
// A·Bᵀ with M ≤ 64 (per-step recurrent product, batch-1 sampling); every cell's fused
// pointwise kernels; loss, clipping and optimizer ops; the arena over one growing shared
// memory; work-sharing worker threads. Bench: node bench/kernels.mjs.
//
// The WebAssembly SIMD backend. One shared WebAssembly.Memory holds every tensor; the
// arena hands out 64-byte-aligned Float32Array / Int32Array views of it, and each kernel
// passes the views' byte offsets to the module compiled from ./assembly (embedded in
// ./kernels.wasm.ts by scripts/build-wasm.mjs).
//
// Memory layout: [0, 64 KiB) is never handed out (pointer 0 means "no array"); above it a
// bump allocator hands out, in order, the main thread's GEMM packing area, then the views
// the model asks for, then (lazily) the worker control block and the workers' packing areas.
// Nothing is ever freed; the memory grows as needed. A shared memory's old buffers stay
// valid after a grow, so earlier views keep working.
//
// Threads: `threads` compute threads = this one + (threads − 1) workers. Only GEMMs of at
// least SPLIT_FLOPS are split: into about 4 chunks per thread along N (whole 8-column
// tiles) or M (whole 4-row tiles), which every thread claims one at a time with a
// compare-and-swap on a shared counter. The calling thread claims chunks too, so a worker
// that is asleep, still starting, or descheduled by a busy machine only means the caller
// does more of the work itself; it never waits for a worker that has not started a chunk.
// The hand-off is a sequence number in shared memory: a worker spins on it for a while
// after each job and then sleeps in Atomics.wait; the caller spins (briefly), then waits,
// for the count of finished chunks. Workers start lazily on the first large product and
// are unref()ed so that a CLI exits naturally.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Arena, Dtype, Kernels, RnnActivation, Vec } from '../types.js';
import { KERNELS_WASM_BASE64 } from './kernels.wasm.js';

const PAGE = 65536;
const RESERVED_BYTES = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
const INITIAL_PAGES = 64;
const ALIGN = 64;

/** Products of at least this many flops (2·M·N·K) are split across threads. Measured with
 *  bench/kernels.mjs (LSTM time loop: per-step product h·W_hhᵀ + lstmForward, median µs/step,
 *  1 thread → 2 threads): 1 MFLOP ([8,128]x[128,512], [32,64]x[64,256]) 50 → 54 and 68 → 71,
 *  no gain; 4 MFLOP ([32,128]x[128,512]) 193 → 144; 17 MFLOP ([32,256]x[256,1024]) 653 → 454.
 *  Batch-1 sampling products (0.5 MFLOP) stay on the calling thread. */
export const SPLIT_FLOPS = 1 << 21;
/** Products with few rows (M ≤ 4: batch-1 sampling, scoring one stream) that read a weight
 *  matrix of at least this many floats (512 KiB) are split too: they are bound by the memory
 *  traffic of the weights, and two cores stream it faster. Measured (bench/core.ts, batch-1
 *  sampling after training, medians of 3 noisy runs; split off / at 64 KiB / at 512 KiB):
 *  M 7.3k / 8.3k / 8.5k chars/s; S (weights of 128–256 KiB) 25.2k / 23.3k / 25.1k. */
export const SPLIT_WEIGHTS = 1 << 17;
/** …but only once the workers run, or after this many such products: starting a worker costs
 *  about 90 ms of a short process (`rnn sample -n 100`: 200 → 290 ms), more than it saves. */
const SPLIT_WEIGHTS_AFTER = 2048;
/** How long an idle worker spins on the job word before it sleeps (ms): covers the gap
 *  between the per-step products of a time loop (a pointwise kernel and some JS). */
const WORKER_SPIN_MS = 0.3;
/** How long the caller spins for a worker's last chunk before it sleeps (ms). */
const MAIN_SPIN_MS = 2;

// the job block shared by all threads (Int32 words)
const J_SEQ = 0; // job number, bumped to publish a job
const J_COUNTER = 1; // (job tag << 8) | next unclaimed chunk
const J_DONE = 2; // chunks finished in the current job
const J_STATUS = 3; // 1 if a worker failed
const J_QUIT = 4;
const J_NCHUNK = 5;
const J_BYN = 6;
const J_TOTAL = 7;
const J_CHUNK = 8;
const J_ARGS = 9; // ta tb M N K A lda B ldb beta C ldc (12 words)
const J_WORKER_CHUNKS = 21; // chunks run by workers so far (statistics, tests)
const J_WORKERS = 32; // then per worker: [ready, scratch] every 16 words
const W_WORDS = 16;
const TAG_MASK = 0x7fffff;
const MAX_CHUNKS = 255;

interface WasmExports {
  scratchBytes(): number;
  setDotMaxM(m: number): void;
  gemm(
    transA: number, transB: number, M: number, N: number, K: number,
    A: number, lda: number, B: number, ldb: number, beta: number, C: number, ldc: number, scratch: number,
  ): void;
  rnnForward(g: number, n: number, H: number, pre: number, h: number): void;
  rnnBackward(g: number, n: number, H: number, h: number, dh: number, dPre: number): void;
  lstmForward(n: number, H: number, gates: number, cPrev: number, c: number, h: number, tanhC: number): void;
  lstmBackward(n: number, H: number, gates: number, cPrev: number, tanhC: number, dh: number, dc: number, dGates: number): void;
  gruResetForward(n: number, H: number, gates: number, hPrev: number, rh: number): void;
  gruOutForward(n: number, H: number, G: number, uOffset: number, cOffset: number, sigmoidU: number, gates: number, hPrev: number, h: number): void;
  gruOutBackward(n: number, H: number, G: number, uOffset: number, cOffset: number, gates: number, hPrev: number, dh: number, dGates: number, dhPrev: number): void;
  gruResetBackward(n: number, H: number, gates: number, hPrev: number, dRh: number, dGates: number, dhPrev: number): void;
  gruTorchForward(n: number, H: number, gates: number, hw: number, hPrev: number, h: number): void;
  gruTorchBackward(n: number, H: number, gates: number, hw: number, hPrev: number, dh: number, dGates: number, dHw: number, dhPrev: number): void;
  addBias(rows: number, N: number, X: number, ldx: number, bias: number): void;
  sumRows(rows: number, N: number, dX: number, ldx: number, dbias: number): void;
  checkIds(rows: number, ids: number, V: number): number;
  gatherRows(rows: number, E: number, ids: number, table: number, out: number): void;
  scatterAddRows(rows: number, E: number, ids: number, dOut: number, dtable: number): void;
  softmaxXent(rows: number, V: number, logits: number, targets: number, dLogits: number, scale: number): number;
  sumSquares(n: number, x: number): number;
  scale(n: number, x: number, s: number): void;
  adam(n: number, p: number, g: number, m: number, v: number, lr: number, b1: number, b2: number, eps: number, lrWd: number, c1: number, c2: number): void;
  rmsprop(n: number, p: number, g: number, v: number, lr: number, alpha: number, eps: number, ca: number): void;
  sgd(n: number, p: number, g: number, m: number, lr: number, mu: number): void;
  expN(n: number, src: number, dst: number): void;
  sigmoidN(n: number, src: number, dst: number): void;
  tanhN(n: number, src: number, dst: number): void;
  logProbe(x: number): number;
}

let compiled: WebAssembly.Module | null = null;
function kernelsModule(): WebAssembly.Module {
  if (!compiled) compiled = new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
  return compiled;
}

// Claims and runs chunks of job `tag` until none is left; returns how many it ran. A chunk
// that throws sets the status word. Used by the calling thread and, through its source
// text, by the workers: so it refers to nothing outside itself but globals (the job block
// layout comes in as `L`).
function claimChunks(
  j: Int32Array, tag: number, gemm: WasmExports['gemm'], scratch: number, L: readonly number[],
): number {
  const [cCounter, cDone, cStatus, cN, cByN, cTotal, cChunk, a] = L;
  const n = j[cN], byN = j[cByN], total = j[cTotal], chunk = j[cChunk];
  const ta = j[a], tb = j[a + 1], M = j[a + 2], N = j[a + 3], K = j[a + 4], A = j[a + 5], lda = j[a + 6];
  const B = j[a + 7], ldb = j[a + 8], beta = j[a + 9], C = j[a + 10], ldc = j[a + 11];
  let ran = 0;
  for (;;) {
    const cur = Atomics.load(j, cCounter);
    if (cur >>> 8 !== tag) break;
    const idx = cur & 255;
    if (idx >= n) break;
    if (Atomics.compareExchange(j, cCounter, cur, cur + 1) !== cur) continue;
    const lo = idx * chunk;
    const hi = Math.min(total, lo + chunk);
    try {
      if (byN) gemm(ta, tb, M, hi - lo, K, A, lda, B + (tb & 1 ? lo * ldb : lo) * 4, ldb, beta, C + lo * 4, ldc, scratch);
      else gemm(ta, tb, hi - lo, N, K, A + (ta ? lo : lo * lda) * 4, lda, B, ldb, beta, C + lo * ldc * 4, ldc, scratch);
    } catch {
      Atomics.store(j, cStatus, 1);
    }
    ran++;
    if (Atomics.add(j, cDone, 1) + 1 === n) Atomics.notify(j, cDone);
  }
  return ran;
}
const LAYOUT: readonly number[] = [J_COUNTER, J_DONE, J_STATUS, J_NCHUNK, J_BYN, J_TOTAL, J_CHUNK, J_ARGS];

// The worker body, run with `eval: true` so that it works from source and from the bundle.
const WORKER_SOURCE = `
'use strict';
const { workerData } = require('node:worker_threads');
const { module, memory, job, slot, spin } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const j = new Int32Array(memory.buffer, job, ${J_WORKERS + 64 * W_WORDS});
const claimChunks = (${claimChunks.toString()});
const layout = ${JSON.stringify(LAYOUT)};
const scratch = j[slot + 1];
let last = Atomics.load(j, ${J_SEQ});
Atomics.store(j, slot, 1);
for (;;) {
  let s = Atomics.load(j, ${J_SEQ});
  const until = performance.now() + spin;
  let n = 0;
  while (s === last) {
    if ((++n & 63) === 0 && performance.now() > until) Atomics.wait(j, ${J_SEQ}, last);
    s = Atomics.load(j, ${J_SEQ});
  }
  last = s;
  if (Atomics.load(j, ${J_QUIT}) !== 0) break;
  const ran = claimChunks(j, s & ${TAG_MASK}, ex.gemm, scratch, layout);
  if (ran > 0) Atomics.add(j, ${J_WORKER_CHUNKS}, ran);
}
`;

type View = Float32Array | Float64Array | Int32Array;

export interface WasmKernelOptions {
  /** Compute threads including the calling one (default: os.availableParallelism()). 1 = no workers. */
  threads?: number;
  /** Split products of at least this many flops (default SPLIT_FLOPS; for measurements). */
  splitFlops?: number;
  /** Split products with M ≤ 4 whose B holds at least this many floats (default SPLIT_WEIGHTS). */
  splitWeights?: number;
}

export interface WasmKernels extends Kernels {
  /** Compute threads used for large products (1 = single-threaded). */
  readonly threads: number;
  /** Starts the workers now and blocks until they are ready (they otherwise start lazily). */
  startWorkers(): void;
  /** Chunks of split products the workers have run so far (0 without workers). */
  workerChunks(): number;
  /** Stops the workers; the kernels keep working single-threaded. */
  dispose(): void;
  /** Test probes: the SIMD exp / σ / tanh applied to n floats, and the module's f64 log. */
  probe(fn: 'exp' | 'sigmoid' | 'tanh', src: Float32Array, dst: Float32Array): void;
  probeLog(x: number): number;
  /** Benchmark hook: A·Bᵀ products with M ≤ dotMaxM use the unpacked dot-product path
   *  (default 64; 0 = always pack). Affects this thread only. */
  tune(dotMaxM: number): void;
  /** The shared memory every view lives in (for tests and workers). */
  readonly memory: WebAssembly.Memory;
}

class WasmArena implements Arena {
  readonly dtype: Dtype = 'f32';
  constructor(private readonly k: WasmBackend) {}
  floats(n: number): Float32Array {
    const p = this.k.alloc(n * 4);
    return new Float32Array(this.k.currentBuffer, p, n);
  }
  ints(n: number): Int32Array {
    const p = this.k.alloc(n * 4);
    return new Int32Array(this.k.currentBuffer, p, n);
  }
}

class WasmBackend implements WasmKernels {
  readonly name = 'wasm-simd';
  readonly dtype: Dtype = 'f32';
  readonly memory: WebAssembly.Memory;
  private readonly ex: WasmExports;
  private readonly module: WebAssembly.Module;
  private buffer: SharedArrayBuffer;
  private readonly oldBuffers = new WeakSet<ArrayBufferLike>();
  private top = RESERVED_BYTES;
  private readonly scratchBytes: number;
  private readonly mainScratch: number;
  private threadCount: number;
  private workers: Worker[] | null = null;
  private job: Int32Array | null = null;
  private seq = 0;
  /** Mirror of the module's dotMaxM (A·Bᵀ with M ≤ this: unpacked dot-product path). */
  private dotMaxM = 64;

  private readonly splitFlops: number;
  private readonly splitWeights: number;
  /** Few-row products seen before the workers started (see SPLIT_WEIGHTS_AFTER). */
  private fewRowCalls = 0;

  constructor(threads: number, splitFlops: number, splitWeights: number) {
    this.splitFlops = splitFlops;
    this.splitWeights = splitWeights;
    this.module = kernelsModule();
    this.memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
    this.buffer = this.memory.buffer as unknown as SharedArrayBuffer;
    this.ex = new WebAssembly.Instance(this.module, { env: { memory: this.memory } }).exports as unknown as WasmExports;
    this.threadCount = threads;
    this.scratchBytes = this.ex.scratchBytes();
    this.mainScratch = this.alloc(this.scratchBytes);
  }

  // ---- memory

  /** Bump-allocates `bytes` (64-byte aligned, zeroed: the memory is fresh), growing the memory. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`arena: bad size ${bytes} bytes`);
    const p = this.top;
    const end = p + Math.ceil(bytes / ALIGN) * ALIGN;
    const have = this.buffer.byteLength;
    if (end > have) {
      const needPages = Math.ceil((end - have) / PAGE);
      const curPages = have / PAGE;
      const pages = Math.min(Math.max(needPages, curPages >> 2), MAX_PAGES - curPages);
      if (pages < needPages) {
        throw new RangeError(`arena: out of WebAssembly memory (asked ${bytes} bytes, 4 GiB is the limit)`);
      }
      this.memory.grow(pages);
      this.oldBuffers.add(this.buffer);
      this.buffer = this.memory.buffer as unknown as SharedArrayBuffer;
    }
    this.top = end;
    return p;
  }

  arena(): Arena {
    return new WasmArena(this);
  }

  /** Byte offset of a float view of this memory with at least `need` elements. */
  private f(v: Vec, need: number, what: string): number {
    if (!(v instanceof Float32Array)) throw new TypeError(`wasm kernels: ${what} must be a Float32Array (dtype f32)`);
    return this.at(v, need, what);
  }

  private i(v: Int32Array, need: number, what: string): number {
    if (!(v instanceof Int32Array)) throw new TypeError(`wasm kernels: ${what} must be an Int32Array`);
    return this.at(v, need, what);
  }

  private at(v: View, need: number, what: string): number {
    const b = v.buffer;
    if (b !== this.buffer && !this.oldBuffers.has(b) && !this.adopt(b)) {
      throw new Error(
        `wasm kernels: ${what} does not live in this backend's memory; allocate it with kernels.arena()`,
      );
    }
    if (v.length < need) {
      throw new RangeError(`wasm kernels: ${what} has ${v.length} elements, the call needs ${need}`);
    }
    return v.byteOffset;
  }

  /** A shared memory may hand out a new buffer object for the same store: accept the current one. */
  private adopt(b: ArrayBufferLike): boolean {
    const cur = this.memory.buffer as unknown as SharedArrayBuffer;
    if (cur !== this.buffer) {
      this.oldBuffers.add(this.buffer);
      this.buffer = cur;
    }
    return b === cur;
  }

  /** The current buffer of the memory (views are created over it). */
  get currentBuffer(): SharedArrayBuffer {
    return this.buffer;
  }

  // ---- threads

  get threads(): number {
    return this.threadCount;
  }

  workerChunks(): number {
    return this.job ? Atomics.load(this.job, J_WORKER_CHUNKS) : 0;
  }

  startWorkers(): void {
    this.spawn();
    const job = this.job;
    const workers = this.workers;
    if (!job || !workers) return;
    for (let w = 0; w < workers.length; w++) {
      const slot = J_WORKERS + w * W_WORDS;
      const deadline = Date.now() + 30_000;
      while (Atomics.load(job, slot) !== 1) {
        if (Date.now() > deadline) throw new Error('wasm kernels: a worker thread did not start');
        Atomics.wait(job, slot, 0, 5);
      }
    }
  }

  private spawn(): void {
    if (this.workers || this.threadCount <= 1) return;
    const count = Math.min(this.threadCount - 1, 64);
    const words = J_WORKERS + 64 * W_WORDS;
    const jobPtr = this.alloc(words * 4);
    const job = new Int32Array(this.buffer, jobPtr, words);
    const workers: Worker[] = [];
    for (let w = 0; w < count; w++) {
      const slot = J_WORKERS + w * W_WORDS;
      job[slot + 1] = this.alloc(this.scratchBytes);
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module: this.module, memory: this.memory, job: jobPtr, slot, spin: WORKER_SPIN_MS },
      });
      worker.unref();
      workers.push(worker);
    }
    this.job = job;
    this.workers = workers;
  }

  dispose(): void {
    const workers = this.workers;
    const job = this.job;
    this.workers = null;
    this.job = null;
    this.threadCount = 1;
    if (!workers || !job) return;
    Atomics.store(job, J_QUIT, 1);
    Atomics.store(job, J_SEQ, ++this.seq);
    Atomics.notify(job, J_SEQ);
    for (const w of workers) void w.terminate();
  }

  // ---- GEMM

  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    A: Vec, lda: number, B: Vec, ldb: number, beta: 0 | 1, C: Vec, ldc: number,
  ): void {
    if (M <= 0 || N <= 0) return;
    if (ldc < N) throw new RangeError(`gemm: ldc ${ldc} < N ${N}`);
    const pC = this.f(C, (M - 1) * ldc + N, 'gemm C');
    let pA = 0;
    let pB = 0;
    if (K > 0) {
      const aCols = transA ? M : K;
      const bCols = transB ? K : N;
      if (lda < aCols) throw new RangeError(`gemm: lda ${lda} < ${aCols}`);
      if (ldb < bCols) throw new RangeError(`gemm: ldb ${ldb} < ${bCols}`);
      pA = this.f(A, ((transA ? K : M) - 1) * lda + aCols, 'gemm A');
      pB = this.f(B, ((transB ? N : K) - 1) * ldb + bCols, 'gemm B');
    }
    const ta = transA ? 1 : 0;
    const tb = transB ? 1 : 0;
    if (this.threadCount > 1 && (2 * M * N * K >= this.splitFlops || (M <= 4 && N * K >= this.splitWeights
      && (this.workers !== null || ++this.fewRowCalls > SPLIT_WEIGHTS_AFTER)))) {
      this.gemmSplit(ta, tb, M, N, K, pA, lda, pB, ldb, beta, pC, ldc);
      return;
    }
    this.ex.gemm(ta, tb, M, N, K, pA, lda, pB, ldb, beta, pC, ldc, this.mainScratch);
  }

  private gemmSplit(
    ta: number, tb: number, M: number, N: number, K: number,
    pA: number, lda: number, pB: number, ldb: number, beta: number, pC: number, ldc: number,
  ): void {
    if (!this.workers) this.spawn();
    const j = this.job!;
    // split the wider side in whole tiles (N in 8s, M in 4s), about 4 chunks per thread
    const byN = N / 8 >= M / 4;
    const unit = byN ? 8 : 4;
    const total = byN ? N : M;
    const tiles = Math.ceil(total / unit);
    const want = Math.min(tiles, 4 * this.threadCount, MAX_CHUNKS);
    const chunk = Math.ceil(tiles / want) * unit;
    const n = Math.ceil(total / chunk);
    // every chunk takes the path the whole product would take (bit 1 packed, bit 2 dot)
    const path = tb && !ta && M <= this.dotMaxM ? 4 : 2;
    const tag = ++this.seq & TAG_MASK;
    j[J_NCHUNK] = n;
    j[J_BYN] = byN ? 1 : 0;
    j[J_TOTAL] = total;
    j[J_CHUNK] = chunk;
    const a = J_ARGS;
    j[a] = ta; j[a + 1] = tb | path; j[a + 2] = M; j[a + 3] = N; j[a + 4] = K; j[a + 5] = pA; j[a + 6] = lda;
    j[a + 7] = pB; j[a + 8] = ldb; j[a + 9] = beta; j[a + 10] = pC; j[a + 11] = ldc;
    Atomics.store(j, J_DONE, 0);
    Atomics.store(j, J_STATUS, 0);
    Atomics.store(j, J_COUNTER, tag << 8);
    Atomics.store(j, J_SEQ, this.seq);
    Atomics.notify(j, J_SEQ);
    claimChunks(j, tag, this.ex.gemm, this.mainScratch, LAYOUT);
    let spins = 0;
    let until = 0;
    for (;;) {
      const done = Atomics.load(j, J_DONE);
      if (done === n) break;
      if ((++spins & 63) === 0) {
        const now = performance.now();
        if (until === 0) until = now + MAIN_SPIN_MS;
        else if (now > until) Atomics.wait(j, J_DONE, done, 50);
      }
    }
    if (Atomics.load(j, J_STATUS) !== 0) throw new Error('wasm kernels: a gemm chunk failed');
  }

  // ---- rows

  addBias(rows: number, N: number, X: Vec, ldx: number, bias: Vec): void {
    if (rows <= 0 || N <= 0) return;
    this.ex.addBias(rows, N, this.f(X, (rows - 1) * ldx + N, 'addBias X'), ldx, this.f(bias, N, 'addBias bias'));
  }

  sumRows(rows: number, N: number, dX: Vec, ldx: number, dbias: Vec): void {
    if (rows <= 0 || N <= 0) return;
    this.ex.sumRows(rows, N, this.f(dX, (rows - 1) * ldx + N, 'sumRows dX'), ldx, this.f(dbias, N, 'sumRows dbias'));
  }

  private ids(rows: number, E: number, ids: Int32Array, table: Vec, what: string): number {
    const p = this.i(ids, rows, `${what} ids`);
    const V = Math.floor(table.length / E);
    const bad = this.ex.checkIds(rows, p, V);
    if (bad >= 0) throw new RangeError(`${what}: id ${ids[bad]} at row ${bad} is outside the table of ${V} rows`);
    return p;
  }

  gatherRows(rows: number, E: number, ids: Int32Array, table: Vec, out: Vec): void {
    if (rows <= 0 || E <= 0) return;
    const pIds = this.ids(rows, E, ids, table, 'gatherRows');
    this.ex.gatherRows(rows, E, pIds, this.f(table, E, 'gatherRows table'), this.f(out, rows * E, 'gatherRows out'));
  }

  scatterAddRows(rows: number, E: number, ids: Int32Array, dOut: Vec, dtable: Vec): void {
    if (rows <= 0 || E <= 0) return;
    const pIds = this.ids(rows, E, ids, dtable, 'scatterAddRows');
    this.ex.scatterAddRows(rows, E, pIds, this.f(dOut, rows * E, 'scatterAddRows dOut'), this.f(dtable, E, 'scatterAddRows dtable'));
  }

  // ---- cells

  rnnForward(g: RnnActivation, n: number, H: number, pre: Vec, h: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.rnnForward(g === 'relu' ? 1 : 0, n, H, this.f(pre, m, 'rnnForward pre'), this.f(h, m, 'rnnForward h'));
  }

  rnnBackward(g: RnnActivation, n: number, H: number, h: Vec, dh: Vec, dPre: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.rnnBackward(g === 'relu' ? 1 : 0, n, H, this.f(h, m, 'rnnBackward h'), this.f(dh, m, 'rnnBackward dh'),
      this.f(dPre, m, 'rnnBackward dPre'));
  }

  lstmForward(n: number, H: number, gates: Vec, cPrev: Vec, c: Vec, h: Vec, tanhC: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.lstmForward(n, H, this.f(gates, 4 * m, 'lstmForward gates'), this.f(cPrev, m, 'lstmForward cPrev'),
      this.f(c, m, 'lstmForward c'), this.f(h, m, 'lstmForward h'), this.f(tanhC, m, 'lstmForward tanhC'));
  }

  lstmBackward(n: number, H: number, gates: Vec, cPrev: Vec, tanhC: Vec, dh: Vec, dc: Vec, dGates: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.lstmBackward(n, H, this.f(gates, 4 * m, 'lstmBackward gates'), this.f(cPrev, m, 'lstmBackward cPrev'),
      this.f(tanhC, m, 'lstmBackward tanhC'), this.f(dh, m, 'lstmBackward dh'), this.f(dc, m, 'lstmBackward dc'),
      this.f(dGates, 4 * m, 'lstmBackward dGates'));
  }

  gruResetForward(n: number, H: number, gates: Vec, hPrev: Vec, rh: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.gruResetForward(n, H, this.f(gates, 3 * m, 'gruResetForward gates'),
      this.f(hPrev, m, 'gruResetForward hPrev'), this.f(rh, m, 'gruResetForward rh'));
  }

  gruOutForward(
    n: number, H: number, G: number, uOffset: number, cOffset: number, sigmoidU: boolean,
    gates: Vec, hPrev: Vec, h: Vec,
  ): void {
    const m = n * H;
    if (m <= 0) return;
    this.gruOffsets(H, G, uOffset, cOffset, 'gruOutForward');
    this.ex.gruOutForward(n, H, G, uOffset, cOffset, sigmoidU ? 1 : 0, this.f(gates, n * G, 'gruOutForward gates'),
      this.f(hPrev, m, 'gruOutForward hPrev'), this.f(h, m, 'gruOutForward h'));
  }

  gruOutBackward(
    n: number, H: number, G: number, uOffset: number, cOffset: number,
    gates: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dhPrev: Vec,
  ): void {
    const m = n * H;
    if (m <= 0) return;
    this.gruOffsets(H, G, uOffset, cOffset, 'gruOutBackward');
    this.ex.gruOutBackward(n, H, G, uOffset, cOffset, this.f(gates, n * G, 'gruOutBackward gates'),
      this.f(hPrev, m, 'gruOutBackward hPrev'), this.f(dh, m, 'gruOutBackward dh'),
      this.f(dGates, n * G, 'gruOutBackward dGates'), this.f(dhPrev, m, 'gruOutBackward dhPrev'));
  }

  private gruOffsets(H: number, G: number, uOffset: number, cOffset: number, what: string): void {
    if (uOffset < 0 || cOffset < 0 || uOffset + H > G || cOffset + H > G) {
      throw new RangeError(`${what}: gate blocks at ${uOffset} and ${cOffset} (width ${H}) do not fit a row of ${G}`);
    }
  }

  gruResetBackward(n: number, H: number, gates: Vec, hPrev: Vec, dRh: Vec, dGates: Vec, dhPrev: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.gruResetBackward(n, H, this.f(gates, 3 * m, 'gruResetBackward gates'),
      this.f(hPrev, m, 'gruResetBackward hPrev'), this.f(dRh, m, 'gruResetBackward dRh'),
      this.f(dGates, 3 * m, 'gruResetBackward dGates'), this.f(dhPrev, m, 'gruResetBackward dhPrev'));
  }

  gruTorchForward(n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, h: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.gruTorchForward(n, H, this.f(gates, 3 * m, 'gruTorchForward gates'), this.f(hw, 3 * m, 'gruTorchForward hw'),
      this.f(hPrev, m, 'gruTorchForward hPrev'), this.f(h, m, 'gruTorchForward h'));
  }

  gruTorchBackward(
    n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dHw: Vec, dhPrev: Vec,
  ): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.gruTorchBackward(n, H, this.f(gates, 3 * m, 'gruTorchBackward gates'),
      this.f(hw, 3 * m, 'gruTorchBackward hw'), this.f(hPrev, m, 'gruTorchBackward hPrev'),
      this.f(dh, m, 'gruTorchBackward dh'), this.f(dGates, 3 * m, 'gruTorchBackward dGates'),
      this.f(dHw, 3 * m, 'gruTorchBackward dHw'), this.f(dhPrev, m, 'gruTorchBackward dhPrev'));
  }

  // ---- loss

  softmaxXent(rows: number, V: number, logits: Vec, targets: Int32Array, dLogits: Vec | null, scale: number): number {
    if (rows <= 0 || V <= 0) return 0;
    const pL = this.f(logits, rows * V, 'softmaxXent logits');
    const pT = this.i(targets, rows, 'softmaxXent targets');
    const pD = dLogits ? this.f(dLogits, rows * V, 'softmaxXent dLogits') : 0;
    const loss = this.ex.softmaxXent(rows, V, pL, pT, pD, scale);
    if (Number.isNaN(loss)) {
      for (let r = 0; r < rows; r++) {
        const t = targets[r];
        if (t < 0 || t >= V) throw new RangeError(`softmaxXent: target ${t} at row ${r} is outside [0, ${V})`);
      }
    }
    return loss;
  }

  // ---- flat buffers

  sumSquares(n: number, x: Vec): number {
    if (n <= 0) return 0;
    return this.ex.sumSquares(n, this.f(x, n, 'sumSquares x'));
  }

  scale(n: number, x: Vec, s: number): void {
    if (n <= 0) return;
    this.ex.scale(n, this.f(x, n, 'scale x'), s);
  }

  adam(n: number, p: Vec, g: Vec, m: Vec, v: Vec, lr: number, b1: number, b2: number, eps: number, lrWd: number): void {
    if (n <= 0) return;
    this.ex.adam(n, this.f(p, n, 'adam p'), this.f(g, n, 'adam g'), this.f(m, n, 'adam m'), this.f(v, n, 'adam v'),
      lr, b1, b2, eps, lrWd, 1 - b1, 1 - b2);
  }

  rmsprop(n: number, p: Vec, g: Vec, v: Vec, lr: number, alpha: number, eps: number): void {
    if (n <= 0) return;
    this.ex.rmsprop(n, this.f(p, n, 'rmsprop p'), this.f(g, n, 'rmsprop g'), this.f(v, n, 'rmsprop v'),
      lr, alpha, eps, 1 - alpha);
  }

  sgd(n: number, p: Vec, g: Vec, m: Vec, lr: number, mu: number): void {
    if (n <= 0) return;
    this.ex.sgd(n, this.f(p, n, 'sgd p'), this.f(g, n, 'sgd g'), this.f(m, n, 'sgd m'), lr, mu);
  }

  // ---- probes

  probe(fn: 'exp' | 'sigmoid' | 'tanh', src: Float32Array, dst: Float32Array): void {
    const n = src.length;
    const ps = this.f(src, n, 'probe src');
    const pd = this.f(dst, n, 'probe dst');
    if (fn === 'exp') this.ex.expN(n, ps, pd);
    else if (fn === 'sigmoid') this.ex.sigmoidN(n, ps, pd);
    else this.ex.tanhN(n, ps, pd);
  }

  probeLog(x: number): number {
    return this.ex.logProbe(x);
  }

  tune(dotMaxM: number): void {
    this.dotMaxM = dotMaxM;
    this.ex.setDotMaxM(dotMaxM);
  }
}

/** The WebAssembly SIMD kernels (float32). Synchronous; workers start on the first large product. */
export function createWasmKernels(opts: WasmKernelOptions = {}): WasmKernels {
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  return new WasmBackend(threads, opts.splitFlops ?? SPLIT_FLOPS, opts.splitWeights ?? SPLIT_WEIGHTS);
}
