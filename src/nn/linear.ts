// Linear layer y = x·Wᵀ + b over all rows at once (PyTorch's nn.Linear layout: W [Out, In]).
// The output layer uses it for all T steps in one product: logits [T·B, V] = a [T·B, H]·W_yᵀ + b_y.
import type { Kernels, Vec } from '../kernels/types.js';

export function linearForward(k: Kernels, rows: number, In: number, Out: number, x: Vec, W: Vec, b: Vec, y: Vec): void {
  k.gemm(false, true, rows, Out, In, x, In, W, In, 0, y, Out);
  k.addBias(rows, Out, y, Out, b);
}

/** dW += dyᵀ·x, db += Σ dy, dx = dy·W (dx null: not needed). */
export function linearBackward(
  k: Kernels, rows: number, In: number, Out: number, x: Vec, W: Vec, dy: Vec, dW: Vec, db: Vec, dx: Vec | null,
): void {
  k.gemm(true, false, Out, In, rows, dy, Out, x, In, 1, dW, In);
  k.sumRows(rows, Out, dy, Out, db);
  if (dx) k.gemm(false, false, rows, In, Out, dy, Out, W, In, 0, dx, In);
}
