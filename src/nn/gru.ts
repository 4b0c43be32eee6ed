// GRU layers, three variants. Layout as PyTorch's nn.GRU: weight_ih [G, In],
// weight_hh [G, H], bias_ih and bias_hh [G].
//
// 'gru' — the classic GRU (Cho et al. 2014), gate order r, u, c:
//   r   = σ(W_r[c_{t-1}, x_t] + b_r)
//   u   = σ(W_u[c_{t-1}, x_t] + b_u)
//   c̃   = tanh(W_c[r ⊙ c_{t-1}, x_t] + b_c)       reset gate applied before the product
//   c_t = u ⊙ c̃ + (1 − u) ⊙ c_{t-1}
//
// 'gru-min' — the simplified GRU without a reset gate, gate order u, c:
//   u   = σ(W_u[c_{t-1}, x_t] + b_u)
//   c̃   = tanh(W_c[c_{t-1}, x_t] + b_c)
//   c_t = u ⊙ c̃ + (1 − u) ⊙ c_{t-1}
//
// 'gru-torch' — PyTorch's nn.GRU exactly, gate order r, z, n (reset gate after the
// recurrent product; z keeps the old state, so z = 1 − u):
//   r   = σ(W_ir x + b_ir + W_hr h + b_hr)
//   z   = σ(W_iz x + b_iz + W_hz h + b_hz)
//   n   = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//   h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
// Weights trained with torch.nn.GRU load into it unchanged.
//
// Recurrent dropout (layer.ts: RecurrentDropout): every product with W_hh reads
// c̃_{t-1} = m ⊙ c_{t-1} (the classic GRU's reset then gives r ⊙ m ⊙ c_{t-1}); the
// interpolation with (1 − u) ⊙ c_{t-1} (z ⊙ h_{t-1}) keeps the unmasked state.
import type { Kernels } from '../kernels/types.js';
import {
  cols, inputProjection, inputProjectionBackward, recurrentGrad, recurrentGradDone, recurrentInput, recurrentInputs, rowsAt, step,
  type LayerCache, type LayerWeights,
} from './layer.js';

export function gruForward(k: Kernels, w: LayerWeights, c: LayerCache): void {
  if (c.cell === 'gru') classicForward(k, w, c);
  else if (c.cell === 'gru-min') minimalForward(k, w, c);
  else torchForward(k, w, c);
}

export function gruBackward(k: Kernels, w: LayerWeights, dw: LayerWeights, c: LayerCache): void {
  if (c.cell === 'gru') classicBackward(k, w, dw, c);
  else if (c.cell === 'gru-min') minimalBackward(k, w, dw, c);
  else torchBackward(k, w, dw, c);
}

function classicForward(k: Kernels, w: LayerWeights, c: LayerCache): void {
  const { B, T, H, G } = c;
  const RH = c.RH!;
  inputProjection(k, w, c, true);
  for (let t = 0; t < T; t++) {
    const n = rowsAt(c, t);
    const gates = step(c.gates, t, B, G);
    const hPrev = step(c.Hs, t, B, H);
    const hIn = recurrentInput(c, t, n);
    const rh = step(RH, t, B, H);
    // r, u blocks += c_{t-1}·W_hh[r,u]ᵀ
    k.gemm(false, true, n, 2 * H, H, hIn, H, w.Whh, H, 1, gates, G);
    k.gruResetForward(n, H, gates, hIn, rh);
    // c̃ block += (r ⊙ c_{t-1})·W_hh[c]ᵀ
    k.gemm(false, true, n, H, H, rh, H, cols(w.Whh, 2 * H * H), H, 1, cols(gates, 2 * H), G);
    k.gruOutForward(n, H, G, H, 2 * H, false, gates, hPrev, step(c.Hs, t + 1, B, H));
  }
}

function classicBackward(k: Kernels, w: LayerWeights, dw: LayerWeights, c: LayerCache): void {
  const { B, T, H, G } = c;
  const RH = c.RH!;
  const dRH = c.dRH!;
  for (let t = T - 1; t >= 0; t--) {
    const n = rowsAt(c, t);
    const gates = step(c.gates, t, B, G);
    const dGates = step(c.dGates, t, B, G);
    const hPrev = step(c.Hs, t, B, H);
    const dhPrev = step(c.dHs, t, B, H);
    // c_t = u ⊙ c̃ + (1 − u) ⊙ c_{t-1}: writes dPre of u and c̃, ∂L/∂c_{t-1} += dh ⊙ (1 − u)
    k.gruOutBackward(n, H, G, H, 2 * H, gates, hPrev, step(c.dHs, t + 1, B, H), dGates, dhPrev);
    // the products' input: c_{t-1}, or m ⊙ c_{t-1} (HM) and its gradient dHM
    const hIn = c.recurrent ? step(c.recurrent.HM, t, B, H) : hPrev;
    const dIn = recurrentGrad(c, t, n);
    // ∂L/∂(r ⊙ c_{t-1}) = dPre_c·W_hh[c]
    k.gemm(false, false, n, H, H, cols(dGates, 2 * H), G, cols(w.Whh, 2 * H * H), H, 0, dRH, H);
    k.gruResetBackward(n, H, gates, hIn, dRH, dGates, dIn);
    // ∂L/∂c_{t-1} += dPre[r,u]·W_hh[r,u]
    k.gemm(false, false, n, H, 2 * H, dGates, G, w.Whh, H, 1, dIn, H);
    recurrentGradDone(c, t, n);
  }
  k.gemm(true, false, 2 * H, H, T * B, c.dGates, G, recurrentInputs(c), H, 1, dw.Whh, H);
  k.gemm(true, false, H, H, T * B, cols(c.dGates, 2 * H), G, RH, H, 1, cols(dw.Whh, 2 * H * H), H);
  inputProjectionBackward(k, w, dw, c, true);
}

function minimalForward(k: Kernels, w: LayerWeights, c: LayerCache): void {
  const { B, T, H, G } = c;
  inputProjection(k, w, c, true);
  for (let t = 0; t < T; t++) {
    const n = rowsAt(c, t);
    const gates = step(c.gates, t, B, G);
    k.gemm(false, true, n, G, H, recurrentInput(c, t, n), H, w.Whh, H, 1, gates, G);
    k.gruOutForward(n, H, G, 0, H, true, gates, step(c.Hs, t, B, H), step(c.Hs, t + 1, B, H));
  }
}

function minimalBackward(k: Kernels, w: LayerWeights, dw: LayerWeights, c: LayerCache): void {
  const { B, T, H, G } = c;
  for (let t = T - 1; t >= 0; t--) {
    const n = rowsAt(c, t);
    const dGates = step(c.dGates, t, B, G);
    const dhPrev = step(c.dHs, t, B, H);
    k.gruOutBackward(n, H, G, 0, H, step(c.gates, t, B, G), step(c.Hs, t, B, H), step(c.dHs, t + 1, B, H), dGates, dhPrev);
    k.gemm(false, false, n, H, G, dGates, G, w.Whh, H, 1, recurrentGrad(c, t, n), H);
    recurrentGradDone(c, t, n);
  }
  k.gemm(true, false, G, H, T * B, c.dGates, G, recurrentInputs(c), H, 1, dw.Whh, H);
  inputProjectionBackward(k, w, dw, c, true);
}

function torchForward(k: Kernels, w: LayerWeights, c: LayerCache): void {
  const { B, T, H, G } = c;
  const HW = c.HW!;
  inputProjection(k, w, c, false);
  // the whole time loop in one call where the backend has it (WebAssembly: assembly/sweep.ts)
  if (sweeps(c) && k.gruTorchSweepForward?.(B, T, H, c.gates, w.Whh, w.bhh, HW, c.Hs)) return;
  for (let t = 0; t < T; t++) {
    const n = rowsAt(c, t);
    const hw = step(HW, t, B, G);
    // hw = W_hh·h_{t-1} + b_hh, kept apart from the input side because r multiplies its n block
    k.gemm(false, true, n, G, H, recurrentInput(c, t, n), H, w.Whh, H, 0, hw, G);
    k.addBias(n, G, hw, G, w.bhh);
    k.gruTorchForward(n, H, step(c.gates, t, B, G), hw, step(c.Hs, t, B, H), step(c.Hs, t + 1, B, H));
  }
}

function torchBackward(k: Kernels, w: LayerWeights, dw: LayerWeights, c: LayerCache): void {
  const { B, T, H, G } = c;
  const HW = c.HW!;
  const dHW = c.dHW!;
  // the whole time loop in one call where the backend has it (WebAssembly: assembly/sweep.ts)
  const swept = sweeps(c) && k.gruTorchSweepBackward?.(B, T, H, c.gates, w.Whh, HW, c.Hs, c.dHs, c.dGates, dHW);
  for (let t = swept ? -1 : T - 1; t >= 0; t--) {
    const n = rowsAt(c, t);
    const dhw = step(dHW, t, B, G);
    const dhPrev = step(c.dHs, t, B, H);
    k.gruTorchBackward(n, H, step(c.gates, t, B, G), step(HW, t, B, G), step(c.Hs, t, B, H),
      step(c.dHs, t + 1, B, H), step(c.dGates, t, B, G), dhw, dhPrev);
    // ∂L/∂h_{t-1} += dHW·W_hh
    k.gemm(false, false, n, H, G, dhw, G, w.Whh, H, 1, recurrentGrad(c, t, n), H);
    recurrentGradDone(c, t, n);
  }
  k.gemm(true, false, G, H, T * B, dHW, G, recurrentInputs(c), H, 1, dw.Whh, H);
  k.sumRows(T * B, G, dHW, G, dw.bhh);
  inputProjectionBackward(k, w, dw, c, false);
}

/** The gru-torch sweeps (Kernels.gruTorchSweepForward/Backward) run windows of every row every step without recurrent dropout. */
function sweeps(c: LayerCache): boolean {
  return !c.active && !c.recurrent;
}
