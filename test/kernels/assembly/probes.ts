// Test-only AssemblyScript module: the kernels' SIMD exp / σ / tanh and f64 log from
// src/kernels/wasm/assembly/vmath.ts, exported one float per call (lane 0) so that the
// accuracy tests see exactly what the kernels compute. test/helpers/wasm-probes.ts compiles
// it when the tests run; the shipped kernel modules do not contain it.

import { vexp, vsigmoid, vtanh, logF64 } from "../../../src/kernels/wasm/assembly/vmath";

export function expN(n: i32, src: usize, dst: usize): void {
  for (let i = 0; i < n; i++) {
    const p = src + (<usize>i << 2);
    v128.store32_lane(dst + (<usize>i << 2), vexp(v128.load32_zero(p)), 0);
  }
}
export function sigmoidN(n: i32, src: usize, dst: usize): void {
  for (let i = 0; i < n; i++) {
    const p = src + (<usize>i << 2);
    v128.store32_lane(dst + (<usize>i << 2), vsigmoid(v128.load32_zero(p)), 0);
  }
}
export function tanhN(n: i32, src: usize, dst: usize): void {
  for (let i = 0; i < n; i++) {
    const p = src + (<usize>i << 2);
    v128.store32_lane(dst + (<usize>i << 2), vtanh(v128.load32_zero(p)), 0);
  }
}

export function logProbe(x: f64): f64 {
  return logF64(x);
}
