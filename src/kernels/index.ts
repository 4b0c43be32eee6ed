// Backend selection. The WebAssembly SIMD backend is the default for float32; the
// reference backend serves float64 (gradient checks) and `--backend reference`.
import { ReferenceKernels } from './reference.js';
import type { Dtype, Kernels } from './types.js';
import { createWasmKernels } from './wasm/index.js';

export type { Arena, Dtype, Kernels, RnnActivation, Vec } from './types.js';
export { ReferenceKernels } from './reference.js';

export type BackendName = 'wasm' | 'reference';

export interface KernelOptions {
  backend?: BackendName;
  dtype?: Dtype;
  /** Worker threads for the WebAssembly backend (default: all cores). */
  threads?: number;
}

export function createKernels(opts: KernelOptions = {}): Kernels {
  const dtype = opts.dtype ?? 'f32';
  if (opts.backend === 'reference' || dtype === 'f64') return new ReferenceKernels(dtype);
  if (opts.backend === 'wasm') return createWasmKernels({ threads: opts.threads });
  if (opts.backend === undefined) {
    // default: the WebAssembly backend whenever this runtime can instantiate it
    try {
      return createWasmKernels({ threads: opts.threads });
    } catch {
      return new ReferenceKernels(dtype);
    }
  }
  const backend: string = opts.backend;
  throw new Error(`unknown backend ${backend}`);
}
