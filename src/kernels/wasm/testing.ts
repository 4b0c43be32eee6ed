// Test access to the WebAssembly backend's insides, kept off its public interface: the
// module's accuracy probes (the SIMD exp / σ / tanh and the f64 log the kernels use) and
// the pool's statistics. Only tests and benchmarks import this file.
import { WasmBackend, type WasmKernels } from './kernels.js';

function backend(k: WasmKernels): WasmBackend {
  if (!(k instanceof WasmBackend)) throw new TypeError('not a WebAssembly backend from createWasmKernels');
  return k;
}

/** The SIMD exp / σ / tanh applied to n floats of src (a view of k's memory), into dst. */
export function probeVector(k: WasmKernels, fn: 'exp' | 'sigmoid' | 'tanh', src: Float32Array, dst: Float32Array): void {
  const b = backend(k);
  const n = src.length;
  const ps = b.mem.floatPtr(src, n, 'probe src');
  const pd = b.mem.floatPtr(dst, n, 'probe dst');
  if (fn === 'exp') b.ex.expN(n, ps, pd);
  else if (fn === 'sigmoid') b.ex.sigmoidN(n, ps, pd);
  else b.ex.tanhN(n, ps, pd);
}

/** The module's float64 log (used by softmaxXent). */
export function probeLog(k: WasmKernels, x: number): number {
  return backend(k).ex.logProbe(x);
}

/** Chunks of split products the workers have run so far (0 without workers). */
export function workerChunks(k: WasmKernels): number {
  return backend(k).pool.workerChunks();
}
