// Vanilla RNN layer.
//
//   a_t = g(W_a[a_{t-1}, x_t] + b_a),   g = tanh ('rnn') or relu ('rnn-relu')
//
// W_a[a, x] is split as W_ih·x + W_hh·a (PyTorch's nn.RNN layout: weight_ih [H, In],
// weight_hh [H, H], bias_ih and bias_hh both [H] and simply added). G = H.
// Under recurrent dropout (layer.ts: RecurrentDropout) the product reads m ⊙ a_{t-1}.
import type { Kernels } from '../kernels/types.js';
import {
  inputProjection, inputProjectionBackward, recurrentGrad, recurrentGradDone, recurrentInput, recurrentInputs, rowsAt, step,
  type LayerCache, type LayerWeights,
} from './layer.js';

export function rnnForward(k: Kernels, w: LayerWeights, c: LayerCache): void {
  const { B, T, H } = c;
  const g = c.cell === 'rnn-relu' ? 'relu' : 'tanh';
  inputProjection(k, w, c, true);
  for (let t = 0; t < T; t++) {
    const n = rowsAt(c, t);
    const pre = step(c.gates, t, B, H);
    // pre += a_{t-1}·W_hhᵀ
    k.gemm(false, true, n, H, H, recurrentInput(c, t, n), H, w.Whh, H, 1, pre, H);
    k.rnnForward(g, n, H, pre, step(c.Hs, t + 1, B, H));
  }
}

export function rnnBackward(k: Kernels, w: LayerWeights, dw: LayerWeights, c: LayerCache): void {
  const { B, T, H } = c;
  const g = c.cell === 'rnn-relu' ? 'relu' : 'tanh';
  for (let t = T - 1; t >= 0; t--) {
    const n = rowsAt(c, t);
    const dPre = step(c.dGates, t, B, H);
    // differentiates a_t = g(pre_t), through the cached a_t
    k.rnnBackward(g, n, H, step(c.Hs, t + 1, B, H), step(c.dHs, t + 1, B, H), dPre);
    // ∂L/∂a_{t-1} += dPre·W_hh
    k.gemm(false, false, n, H, H, dPre, H, w.Whh, H, 1, recurrentGrad(c, t, n), H);
    recurrentGradDone(c, t, n);
  }
  // dW_hh += dPreᵀ·[a_{-1} … a_{T-2}] (masked under recurrent dropout)
  k.gemm(true, false, H, H, T * B, c.dGates, H, recurrentInputs(c), H, 1, dw.Whh, H);
  inputProjectionBackward(k, w, dw, c, true);
}
