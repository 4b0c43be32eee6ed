// The initialisation every network here starts from: PyTorch's defaults, with the LSTM's
// forget gate open.
//
//   embedding tables                      N(0, 1)                     (torch.nn.Embedding)
//   recurrent weights and biases, linear  uniform(−1/√fan, +1/√fan)   (torch.nn.LSTM/GRU/RNN:
//                                                                      fan = H; nn.Linear: fan = its input width)
//   LSTM forget-gate bias                 b_ih[f] = 1, b_hh[f] = 0    (their sum is the gate's
//                                                                      bias: memory is kept from the first step,
//                                                                      Jozefowicz et al. 2015)
//
// Tensors are drawn from the seeded rng one after the other in the order given, so the same
// seed and layout give the same weights (checkpoints and tests depend on that order).
import type { Vec } from '../kernels/types.js';
import type { Rng } from '../util/rng.js';
import type { ParamLayout } from './params.js';

/** Draws the named tensors in order: N(0, 1) where `isEmbedding(name)`, uniform ±1/√fan elsewhere. */
export function initTensors(layout: ParamLayout, params: Vec, names: Iterable<string>, fan: number, isEmbedding: (name: string) => boolean, rng: Rng): void {
  const bound = 1 / Math.sqrt(fan);
  for (const name of names) {
    const v = layout.view(params, name);
    if (isEmbedding(name)) for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    else for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-bound, bound);
  }
}

/** An LSTM layer's forget-gate bias (gate order i, f, g, o: rows H..2H) at 1 in b_ih and 0 in b_hh. */
export function openForgetGate(layout: ParamLayout, params: Vec, biasIh: string, biasHh: string, H: number): void {
  layout.view(params, biasIh).subarray(H, 2 * H).fill(1);
  layout.view(params, biasHh).subarray(H, 2 * H).fill(0);
}
