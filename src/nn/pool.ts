// Pooling over time: the encoder's per-position outputs o [T,B,D] to one vector per
// sequence p [B,D], over each row's valid positions t < len_b only.
//
//   mean   p_b = (1/len_b) Σ_{t<len_b} o_{t,b}          ∂L/∂o_{t,b} = ∂L/∂p_b / len_b
//   max    p_b[j] = max_{t<len_b} o_{t,b}[j]             ∂L/∂o_{t,b}[j] = ∂L/∂p_b[j] at the first t
//                                                        attaining the max, 0 elsewhere
// Rows with len_b = 0 pool to 0 and pass no gradient.
import type { Vec } from '../kernels/types.js';

export function meanPoolForward(B: number, D: number, lengths: Int32Array, outputs: Vec, pooled: Vec): void {
  pooled.fill(0, 0, B * D);
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    if (len === 0) continue;
    const p = b * D;
    for (let t = 0; t < len; t++) {
      const o = (t * B + b) * D;
      for (let j = 0; j < D; j++) pooled[p + j] += outputs[o + j];
    }
    for (let j = 0; j < D; j++) pooled[p + j] /= len;
  }
}

/** Writes ∂L/∂o for t < len_b (positions beyond are left alone: the encoder does not read them). */
export function meanPoolBackward(B: number, D: number, lengths: Int32Array, dPooled: Vec, dOutputs: Vec): void {
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    for (let t = 0; t < len; t++) {
      const o = (t * B + b) * D;
      for (let j = 0; j < D; j++) dOutputs[o + j] = dPooled[b * D + j] / len;
    }
  }
}

/** argmax [B,D] records the winning step of each element for the backward pass. */
export function maxPoolForward(B: number, D: number, lengths: Int32Array, outputs: Vec, pooled: Vec, argmax: Int32Array): void {
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    const p = b * D;
    for (let j = 0; j < D; j++) {
      let best = len > 0 ? outputs[b * D + j] : 0;
      let at = 0;
      for (let t = 1; t < len; t++) {
        const v = outputs[(t * B + b) * D + j];
        if (v > best) {
          best = v;
          at = t;
        }
      }
      pooled[p + j] = best;
      argmax[p + j] = at;
    }
  }
}

/** Writes ∂L/∂o for t < len_b: the pooled gradient at the argmax, 0 at the other steps. */
export function maxPoolBackward(B: number, D: number, lengths: Int32Array, argmax: Int32Array, dPooled: Vec, dOutputs: Vec): void {
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    if (len === 0) continue;
    for (let t = 0; t < len; t++) dOutputs.fill(0, (t * B + b) * D, (t * B + b + 1) * D);
    for (let j = 0; j < D; j++) dOutputs[(argmax[b * D + j] * B + b) * D + j] = dPooled[b * D + j];
  }
}
