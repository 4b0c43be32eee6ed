// Float64 central-difference checks of every gradient: every parameter of every cell,
// the layer input, and the carried-in state, over windows of several steps.
import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { CELL_KINDS, type CellKind } from '../../src/nn/layer.js';
import { Model } from '../../src/nn/model.js';
import { Rng } from '../../src/util/rng.js';
import { gradcheck } from '../helpers/gradcheck.js';

const k = new ReferenceKernels('f64');
const TOL = 1e-5;

function fill(v: Float64Array | Float32Array, rng: Rng, scale = 1): void {
  for (let i = 0; i < v.length; i++) v[i] = scale * rng.normal();
}

/** A small model with random weights and state and a fixed batch. */
function setup(cell: CellKind, layers: number, opts: { B?: number; T?: number } = {}) {
  const rng = new Rng(7 + layers);
  const V = 5;
  const model = new Model(k, { cell, vocab: V, embed: 3, hidden: 4, layers });
  model.init(rng);
  // larger random weights than init so every nonlinearity is exercised away from 0
  fill(model.params, rng, 0.6);
  const ws = model.workspace(opts.B ?? 2, opts.T ?? 4, true);
  for (let i = 0; i < ws.ids.length; i++) {
    ws.ids[i] = rng.int(V);
    ws.targets[i] = rng.int(V);
  }
  for (let l = 0; l < layers; l++) {
    const s = ws.state(l);
    fill(s.h, rng, 0.5);
    if (s.c) fill(s.c, rng, 0.5);
  }
  // the loss at the current parameters and state, leaving logits and gradients alone
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

describe('gradients (float64 central differences)', () => {
  for (const cell of CELL_KINDS) {
    for (const layers of [1, 2]) {
      it(`${cell}, ${layers} layer(s): every parameter`, () => {
        const { model, loss } = setup(cell, layers);
        for (const spec of model.layout.specs) {
          const p = model.layout.view(model.params, spec.name) as Float64Array;
          const g = model.layout.view(model.grads, spec.name);
          const r = gradcheck(loss, p, g);
          expect(r.maxRelError, `${spec.name} ${JSON.stringify(r.worst)}`).toBeLessThanOrEqual(TOL);
        }
      });
    }

    it(`${cell}: carried-in state of every layer`, () => {
      const { ws, loss } = setup(cell, 2);
      for (let l = 0; l < 2; l++) {
        const s = ws.state(l);
        const d = ws.stateGrad(l);
        // gradcheck perturbs s.h, which changes the forward; the analytic values are a copy
        const rh = gradcheck(loss, s.h as Float64Array, Float64Array.from(d.h));
        expect(rh.maxRelError, `h_{-1} layer ${l} ${JSON.stringify(rh.worst)}`).toBeLessThanOrEqual(TOL);
        if (s.c) {
          const rc = gradcheck(loss, s.c as Float64Array, Float64Array.from(d.c!));
          expect(rc.maxRelError, `c_{-1} layer ${l} ${JSON.stringify(rc.worst)}`).toBeLessThanOrEqual(TOL);
        }
      }
    });

    it(`${cell}: layer input (the embedding output X)`, () => {
      const { ws } = setup(cell, 2);
      const X = ws.embOut as Float64Array;
      const dX = Float64Array.from(ws.dEmbOut!);
      const lossFromX = () => {
        ws.forwardFromEmbedding();
        return k.softmaxXent(ws.T * ws.B, 5, Float64Array.from(ws.logits), ws.targets, null, 0) / (ws.T * ws.B);
      };
      const r = gradcheck(lossFromX, X, dX);
      expect(r.maxRelError, JSON.stringify(r.worst)).toBeLessThanOrEqual(TOL);
    });
  }
});
