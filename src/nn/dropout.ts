// Inverted dropout (Srivastava et al. 2014). In training each unit is kept with
// probability 1 − p and scaled by 1/(1 − p), so evaluation and sampling use the network
// unchanged and simply skip the mask.
//
//   forward    y = m ⊙ x          m_i ∈ {0, 1/(1 − p)}, drawn once per window
//   backward   ∂L/∂x = m ⊙ ∂L/∂y
//
// Where the language model (src/nn/model.ts) uses it:
//   between layers and before the output layer (--dropout), as char-rnn places it:
//     one mask element per unit of each [T,B,H] block;
//   on the embedding (--embed-dropout): layer 0 reads m ⊙ x_t, one element per unit of
//     the [T,B,E] block (Zaremba et al. 2014 drop the input of the first layer too);
//   on the recurrent state (--recurrent-dropout), variational (Gal & Ghahramani 2016):
//     one mask m [B,H] per layer and window, the same at every step, and the recurrent
//     products read m ⊙ h_{t-1} (layer.ts: recurrentInput). The state itself, the
//     cell's own use of h_{t-1} (a GRU's interpolation) and the state carried to the next
//     window stay unmasked.
//
// Masks come from an explicit seeded Rng (the trainer's dropout stream, saved in
// checkpoints), so a resumed run draws the same masks an uninterrupted one would.
import type { Vec } from '../kernels/types.js';
import type { Rng } from '../util/rng.js';

/**
 * Fills `mask` with 0 (probability p) or 1/(1 − p): element i is kept when the i-th
 * uint32 of `rng` is ≥ p·2³². The generator (xoshiro128**, util/rng.ts) runs here on
 * local int32 words and is written back at the end: the same stream as one
 * rng.nextU32() per element (tested), without a method call and a state write-back per
 * element, which cost ~47 ns each (a [T,B,H] mask of a 2×384 model: 37 ms per window).
 */
export function drawDropoutMask(rng: Rng, p: number, mask: Vec): void {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout must be in [0, 1), got ${p}`);
  const threshold = p * 4294967296; // keep when a uniform uint32 ≥ p·2³²
  const scale = 1 / (1 - p);
  const state = rng.getState();
  let s0 = state[0] | 0;
  let s1 = state[1] | 0;
  let s2 = state[2] | 0;
  let s3 = state[3] | 0;
  for (let i = 0; i < mask.length; i++) {
    const x = Math.imul(s1, 5);
    const draw = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    mask[i] = draw >= threshold ? scale : 0;
  }
  rng.setState([s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0, state[4]]);
}

/** y = m ⊙ x over n elements (forward), or ∂x = m ⊙ ∂y (backward). */
export function applyMask(n: number, mask: Vec, x: Vec, y: Vec): void {
  for (let i = 0; i < n; i++) y[i] = mask[i] * x[i];
}

/** ∂x += m ⊙ ∂y over n elements (a masked input whose gradient adds to what x already has). */
export function addMasked(n: number, mask: Vec, dy: Vec, dx: Vec): void {
  for (let i = 0; i < n; i++) dx[i] += mask[i] * dy[i];
}
