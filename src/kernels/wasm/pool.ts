// The WebAssembly backend's threads: `threads` compute threads = the calling one + (threads
// − 1) workers (./worker.ts), which share its memory and run their own instance of the same
// module. Only large products are split (see SPLIT_FLOPS, SPLIT_WEIGHTS): into about 4
// chunks per thread along N (whole 8-column tiles) or M (whole 4-row tiles), which every
// thread claims one at a time from the job block (./job.ts). The calling thread claims chunks
// too, so a worker that is asleep, still starting, or descheduled by a busy machine only
// means the caller does more of the work itself; it never waits for a worker that has not
// started a chunk. A worker spins on the job word for a while after each job and then sleeps
// in Atomics.wait; the caller spins (briefly), then waits, for the count of finished chunks.
// Workers start lazily on the first product worth splitting and are unref()ed so that a CLI
// exits naturally. Chunks cover whole tiles and take the path the whole product takes, so a
// split product is bit-identical to the same product on one thread. A layer sweep (the time
// loop of a window, assembly/sweep.ts) is a job too: one run of batch rows per thread,
// each for the whole window, with no hand-off from step to step.
import type { Worker } from 'node:worker_threads';
import { nodeWorkerThreads } from '../../util/builtins.js';
import { claimChunks, JOB_WORDS, JobWord, MAX_CHUNKS, MAX_WORKERS, openCounter, readyWord, TAG_MASK, writeJob, writeSweep } from './job.js';
import type { ChunkFns, GemmArgs, SweepArgs, WorkerInit } from './job.js';
import { allocatedBytes, type WasmMemory } from './memory.js';
import { WORKER_SOURCE } from './worker.bundle.js';

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

export interface PoolOptions {
  threads: number;
  splitFlops: number;
  splitWeights: number;
}

export class GemmPool {
  private threadCount: number;
  private workers: Worker[] | null = null;
  private job: Int32Array | null = null;
  private seq = 0;
  /** Few-row products seen before the workers started (see SPLIT_WEIGHTS_AFTER). */
  private fewRowCalls = 0;

  constructor(
    private readonly mem: WasmMemory,
    private readonly module: () => WebAssembly.Module,
    private readonly scratchBytes: number,
    private readonly opts: PoolOptions,
  ) {
    this.threadCount = opts.threads;
  }

  get threads(): number {
    return this.threadCount;
  }

  /** Whether a product of this shape is worth splitting across the threads. */
  wantsSplit(M: number, N: number, K: number): boolean {
    if (this.threadCount <= 1) return false;
    if (2 * M * N * K >= this.opts.splitFlops) return true;
    return M <= 4 && N * K >= this.opts.splitWeights
      && (this.workers !== null || ++this.fewRowCalls > SPLIT_WEIGHTS_AFTER);
  }

  /** Chunks of split products the workers have run so far (0 without workers). */
  workerChunks(): number {
    return this.job ? Atomics.load(this.job, JobWord.workerChunks) : 0;
  }

  /** Starts the workers now and blocks until they are ready (they otherwise start lazily). */
  start(): void {
    this.spawn();
    const job = this.job;
    const workers = this.workers;
    if (!job || !workers) return;
    for (let w = 0; w < workers.length; w++) {
      const deadline = Date.now() + 30_000;
      while (Atomics.load(job, readyWord(w)) !== 1) {
        if (Date.now() > deadline) throw new Error('wasm kernels: a worker thread did not start');
        Atomics.wait(job, readyWord(w), 0, 5);
      }
    }
  }

  /** Bytes the workers will take from the memory when they start (their job block and packing areas); 0 once started. */
  get pendingBytes(): number {
    if (this.workers || this.threadCount <= 1) return 0;
    const count = Math.min(this.threadCount - 1, MAX_WORKERS);
    return allocatedBytes(JOB_WORDS * 4) + count * allocatedBytes(this.scratchBytes);
  }

  private spawn(): void {
    if (this.workers || this.threadCount <= 1) return;
    const count = Math.min(this.threadCount - 1, MAX_WORKERS);
    const jobPtr = this.mem.alloc(JOB_WORDS * 4);
    const job = this.mem.words(jobPtr, JOB_WORDS);
    const workers: Worker[] = [];
    for (let w = 0; w < count; w++) {
      const init: WorkerInit = {
        kind: 'rnn-wasm-gemm-worker', module: this.module(), memory: this.mem.memory, jobPtr, index: w,
        scratch: this.mem.alloc(this.scratchBytes), spinMs: WORKER_SPIN_MS,
      };
      const worker = new (nodeWorkerThreads().Worker)(WORKER_SOURCE, { eval: true, workerData: init });
      worker.unref();
      workers.push(worker);
    }
    this.job = job;
    this.workers = workers;
  }

  /** Stops the workers; products then run on the calling thread. */
  dispose(): void {
    const workers = this.workers;
    const job = this.job;
    this.workers = null;
    this.job = null;
    this.threadCount = 1;
    if (!workers || !job) return;
    Atomics.store(job, JobWord.quit, 1);
    Atomics.store(job, JobWord.seq, ++this.seq);
    Atomics.notify(job, JobWord.seq);
    for (const w of workers) void w.terminate();
  }

  /** Runs one product split across the threads; `fns`/`scratch` are the calling thread's. */
  run(g: GemmArgs, fns: ChunkFns, scratch: number): void {
    if (!this.workers) this.spawn();
    const j = this.job!;
    // split the wider side in whole tiles (N in 8s, M in 4s), about 4 chunks per thread
    const byN = g.N / 8 >= g.M / 4;
    const unit = byN ? 8 : 4;
    const total = byN ? g.N : g.M;
    const tiles = Math.ceil(total / unit);
    const want = Math.min(tiles, 4 * this.threadCount, MAX_CHUNKS);
    const chunk = Math.ceil(tiles / want) * unit;
    const n = Math.ceil(total / chunk);
    writeJob(j, g, byN, total, chunk, n);
    this.publishAndJoin(j, n, fns, scratch, 'a gemm chunk failed');
  }

  /**
   * Runs a layer sweep (assembly/sweep.ts) with the batch rows shared out: one run of rows
   * per thread, each for the whole window (a sweep has no hand-off between its steps, so
   * finer chunks would only read W_hh more often); each run a whole number of `rowUnit` rows.
   */
  runSweep(s: SweepArgs, fns: ChunkFns, scratch: number, rowUnit = 1): void {
    if (!this.workers) this.spawn();
    const j = this.job!;
    // chunks of whole units of rows (the loss's blocks), one per thread
    const units = Math.ceil(s.B / rowUnit);
    const want = Math.min(units, this.threadCount, MAX_CHUNKS);
    const chunk = Math.ceil(units / want) * rowUnit;
    const n = Math.ceil(s.B / chunk);
    writeSweep(j, s, chunk, n);
    this.publishAndJoin(j, n, fns, scratch, 'a layer sweep failed');
  }

  // Publishes the job just written (n chunks), runs chunks on this thread too, then waits for the rest.
  private publishAndJoin(j: Int32Array, n: number, fns: ChunkFns, scratch: number, failure: string): void {
    const tag = ++this.seq & TAG_MASK;
    Atomics.store(j, JobWord.done, 0);
    Atomics.store(j, JobWord.status, 0);
    Atomics.store(j, JobWord.counter, openCounter(tag, n));
    Atomics.store(j, JobWord.seq, this.seq);
    Atomics.notify(j, JobWord.seq);
    claimChunks(j, tag, fns, scratch);
    let spins = 0;
    let until = 0;
    for (;;) {
      const done = Atomics.load(j, JobWord.done);
      if (done === n) break;
      if ((++spins & 63) === 0) {
        const now = performance.now();
        if (until === 0) until = now + MAIN_SPIN_MS;
        else if (now > until) Atomics.wait(j, JobWord.done, done, 50);
      }
    }
    if (Atomics.load(j, JobWord.status) !== 0) throw new Error(`wasm kernels: ${failure}`);
  }
}
