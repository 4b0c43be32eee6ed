// Layer sweeps: the whole time loop of one window of one layer for a range of batch rows
// [lo, hi), forward or backward, in one call (src/nn/lstm.ts and gru.ts; the TypeScript
// side is ../kernels.ts, the threads ../pool.ts).
//
// The rows of a batch never meet inside a layer's time loop: row b of h_t needs only row b
// of h_{t-1}, and the same holds for every gradient of the loop. So the pool gives each
// thread its own rows for the whole window, and the threads need no hand-off from step to
// step (the per-step path hands every product to the workers and back: two wake-ups a
// step, and the pointwise kernels run on one thread). Each thread reads all of W_hh every
// step (from its L2 or the L3) where a column split reads its share.
//
// Buffers as layer.ts lays them out: time-major, [T, B, width] (Hs and Cs have T + 1 slots,
// slot 0 the carried-in state), pointers are byte offsets, the backward's W_hh is packed
// once per window by prepackB (./gemm.ts). Every element is computed by the operations of
// the per-step path on this module, in its order: the forward product h_{t-1}·W_hhᵀ by the
// dot-product path (the per-step path's choice for B ≤ its dotMaxM; the caller declines
// other batches), ∂L/∂h_{t-1} += dGates·W_hh by the packed path with the same blocks, the
// cells by the same kernels row by row. So a sweep is bit-identical to the per-step loop,
// for any split of the rows.
import { gemmDotNT, gemmPrepackedNN } from "./gemm";
import { addBias, gruTorchBackward, gruTorchForward, lstmBackward, lstmForward, softmaxXentBlocks } from "./cells";

/** `kind` of sweep(): src/kernels/wasm/abi.ts names them too. */
const LSTM_FORWARD: i32 = 0;
const LSTM_BACKWARD: i32 = 1;
const GRU_TORCH_FORWARD: i32 = 2;
const GRU_TORCH_BACKWARD: i32 = 3;
/** Not a layer: the loss's rows (cells.ts softmaxXentBlocks), B = rows, T = V, p0 logits,
 *  p1 targets, p2 dLogits (or 0), p3 the bits of the f32 scale, p4 the f64 block sums. */
const SOFTMAX_XENT: i32 = 4;

// Byte offset of row `lo` of slot t of a [slots, B, width] buffer.
@inline function at(buf: usize, t: i32, B: i32, lo: i32, width: i32): usize {
  return buf + (<usize>t * <usize>B + <usize>lo) * <usize>width * 4;
}

// for t = 0 … T−1: gates_t += h_{t-1}·W_hhᵀ; the LSTM step writes the activated gates_t,
// c_t (Cs slot t+1), h_t (Hs slot t+1) and tanh(c_t) (TC slot t). Gates [i f g o], G = 4H.
function lstmSweepForward(lo: i32, hi: i32, B: i32, T: i32, H: i32, gates: usize, Whh: usize, Hs: usize, Cs: usize, TC: usize): void {
  const n = hi - lo, G = 4 * H;
  for (let t = 0; t < T; t++) {
    const g = at(gates, t, B, lo, G);
    gemmDotNT(n, G, H, at(Hs, t, B, lo, H), <usize>H, Whh, <usize>H, true, g, <usize>G);
    lstmForward(n, H, g, at(Cs, t, B, lo, H), at(Cs, t + 1, B, lo, H), at(Hs, t + 1, B, lo, H), at(TC, t, B, lo, H));
  }
}

// for t = T−1 … 0: the LSTM step's backward (dC in: ∂L/∂c_t, out: ∂L/∂c_{t-1}, rows lo..hi
// of a [B,H] buffer) writes dGates_t; then dHs slot t (∂L/∂h_{t-1}) += dGates_t·W_hh.
function lstmSweepBackward(
  lo: i32, hi: i32, B: i32, T: i32, H: i32,
  gates: usize, WhhPacked: usize, Cs: usize, TC: usize, dHs: usize, dC: usize, dGates: usize, scratch: usize,
): void {
  const n = hi - lo, G = 4 * H;
  const dc = at(dC, 0, B, lo, H);
  for (let t = T - 1; t >= 0; t--) {
    const dg = at(dGates, t, B, lo, G);
    lstmBackward(n, H, at(gates, t, B, lo, G), at(Cs, t, B, lo, H), at(TC, t, B, lo, H), at(dHs, t + 1, B, lo, H), dc, dg);
    gemmPrepackedNN(n, H, G, dg, G, WhhPacked, at(dHs, t, B, lo, H), H, scratch);
  }
}

// PyTorch's GRU (gru-torch), gates [r z n], G = 3H: for t = 0 … T−1: hw_t = h_{t-1}·W_hhᵀ
// + b_hh (HW slot t), then the GRU step writes h_t (Hs slot t+1) and the activated gates_t.
function gruTorchSweepForward(lo: i32, hi: i32, B: i32, T: i32, H: i32, gates: usize, Whh: usize, bhh: usize, HW: usize, Hs: usize): void {
  const n = hi - lo, G = 3 * H;
  for (let t = 0; t < T; t++) {
    const hw = at(HW, t, B, lo, G);
    const hPrev = at(Hs, t, B, lo, H);
    gemmDotNT(n, G, H, hPrev, <usize>H, Whh, <usize>H, false, hw, <usize>G);
    addBias(n, G, hw, G, bhh);
    gruTorchForward(n, H, at(gates, t, B, lo, G), hw, hPrev, at(Hs, t + 1, B, lo, H));
  }
}

// for t = T−1 … 0: the GRU step's backward writes dGates_t, dHW_t and ∂L/∂h_{t-1} (dHs
// slot t, its direct part); then dHs slot t += dHW_t·W_hh.
function gruTorchSweepBackward(
  lo: i32, hi: i32, B: i32, T: i32, H: i32,
  gates: usize, WhhPacked: usize, HW: usize, Hs: usize, dHs: usize, dGates: usize, dHW: usize, scratch: usize,
): void {
  const n = hi - lo, G = 3 * H;
  for (let t = T - 1; t >= 0; t--) {
    const dhw = at(dHW, t, B, lo, G);
    const dhPrev = at(dHs, t, B, lo, H);
    gruTorchBackward(n, H, at(gates, t, B, lo, G), at(HW, t, B, lo, G), at(Hs, t, B, lo, H), at(dHs, t + 1, B, lo, H),
      at(dGates, t, B, lo, G), dhw, dhPrev);
    gemmPrepackedNN(n, H, G, dhw, G, WhhPacked, dhPrev, H, scratch);
  }
}

/**
 * Runs sweep `kind` on rows lo..hi of a batch of B (T steps, width H); p0… are its buffers
 * in the order of the functions above (unused ones 0); `scratch` is this thread's packing area.
 */
export function sweep(
  kind: i32, lo: i32, hi: i32, B: i32, T: i32, H: i32,
  p0: usize, p1: usize, p2: usize, p3: usize, p4: usize, p5: usize, p6: usize, scratch: usize,
): void {
  if (hi <= lo || T <= 0 || (H <= 0 && kind != SOFTMAX_XENT)) return;
  if (kind == LSTM_FORWARD) lstmSweepForward(lo, hi, B, T, H, p0, p1, p2, p3, p4);
  else if (kind == LSTM_BACKWARD) lstmSweepBackward(lo, hi, B, T, H, p0, p1, p2, p3, p4, p5, p6, scratch);
  else if (kind == GRU_TORCH_FORWARD) gruTorchSweepForward(lo, hi, B, T, H, p0, p1, p2, p3, p4);
  else if (kind == GRU_TORCH_BACKWARD) gruTorchSweepBackward(lo, hi, B, T, H, p0, p1, p2, p3, p4, p5, p6, scratch);
  else if (kind == SOFTMAX_XENT) softmaxXentBlocks(lo, hi, T, p0, p1, p2, reinterpret<f32>(<i32>p3), p4);
}
