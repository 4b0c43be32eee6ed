// Fused pointwise kernels for one time step of every cell, and the row ops around them.
// Semantics are those of src/kernels/reference.ts (read its comments for the equations).
// Each kernel runs its body on 4 independent vectors per iteration (the out-of-order core
// overlaps their long exp/div chains: 2x faster than one vector per iteration), then one
// vector at a time, then a tail loop over the same body, where loads put
// one float in lane 0 (other lanes zero) and stores write lane 0 only.

import { vexp, vsigmoid, vtanh, logF64 } from "./vmath";

@inline function ld(p: usize, full: bool): v128 {
  return full ? v128.load(p) : v128.load32_zero(p);
}
@inline function st(p: usize, v: v128, full: bool): void {
  if (full) v128.store(p, v);
  else v128.store32_lane(p, v, 0);
}
@inline function one(): v128 {
  return f32x4.splat(<f32>1.0);
}
// x·(1 − x)
@inline function dsig(x: v128): v128 {
  return f32x4.mul(x, f32x4.sub(one(), x));
}
// 1 − x²
@inline function dtanh(x: v128): v128 {
  return f32x4.sub(one(), f32x4.mul(x, x));
}

// ---- rnn: h = g(pre) over n·H contiguous floats; g: 0 tanh, 1 relu

@inline function rnnFwdBody(relu: bool, p: usize, h: usize, full: bool): void {
  const x = ld(p, full);
  if (relu) st(h, v128.bitselect(x, f32x4.splat(0), f32x4.gt(x, f32x4.splat(0))), full);
  else st(h, vtanh(x), full);
}
export function rnnForward(g: i32, n: i32, H: i32, pre: usize, h: usize): void {
  const m = <usize>n * <usize>H * 4;
  let o: usize = 0;
  if (g == 1) {
    for (; o + 64 <= m; o += 64) {
      rnnFwdBody(true, pre + o, h + o, true);
      rnnFwdBody(true, pre + (o + 16), h + (o + 16), true);
      rnnFwdBody(true, pre + (o + 32), h + (o + 32), true);
      rnnFwdBody(true, pre + (o + 48), h + (o + 48), true);
    }
    for (; o + 16 <= m; o += 16) rnnFwdBody(true, pre + o, h + o, true);
    for (; o < m; o += 4) rnnFwdBody(true, pre + o, h + o, false);
  } else {
    for (; o + 64 <= m; o += 64) {
      rnnFwdBody(false, pre + o, h + o, true);
      rnnFwdBody(false, pre + (o + 16), h + (o + 16), true);
      rnnFwdBody(false, pre + (o + 32), h + (o + 32), true);
      rnnFwdBody(false, pre + (o + 48), h + (o + 48), true);
    }
    for (; o + 16 <= m; o += 16) rnnFwdBody(false, pre + o, h + o, true);
    for (; o < m; o += 4) rnnFwdBody(false, pre + o, h + o, false);
  }
}

@inline function rnnBwdBody(relu: bool, hp: usize, dhp: usize, dp: usize, full: bool): void {
  const hv = ld(hp, full);
  const dh = ld(dhp, full);
  if (relu) st(dp, v128.and(dh, f32x4.gt(hv, f32x4.splat(0))), full);
  else st(dp, f32x4.mul(dh, dtanh(hv)), full);
}
export function rnnBackward(g: i32, n: i32, H: i32, h: usize, dh: usize, dPre: usize): void {
  const m = <usize>n * <usize>H * 4;
  let o: usize = 0;
  if (g == 1) {
    for (; o + 64 <= m; o += 64) {
      rnnBwdBody(true, h + o, dh + o, dPre + o, true);
      rnnBwdBody(true, h + (o + 16), dh + (o + 16), dPre + (o + 16), true);
      rnnBwdBody(true, h + (o + 32), dh + (o + 32), dPre + (o + 32), true);
      rnnBwdBody(true, h + (o + 48), dh + (o + 48), dPre + (o + 48), true);
    }
    for (; o + 16 <= m; o += 16) rnnBwdBody(true, h + o, dh + o, dPre + o, true);
    for (; o < m; o += 4) rnnBwdBody(true, h + o, dh + o, dPre + o, false);
  } else {
    for (; o + 64 <= m; o += 64) {
      rnnBwdBody(false, h + o, dh + o, dPre + o, true);
      rnnBwdBody(false, h + (o + 16), dh + (o + 16), dPre + (o + 16), true);
      rnnBwdBody(false, h + (o + 32), dh + (o + 32), dPre + (o + 32), true);
      rnnBwdBody(false, h + (o + 48), dh + (o + 48), dPre + (o + 48), true);
    }
    for (; o + 16 <= m; o += 16) rnnBwdBody(false, h + o, dh + o, dPre + o, true);
    for (; o < m; o += 4) rnnBwdBody(false, h + o, dh + o, dPre + o, false);
  }
}

// ---- LSTM, gates [i f g o], G = 4H

@inline function lstmFwdBody(gp: usize, hb: usize, cPrev: usize, c: usize, h: usize, tanhC: usize, o: usize, full: bool): void {
  const i = vsigmoid(ld(gp + o, full));
  const f = vsigmoid(ld(gp + hb + o, full));
  const g = vtanh(ld(gp + 2 * hb + o, full));
  const og = vsigmoid(ld(gp + 3 * hb + o, full));
  st(gp + o, i, full);
  st(gp + hb + o, f, full);
  st(gp + 2 * hb + o, g, full);
  st(gp + 3 * hb + o, og, full);
  const ct = f32x4.add(f32x4.mul(i, g), f32x4.mul(f, ld(cPrev + o, full)));
  const tc = vtanh(ct);
  st(c + o, ct, full);
  st(tanhC + o, tc, full);
  st(h + o, f32x4.mul(og, tc), full);
}
export function lstmForward(n: i32, H: i32, gates: usize, cPrev: usize, c: usize, h: usize, tanhC: usize): void {
  const hb = <usize>H * 4;
  for (let b = 0; b < n; b++) {
    const gp = gates + <usize>b * hb * 4;
    const r = <usize>b * hb;
    let o: usize = 0;
    for (; o + 64 <= hb; o += 64) {
      lstmFwdBody(gp, hb, cPrev + r, c + r, h + r, tanhC + r, o, true);
      lstmFwdBody(gp, hb, cPrev + r, c + r, h + r, tanhC + r, (o + 16), true);
      lstmFwdBody(gp, hb, cPrev + r, c + r, h + r, tanhC + r, (o + 32), true);
      lstmFwdBody(gp, hb, cPrev + r, c + r, h + r, tanhC + r, (o + 48), true);
    }
    for (; o + 16 <= hb; o += 16) lstmFwdBody(gp, hb, cPrev + r, c + r, h + r, tanhC + r, o, true);
    for (; o < hb; o += 4) lstmFwdBody(gp, hb, cPrev + r, c + r, h + r, tanhC + r, o, false);
  }
}

@inline function lstmBwdBody(gp: usize, dgp: usize, hb: usize, cPrev: usize, tanhC: usize, dh: usize, dc: usize, o: usize, full: bool): void {
  const i = ld(gp + o, full);
  const f = ld(gp + hb + o, full);
  const g = ld(gp + 2 * hb + o, full);
  const og = ld(gp + 3 * hb + o, full);
  const tc = ld(tanhC + o, full);
  const dhv = ld(dh + o, full);
  // h = o ⊙ tanh(c)
  const dO = f32x4.mul(dhv, tc);
  const dct = f32x4.add(ld(dc + o, full), f32x4.mul(f32x4.mul(dhv, og), dtanh(tc)));
  // c = i ⊙ g + f ⊙ cPrev
  st(dgp + o, f32x4.mul(f32x4.mul(dct, g), dsig(i)), full);
  st(dgp + hb + o, f32x4.mul(f32x4.mul(dct, ld(cPrev + o, full)), dsig(f)), full);
  st(dgp + 2 * hb + o, f32x4.mul(f32x4.mul(dct, i), dtanh(g)), full);
  st(dgp + 3 * hb + o, f32x4.mul(dO, dsig(og)), full);
  st(dc + o, f32x4.mul(dct, f), full);
}
export function lstmBackward(n: i32, H: i32, gates: usize, cPrev: usize, tanhC: usize, dh: usize, dc: usize, dGates: usize): void {
  const hb = <usize>H * 4;
  for (let b = 0; b < n; b++) {
    const gp = gates + <usize>b * hb * 4;
    const dgp = dGates + <usize>b * hb * 4;
    const r = <usize>b * hb;
    let o: usize = 0;
    for (; o + 64 <= hb; o += 64) {
      lstmBwdBody(gp, dgp, hb, cPrev + r, tanhC + r, dh + r, dc + r, o, true);
      lstmBwdBody(gp, dgp, hb, cPrev + r, tanhC + r, dh + r, dc + r, (o + 16), true);
      lstmBwdBody(gp, dgp, hb, cPrev + r, tanhC + r, dh + r, dc + r, (o + 32), true);
      lstmBwdBody(gp, dgp, hb, cPrev + r, tanhC + r, dh + r, dc + r, (o + 48), true);
    }
    for (; o + 16 <= hb; o += 16) lstmBwdBody(gp, dgp, hb, cPrev + r, tanhC + r, dh + r, dc + r, o, true);
    for (; o < hb; o += 4) lstmBwdBody(gp, dgp, hb, cPrev + r, tanhC + r, dh + r, dc + r, o, false);
  }
}

// ---- classic GRU, gates [r u c], G = 3H

@inline function gruResetFwdBody(gp: usize, hb: usize, hPrev: usize, rh: usize, o: usize, full: bool): void {
  const r = vsigmoid(ld(gp + o, full));
  st(gp + o, r, full);
  st(gp + hb + o, vsigmoid(ld(gp + hb + o, full)), full);
  st(rh + o, f32x4.mul(r, ld(hPrev + o, full)), full);
}
export function gruResetForward(n: i32, H: i32, gates: usize, hPrev: usize, rh: usize): void {
  const hb = <usize>H * 4;
  for (let b = 0; b < n; b++) {
    const gp = gates + <usize>b * hb * 3;
    const r = <usize>b * hb;
    let o: usize = 0;
    for (; o + 64 <= hb; o += 64) {
      gruResetFwdBody(gp, hb, hPrev + r, rh + r, o, true);
      gruResetFwdBody(gp, hb, hPrev + r, rh + r, (o + 16), true);
      gruResetFwdBody(gp, hb, hPrev + r, rh + r, (o + 32), true);
      gruResetFwdBody(gp, hb, hPrev + r, rh + r, (o + 48), true);
    }
    for (; o + 16 <= hb; o += 16) gruResetFwdBody(gp, hb, hPrev + r, rh + r, o, true);
    for (; o < hb; o += 4) gruResetFwdBody(gp, hb, hPrev + r, rh + r, o, false);
  }
}

@inline function gruOutFwdBody(sigU: bool, up: usize, cp: usize, hPrev: usize, h: usize, o: usize, full: bool): void {
  let u = ld(up + o, full);
  if (sigU) {
    u = vsigmoid(u);
    st(up + o, u, full);
  }
  const cc = vtanh(ld(cp + o, full));
  st(cp + o, cc, full);
  const hp = ld(hPrev + o, full);
  // h = u ⊙ c̃ + (1 − u) ⊙ hPrev
  st(h + o, f32x4.add(f32x4.mul(u, cc), f32x4.mul(f32x4.sub(one(), u), hp)), full);
}
export function gruOutForward(n: i32, H: i32, G: i32, uOffset: i32, cOffset: i32, sigmoidU: i32, gates: usize, hPrev: usize, h: usize): void {
  const hb = <usize>H * 4;
  for (let b = 0; b < n; b++) {
    const gr = gates + <usize>b * <usize>G * 4;
    const up = gr + <usize>uOffset * 4, cp = gr + <usize>cOffset * 4;
    const r = <usize>b * hb;
    let o: usize = 0;
    if (sigmoidU != 0) {
      for (; o + 64 <= hb; o += 64) {
        gruOutFwdBody(true, up, cp, hPrev + r, h + r, o, true);
        gruOutFwdBody(true, up, cp, hPrev + r, h + r, (o + 16), true);
        gruOutFwdBody(true, up, cp, hPrev + r, h + r, (o + 32), true);
        gruOutFwdBody(true, up, cp, hPrev + r, h + r, (o + 48), true);
      }
      for (; o + 16 <= hb; o += 16) gruOutFwdBody(true, up, cp, hPrev + r, h + r, o, true);
      for (; o < hb; o += 4) gruOutFwdBody(true, up, cp, hPrev + r, h + r, o, false);
    } else {
      for (; o + 64 <= hb; o += 64) {
        gruOutFwdBody(false, up, cp, hPrev + r, h + r, o, true);
        gruOutFwdBody(false, up, cp, hPrev + r, h + r, (o + 16), true);
        gruOutFwdBody(false, up, cp, hPrev + r, h + r, (o + 32), true);
        gruOutFwdBody(false, up, cp, hPrev + r, h + r, (o + 48), true);
      }
      for (; o + 16 <= hb; o += 16) gruOutFwdBody(false, up, cp, hPrev + r, h + r, o, true);
      for (; o < hb; o += 4) gruOutFwdBody(false, up, cp, hPrev + r, h + r, o, false);
    }
  }
}

@inline function gruOutBwdBody(up: usize, cp: usize, dup: usize, dcp: usize, hPrev: usize, dh: usize, dhPrev: usize, o: usize, full: bool): void {
  const u = ld(up + o, full);
  const cc = ld(cp + o, full);
  const dhv = ld(dh + o, full);
  const hp = ld(hPrev + o, full);
  st(dup + o, f32x4.mul(f32x4.mul(dhv, f32x4.sub(cc, hp)), dsig(u)), full);
  st(dcp + o, f32x4.mul(f32x4.mul(dhv, u), dtanh(cc)), full);
  st(dhPrev + o, f32x4.add(ld(dhPrev + o, full), f32x4.mul(dhv, f32x4.sub(one(), u))), full);
}
export function gruOutBackward(n: i32, H: i32, G: i32, uOffset: i32, cOffset: i32, gates: usize, hPrev: usize, dh: usize, dGates: usize, dhPrev: usize): void {
  const hb = <usize>H * 4;
  for (let b = 0; b < n; b++) {
    const rowOff = <usize>b * <usize>G * 4;
    const up = gates + rowOff + <usize>uOffset * 4, cp = gates + rowOff + <usize>cOffset * 4;
    const dup = dGates + rowOff + <usize>uOffset * 4, dcp = dGates + rowOff + <usize>cOffset * 4;
    const r = <usize>b * hb;
    let o: usize = 0;
    for (; o + 64 <= hb; o += 64) {
      gruOutBwdBody(up, cp, dup, dcp, hPrev + r, dh + r, dhPrev + r, o, true);
      gruOutBwdBody(up, cp, dup, dcp, hPrev + r, dh + r, dhPrev + r, (o + 16), true);
      gruOutBwdBody(up, cp, dup, dcp, hPrev + r, dh + r, dhPrev + r, (o + 32), true);
      gruOutBwdBody(up, cp, dup, dcp, hPrev + r, dh + r, dhPrev + r, (o + 48), true);
    }
    for (; o + 16 <= hb; o += 16) gruOutBwdBody(up, cp, dup, dcp, hPrev + r, dh + r, dhPrev + r, o, true);
    for (; o < hb; o += 4) gruOutBwdBody(up, cp, dup, dcp, hPrev + r, dh + r, dhPrev + r, o, false);
  }
}

@inline function gruResetBwdBody(gp: usize, dgp: usize, hPrev: usize, dRh: usize, dhPrev: usize, o: usize, full: bool): void {
  const r = ld(gp + o, full);
  const d = ld(dRh + o, full);
  // rh = r ⊙ hPrev
  st(dgp + o, f32x4.mul(f32x4.mul(d, ld(hPrev + o, full)), dsig(r)), full);
  st(dhPrev + o, f32x4.add(ld(dhPrev + o, full), f32x4.mul(d, r)), full);
}
export function gruResetBackward(n: i32, H: i32, gates: usize, hPrev: usize, dRh: usize, dGates: usize, dhPrev: usize): void {
  const hb = <usize>H * 4;
  for (let b = 0; b < n; b++) {
    const gp = gates + <usize>b * hb * 3;
    const dgp = dGates + <usize>b * hb * 3;
    const r = <usize>b * hb;
    let o: usize = 0;
    for (; o + 64 <= hb; o += 64) {
      gruResetBwdBody(gp, dgp, hPrev + r, dRh + r, dhPrev + r, o, true);
      gruResetBwdBody(gp, dgp, hPrev + r, dRh + r, dhPrev + r, (o + 16), true);
      gruResetBwdBody(gp, dgp, hPrev + r, dRh + r, dhPrev + r, (o + 32), true);
      gruResetBwdBody(gp, dgp, hPrev + r, dRh + r, dhPrev + r, (o + 48), true);
    }
    for (; o + 16 <= hb; o += 16) gruResetBwdBody(gp, dgp, hPrev + r, dRh + r, dhPrev + r, o, true);
    for (; o < hb; o += 4) gruResetBwdBody(gp, dgp, hPrev + r, dRh + r, dhPrev + r, o, false);
  }
}

// ---- PyTorch GRU, gates [r z n]

@inline function gruTorchFwdBody(gp: usize, wp: usize, hb: usize, hPrev: usize, h: usize, o: usize, full: bool): void {
  const r = vsigmoid(f32x4.add(ld(gp + o, full), ld(wp + o, full)));
  const z = vsigmoid(f32x4.add(ld(gp + hb + o, full), ld(wp + hb + o, full)));
  const nn = vtanh(f32x4.add(ld(gp + 2 * hb + o, full), f32x4.mul(r, ld(wp + 2 * hb + o, full))));
  st(gp + o, r, full);
  st(gp + hb + o, z, full);
  st(gp + 2 * hb + o, nn, full);
  // h = (1 − z) ⊙ n + z ⊙ hPrev
  st(h + o, f32x4.add(f32x4.mul(f32x4.sub(one(), z), nn), f32x4.mul(z, ld(hPrev + o, full))), full);
}
export function gruTorchForward(n: i32, H: i32, gates: usize, hw: usize, hPrev: usize, h: usize): void {
  const hb = <usize>H * 4;
  for (let b = 0; b < n; b++) {
    const gp = gates + <usize>b * hb * 3;
    const wp = hw + <usize>b * hb * 3;
    const r = <usize>b * hb;
    let o: usize = 0;
    for (; o + 64 <= hb; o += 64) {
      gruTorchFwdBody(gp, wp, hb, hPrev + r, h + r, o, true);
      gruTorchFwdBody(gp, wp, hb, hPrev + r, h + r, (o + 16), true);
      gruTorchFwdBody(gp, wp, hb, hPrev + r, h + r, (o + 32), true);
      gruTorchFwdBody(gp, wp, hb, hPrev + r, h + r, (o + 48), true);
    }
    for (; o + 16 <= hb; o += 16) gruTorchFwdBody(gp, wp, hb, hPrev + r, h + r, o, true);
    for (; o < hb; o += 4) gruTorchFwdBody(gp, wp, hb, hPrev + r, h + r, o, false);
  }
}

@inline function gruTorchBwdBody(gp: usize, wp: usize, dgp: usize, dwp: usize, hb: usize, hPrev: usize, dh: usize, dhPrev: usize, o: usize, full: bool): void {
  const r = ld(gp + o, full);
  const z = ld(gp + hb + o, full);
  const nn = ld(gp + 2 * hb + o, full);
  const dhv = ld(dh + o, full);
  // h = (1 − z) ⊙ n + z ⊙ hPrev
  const dnPre = f32x4.mul(f32x4.mul(dhv, f32x4.sub(one(), z)), dtanh(nn));
  const dzPre = f32x4.mul(f32x4.mul(dhv, f32x4.sub(ld(hPrev + o, full), nn)), dsig(z));
  // n = tanh(x_n + r ⊙ hw_n)
  const drPre = f32x4.mul(f32x4.mul(dnPre, ld(wp + 2 * hb + o, full)), dsig(r));
  st(dgp + o, drPre, full);
  st(dgp + hb + o, dzPre, full);
  st(dgp + 2 * hb + o, dnPre, full);
  st(dwp + o, drPre, full);
  st(dwp + hb + o, dzPre, full);
  st(dwp + 2 * hb + o, f32x4.mul(dnPre, r), full);
  st(dhPrev + o, f32x4.add(ld(dhPrev + o, full), f32x4.mul(dhv, z)), full);
}
export function gruTorchBackward(n: i32, H: i32, gates: usize, hw: usize, hPrev: usize, dh: usize, dGates: usize, dHw: usize, dhPrev: usize): void {
  const hb = <usize>H * 4;
  for (let b = 0; b < n; b++) {
    const ro = <usize>b * hb * 3;
    const r = <usize>b * hb;
    let o: usize = 0;
    for (; o + 64 <= hb; o += 64) {
      gruTorchBwdBody(gates + ro, hw + ro, dGates + ro, dHw + ro, hb, hPrev + r, dh + r, dhPrev + r, o, true);
      gruTorchBwdBody(gates + ro, hw + ro, dGates + ro, dHw + ro, hb, hPrev + r, dh + r, dhPrev + r, (o + 16), true);
      gruTorchBwdBody(gates + ro, hw + ro, dGates + ro, dHw + ro, hb, hPrev + r, dh + r, dhPrev + r, (o + 32), true);
      gruTorchBwdBody(gates + ro, hw + ro, dGates + ro, dHw + ro, hb, hPrev + r, dh + r, dhPrev + r, (o + 48), true);
    }
    for (; o + 16 <= hb; o += 16) gruTorchBwdBody(gates + ro, hw + ro, dGates + ro, dHw + ro, hb, hPrev + r, dh + r, dhPrev + r, o, true);
    for (; o < hb; o += 4) gruTorchBwdBody(gates + ro, hw + ro, dGates + ro, dHw + ro, hb, hPrev + r, dh + r, dhPrev + r, o, false);
  }
}

// ---- rows

// X[r, 0:N] += bias[0:N], row stride ldx.
export function addBias(rows: i32, N: i32, X: usize, ldx: i32, bias: usize): void {
  const nb = <usize>N * 4;
  for (let r = 0; r < rows; r++) {
    const x = X + <usize>r * <usize>ldx * 4;
    let o: usize = 0;
    for (; o + 16 <= nb; o += 16) v128.store(x + o, f32x4.add(v128.load(x + o), v128.load(bias + o)));
    for (; o < nb; o += 4) store<f32>(x + o, load<f32>(x + o) + load<f32>(bias + o));
  }
}

// dbias[0:N] += Σ_r dX[r, 0:N].
export function sumRows(rows: i32, N: i32, dX: usize, ldx: i32, dbias: usize): void {
  const nb = <usize>N * 4;
  for (let r = 0; r < rows; r++) {
    const x = dX + <usize>r * <usize>ldx * 4;
    let o: usize = 0;
    for (; o + 16 <= nb; o += 16) v128.store(dbias + o, f32x4.add(v128.load(dbias + o), v128.load(x + o)));
    for (; o < nb; o += 4) store<f32>(dbias + o, load<f32>(dbias + o) + load<f32>(x + o));
  }
}

// Returns the first row whose id is outside [0, V), or −1 when all are valid.
export function checkIds(rows: i32, ids: usize, V: i32): i32 {
  for (let r = 0; r < rows; r++) {
    const id = load<i32>(ids + (<usize>r << 2));
    if (id < 0 || id >= V) return r;
  }
  return -1;
}

// out[r, :] = table[ids[r], :]; table is [V,E]. Ids must be checked first.
export function gatherRows(rows: i32, E: i32, ids: usize, table: usize, out: usize): void {
  const eb = <usize>E * 4;
  for (let r = 0; r < rows; r++) {
    const id = <usize>load<i32>(ids + (<usize>r << 2));
    memory.copy(out + <usize>r * eb, table + id * eb, eb);
  }
}

// dtable[ids[r], :] += dOut[r, :].
export function scatterAddRows(rows: i32, E: i32, ids: usize, dOut: usize, dtable: usize): void {
  const eb = <usize>E * 4;
  for (let r = 0; r < rows; r++) {
    const d = dtable + <usize>load<i32>(ids + (<usize>r << 2)) * eb;
    const s = dOut + <usize>r * eb;
    let o: usize = 0;
    for (; o + 16 <= eb; o += 16) v128.store(d + o, f32x4.add(v128.load(d + o), v128.load(s + o)));
    for (; o < eb; o += 4) store<f32>(d + o, load<f32>(d + o) + load<f32>(s + o));
  }
}

// ---- loss

/** Rows per block of the loss sum: the loss is Σ over blocks of (Σ over the block's rows), in order,
 *  so that a split across threads (softmaxXentBlocks) sums exactly as one thread does. */
const LOSS_BLOCK: i32 = 64;

// Row r's −log softmax(logits_r)[t] (t ∈ [0, V)); when dLogits ≠ 0 writes its row of
// scale·(softmax − onehot) (may alias).
@inline function xentRow(r: i32, t: i32, V: i32, logits: usize, dLogits: usize, scale: f32): f64 {
  const vb = <usize>V * 4;
  const x = logits + <usize>r * vb;
  // max
  let o: usize = 0;
  let mv = f32x4.splat(-Infinity);
  for (; o + 16 <= vb; o += 16) mv = f32x4.max(mv, v128.load(x + o));
  let mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; o < vb; o += 4) mx = max(mx, load<f32>(x + o));
  const xt = load<f32>(x + (<usize>t << 2));
  // Σ exp(x − max), in f64 lanes; the exps are kept in dLogits for the gradient
  const mxv = f32x4.splat(mx);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  const d = dLogits != 0 ? dLogits + <usize>r * vb : 0;
  o = 0;
  for (; o + 32 <= vb; o += 32) {
    // two independent exps per iteration (see the note at the top)
    const e = vexp(f32x4.sub(v128.load(x + o), mxv));
    const e2 = vexp(f32x4.sub(v128.load(x + o, 16), mxv));
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e2));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(e2, e2, 2, 3, 0, 1)));
    if (d != 0) {
      v128.store(d + o, e);
      v128.store(d + o, e2, 16);
    }
  }
  for (; o + 16 <= vb; o += 16) {
    const e = vexp(f32x4.sub(v128.load(x + o), mxv));
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
    if (d != 0) v128.store(d + o, e);
  }
  for (; o < vb; o += 4) {
    const e = vexp(f32x4.sub(v128.load32_zero(x + o), mxv));
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v128.and(e, i32x4(-1, 0, 0, 0))));
    if (d != 0) v128.store32_lane(d + o, e, 0);
  }
  const s2 = f64x2.add(s0, s1);
  const sum = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
  const loss = <f64>mx + logF64(sum) - <f64>xt;
  if (d != 0) {
    const k = f32x4.splat(<f32>(<f64>scale / sum));
    o = 0;
    for (; o + 16 <= vb; o += 16) v128.store(d + o, f32x4.mul(v128.load(d + o), k));
    for (; o < vb; o += 4) store<f32>(d + o, load<f32>(d + o) * f32x4.extract_lane(k, 0));
    const tp = d + (<usize>t << 2);
    store<f32>(tp, load<f32>(tp) - scale);
  }
  return loss;
}

// Σ_r −log softmax(logits_r)[t_r] over blocks of LOSS_BLOCK rows; when dLogits ≠ 0 writes
// scale·(softmax − onehot) (may alias). Returns NaN when a target is outside [0, V).
export function softmaxXent(rows: i32, V: i32, logits: usize, targets: usize, dLogits: usize, scale: f32): f64 {
  let loss: f64 = 0;
  for (let b = 0; b < rows; b += LOSS_BLOCK) {
    const end = min(rows, b + LOSS_BLOCK);
    let part: f64 = 0;
    for (let r = b; r < end; r++) {
      const t = load<i32>(targets + (<usize>r << 2));
      if (t < 0 || t >= V) return NaN;
      part += xentRow(r, t, V, logits, dLogits, scale);
    }
    loss += part;
  }
  return loss;
}

/** softmaxXent's rows lo..hi (lo a multiple of LOSS_BLOCK), each block's sum written to
 *  partials[block] (f64; NaN for a block with a target outside [0, V)). */
export function softmaxXentBlocks(lo: i32, hi: i32, V: i32, logits: usize, targets: usize, dLogits: usize, scale: f32, partials: usize): void {
  for (let b = lo; b < hi; b += LOSS_BLOCK) {
    const end = min(hi, b + LOSS_BLOCK);
    let part: f64 = 0;
    for (let r = b; r < end; r++) {
      const t = load<i32>(targets + (<usize>r << 2));
      if (t < 0 || t >= V) {
        part = NaN;
        break;
      }
      part += xentRow(r, t, V, logits, dLogits, scale);
    }
    store<f64>(partials + (<usize>(b / LOSS_BLOCK) << 3), part);
  }
}
