// LSTM layer, PyTorch's nn.LSTM layout (gate order i, f, g, o in weight_ih [4H, In],
// weight_hh [4H, H], bias_ih and bias_hh [4H]). In the mission's notation
// (u = i the update/input gate, c̃ = g the candidate):
//
//   u   = σ(W_u[a_{t-1}, x_t] + b_u)
//   f   = σ(W_f[a_{t-1}, x_t] + b_f)
//   o   = σ(W_o[a_{t-1}, x_t] + b_o)
//   c̃   = tanh(W_c[a_{t-1}, x_t] + b_c)
//   c_t = u ⊙ c̃ + f ⊙ c_{t-1}
//   a_t = o ⊙ tanh(c_t)
//
// Peephole variant ('lstm-peep'): the three gates also see c_{t-1}, i.e. their input is
// [a_{t-1}, x_t, c_{t-1}]; the extra block is weight_ch [3H, H] with rows for i, f, o.
//
// G = 4H. Per step only the recurrent products run; the input side is one product for
// the whole window (layer.ts), and so are the weight gradients. A backend may run the
// whole time loop of a window in one call (Kernels.lstmSweepForward/Backward: the native
// backend's sweep.c, the WebAssembly backend's assembly/sweep.ts; the same sums as the
// loops below).
//
// Recurrent dropout (layer.ts: RecurrentDropout): W_hh reads m ⊙ a_{t-1}; the peepholes
// read c_{t-1} unmasked.
import type { Kernels } from '../kernels/types.js';
import {
  cols, inputProjection, inputProjectionBackward, recurrentGrad, recurrentGradDone, recurrentInput, recurrentInputs, rowsAt, step,
  type LayerCache, type LayerWeights,
} from './layer.js';

export function lstmForward(k: Kernels, w: LayerWeights, c: LayerCache): void {
  const { B, T, H, G } = c;
  const Cs = c.Cs!;
  const TC = c.TC!;
  inputProjection(k, w, c, true);
  // the whole time loop in one call where the backend has it (native: sweep.c; wasm: assembly/sweep.ts)
  if (sweeps(w, c) && k.lstmSweepForward?.(B, T, H, c.gates, w.Whh, c.Hs, Cs, TC)) return;
  for (let t = 0; t < T; t++) {
    const n = rowsAt(c, t);
    const gates = step(c.gates, t, B, G);
    const cPrev = step(Cs, t, B, H);
    // gates += a_{t-1}·W_hhᵀ
    k.gemm(false, true, n, G, H, recurrentInput(c, t, n), H, w.Whh, H, 1, gates, G);
    if (w.Wch) {
      // i, f gates += c_{t-1}·W_ch[0:2H]ᵀ ; o gate += c_{t-1}·W_ch[2H:3H]ᵀ
      k.gemm(false, true, n, 2 * H, H, cPrev, H, w.Wch, H, 1, gates, G);
      k.gemm(false, true, n, H, H, cPrev, H, cols(w.Wch, 2 * H * H), H, 1, cols(gates, 3 * H), G);
    }
    k.lstmForward(n, H, gates, cPrev, step(Cs, t + 1, B, H), step(c.Hs, t + 1, B, H), step(TC, t, B, H));
  }
}

export function lstmBackward(k: Kernels, w: LayerWeights, dw: LayerWeights, c: LayerCache): void {
  const { B, T, H, G } = c;
  const Cs = c.Cs!;
  const dC = c.dC!;
  // LM windows: no gradient enters through c_T (the next window's loss is not in this
  // one). Masked batches: each row's ∂L/∂c at its last step, which its later (inactive)
  // steps leave untouched until the loop reaches it.
  if (c.dCLast) dC.set(c.dCLast.subarray(0, B * H));
  else dC.fill(0);
  // the whole time loop in one call where the backend has it (native: sweep.c; wasm: assembly/sweep.ts)
  if (!sweeps(w, c) || !k.lstmSweepBackward?.(B, T, H, c.gates, w.Whh, Cs, c.TC!, c.dHs, dC, c.dGates)) {
    for (let t = T - 1; t >= 0; t--) {
      const n = rowsAt(c, t);
      const dGates = step(c.dGates, t, B, G);
      // a_t = o ⊙ tanh(c_t) and c_t = u ⊙ c̃ + f ⊙ c_{t-1}; dC becomes ∂L/∂c_{t-1}
      k.lstmBackward(n, H, step(c.gates, t, B, G), step(Cs, t, B, H), step(c.TC!, t, B, H),
        step(c.dHs, t + 1, B, H), dC, dGates);
      // ∂L/∂a_{t-1} += dGates·W_hh
      k.gemm(false, false, n, H, G, dGates, G, w.Whh, H, 1, recurrentGrad(c, t, n), H);
      recurrentGradDone(c, t, n);
      if (w.Wch) {
        // ∂L/∂c_{t-1} += dGates[i,f]·W_ch[0:2H] + dGates[o]·W_ch[2H:3H]
        k.gemm(false, false, n, H, 2 * H, dGates, G, w.Wch, H, 1, dC, H);
        k.gemm(false, false, n, H, H, cols(dGates, 3 * H), G, cols(w.Wch, 2 * H * H), H, 1, dC, H);
      }
    }
  }
  // dW_hh += dGatesᵀ·[a_{-1} … a_{T-2}]
  k.gemm(true, false, G, H, T * B, c.dGates, G, recurrentInputs(c), H, 1, dw.Whh, H);
  if (dw.Wch) {
    k.gemm(true, false, 2 * H, H, T * B, c.dGates, G, Cs, H, 1, dw.Wch, H);
    k.gemm(true, false, H, H, T * B, cols(c.dGates, 3 * H), G, Cs, H, 1, cols(dw.Wch, 2 * H * H), H);
  }
  inputProjectionBackward(k, w, dw, c, true);
}

/** The sweep (Kernels.lstmSweepForward/Backward) runs plain LSTM windows: no peepholes, every row every step, no recurrent dropout. */
function sweeps(w: LayerWeights, c: LayerCache): boolean {
  return !w.Wch && !c.active && !c.recurrent;
}
