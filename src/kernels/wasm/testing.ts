// Test access to the WebAssembly backend's insides, kept off its public interface: the
// pool's statistics. Only tests and benchmarks import this file. (The accuracy probes of the
// module's exp / σ / tanh / log are a test-only module: test/helpers/wasm-probes.ts.)
import { WasmBackend, type WasmKernels } from './kernels.js';

function backend(k: WasmKernels): WasmBackend {
  if (!(k instanceof WasmBackend)) throw new TypeError('not a WebAssembly backend from createWasmKernels');
  return k;
}

/** Chunks of split products the workers have run so far (0 without workers). */
export function workerChunks(k: WasmKernels): number {
  return backend(k).pool.workerChunks();
}
