// Probes for the accuracy tests: apply one vector function to n floats from src to dst
// (one float per call, lane 0, so the tests see exactly what the kernels compute).

import { vexp, vsigmoid, vtanh, logF64 } from "./vmath";

// Exported probes for the accuracy tests: n floats from src to dst.
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
