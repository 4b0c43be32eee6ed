// Inverted dropout (Srivastava et al. 2014) between recurrent layers and before the
// output layer, as char-rnn places it. In training each unit of a [T,B,H] block is kept
// with probability 1 − p and scaled by 1/(1 − p), so evaluation and sampling use the
// network unchanged and simply skip the mask.
//
//   forward    y = m ⊙ x          m_i ∈ {0, 1/(1 − p)}, drawn once per window
//   backward   ∂L/∂x = m ⊙ ∂L/∂y
//
// Masks come from an explicit seeded Rng (the trainer's dropout stream, saved in
// checkpoints), so a resumed run draws the same masks an uninterrupted one would.
import type { Vec } from '../kernels/types.js';
import type { Rng } from '../util/rng.js';

/** Fills `mask` with 0 (probability p) or 1/(1 − p). */
export function drawDropoutMask(rng: Rng, p: number, mask: Vec): void {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout must be in [0, 1), got ${p}`);
  const threshold = p * 4294967296; // keep when a uniform uint32 ≥ p·2³²
  const scale = 1 / (1 - p);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.nextU32() >= threshold ? scale : 0;
}

/** y = m ⊙ x over n elements (forward), or ∂x = m ⊙ ∂y (backward). */
export function applyMask(n: number, mask: Vec, x: Vec, y: Vec): void {
  for (let i = 0; i < n; i++) y[i] = mask[i] * x[i];
}
