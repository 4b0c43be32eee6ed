// Attention: against a naive reference written from the equations (per row, per step, plain
// number arrays), float64 central-difference checks of every input and parameter, and the
// masking invariants (padding gets weight 0 and zero gradient, its contents change nothing).
import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { createKernels } from '../../src/kernels/index.js';
import type { Kernels, Vec } from '../../src/kernels/types.js';
import {
  allocAttentionCache, attentionBackward, attentionForward, attentionParamSpecs, type AttentionKind,
  type AttentionWeights,
} from '../../src/nn/attention.js';
import { ParamLayout } from '../../src/nn/params.js';
import { Rng } from '../../src/util/rng.js';
import { gradcheck } from '../helpers/gradcheck.js';

const k64 = new ReferenceKernels('f64');
const TOL = 1e-5;

interface Case { kind: AttentionKind; B: number; T: number; S: number; D: number; H: number; A: number; project?: boolean }

function weightsOf(layout: ParamLayout, flat: Vec, kind: AttentionKind): AttentionWeights {
  const get = (n: string) => (layout.has(`attn.${n}`) ? layout.view(flat, `attn.${n}`) : null);
  return kind === 'dot'
    ? { Wk: get('weight_a'), Wq: null, bq: null, v: null }
    : { Wk: get('weight_k'), Wq: get('weight_q'), bq: get('bias_q'), v: get('v') };
}

function setup(k: Kernels, cs: Case, lens: number[], seed = 3) {
  const { kind, B, T, S, D, H, A } = cs;
  const rng = new Rng(seed);
  const arena = k.arena();
  const layout = new ParamLayout(attentionParamSpecs(kind, D, H, A, 'attn', cs.project));
  const params = layout.alloc(arena);
  const grads = layout.alloc(arena);
  for (let i = 0; i < params.length; i++) params[i] = 0.7 * rng.normal();
  const w = weightsOf(layout, params, kind);
  const dw = weightsOf(layout, grads, kind);
  const cache = allocAttentionCache(arena, kind, { B, T, S, D, H, A }, true, cs.project);
  cache.lens.set(lens);
  const enc = arena.floats(S * B * D);
  const query = arena.floats(T * B * H);
  for (let i = 0; i < enc.length; i++) enc[i] = rng.normal();
  for (let i = 0; i < query.length; i++) query[i] = rng.normal();
  const R = arena.floats(T * B * D); // L = Σ R ⊙ c
  for (let i = 0; i < R.length; i++) R[i] = rng.normal();
  const dEnc = arena.floats(S * B * D);
  const dQuery = arena.floats(T * B * H);
  const loss = () => {
    attentionForward(k, w, cache, enc, query);
    let l = 0;
    for (let i = 0; i < R.length; i++) l += R[i] * cache.context[i];
    return l;
  };
  const backward = () => {
    grads.fill(0);
    dEnc.fill(0);
    dQuery.fill(0);
    loss();
    attentionBackward(k, w, dw, cache, enc, query, R, dEnc, dQuery);
  };
  return { layout, params, grads, w, cache, enc, query, dEnc, dQuery, loss, backward };
}

/** c_t for row b from the definition: scores, softmax over s < len, weighted sum. */
function naiveContext(cs: Case, w: AttentionWeights, enc: Vec, query: Vec, lens: number[]): number[][][] {
  const { kind, B, T, D, H, A } = cs;
  const e = (s: number, b: number) => Array.from({ length: D }, (_, j) => enc[(s * B + b) * D + j]);
  const h = (t: number, b: number) => Array.from({ length: H }, (_, j) => query[(t * B + b) * H + j]);
  const mv = (W: Vec, rows: number, x: number[]) =>
    Array.from({ length: rows }, (_, r) => x.reduce((acc, xj, j) => acc + W[r * x.length + j] * xj, 0));
  const out: number[][][] = [];
  for (let t = 0; t < T; t++) {
    out.push([]);
    for (let b = 0; b < B; b++) {
      const scores: number[] = [];
      for (let s = 0; s < lens[b]; s++) {
        if (kind === 'dot') {
          const key = w.Wk ? mv(w.Wk, H, e(s, b)) : e(s, b);
          scores.push(h(t, b).reduce((acc, x, j) => acc + x * key[j], 0));
        } else {
          const q = mv(w.Wq!, A, h(t, b));
          const kk = mv(w.Wk!, A, e(s, b));
          let sc = 0;
          for (let a = 0; a < A; a++) sc += w.v![a] * Math.tanh(q[a] + w.bq![a] + kk[a]);
          scores.push(sc);
        }
      }
      const z = scores.map(Math.exp);
      const sum = z.reduce((x, y) => x + y, 0);
      const ctx = new Array<number>(D).fill(0);
      for (let s = 0; s < lens[b]; s++) for (let j = 0; j < D; j++) ctx[j] += (z[s] / sum) * e(s, b)[j];
      out[t].push(ctx);
    }
  }
  return out;
}

const CASES: Case[] = [
  { kind: 'dot', B: 3, T: 4, S: 5, D: 3, H: 3, A: 1 },
  { kind: 'dot', B: 3, T: 4, S: 5, D: 3, H: 3, A: 1, project: true },
  { kind: 'dot', B: 3, T: 4, S: 5, D: 6, H: 3, A: 1 },
  { kind: 'additive', B: 3, T: 4, S: 5, D: 6, H: 3, A: 4 },
  { kind: 'additive', B: 2, T: 3, S: 4, D: 3, H: 3, A: 2 },
];
const LENS = [5, 2, 4];

const name = (c: Case) => `${c.kind}${c.project ? ' (projected)' : ''} D=${c.D} H=${c.H}`;

describe('attention', () => {
  for (const cs of CASES) {
    const lens = LENS.slice(0, cs.B).map((n) => Math.min(n, cs.S));

    it(`${name(cs)}: matches the naive reference`, () => {
      const s = setup(k64, cs, lens);
      s.loss();
      const ref = naiveContext(cs, s.w, s.enc, s.query, lens);
      for (let t = 0; t < cs.T; t++) for (let b = 0; b < cs.B; b++) for (let j = 0; j < cs.D; j++) {
        expect(s.cache.context[(t * cs.B + b) * cs.D + j]).toBeCloseTo(ref[t][b][j], 12);
      }
    });

    it(`${name(cs)}: float64 gradients of every input and parameter`, () => {
      const s = setup(k64, cs, lens);
      s.backward();
      const dEnc = Float64Array.from(s.dEnc);
      const dQuery = Float64Array.from(s.dQuery);
      const re = gradcheck(s.loss, s.enc as Float64Array, dEnc);
      expect(re.maxRelError, `enc ${JSON.stringify(re.worst)}`).toBeLessThanOrEqual(TOL);
      const rq = gradcheck(s.loss, s.query as Float64Array, dQuery);
      expect(rq.maxRelError, `query ${JSON.stringify(rq.worst)}`).toBeLessThanOrEqual(TOL);
      for (const spec of s.layout.specs) {
        const r = gradcheck(s.loss, s.layout.view(s.params, spec.name) as Float64Array,
          Float64Array.from(s.layout.view(s.grads, spec.name)));
        expect(r.maxRelError, `${spec.name} ${JSON.stringify(r.worst)}`).toBeLessThanOrEqual(TOL);
      }
    });

    it(`${name(cs)}: padding gets weight 0 and zero gradient, and its contents change nothing`, () => {
      const s = setup(k64, cs, lens);
      s.backward();
      const ctx = Float64Array.from(s.cache.context);
      for (let b = 0; b < cs.B; b++) {
        for (let t = 0; t < cs.T; t++) {
          let sum = 0;
          for (let p = 0; p < cs.S; p++) {
            const a = s.cache.alpha[(b * cs.T + t) * cs.S + p];
            if (p >= lens[b]) expect(a).toBe(0);
            sum += a;
          }
          expect(sum).toBeCloseTo(1, 12);
        }
        for (let p = lens[b]; p < cs.S; p++) {
          for (let j = 0; j < cs.D; j++) {
            expect(s.dEnc[(p * cs.B + b) * cs.D + j]).toBe(0);
            s.enc[(p * cs.B + b) * cs.D + j] = 1e3; // garbage in the padding
          }
        }
      }
      s.loss();
      expect(Array.from(s.cache.context)).toEqual(Array.from(ctx));
    });
  }

  it('the WebAssembly backend agrees with the reference (float32)', () => {
    const wasm = createKernels({ backend: 'wasm', threads: 1 });
    for (const cs of CASES) {
      const lens = LENS.slice(0, cs.B).map((n) => Math.min(n, cs.S));
      const a = setup(wasm, cs, lens);
      const b = setup(new ReferenceKernels('f32'), cs, lens);
      a.backward();
      b.backward();
      for (const [x, y] of [[a.cache.context, b.cache.context], [a.dEnc, b.dEnc], [a.dQuery, b.dQuery], [a.grads, b.grads]]) {
        for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(y[i], 4);
      }
    }
  });
});
