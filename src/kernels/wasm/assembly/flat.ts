// Flat-buffer ops for clipping and the optimizers (n floats, 4 at a time, scalar tail).

// Σ x² accumulated in f64 lanes (squares of floats are exact in f64).
export function sumSquares(n: i32, x: usize): f64 {
  const nb = <usize>n * 4;
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let o: usize = 0;
  for (; o + 16 <= nb; o += 16) {
    const v = v128.load(x + o);
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    a0 = f64x2.add(a0, f64x2.mul(lo, lo));
    a1 = f64x2.add(a1, f64x2.mul(hi, hi));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; o < nb; o += 4) {
    const v = <f64>load<f32>(x + o);
    s += v * v;
  }
  return s;
}

export function scale(n: i32, x: usize, s: f32): void {
  const nb = <usize>n * 4;
  const sv = f32x4.splat(s);
  let o: usize = 0;
  for (; o + 16 <= nb; o += 16) v128.store(x + o, f32x4.mul(v128.load(x + o), sv));
  for (; o < nb; o += 4) store<f32>(x + o, load<f32>(x + o) * s);
}

@inline function ld(p: usize, full: bool): v128 {
  return full ? v128.load(p) : v128.load32_zero(p);
}
@inline function st(p: usize, v: v128, full: bool): void {
  if (full) v128.store(p, v);
  else v128.store32_lane(p, v, 0);
}

@inline function adamBody(p: usize, g: usize, m: usize, v: usize, lr: v128, b1: v128, c1: v128, b2: v128, c2: v128, eps: v128, wd: v128, full: bool): void {
  const gi = ld(g, full);
  const mi = f32x4.add(f32x4.mul(b1, ld(m, full)), f32x4.mul(c1, gi));
  const vi = f32x4.add(f32x4.mul(b2, ld(v, full)), f32x4.mul(c2, f32x4.mul(gi, gi)));
  st(m, mi, full);
  st(v, vi, full);
  const pi = ld(p, full);
  const step = f32x4.div(f32x4.mul(lr, mi), f32x4.add(f32x4.sqrt(vi), eps));
  st(p, f32x4.sub(pi, f32x4.add(f32x4.mul(wd, pi), step)), full);
}
export function adam(n: i32, p: usize, g: usize, m: usize, v: usize, lr: f32, b1: f32, b2: f32, eps: f32, lrWd: f32, c1: f32, c2: f32): void {
  // c1 = 1 − b1 and c2 = 1 − b2 are computed by the caller in f64 and rounded once.
  const nb = <usize>n * 4;
  const lrv = f32x4.splat(lr), b1v = f32x4.splat(b1), c1v = f32x4.splat(c1);
  const b2v = f32x4.splat(b2), c2v = f32x4.splat(c2), ev = f32x4.splat(eps), wv = f32x4.splat(lrWd);
  let o: usize = 0;
  for (; o + 64 <= nb; o += 64) {
    adamBody(p + o, g + o, m + o, v + o, lrv, b1v, c1v, b2v, c2v, ev, wv, true);
    adamBody(p + (o + 16), g + (o + 16), m + (o + 16), v + (o + 16), lrv, b1v, c1v, b2v, c2v, ev, wv, true);
    adamBody(p + (o + 32), g + (o + 32), m + (o + 32), v + (o + 32), lrv, b1v, c1v, b2v, c2v, ev, wv, true);
    adamBody(p + (o + 48), g + (o + 48), m + (o + 48), v + (o + 48), lrv, b1v, c1v, b2v, c2v, ev, wv, true);
  }
  for (; o + 16 <= nb; o += 16) adamBody(p + o, g + o, m + o, v + o, lrv, b1v, c1v, b2v, c2v, ev, wv, true);
  for (; o < nb; o += 4) adamBody(p + o, g + o, m + o, v + o, lrv, b1v, c1v, b2v, c2v, ev, wv, false);
}

@inline function rmspropBody(p: usize, g: usize, v: usize, lr: v128, a: v128, ca: v128, eps: v128, full: bool): void {
  const gi = ld(g, full);
  const vi = f32x4.add(f32x4.mul(a, ld(v, full)), f32x4.mul(ca, f32x4.mul(gi, gi)));
  st(v, vi, full);
  st(p, f32x4.sub(ld(p, full), f32x4.div(f32x4.mul(lr, gi), f32x4.add(f32x4.sqrt(vi), eps))), full);
}
export function rmsprop(n: i32, p: usize, g: usize, v: usize, lr: f32, alpha: f32, eps: f32, ca: f32): void {
  const nb = <usize>n * 4;
  const lrv = f32x4.splat(lr), av = f32x4.splat(alpha), cav = f32x4.splat(ca), ev = f32x4.splat(eps);
  let o: usize = 0;
  for (; o + 64 <= nb; o += 64) {
    rmspropBody(p + o, g + o, v + o, lrv, av, cav, ev, true);
    rmspropBody(p + (o + 16), g + (o + 16), v + (o + 16), lrv, av, cav, ev, true);
    rmspropBody(p + (o + 32), g + (o + 32), v + (o + 32), lrv, av, cav, ev, true);
    rmspropBody(p + (o + 48), g + (o + 48), v + (o + 48), lrv, av, cav, ev, true);
  }
  for (; o + 16 <= nb; o += 16) rmspropBody(p + o, g + o, v + o, lrv, av, cav, ev, true);
  for (; o < nb; o += 4) rmspropBody(p + o, g + o, v + o, lrv, av, cav, ev, false);
}

@inline function sgdBody(p: usize, g: usize, m: usize, lr: v128, mu: v128, full: bool): void {
  const mi = f32x4.add(f32x4.mul(mu, ld(m, full)), ld(g, full));
  st(m, mi, full);
  st(p, f32x4.sub(ld(p, full), f32x4.mul(lr, mi)), full);
}
export function sgd(n: i32, p: usize, g: usize, m: usize, lr: f32, mu: f32): void {
  const nb = <usize>n * 4;
  const lrv = f32x4.splat(lr), muv = f32x4.splat(mu);
  let o: usize = 0;
  for (; o + 64 <= nb; o += 64) {
    sgdBody(p + o, g + o, m + o, lrv, muv, true);
    sgdBody(p + (o + 16), g + (o + 16), m + (o + 16), lrv, muv, true);
    sgdBody(p + (o + 32), g + (o + 32), m + (o + 32), lrv, muv, true);
    sgdBody(p + (o + 48), g + (o + 48), m + (o + 48), lrv, muv, true);
  }
  for (; o + 16 <= nb; o += 16) sgdBody(p + o, g + o, m + o, lrv, muv, true);
  for (; o < nb; o += 4) sgdBody(p + o, g + o, m + o, lrv, muv, false);
}
