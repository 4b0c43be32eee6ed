// Embedding: x_t = E[id_t], a row lookup. weight [V, E].
import type { Kernels, Vec } from '../kernels/types.js';

/** out[T·B, E] = weight[ids] */
export function embeddingForward(k: Kernels, rows: number, E: number, ids: Int32Array, weight: Vec, out: Vec): void {
  k.gatherRows(rows, E, ids, weight, out);
}

/** dWeight[ids[r]] += dOut[r] */
export function embeddingBackward(k: Kernels, rows: number, E: number, ids: Int32Array, dOut: Vec, dWeight: Vec): void {
  k.scatterAddRows(rows, E, ids, dOut, dWeight);
}
