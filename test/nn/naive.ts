// A deliberately naive forward pass, written from the equations with explicit
// concatenation [a, x], one element at a time, plain number arrays, no kernels and no
// shared buffers. It shares nothing with src/nn except the parameter names.
import type { CellKind } from '../../src/nn/layer.js';
import type { Model } from '../../src/nn/model.js';

type Mat = number[][];

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** rows [G, In] and [G, H] of PyTorch's layout, as one matrix over [h, x] (the mission's W[a, x]). */
function concatWeights(Wih: Mat, Whh: Mat): Mat {
  return Wih.map((row, g) => [...Whh[g], ...row]);
}

function matvec(W: Mat, v: number[], rows: [number, number]): number[] {
  const out: number[] = [];
  for (let r = rows[0]; r < rows[1]; r++) {
    let s = 0;
    for (let j = 0; j < v.length; j++) s += W[r][j] * v[j];
    out.push(s);
  }
  return out;
}

export interface NaiveParams {
  get(name: string): Mat | number[];
}

/** A model's parameters by name as plain arrays: vectors as they are, matrices as rows. */
export function naiveParams(model: Model): NaiveParams {
  return {
    get(name: string) {
      const spec = model.layout.spec(name);
      const v = Array.from(model.layout.view(model.params, name));
      if (spec.shape.length === 1) return v;
      const [r, c] = spec.shape;
      return Array.from({ length: r }, (_, i) => v.slice(i * c, (i + 1) * c));
    },
  };
}

/**
 * Dropout masks (values 0 or 1/(1 − p)) for the naive pass: `embed[t][b]` [E] multiplies
 * the embedding of position (t, b); `recurrent[l][b]` [H] multiplies layer l's previous
 * state wherever it meets a weight matrix (the same mask at every step).
 */
export interface NaiveMasks {
  embed?: number[][][];
  recurrent?: number[][][];
}

/**
 * Logits for ids [T][B] given initial states h0[l][b][j] (and c0 for LSTM); returns
 * logits[T][B][V] and the final states.
 */
export function naiveForward(
  cell: CellKind, L: number, H: number, p: NaiveParams, ids: number[][], h0: number[][][], c0: number[][][], masks: NaiveMasks = {},
): { logits: number[][][]; h: number[][][]; c: number[][][] } {
  const emb = p.get('embed.weight') as Mat;
  const Wy = p.get('head.weight') as Mat;
  const by = p.get('head.bias') as number[];
  const h = h0.map((l) => l.map((b) => [...b]));
  const c = c0.map((l) => l.map((b) => [...b]));
  const logits: number[][][] = [];
  for (let t = 0; t < ids.length; t++) {
    const row: number[][] = [];
    for (let b = 0; b < ids[t].length; b++) {
      let x = [...emb[ids[t][b]]];
      if (masks.embed) x = x.map((v, e) => v * masks.embed![t][b][e]);
      for (let l = 0; l < L; l++) {
        const Wih = p.get(`rnn.weight_ih_l${l}`) as Mat;
        const Whh = p.get(`rnn.weight_hh_l${l}`) as Mat;
        const bias = (p.get(`rnn.bias_ih_l${l}`) as number[]).map((v, i) => v + (p.get(`rnn.bias_hh_l${l}`) as number[])[i]);
        const W = concatWeights(Wih, Whh);
        const prev = h[l][b];
        // what the weights see of the previous state (masked under recurrent dropout)
        const seen = masks.recurrent ? prev.map((v, j) => v * masks.recurrent![l][b][j]) : prev;
        const ax = [...seen, ...x];
        const next: number[] = [];
        if (cell === 'rnn' || cell === 'rnn-relu') {
          const z = matvec(W, ax, [0, H]);
          for (let j = 0; j < H; j++) next.push(cell === 'rnn' ? Math.tanh(z[j] + bias[j]) : Math.max(0, z[j] + bias[j]));
        } else if (cell === 'lstm' || cell === 'lstm-peep') {
          const z = matvec(W, ax, [0, 4 * H]).map((v, i) => v + bias[i]);
          if (cell === 'lstm-peep') {
            const Wch = p.get(`rnn.weight_ch_l${l}`) as Mat;
            const pc = matvec(Wch, c[l][b], [0, 3 * H]);
            for (let j = 0; j < H; j++) {
              z[j] += pc[j];
              z[H + j] += pc[H + j];
              z[3 * H + j] += pc[2 * H + j];
            }
          }
          const cNext: number[] = [];
          for (let j = 0; j < H; j++) {
            const u = sig(z[j]);
            const f = sig(z[H + j]);
            const cand = Math.tanh(z[2 * H + j]);
            const o = sig(z[3 * H + j]);
            cNext.push(u * cand + f * c[l][b][j]);
            next.push(o * Math.tanh(cNext[j]));
          }
          c[l][b] = cNext;
        } else if (cell === 'gru') {
          const zr = matvec(W, ax, [0, H]).map((v, i) => sig(v + bias[i]));
          const zu = matvec(W, ax, [H, 2 * H]).map((v, i) => sig(v + bias[H + i]));
          const rax = [...seen.map((v, j) => v * zr[j]), ...x];
          const cand = matvec(W, rax, [2 * H, 3 * H]).map((v, i) => Math.tanh(v + bias[2 * H + i]));
          for (let j = 0; j < H; j++) next.push(zu[j] * cand[j] + (1 - zu[j]) * prev[j]);
        } else if (cell === 'gru-min') {
          const zu = matvec(W, ax, [0, H]).map((v, i) => sig(v + bias[i]));
          const cand = matvec(W, ax, [H, 2 * H]).map((v, i) => Math.tanh(v + bias[H + i]));
          for (let j = 0; j < H; j++) next.push(zu[j] * cand[j] + (1 - zu[j]) * prev[j]);
        } else {
          // PyTorch's GRU: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
          const bih = p.get(`rnn.bias_ih_l${l}`) as number[];
          const bhh = p.get(`rnn.bias_hh_l${l}`) as number[];
          const gi = matvec(Wih, x, [0, 3 * H]).map((v, i) => v + bih[i]);
          const gh = matvec(Whh, seen, [0, 3 * H]).map((v, i) => v + bhh[i]);
          for (let j = 0; j < H; j++) {
            const r = sig(gi[j] + gh[j]);
            const zz = sig(gi[H + j] + gh[H + j]);
            const n = Math.tanh(gi[2 * H + j] + r * gh[2 * H + j]);
            next.push((1 - zz) * n + zz * prev[j]);
          }
        }
        h[l][b] = next;
        x = next;
      }
      row.push(Wy.map((w, v) => w.reduce((s, wj, j) => s + wj * x[j], by[v])));
    }
    logits.push(row);
  }
  return { logits, h, c };
}
