// A GEMM worker thread: instantiates the kernels module over the shared memory, says it is
// ready, then waits for jobs in the job block (./job.ts) and claims chunks of each. Bundled
// into ./worker.bundle.ts by scripts/build-wasm.mjs; started by ./pool.ts.
import { workerData } from 'node:worker_threads';
import type { WasmExports } from './abi.js';
import { claimChunks, JOB_WORDS, JobWord, readyWord, TAG_MASK, type WorkerInit } from './job.js';

const init = workerData as WorkerInit;
if (init?.kind !== 'rnn-wasm-gemm-worker') throw new Error('wasm worker: started without its init message');
const ex = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports as unknown as WasmExports;
const j = new Int32Array(init.memory.buffer, init.jobPtr, JOB_WORDS);
let last = Atomics.load(j, JobWord.seq);
Atomics.store(j, readyWord(init.index), 1);
for (;;) {
  let s = Atomics.load(j, JobWord.seq);
  const until = performance.now() + init.spinMs;
  let n = 0;
  while (s === last) {
    if ((++n & 63) === 0 && performance.now() > until) Atomics.wait(j, JobWord.seq, last);
    s = Atomics.load(j, JobWord.seq);
  }
  last = s;
  if (Atomics.load(j, JobWord.quit) !== 0) break;
  const ran = claimChunks(j, s & TAG_MASK, ex, init.scratch);
  if (ran > 0) Atomics.add(j, JobWord.workerChunks, ran);
}
