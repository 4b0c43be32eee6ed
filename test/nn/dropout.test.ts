// Dropout between layers and before the output layer: float64 central differences with a
// fixed mask, mask statistics, and that evaluation and p = 0 leave the network untouched.
import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { drawDropoutMask } from '../../src/nn/dropout.js';
import type { CellKind } from '../../src/nn/layer.js';
import { Model } from '../../src/nn/model.js';
import { Rng } from '../../src/util/rng.js';
import { gradcheck } from '../helpers/gradcheck.js';

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
