// The WebAssembly SIMD backend (float32): one shared WebAssembly.Memory holds every tensor
// and the arena hands out views of it (./memory.ts); each kernel passes the views' byte
// offsets to the module compiled from ./assembly, in one of two builds chosen at run time
// (./module.ts: relaxed-SIMD FMA where the runtime has it, plain SIMD128 otherwise); large
// products are split across worker threads (./pool.ts, ./job.ts, ./worker.ts). The kernel
// wrappers are in ./kernels.ts; the generated artefacts in ./kernels.wasm.ts and
// ./worker.bundle.ts (scripts/build-wasm.mjs).
import { availableParallelism } from 'node:os';
import { WasmBackend, type WasmKernels } from './kernels.js';
import { chooseVariant, type WasmVariant } from './module.js';
import { SPLIT_FLOPS, SPLIT_WEIGHTS } from './pool.js';

export type { WasmKernels } from './kernels.js';
export { relaxedSimdAvailable, type WasmVariant } from './module.js';
export { SPLIT_FLOPS, SPLIT_WEIGHTS } from './pool.js';

export interface WasmKernelOptions {
  /** Compute threads including the calling one (default: os.availableParallelism()). 1 = no workers. */
  threads?: number;
  /** Which module: 'fma' (relaxed SIMD), 'simd' (plain SIMD128) or 'auto' (default: 'fma' where the
   *  runtime validates relaxed SIMD; the environment variable RNN_WASM=simd|fma overrides 'auto'). */
  variant?: WasmVariant | 'auto';
  /** Split products of at least this many flops (default SPLIT_FLOPS; for measurements). */
  splitFlops?: number;
  /** Split products with M ≤ 4 whose B holds at least this many floats (default SPLIT_WEIGHTS). */
  splitWeights?: number;
  /** A·Bᵀ products with M ≤ this take the unpacked dot-product path (default 64; 0 = always pack;
   *  for measurements and tests). */
  dotMaxM?: number;
}

/** The WebAssembly SIMD kernels (float32). Synchronous; workers start on the first large product. */
export function createWasmKernels(opts: WasmKernelOptions = {}): WasmKernels {
  return new WasmBackend({
    variant: chooseVariant(opts.variant),
    threads: Math.max(1, Math.floor(opts.threads ?? availableParallelism())),
    splitFlops: opts.splitFlops ?? SPLIT_FLOPS,
    splitWeights: opts.splitWeights ?? SPLIT_WEIGHTS,
    dotMaxM: opts.dotMaxM ?? 64,
  });
}
