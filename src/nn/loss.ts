// Softmax cross-entropy, mean over the T·B positions of a window:
//   ŷ = softmax(logits),  L = −(1/N) Σ_r log ŷ_r[target_r],  ∂L/∂logits = (ŷ − onehot)/N
// The max is subtracted inside the kernel (log-sum-exp), so large logits cannot overflow.
import type { Kernels, Vec } from '../kernels/types.js';

/** Returns the mean loss in nats; writes ∂L/∂logits into dLogits (may alias logits) when given. */
export function softmaxCrossEntropy(
  k: Kernels, rows: number, V: number, logits: Vec, targets: Int32Array, dLogits: Vec | null,
): number {
  return k.softmaxXent(rows, V, logits, targets, dLogits, 1 / rows) / rows;
}
