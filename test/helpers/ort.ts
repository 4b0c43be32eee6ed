// ONNX Runtime for the export tests: onnxruntime-web, the same runtime compiled to
// WebAssembly. It has no install script, so `npm install` needs nothing but the registry
// and prints no warnings under npm 10 and 11 (onnxruntime-node's script fetches CUDA
// binaries on linux/x64 unless told not to, and npm 11 warns about the .npmrc key that
// told it). One thread: the tests' graphs are tiny, and worker start-up costs more.
import * as ort from 'onnxruntime-web';

ort.env.wasm.numThreads = 1;

export type Ort = typeof ort;
export { ort };
