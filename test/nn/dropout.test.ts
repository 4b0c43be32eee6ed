// Dropout between layers and before the output layer: float64 central differences with a
// fixed mask, mask statistics, and that evaluation and p = 0 leave the network untouched.
import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { drawDropoutMask } from '../../src/nn/dropout.js';
import { CELL_KINDS, type CellKind } from '../../src/nn/layer.js';
import { Model } from '../../src/nn/model.js';
import { Rng } from '../../src/util/rng.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { naiveForward, naiveParams } from './naive.js';

const k = new ReferenceKernels('f64');
const TOL = 1e-5;
const V = 5;

function setup(cell: CellKind, layers: number, p: number) {
  const rng = new Rng(31 + layers);
  const model = new Model(k, { cell, vocab: V, embed: 3, hidden: 4, layers });
  model.init(rng);
  for (let i = 0; i < model.params.length; i++) model.params[i] = 0.6 * rng.normal();
  const ws = model.workspace(2, 4, true, p);
  for (let i = 0; i < ws.ids.length; i++) {
    ws.ids[i] = rng.int(V);
    ws.targets[i] = rng.int(V);
  }
  ws.drawDropout(new Rng(99)); // one fixed mask for every evaluation of the loss below
  const loss = () => {
    ws.forward();
    return k.softmaxXent(ws.T * ws.B, V, ws.logits, ws.targets, null, 0) / (ws.T * ws.B);
  };
  model.grads.fill(0);
  ws.forward();
  ws.loss();
  ws.backward();
  return { model, ws, loss };
}

describe('dropout', () => {
  for (const cell of ['lstm', 'gru', 'rnn'] as CellKind[]) {
    it(`${cell}, 3 layers, p = 0.4: every parameter and the embedding output (fixed mask)`, () => {
      const { model, ws, loss } = setup(cell, 3, 0.4);
      // the mask really drops something at every site
      for (const m of ws.masks) expect(m.some((x) => x === 0) && m.some((x) => x !== 0)).toBe(true);
      for (const spec of model.layout.specs) {
        const r = gradcheck(loss, model.layout.view(model.params, spec.name) as Float64Array, model.layout.view(model.grads, spec.name));
        expect(r.maxRelError, `${spec.name} ${JSON.stringify(r.worst)}`).toBeLessThanOrEqual(TOL);
      }
      const lossFromX = () => {
        ws.forwardFromEmbedding();
        return k.softmaxXent(ws.T * ws.B, V, Float64Array.from(ws.logits), ws.targets, null, 0) / (ws.T * ws.B);
      };
      const r = gradcheck(lossFromX, ws.embOut as Float64Array, Float64Array.from(ws.dEmbOut!));
      expect(r.maxRelError, JSON.stringify(r.worst)).toBeLessThanOrEqual(TOL);
    });
  }

  it('a mask is drawn from the same stream as one rng.nextU32() per element, and leaves the stream where that would', () => {
    for (const [p, n] of [[0.15, 1000], [0.5, 37], [0, 5], [0.9, 4096]] as const) {
      const fast = new Rng(11);
      fast.normal(); // a cached spare deviate survives the draw
      const slow = new Rng(11);
      slow.normal();
      const got = new Float32Array(n);
      drawDropoutMask(fast, p, got);
      const want = new Float32Array(n);
      for (let i = 0; i < n; i++) want[i] = slow.nextU32() >= p * 4294967296 ? 1 / (1 - p) : 0;
      expect(Array.from(got)).toEqual(Array.from(want));
      expect(fast.getState()).toEqual(slow.getState());
      expect(fast.nextU32()).toBe(slow.nextU32());
    }
  });

  it('masks keep about 1 − p of the units, scaled by 1/(1 − p), and are seeded', () => {
    const a = new Float64Array(100_000);
    const b = new Float64Array(100_000);
    drawDropoutMask(new Rng(3), 0.25, a);
    drawDropoutMask(new Rng(3), 0.25, b);
    expect(a).toEqual(b);
    const kept = a.filter((x) => x !== 0);
    expect(Math.abs(kept.length / a.length - 0.75)).toBeLessThan(0.01);
    expect(new Set(kept)).toEqual(new Set([1 / 0.75]));
  });

  it('p = 0 keeps the zero-copy chaining and allocates no masks', () => {
    const model = new Model(k, { cell: 'lstm', vocab: V, embed: 3, hidden: 4, layers: 2 });
    const ws = model.workspace(2, 3, true, 0);
    expect(ws.masks.length).toBe(0);
    const below = ws.layers[0].Hs;
    expect(ws.layers[1].X.buffer).toBe(below.buffer);
    expect(ws.layers[1].X.byteOffset).toBe(below.byteOffset + 2 * 4 * 8);
  });

  it('an evaluation workspace ignores dropout: same logits as the model without it', () => {
    const model = new Model(k, { cell: 'lstm', vocab: V, embed: 3, hidden: 4, layers: 2 });
    model.init(new Rng(1));
    const a = model.workspace(2, 3, false, 0.5);
    const b = model.workspace(2, 3, false);
    a.ids.set([1, 2, 3, 4, 0, 1]);
    b.ids.set([1, 2, 3, 4, 0, 1]);
    a.drawDropout(new Rng(5));
    a.forward();
    b.forward();
    expect(a.masks.length).toBe(0);
    expect(Array.from(a.logits)).toEqual(Array.from(b.logits));
  });
});

// Embedding dropout (layer 0 reads m ⊙ x_t) and variational recurrent dropout (every
// product with W_hh reads m ⊙ h_{t-1}, one mask [B,H] per layer and window): forward
// against the naive reference given the same masks, float64 central differences of every
// parameter, the embedding output and every carried-in state with all three kinds on.
describe('embedding and recurrent dropout', () => {
  const B = 3;
  const T = 4;
  const E = 3;
  const H = 5;

  function build(cell: CellKind, layers: number, rates: { layers?: number; embed?: number; recurrent?: number }, seed = 17) {
    const rng = new Rng(seed);
    const model = new Model(k, { cell, vocab: V, embed: E, hidden: H, layers });
    model.init(rng);
    for (let i = 0; i < model.params.length; i++) model.params[i] = 0.6 * rng.normal();
    const ws = model.workspace(B, T, true, rates);
    for (let i = 0; i < ws.ids.length; i++) {
      ws.ids[i] = rng.int(V);
      ws.targets[i] = rng.int(V);
    }
    for (let l = 0; l < layers; l++) {
      const s = ws.state(l);
      for (let i = 0; i < s.h.length; i++) s.h[i] = 0.5 * rng.normal();
      if (s.c) for (let i = 0; i < s.c.length; i++) s.c[i] = 0.5 * rng.normal();
    }
    ws.drawDropout(new Rng(seed + 1));
    return { model, ws, rng };
  }

  const rows = (v: ArrayLike<number>, n: number, w: number) => Array.from({ length: n }, (_, i) => Array.from(v).slice(i * w, (i + 1) * w));

  for (const cell of CELL_KINDS) {
    it(`${cell}: forward equals the naive pass with the same masks`, () => {
      const L = 2;
      const { model, ws } = build(cell, L, { embed: 0.4, recurrent: 0.5 });
      const ids = rows(ws.ids, T, B);
      const h0 = Array.from({ length: L }, (_, l) => rows(ws.state(l).h, B, H));
      const c0 = Array.from({ length: L }, (_, l) => (ws.state(l).c ? rows(ws.state(l).c!, B, H) : rows(new Float64Array(B * H), B, H)));
      const embed = Array.from({ length: T }, (_, t) => rows(ws.embedMask!.subarray(t * B * E, (t + 1) * B * E), B, E));
      const recurrent = ws.layers.map((c) => rows(c.recurrent!.mask, B, H));
      // every mask drops something and keeps something
      for (const m of [ws.embedMask!, ...ws.layers.map((c) => c.recurrent!.mask)]) {
        expect(m.some((x) => x === 0) && m.some((x) => x !== 0)).toBe(true);
      }
      ws.forward();
      const ref = naiveForward(cell, L, H, naiveParams(model), ids, h0, c0, { embed, recurrent });
      const plain = naiveForward(cell, L, H, naiveParams(model), ids, h0, c0);
      let err = 0;
      let apart = 0;
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          for (let v = 0; v < V; v++) {
            const got = ws.logits[(t * B + b) * V + v];
            err = Math.max(err, Math.abs(got - ref.logits[t][b][v]));
            apart = Math.max(apart, Math.abs(got - plain.logits[t][b][v]));
          }
        }
      }
      expect(err).toBeLessThan(1e-9);
      expect(apart).toBeGreaterThan(1e-3); // the masks did change the output
      // the state carried to the next window is the unmasked one
      for (let l = 0; l < L; l++) {
        const hT = ws.layers[l].Hs.subarray(T * B * H);
        for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) expect(Math.abs(hT[b * H + j] - ref.h[l][b][j])).toBeLessThan(1e-9);
      }
    });

    it(`${cell}: float64 gradients of every parameter, the embedding output and the carried-in state (all dropouts on, fixed masks)`, () => {
      const L = 2;
      const { model, ws } = build(cell, L, { layers: 0.3, embed: 0.4, recurrent: 0.5 });
      const loss = () => {
        ws.forward();
        return k.softmaxXent(T * B, V, Float64Array.from(ws.logits), ws.targets, null, 0) / (T * B);
      };
      const lossFromX = () => {
        ws.forwardFromEmbedding();
        return k.softmaxXent(T * B, V, Float64Array.from(ws.logits), ws.targets, null, 0) / (T * B);
      };
      model.grads.fill(0);
      ws.forward();
      ws.loss();
      ws.backward();
      const dEmb = Float64Array.from(ws.dEmbOut!);
      const dState = Array.from({ length: L }, (_, l) => {
        const g = ws.stateGrad(l);
        return { h: Float64Array.from(g.h), c: g.c ? Float64Array.from(g.c) : null };
      });
      for (const spec of model.layout.specs) {
        const r = gradcheck(loss, model.layout.view(model.params, spec.name) as Float64Array, model.layout.view(model.grads, spec.name));
        expect(r.maxRelError, `${spec.name} ${JSON.stringify(r.worst)}`).toBeLessThanOrEqual(TOL);
      }
      const r = gradcheck(lossFromX, ws.embOut as Float64Array, dEmb);
      expect(r.maxRelError, `embedding output ${JSON.stringify(r.worst)}`).toBeLessThanOrEqual(TOL);
      for (let l = 0; l < L; l++) {
        const s = ws.state(l);
        const rh = gradcheck(loss, s.h as Float64Array, dState[l].h);
        expect(rh.maxRelError, `h0 of layer ${l} ${JSON.stringify(rh.worst)}`).toBeLessThanOrEqual(TOL);
        if (s.c) {
          const rc = gradcheck(loss, s.c as Float64Array, dState[l].c!);
          expect(rc.maxRelError, `c0 of layer ${l} ${JSON.stringify(rc.worst)}`).toBeLessThanOrEqual(TOL);
        }
      }
    });
  }

  it('the recurrent mask is one [B,H] mask for every step of the window, fresh for the next window', () => {
    const { ws } = build('gru-torch', 1, { recurrent: 0.5 });
    ws.forward();
    const c = ws.layers[0];
    const rd = c.recurrent!;
    expect(rd.mask.length).toBe(B * H);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < B * H; i++) expect(rd.HM[t * B * H + i]).toBe(rd.mask[i] * c.Hs[t * B * H + i]);
    }
    const first = Array.from(rd.mask);
    ws.drawDropout(new Rng(1234));
    expect(Array.from(rd.mask)).not.toEqual(first);
  });

  it('rates of 0 allocate nothing and draw what a run without these options drew', () => {
    const model = new Model(k, { cell: 'lstm', vocab: V, embed: 3, hidden: 4, layers: 2 });
    const a = model.workspace(2, 3, true, 0.3);
    const b = model.workspace(2, 3, true, { layers: 0.3, embed: 0, recurrent: 0 });
    expect(b.embedMask).toBeNull();
    expect(b.layers.every((c) => c.recurrent === null)).toBe(true);
    const ra = new Rng(8);
    const rb = new Rng(8);
    a.drawDropout(ra);
    b.drawDropout(rb);
    expect(rb.getState()).toEqual(ra.getState());
    expect(b.masks.map((m) => Array.from(m))).toEqual(a.masks.map((m) => Array.from(m)));
  });

  it('an evaluation workspace ignores embedding and recurrent dropout', () => {
    const model = new Model(k, { cell: 'gru-torch', vocab: V, embed: 3, hidden: 4, layers: 2 });
    model.init(new Rng(1));
    const a = model.workspace(2, 3, false, { embed: 0.5, recurrent: 0.5 });
    expect(a.embedMask).toBeNull();
    expect(a.layers.every((c) => c.recurrent === null)).toBe(true);
  });

  it('embedding dropout turns the layer-0 lookup off (each position has its own mask)', () => {
    const f32 = new ReferenceKernels('f32');
    const model = new Model(f32, { cell: 'lstm', vocab: V, embed: 3, hidden: 4, layers: 1 });
    expect(model.workspace(8, 8, true).foldEmbedding).toBe(true);
    expect(model.workspace(8, 8, true, { embed: 0.1 }).foldEmbedding).toBe(false);
    expect(model.workspace(8, 8, true, { recurrent: 0.1 }).foldEmbedding).toBe(true);
    expect(() => model.workspace(8, 8, true, { embed: 0.1 }, true)).toThrow(/fold/);
    expect(() => model.workspace(8, 8, true, { recurrent: 1 })).toThrow(/recurrent dropout/);
  });
});
