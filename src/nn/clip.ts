// Clipping by global gradient norm: if ‖g‖₂ > maxNorm, g ← g · maxNorm/‖g‖₂.
import type { Kernels, Vec } from '../kernels/types.js';

/** Returns the norm before clipping (NaN or ∞ when the gradient is not finite; then g is left alone). */
export function clipGlobalNorm(k: Kernels, g: Vec, maxNorm: number): number {
  const norm = Math.sqrt(k.sumSquares(g.length, g));
  if (Number.isFinite(norm) && maxNorm > 0 && norm > maxNorm) k.scale(g.length, g, maxNorm / norm);
  return norm;
}
