// A deliberately naive classifier forward pass for one sequence at a time: plain number
// arrays, each cell written from its equations over the concatenation [h, x], the
// backward direction run by walking t from len−1 down to 0 (no reversal, no gather, no
// masking: the sequence is simply as long as it is), explicit [h→ ; h←] concatenation,
// explicit pooling. It shares nothing with src/nn except the parameter names.
import type { CellKind } from '../../src/nn/layer.js';

type Mat = number[][];

export interface NaiveParams {
  get(name: string): Mat | number[];
}

const sig = (v: number) => 1 / (1 + Math.exp(-v));

function dot(row: number[], v: number[]): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += row[j] * v[j];
  return s;
}

/** One step of a cell; returns [h_t, c_t]. `sfx` names the direction ('' or '_reverse'). */
function cellStep(
  cell: CellKind, p: NaiveParams, l: number, sfx: string, H: number, x: number[], h: number[], c: number[],
): [number[], number[]] {
  const Wih = p.get(`rnn.weight_ih_l${l}${sfx}`) as Mat;
  const Whh = p.get(`rnn.weight_hh_l${l}${sfx}`) as Mat;
  const bih = p.get(`rnn.bias_ih_l${l}${sfx}`) as number[];
  const bhh = p.get(`rnn.bias_hh_l${l}${sfx}`) as number[];
  // W[h, x] as one matrix row per gate unit, applied to [h, x]
  const W = (g: number) => [...Whh[g], ...Wih[g]];
  const hx = [...h, ...x];
  const pre = (g: number, v: number[]) => dot(W(g), v) + bih[g] + bhh[g];
  const next: number[] = [];
  const cNext: number[] = [];
  for (let j = 0; j < H; j++) {
    if (cell === 'rnn') next.push(Math.tanh(pre(j, hx)));
    else if (cell === 'rnn-relu') next.push(Math.max(0, pre(j, hx)));
    else if (cell === 'lstm' || cell === 'lstm-peep') {
      let zi = pre(j, hx);
      let zf = pre(H + j, hx);
      const zg = pre(2 * H + j, hx);
      let zo = pre(3 * H + j, hx);
      if (cell === 'lstm-peep') {
        const Wch = p.get(`rnn.weight_ch_l${l}${sfx}`) as Mat;
        zi += dot(Wch[j], c);
        zf += dot(Wch[H + j], c);
        zo += dot(Wch[2 * H + j], c);
      }
      const cj = sig(zi) * Math.tanh(zg) + sig(zf) * c[j];
      cNext.push(cj);
      next.push(sig(zo) * Math.tanh(cj));
    } else if (cell === 'gru') {
      // r for all units first (the candidate needs r ⊙ h over the whole vector)
      const r = Array.from({ length: H }, (_, i) => sig(pre(i, hx)));
      const u = sig(pre(H + j, hx));
      const rhx = [...h.map((v, i) => v * r[i]), ...x];
      const cand = Math.tanh(pre(2 * H + j, rhx));
      next.push(u * cand + (1 - u) * h[j]);
    } else if (cell === 'gru-min') {
      const u = sig(pre(j, hx));
      const cand = Math.tanh(pre(H + j, hx));
      next.push(u * cand + (1 - u) * h[j]);
    } else {
      const gi = (g: number) => dot(Wih[g], x) + bih[g];
      const gh = (g: number) => dot(Whh[g], h) + bhh[g];
      const r = sig(gi(j) + gh(j));
      const z = sig(gi(H + j) + gh(H + j));
      const n = Math.tanh(gi(2 * H + j) + r * gh(2 * H + j));
      next.push((1 - z) * n + z * h[j]);
    }
  }
  return [next, cNext.length ? cNext : c];
}

export interface NaiveEncoderResult {
  /** outputs[t] = [h→_t ; h←_t] of the top layer */
  outputs: number[][];
  /** finals[l][d] = { h, c } */
  finals: { h: number[]; c: number[] }[][];
}

export function naiveEncoder(
  cell: CellKind, L: number, H: number, bidirectional: boolean, p: NaiveParams, ids: number[],
): NaiveEncoderResult {
  const emb = p.get('embed.weight') as Mat;
  let xs = ids.map((id) => [...emb[id]]);
  const finals: { h: number[]; c: number[] }[][] = [];
  const len = ids.length;
  for (let l = 0; l < L; l++) {
    const fwd: number[][] = [];
    let h = new Array(H).fill(0);
    let c = new Array(H).fill(0);
    for (let t = 0; t < len; t++) {
      [h, c] = cellStep(cell, p, l, '', H, xs[t], h, c);
      fwd.push(h);
    }
    const row = [{ h, c }];
    const bwd: number[][] = new Array(len);
    if (bidirectional) {
      let hb = new Array(H).fill(0);
      let cb = new Array(H).fill(0);
      for (let t = len - 1; t >= 0; t--) {
        [hb, cb] = cellStep(cell, p, l, '_reverse', H, xs[t], hb, cb);
        bwd[t] = hb;
      }
      row.push({ h: hb, c: cb });
    }
    finals.push(row);
    xs = fwd.map((v, t) => (bidirectional ? [...v, ...bwd[t]] : v));
  }
  return { outputs: xs, finals };
}

export function naiveClassifierLogits(
  cfg: { cell: CellKind; layers: number; hidden: number; bidirectional: boolean; pool: 'last' | 'mean' | 'max' },
  p: NaiveParams, ids: number[],
): number[] {
  const { outputs, finals } = naiveEncoder(cfg.cell, cfg.layers, cfg.hidden, cfg.bidirectional, p, ids);
  let pooled: number[];
  if (cfg.pool === 'last') {
    const top = finals[cfg.layers - 1];
    pooled = top.flatMap((s) => s.h);
  } else if (cfg.pool === 'mean') {
    pooled = outputs[0].map((_, j) => outputs.reduce((s, o) => s + o[j], 0) / outputs.length);
  } else {
    pooled = outputs[0].map((_, j) => Math.max(...outputs.map((o) => o[j])));
  }
  const W = p.get('head.weight') as Mat;
  const b = p.get('head.bias') as number[];
  return W.map((row, k) => dot(row, pooled) + b[k]);
}
