// The conditioned model (a tag input next to the character embedding): its forward pass
// against the naive reference run on the explicitly concatenated input [embed ; wᵀ·tag_embed]
// with W = [W_ih | W_tag], float64 gradient checks of every parameter (tag table and tag
// weight included) and the carried-in state with hard tags and with a blend, the float32
// lookup path against the explicit one, and an untouched plain model.
import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { CELL_KINDS, type CellKind } from '../../src/nn/layer.js';
import { Model, paramSpecs, type ModelConfig } from '../../src/nn/model.js';
import { Rng } from '../../src/util/rng.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { naiveForward } from './naive.js';

const f64 = new ReferenceKernels('f64');
const V = 5;
const E = 3;
const H = 4;
const K = 3;
const D = 2;

function condModel(cell: CellKind, layers: number, seed = 5): Model {
  const rng = new Rng(seed);
  const model = new Model(f64, { cell, vocab: V, embed: E, hidden: H, layers, tags: K, tagEmbed: D });
  model.init(rng);
  for (let i = 0; i < model.params.length; i++) model.params[i] = 0.6 * rng.normal();
  return model;
}

type Mat = number[][];
function mat(model: Model, name: string): Mat {
  const [r, c] = model.layout.spec(name).shape;
  const v = Array.from(model.layout.view(model.params, name));
  return Array.from({ length: r }, (_, i) => v.slice(i * c, (i + 1) * c));
}

/**
 * The naive reference on the concatenated input: a synthetic embedding table with one row
 * per (position), [embed[id] ; Σ_k w_k tag_embed[k]], and layer 0's weight [W_ih | W_tag].
 */
function naiveCond(model: Model, ids: number[][], mix: number[][][], h0: number[][][], c0: number[][][]) {
  const cfg = model.config;
  const emb = mat(model, 'embed.weight');
  const tagTable = mat(model, 'tag_embed.weight');
  const rows: Mat = [];
  const flatIds = ids.map((row, t) => row.map((id, b) => {
    const tagVec = Array.from({ length: D }, (_, d) => mix[t][b].reduce((s, w, k) => s + w * tagTable[k][d], 0));
    rows.push([...emb[id], ...tagVec]);
    return rows.length - 1;
  }));
  const Wih0 = mat(model, 'rnn.weight_ih_l0');
  const Wtag = mat(model, 'rnn.weight_ih_tag_l0');
  const params = {
    get(name: string) {
      if (name === 'embed.weight') return rows;
      if (name === 'rnn.weight_ih_l0') return Wih0.map((r, g) => [...r, ...Wtag[g]]);
      const spec = model.layout.spec(name);
      return spec.shape.length === 1 ? Array.from(model.layout.view(model.params, name)) : mat(model, name);
    },
  };
  return naiveForward(cfg.cell, cfg.layers, H, params, flatIds, h0, c0);
}

function randomMix(rng: Rng, blend: boolean): number[] {
  if (!blend) {
    const w = new Array<number>(K).fill(0);
    w[rng.int(K)] = 1;
    return w;
  }
  const w = Array.from({ length: K }, () => rng.next() + 0.1);
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

describe('conditioned model', () => {
  it('adds two named tensors to the language model and keeps every other name and shape', () => {
    const lm: ModelConfig = { cell: 'lstm', vocab: V, embed: E, hidden: H, layers: 2 };
    const plain = paramSpecs(lm);
    const cond = paramSpecs({ ...lm, tags: K, tagEmbed: D });
    expect(cond.filter((s) => !plain.some((p) => p.name === s.name))).toEqual([
      { name: 'tag_embed.weight', shape: [K, D] },
      { name: 'rnn.weight_ih_tag_l0', shape: [4 * H, D] },
    ]);
    for (const p of plain) expect(cond.find((s) => s.name === p.name)).toEqual(p);
    expect(new Model(f64, lm).workspace(2, 2, false).tagMix).toBeNull();
  });

  for (const cell of CELL_KINDS) {
    it(`${cell}: forward equals the naive reference on [embed ; mixed tag embedding], hard tags and blends`, () => {
      const model = condModel(cell, 2);
      const rng = new Rng(9);
      const B = 3;
      const T = 4;
      const ws = model.workspace(B, T, false);
      const ids: number[][] = [];
      const mix: number[][][] = [];
      for (let t = 0; t < T; t++) {
        ids.push([]);
        mix.push([]);
        for (let b = 0; b < B; b++) {
          ids[t].push(rng.int(V));
          mix[t].push(randomMix(rng, b === 2));
          ws.ids[t * B + b] = ids[t][b];
          for (let k = 0; k < K; k++) ws.tagMix![(t * B + b) * K + k] = mix[t][b][k];
        }
      }
      const h0 = [0, 1].map(() => Array.from({ length: B }, () => Array.from({ length: H }, () => 0.5 * rng.normal())));
      const c0 = [0, 1].map(() => Array.from({ length: B }, () => Array.from({ length: H }, () => 0.5 * rng.normal())));
      for (let l = 0; l < 2; l++) {
        const s = ws.state(l);
        for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
          s.h[b * H + j] = h0[l][b][j];
          if (s.c) s.c[b * H + j] = c0[l][b][j];
        }
      }
      ws.forward();
      const ref = naiveCond(model, ids, mix, h0, c0);
      let maxErr = 0;
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let v = 0; v < V; v++) {
        maxErr = Math.max(maxErr, Math.abs(ws.logits[(t * B + b) * V + v] - ref.logits[t][b][v]));
      }
      expect(maxErr).toBeLessThan(1e-12);
    });
  }

  for (const cell of ['lstm', 'gru', 'gru-torch', 'rnn'] as const) {
    for (const layers of [1, 2]) {
      for (const blend of [false, true]) {
        it(`${cell}, ${layers} layer(s), ${blend ? 'blended' : 'hard'} tags: float64 gradients of every parameter and the carried-in state`, () => {
          const model = condModel(cell, layers, 11 + layers);
          const rng = new Rng(13);
          const ws = model.workspace(2, 4, true);
          for (let i = 0; i < ws.ids.length; i++) {
            ws.ids[i] = rng.int(V);
            ws.targets[i] = rng.int(V);
          }
          if (blend) {
            for (let r = 0; r < ws.ids.length; r++) ws.tagMix!.set(randomMix(rng, true), r * K);
          } else {
            ws.setTags(Array.from({ length: ws.ids.length }, () => rng.int(K)));
          }
          for (let l = 0; l < layers; l++) {
            const s = ws.state(l);
            for (let i = 0; i < s.h.length; i++) s.h[i] = 0.5 * rng.normal();
            if (s.c) for (let i = 0; i < s.c.length; i++) s.c[i] = 0.5 * rng.normal();
          }
          const loss = () => {
            ws.forward();
            return f64.softmaxXent(ws.T * ws.B, V, ws.logits, ws.targets, null, 0) / (ws.T * ws.B);
          };
          model.grads.fill(0);
          ws.forward();
          ws.loss();
          ws.backward();
          for (const spec of model.layout.specs) {
            const r = gradcheck(loss, model.layout.view(model.params, spec.name) as Float64Array, model.layout.view(model.grads, spec.name));
            expect(r.maxRelError, `${spec.name} ${JSON.stringify(r.worst)}`).toBeLessThanOrEqual(1e-5);
          }
          for (let l = 0; l < layers; l++) {
            const s = ws.state(l);
            const g = ws.stateGrad(l);
            const dh = Float64Array.from(g.h);
            const dc = g.c ? Float64Array.from(g.c) : null;
            expect(gradcheck(loss, s.h as Float64Array, dh).maxRelError).toBeLessThanOrEqual(1e-5);
            if (s.c && dc) expect(gradcheck(loss, s.c as Float64Array, dc).maxRelError).toBeLessThanOrEqual(1e-5);
          }
        });
      }
    }
  }

  it('the folded character lookup (float32) and the explicit embedding give the same logits and gradients with tags', () => {
    const f32 = new ReferenceKernels('f32');
    const cfg: ModelConfig = { cell: 'lstm', vocab: V, embed: E, hidden: H, layers: 2, tags: K, tagEmbed: D };
    const rng = new Rng(21);
    const a = new Model(f32, cfg);
    a.init(rng);
    const b = new Model(f32, cfg);
    b.params.set(a.params);
    const B = 4;
    const T = 8;
    const wa = a.workspace(B, T, true, 0, true);
    const wb = b.workspace(B, T, true, 0, false);
    expect(wa.foldEmbedding).toBe(true);
    const tags = Array.from({ length: B * T }, () => rng.int(K));
    for (let i = 0; i < B * T; i++) {
      wa.ids[i] = wb.ids[i] = rng.int(V);
      wa.targets[i] = wb.targets[i] = rng.int(V);
    }
    wa.setTags(tags);
    wb.setTags(tags);
    for (const [m, w] of [[a, wa], [b, wb]] as const) {
      m.grads.fill(0);
      w.forward();
      w.loss();
    }
    const la = Float32Array.from(wa.logits);
    wa.backward();
    wb.backward();
    for (let i = 0; i < la.length; i++) expect(la[i]).toBeCloseTo(wb.logits[i], 6);
    for (let i = 0; i < a.grads.length; i++) expect(a.grads[i]).toBeCloseTo(b.grads[i], 5);
  });

  it('a blend of tags is the same as feeding the blended embedding, and setTagMix/setTags agree', () => {
    const model = condModel('gru', 1);
    const ws = model.workspace(1, 3, false);
    ws.ids.set([1, 2, 3]);
    ws.setTags([2, 2, 2]);
    ws.forward();
    const hard = Array.from(ws.logits);
    ws.setTagMix([0, 0, 1]);
    ws.forward();
    expect(Array.from(ws.logits)).toEqual(hard);
    // a 0.3/0.7 blend lies between neither tag (the network is nonlinear) but equals the
    // naive model on the mixed embedding
    ws.setTagMix([0, 0.3, 0.7]);
    ws.forward();
    const ref = naiveCond(model, [[1], [2], [3]], [[[0, 0.3, 0.7]], [[0, 0.3, 0.7]], [[0, 0.3, 0.7]]], [[[0, 0, 0, 0]]], [[[0, 0, 0, 0]]]);
    for (let t = 0; t < 3; t++) for (let v = 0; v < V; v++) expect(ws.logits[t * V + v]).toBeCloseTo(ref.logits[t][0][v], 12);
    expect(() => ws.setTags([0, 3, 0])).toThrow(/out of range/);
    expect(() => ws.setTagMix([1, 0])).toThrow(/3 weights/);
  });
});
