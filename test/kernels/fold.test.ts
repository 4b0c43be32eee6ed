// Layer 0's input side as a lookup of embed·W_ihᵀ (src/nn/layer.ts): float64 central
// differences of every parameter through the folded path, and equality with the explicit
// embedding path (reference f64 and the WebAssembly backend).
import { describe, expect, it } from 'vitest';
import { createKernels } from '../../src/kernels/index.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { Kernels } from '../../src/kernels/types.js';
import { CELL_KINDS, type CellKind } from '../../src/nn/layer.js';
import { Model } from '../../src/nn/model.js';
import { Rng } from '../../src/util/rng.js';
import { gradcheck } from '../helpers/gradcheck.js';

const f64 = new ReferenceKernels('f64');
const V = 5;

function setup(k: Kernels, cell: CellKind, layers: number, fold: boolean, B = 3, T = 4) {
  const rng = new Rng(11 + layers);
  const model = new Model(k, { cell, vocab: V, embed: 3, hidden: 4, layers });
  model.init(rng);
  for (let i = 0; i < model.params.length; i++) model.params[i] = 0.6 * rng.normal();
  const ws = model.workspace(B, T, true, 0, fold);
  for (let i = 0; i < ws.ids.length; i++) {
    ws.ids[i] = rng.int(V);
    ws.targets[i] = rng.int(V);
  }
  const loss = () => {
    ws.forward();
    return k.softmaxXent(ws.T * ws.B, V, ws.logits, ws.targets, null, 0) / (ws.T * ws.B);
  };
  model.grads.fill(0);
  ws.forward();
  const value = ws.loss();
  ws.backward();
  return { model, ws, loss, value };
}

describe('embedding fold', () => {
  for (const cell of CELL_KINDS) {
    it(`${cell}: float64 gradients of every parameter through the lookup`, () => {
      const { model, loss } = setup(f64, cell, 2, true);
      for (const spec of model.layout.specs) {
        const r = gradcheck(loss, model.layout.view(model.params, spec.name) as Float64Array, model.layout.view(model.grads, spec.name));
        expect(r.maxRelError, `${spec.name} ${JSON.stringify(r.worst)}`).toBeLessThanOrEqual(1e-5);
      }
    });
  }

  for (const [name, k, tol] of [['reference f64', f64, 1e-12], ['wasm', createKernels({ threads: 1 }), 2e-5]] as const) {
    it(`${name}: same loss, logits and gradients as the explicit embedding path`, () => {
      for (const cell of ['lstm', 'gru-torch', 'gru', 'rnn'] as CellKind[]) {
        const a = setup(k, cell, 2, true, 7, 5);
        const b = setup(k, cell, 2, false, 7, 5);
        expect(Math.abs(a.value - b.value)).toBeLessThanOrEqual(tol);
        let worst = 0;
        for (let i = 0; i < a.model.grads.length; i++) {
          worst = Math.max(worst, Math.abs(a.model.grads[i] - b.model.grads[i]) / (1e-3 + Math.abs(b.model.grads[i])));
        }
        expect(worst, cell).toBeLessThanOrEqual(tol * 10);
      }
    });
  }

  it('defaults: float32 windows with T·B ≥ 2V fold, batch-1 steps and float64 do not', () => {
    const m32 = new Model(createKernels({ threads: 1 }), { cell: 'lstm', vocab: V, embed: 3, hidden: 4, layers: 1 });
    expect(m32.workspace(2, 5, true).foldEmbedding).toBe(true);
    expect(m32.workspace(1, 1, false).foldEmbedding).toBe(false);
    const m64 = new Model(f64, { cell: 'lstm', vocab: V, embed: 3, hidden: 4, layers: 1 });
    expect(m64.workspace(2, 5, true).foldEmbedding).toBe(false);
  });
});
