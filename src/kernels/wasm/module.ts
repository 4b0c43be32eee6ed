// The two builds of the kernels module and the choice between them.
//
// 'fma': relaxed SIMD, where the GEMM's multiply-add is one f32x4.relaxed_madd (a vfmadd on
// x86-64 with FMA, an fmla on arm64); 'simd': plain SIMD128, multiply then add. Node 22+ validates relaxed SIMD by default; Node 20 has it
// behind a V8 flag, which this module turns on (process-wide, workers included) the first
// time a backend asks for the automatic choice. The choice is a feature test: validate a
// one-function module that uses f32x4.relaxed_madd. RNN_WASM=simd (or the `variant` option)
// forces the plain module, for comparisons and for a runtime whose relaxed SIMD misbehaves.
import { nodeV8 } from '../../util/builtins.js';
import { KERNELS_FMA_BASE64, KERNELS_SIMD_BASE64 } from './kernels.wasm.js';

export type WasmVariant = 'fma' | 'simd';

// (module (func (param v128 v128 v128) (result v128)
//   local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd))
const RELAXED_MADD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128 v128 v128) -> v128
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // code
]);

let relaxed: boolean | null = null;

/** Whether this runtime validates relaxed SIMD (after turning on V8's flag where it needs one). */
export function relaxedSimdAvailable(): boolean {
  if (relaxed === null) {
    relaxed = WebAssembly.validate(RELAXED_MADD_PROBE);
    if (!relaxed) {
      try {
        nodeV8().setFlagsFromString('--experimental-wasm-relaxed-simd');
      } catch {
        // a runtime without V8 flags: the plain module it is
      }
      relaxed = WebAssembly.validate(RELAXED_MADD_PROBE);
    }
  }
  return relaxed;
}

/** The variant to use: the caller's, else RNN_WASM, else 'fma' where relaxed SIMD validates. */
export function chooseVariant(asked?: WasmVariant | 'auto'): WasmVariant {
  const env = process.env.RNN_WASM;
  const want = asked && asked !== 'auto' ? asked : env === 'simd' || env === 'fma' ? env : 'auto';
  if (want === 'simd') return 'simd';
  if (want === 'fma') {
    if (!relaxedSimdAvailable()) throw new Error('wasm kernels: this runtime has no relaxed SIMD; use the simd variant');
    return 'fma';
  }
  return relaxedSimdAvailable() ? 'fma' : 'simd';
}

const compiled = new Map<WasmVariant, WebAssembly.Module>();

/** The compiled module of a variant (compiled once per process). */
export function kernelsModule(variant: WasmVariant): WebAssembly.Module {
  let m = compiled.get(variant);
  if (!m) {
    m = new WebAssembly.Module(Buffer.from(variant === 'fma' ? KERNELS_FMA_BASE64 : KERNELS_SIMD_BASE64, 'base64'));
    compiled.set(variant, m);
  }
  return m;
}
