// The classifier network and its masked, optionally bidirectional encoder: a naive
// per-sequence reference for the forward pass, float64 central-difference checks of every
// parameter (and of the encoder's outputs and final states, the seq2seq path), masking
// (garbage in the padding changes nothing, padded positions get exactly zero gradient, a
// batch equals its sequences run alone), and the WebAssembly and native backends against the reference.
import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { Kernels, Vec } from '../../src/kernels/types.js';
import { createNativeKernels, loadNative } from '../../src/kernels/native/index.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { ClassifierModel, POOL_KINDS, classifierParamSpecs, type ClassifierConfig, type PoolKind } from '../../src/nn/classifier.js';
import { Encoder, encoderParamSpecs, initEncoder, type EncoderConfig } from '../../src/nn/encoder.js';
import { CELL_KINDS, type CellKind } from '../../src/nn/layer.js';
import { ParamLayout } from '../../src/nn/params.js';
import { Rng } from '../../src/util/rng.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { naiveClassifierLogits, naiveEncoder, type NaiveParams } from './naive-encoder.js';

const f64 = new ReferenceKernels('f64');
const TOL = 1e-5;
const V = 6;

function cfgOf(cell: CellKind, layers: number, bidirectional: boolean, pool: PoolKind, hidden = 3): ClassifierConfig {
  return { cell, vocab: V, embed: 3, hidden, layers, bidirectional, pool, classes: 3 };
}

function randomize(v: Vec, rng: Rng, scale: number): void {
  for (let i = 0; i < v.length; i++) v[i] = scale * rng.normal();
}

function asArrays(layout: ParamLayout, flat: Vec): NaiveParams {
  return {
    get(name: string) {
      const spec = layout.spec(name);
      const v = Array.from(layout.view(flat, name));
      if (spec.shape.length === 1) return v;
      const [r, c] = spec.shape;
      return Array.from({ length: r }, (_, i) => v.slice(i * c, (i + 1) * c));
    },
  };
}

/** Sequences of mixed lengths (one unused row) written into a workspace, garbage in the padding. */
function fillBatch(
  ws: { ids: Int32Array; lengths: Int32Array; B: number; setSteps(T: number): void }, seqs: number[][], T: number, rng: Rng,
): void {
  const B = ws.B;
  ws.setSteps(T);
  ws.lengths.fill(0);
  for (let i = 0; i < ws.ids.length; i++) ws.ids[i] = rng.int(1000) - 500; // garbage, out of range
  seqs.forEach((s, b) => {
    ws.lengths[b] = s.length;
    s.forEach((id, t) => (ws.ids[t * B + b] = id));
  });
}

const SEQS = [[1, 4, 2], [3], [], [5, 0, 1, 2, 4]];
const LABELS = [2, 0, 1, 1];

function setupClassifier(cfg: ClassifierConfig, seed = 11, opts: { dropout?: number; k?: Kernels } = {}) {
  const k = opts.k ?? f64;
  const rng = new Rng(seed);
  const model = new ClassifierModel(k, cfg);
  model.init(rng);
  randomize(model.params, rng, 0.6);
  const ws = model.workspace(SEQS.length, 6, true, opts.dropout ?? 0);
  fillBatch(ws, SEQS, 5, rng);
  ws.labels.set(LABELS);
  if (opts.dropout) ws.drawDropout(new Rng(seed + 1));
  const lossOnly = () => {
    ws.forward();
    let sum = 0;
    let n = 0;
    for (let b = 0; b < ws.B; b++) {
      if (ws.lengths[b] === 0) continue;
      const row = Float64Array.from(ws.logits.subarray(b * 3, (b + 1) * 3));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      sum += lse - row[ws.labels[b]];
      n++;
    }
    return sum / n;
  };
  model.grads.fill(0);
  ws.forward();
  const loss = ws.loss();
  ws.backward();
  return { model, ws, loss, lossOnly, rng };
}

describe('classifier forward against a naive per-sequence reference (float64)', () => {
  for (const cell of CELL_KINDS) {
    for (const bidirectional of [false, true]) {
      it(`${cell}, 2 layers, ${bidirectional ? 'bi' : 'uni'}directional, every pooling`, () => {
        for (const pool of POOL_KINDS) {
          const cfg = cfgOf(cell, 2, bidirectional, pool);
          const { model, ws } = setupClassifier(cfg);
          ws.forward();
          const p = asArrays(model.layout, model.params);
          SEQS.forEach((s, b) => {
            const got = Array.from(ws.logits.subarray(b * 3, (b + 1) * 3));
            if (s.length === 0) {
              expect(got).toEqual([0, 0, 0]);
              return;
            }
            const want = naiveClassifierLogits(cfg, p, s);
            for (let j = 0; j < 3; j++) expect(Math.abs(got[j] - want[j]), `${pool} row ${b}`).toBeLessThan(1e-12);
          });
        }
      });
    }
  }

  it('loss is the mean cross-entropy over used rows', () => {
    const { ws, lossOnly } = setupClassifier(cfgOf('lstm', 1, true, 'mean'));
    const want = lossOnly();
    ws.forward();
    expect(ws.loss()).toBeCloseTo(want, 12);
  });
});

describe('classifier gradients (float64 central differences)', () => {
  for (const cell of CELL_KINDS) {
    // the four shapes of each cell take the poolings in turn, so every cell meets all three
    let n = 0;
    for (const layers of [1, 2]) {
      for (const bidirectional of [false, true]) {
        const pool = POOL_KINDS[n++ % POOL_KINDS.length]!;
        it(`${cell}, ${layers} layer(s), ${bidirectional ? 'bi' : 'uni'}directional, ${pool} pooling: every parameter`, () => {
          const { model, lossOnly } = setupClassifier(cfgOf(cell, layers, bidirectional, pool));
          for (const spec of model.layout.specs) {
            const r = gradcheck(lossOnly, model.layout.view(model.params, spec.name) as Float64Array,
              Float64Array.from(model.layout.view(model.grads, spec.name)));
            expect(r.maxRelError, `${spec.name} ${JSON.stringify(r.worst)}`).toBeLessThanOrEqual(TOL);
          }
        });
      }
    }
    it(`${cell}, 2 layers, bidirectional, with dropout masks fixed`, () => {
      const { model, lossOnly } = setupClassifier(cfgOf(cell, 2, true, 'mean'), 8, { dropout: 0.3 });
      for (const spec of model.layout.specs) {
        const r = gradcheck(lossOnly, model.layout.view(model.params, spec.name) as Float64Array,
          Float64Array.from(model.layout.view(model.grads, spec.name)));
        expect(r.maxRelError, `${spec.name} ${JSON.stringify(r.worst)}`).toBeLessThanOrEqual(TOL);
      }
    });
  }
});

describe('masking', () => {
  for (const cell of ['lstm', 'gru', 'gru-torch', 'lstm-peep'] as CellKind[]) {
    it(`${cell}: a batch gives each sequence the logits and gradients it gets alone`, () => {
      for (const pool of POOL_KINDS) {
        const cfg = cfgOf(cell, 2, true, pool);
        const { model, ws } = setupClassifier(cfg);
        const batchGrads = Float64Array.from(model.grads);
        ws.forward(); // the logits again (loss() turned them into gradients)
        const batchLogits = Float64Array.from(ws.logits);
        const used = SEQS.filter((s) => s.length > 0).length;
        const meanAlone = new Float64Array(model.grads.length);
        // each sequence alone, in a workspace of its own size and in a wider one with the
        // sequence in another row and the other rows unused
        SEQS.forEach((s, b) => {
          if (s.length === 0) return;
          for (const [B, row] of [[1, 0], [3, 2]]) {
            const alone = model.workspace(B, s.length, true);
            fillBatch(alone, [], s.length, new Rng(b));
            alone.lengths[row] = s.length;
            s.forEach((id, t) => (alone.ids[t * B + row] = id));
            alone.labels[row] = LABELS[b];
            model.grads.fill(0);
            alone.forward();
            expect(Array.from(alone.logits.subarray(row * 3, row * 3 + 3)), `${pool} row ${b}`)
              .toEqual(Array.from(batchLogits.subarray(b * 3, b * 3 + 3)));
            alone.loss();
            alone.backward();
            if (B === 1) for (let i = 0; i < meanAlone.length; i++) meanAlone[i] += model.grads[i] / used;
          }
        });
        let scale = 0;
        for (const g of batchGrads) scale = Math.max(scale, Math.abs(g));
        let worst = 0;
        for (let i = 0; i < meanAlone.length; i++) worst = Math.max(worst, Math.abs(meanAlone[i] - batchGrads[i]) / scale);
        expect(worst, pool).toBeLessThan(1e-12);
      }
    });
  }

  it('garbage in the padding and in unused rows changes no logit and no gradient', () => {
    for (const pool of POOL_KINDS) {
      const cfg = cfgOf('lstm', 2, true, pool);
      const a = setupClassifier(cfg, 3);
      const logitsA = (a.ws.forward(), Float64Array.from(a.ws.logits));
      const gradsA = Float64Array.from(a.model.grads);
      // same weights, different garbage: refill the padding with other values
      const ws = a.ws;
      for (let t = 0; t < 6; t++) {
        for (let b = 0; b < ws.B; b++) if (t >= ws.lengths[b]) ws.ids[t * ws.B + b] = (t * 7 + b * 13) % V;
      }
      ws.labels[2] = 99; // unused row: its label is never read
      a.model.grads.fill(0);
      ws.forward();
      const logitsB = Float64Array.from(ws.logits);
      ws.loss();
      ws.backward();
      expect(Array.from(logitsB)).toEqual(Array.from(logitsA));
      expect(Array.from(a.model.grads)).toEqual(Array.from(gradsA));
    }
  });

  it('a workspace reused after other batches (even a diverged one) gives the numbers of a fresh one', () => {
    for (const cell of ['lstm-peep', 'gru', 'gru-torch'] as CellKind[]) {
      for (const pool of POOL_KINDS) {
        const cfg = cfgOf(cell, 2, true, pool);
        const fresh = setupClassifier(cfg, 13);
        const gradsFresh = Float64Array.from(fresh.model.grads);
        fresh.ws.forward();
        const logitsFresh = Float64Array.from(fresh.ws.logits);
        // a longer batch first, then every buffer of the encoder poisoned as if it had diverged
        const ws = fresh.model.workspace(SEQS.length, 6, true);
        fillBatch(ws, [[1, 2, 3, 4, 5, 0], [2, 2, 2, 2, 2, 2], [0, 1], [4, 4, 4, 4]], 6, new Rng(1));
        ws.labels.set(LABELS);
        ws.forward();
        ws.loss();
        ws.backward();
        for (const row of ws.encoder.caches) {
          for (const c of row) for (const buf of [c.Hs, c.Cs, c.RH, c.HW, c.gates, c.dGates, c.dHW, c.dHs, c.TC]) buf?.fill(NaN);
        }
        fillBatch(ws, SEQS, 5, new Rng(2));
        ws.labels.set(LABELS);
        fresh.model.grads.fill(0);
        ws.forward();
        expect(Array.from(ws.logits), `${cell} ${pool}`).toEqual(Array.from(logitsFresh));
        ws.loss();
        ws.backward();
        expect(Array.from(fresh.model.grads), `${cell} ${pool}`).toEqual(Array.from(gradsFresh));
      }
    }
  });

  it('an id used only in the padding gets exactly zero embedding gradient', () => {
    for (const bidirectional of [false, true]) {
      const cfg = cfgOf('gru', 2, bidirectional, 'max');
      const model = new ClassifierModel(f64, cfg);
      model.init(new Rng(1));
      const ws = model.workspace(3, 4, true);
      // ids 0..3 in the sequences, 5 only in the padding
      fillBatch(ws, [[0, 1, 2], [3], [2, 2, 1, 0]], 4, new Rng(2));
      for (let t = 0; t < 4; t++) for (let b = 0; b < 3; b++) if (t >= ws.lengths[b]) ws.ids[t * 3 + b] = 5;
      ws.labels.set([0, 1, 2]);
      model.grads.fill(0);
      ws.forward();
      ws.loss();
      ws.backward();
      const dEmbed = model.layout.view(model.grads, 'embed.weight');
      expect(Array.from(dEmbed.subarray(5 * 3, 6 * 3))).toEqual([0, 0, 0]);
      expect(Array.from(dEmbed.subarray(4 * 3, 5 * 3))).toEqual([0, 0, 0]);
      expect(Array.from(dEmbed.subarray(0, 3)).some((v) => v !== 0)).toBe(true);
    }
  });

  it('refuses ids outside the vocabulary at valid positions, and lengths beyond the steps', () => {
    const model = new ClassifierModel(f64, cfgOf('rnn', 1, true, 'last'));
    const ws = model.workspace(2, 4, false);
    fillBatch(ws, [[1, 2], [3]], 3, new Rng(1));
    ws.ids[1 * 2 + 0] = V;
    expect(() => ws.forward()).toThrow(/outside the vocabulary/);
    ws.ids[1 * 2 + 0] = 1;
    ws.setSteps(1);
    expect(() => ws.forward()).toThrow(/length 2/);
  });
});

describe('encoder outputs and final states (the encoder-decoder path)', () => {
  for (const cell of CELL_KINDS) {
    for (const bidirectional of [false, true]) {
      it(`${cell}, 2 layers, ${bidirectional ? 'bi' : 'uni'}directional: values and gradients of outputs and every final state`, () => {
        const cfg: EncoderConfig = { cell, vocab: V, embed: 3, hidden: 3, layers: 2, bidirectional };
        const specs = [...encoderParamSpecs(cfg, 'encoder.'), { name: 'other', shape: [2] }];
        const layout = new ParamLayout(specs);
        const arena = f64.arena();
        const params = layout.alloc(arena);
        const grads = layout.alloc(arena);
        const enc = new Encoder(f64, cfg, layout, params, grads, 'encoder.');
        const rng = new Rng(21);
        initEncoder(cfg, layout, params, rng, 'encoder.');
        randomize(params, rng, 0.6);
        const ws = enc.workspace(SEQS.length, 6, { training: true });
        fillBatch(ws, SEQS, 5, rng);
        ws.forward();
        // values against the naive encoder (which knows nothing of the prefix: strip it)
        const p = asArrays(layout, params);
        const plain: NaiveParams = { get: (n: string) => p.get(`encoder.${n}`) };
        const D = enc.D;
        const B = ws.B;
        SEQS.forEach((s, b) => {
          const want = s.length ? naiveEncoder(cell, 2, 3, bidirectional, plain, s) : null;
          for (let t = 0; t < 5; t++) {
            const got = Array.from(ws.outputs!.subarray((t * B + b) * D, (t * B + b + 1) * D));
            const w = want && t < s.length ? want.outputs[t] : new Array(D).fill(0);
            for (let j = 0; j < D; j++) expect(Math.abs(got[j] - w[j]), `output t=${t} b=${b}`).toBeLessThan(1e-12);
          }
          for (let l = 0; l < 2; l++) {
            for (let d = 0; d < enc.directions; d++) {
              const f = ws.final(l, d);
              const wh = want ? want.finals[l][d].h : new Array(3).fill(0);
              for (let j = 0; j < 3; j++) expect(Math.abs(f.h[b * 3 + j] - wh[j])).toBeLessThan(1e-12);
              if (f.c) {
                const wc = want ? want.finals[l][d].c : new Array(3).fill(0);
                for (let j = 0; j < 3; j++) expect(Math.abs(f.c[b * 3 + j] - wc[j])).toBeLessThan(1e-12);
              }
            }
          }
        });
        // a random linear function of every output and every final state
        const wOut = Float64Array.from({ length: ws.outputs!.length }, () => rng.normal());
        const wFinal = [0, 1].map(() => [0, 1].map(() => ({
          h: Float64Array.from({ length: B * 3 }, () => rng.normal()),
          c: Float64Array.from({ length: B * 3 }, () => rng.normal()),
        })));
        const objective = () => {
          ws.forward();
          let s = 0;
          const T = 5;
          for (let i = 0; i < T * B * D; i++) s += wOut[i] * ws.outputs![i];
          for (let l = 0; l < 2; l++) {
            for (let d = 0; d < enc.directions; d++) {
              const f = ws.final(l, d);
              for (let i = 0; i < B * 3; i++) s += wFinal[l][d].h[i] * f.h[i] + (f.c ? wFinal[l][d].c[i] * f.c[i] : 0);
            }
          }
          return s;
        };
        grads.fill(0);
        ws.forward();
        ws.clearGradients();
        ws.dOutputs!.set(wOut.subarray(0, ws.dOutputs!.length));
        // garbage at padded positions and unused rows of dOutputs must not be read
        for (let i = 5 * B * D; i < ws.dOutputs!.length; i++) ws.dOutputs![i] = 1e6;
        for (let l = 0; l < 2; l++) {
          for (let d = 0; d < enc.directions; d++) {
            const g = ws.dFinal(l, d);
            g.h.set(wFinal[l][d].h);
            g.c?.set(wFinal[l][d].c);
          }
        }
        ws.backward();
        expect(layout.view(grads, 'other').every((v) => v === 0)).toBe(true);
        for (const spec of layout.specs) {
          const r = gradcheck(objective, layout.view(params, spec.name) as Float64Array, Float64Array.from(layout.view(grads, spec.name)));
          expect(r.maxRelError, `${spec.name} ${JSON.stringify(r.worst)}`).toBeLessThanOrEqual(TOL);
        }
      });
    }
  }
});

const native = createNativeKernels({ threads: 2 });
if (!native) {
  const load = loadNative();
  console.warn(`the classifier's native-backend comparison is skipped: ${'reason' in load ? load.reason : 'no addon'}`);
}
const FAST: [string, Kernels][] = [['wasm', createWasmKernels({ threads: 1 })], ...(native ? [['native', native] as [string, Kernels]] : [])];

describe.each(FAST)('%s backend against the reference', (_name, wasm) => {
  const f32 = new ReferenceKernels('f32');
  for (const cell of CELL_KINDS) {
    it(`${cell}: forward values and gradients, uni and bi, 1 and 2 layers`, () => {
      for (const [layers, bidirectional, pool] of [[1, true, 'last'], [2, true, 'mean'], [2, false, 'max'], [1, false, 'last']] as const) {
        const cfg = cfgOf(cell, layers, bidirectional, pool, 8);
        const runs = [f64, wasm, f32].map((k) => setupClassifier(cfg, 4, { k }));
        const [want, got] = runs.map((r) => {
          r.ws.forward();
          return { logits: Float64Array.from(r.ws.logits), grads: Float64Array.from(r.model.grads), loss: r.loss };
        });
        for (let i = 0; i < want.logits.length; i++) {
          expect(Math.abs(got.logits[i] - want.logits[i]), `logit ${i}`).toBeLessThan(1e-5 + 1e-4 * Math.abs(want.logits[i]));
        }
        expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5);
        let scale = 0;
        for (const g of want.grads) scale = Math.max(scale, Math.abs(g));
        for (let i = 0; i < want.grads.length; i++) expect(Math.abs(got.grads[i] - want.grads[i]), `grad ${i}`).toBeLessThan(1e-4 * scale);
      }
    });
  }

  it('the folded input projection (T·B ≥ 2V) matches the explicit embedding', () => {
    for (const cell of ['lstm', 'gru-torch'] as CellKind[]) {
      const cfg = cfgOf(cell, 2, true, 'mean', 8);
      const seqs = Array.from({ length: 8 }, (_, b) => Array.from({ length: 1 + ((b * 5) % 6) }, (_, t) => (b + 3 * t) % V));
      const logits: Float64Array[] = [];
      const grads: Float64Array[] = [];
      for (const k of [f64, wasm]) {
        const model = new ClassifierModel(k, cfg);
        model.init(new Rng(9));
        const ws = model.workspace(8, 6, true);
        fillBatch(ws, seqs, 6, new Rng(3));
        ws.labels.set([0, 1, 2, 0, 1, 2, 0, 1]);
        ws.forward();
        logits.push(Float64Array.from(ws.logits));
        ws.loss();
        ws.backward();
        grads.push(Float64Array.from(model.grads));
      }
      for (let i = 0; i < logits[0].length; i++) expect(Math.abs(logits[1][i] - logits[0][i])).toBeLessThan(1e-5);
      let scale = 0;
      for (const g of grads[0]) scale = Math.max(scale, Math.abs(g));
      for (let i = 0; i < grads[0].length; i++) expect(Math.abs(grads[1][i] - grads[0][i])).toBeLessThan(1e-4 * scale);
    }
  });
});

describe('parameters', () => {
  it('keep PyTorch names and shapes for a bidirectional LSTM', () => {
    const specs = classifierParamSpecs({ ...cfgOf('lstm', 2, true, 'last'), hidden: 4 });
    expect(specs.map((s) => `${s.name} ${s.shape.join('x')}`)).toEqual([
      'embed.weight 6x3',
      'rnn.weight_ih_l0 16x3', 'rnn.weight_hh_l0 16x4', 'rnn.bias_ih_l0 16', 'rnn.bias_hh_l0 16',
      'rnn.weight_ih_l0_reverse 16x3', 'rnn.weight_hh_l0_reverse 16x4', 'rnn.bias_ih_l0_reverse 16', 'rnn.bias_hh_l0_reverse 16',
      'rnn.weight_ih_l1 16x8', 'rnn.weight_hh_l1 16x4', 'rnn.bias_ih_l1 16', 'rnn.bias_hh_l1 16',
      'rnn.weight_ih_l1_reverse 16x8', 'rnn.weight_hh_l1_reverse 16x4', 'rnn.bias_ih_l1_reverse 16', 'rnn.bias_hh_l1_reverse 16',
      'head.weight 3x8', 'head.bias 3',
    ]);
  });

  it('initialise with forget bias 1 in both directions and are seeded', () => {
    const cfg = { ...cfgOf('lstm', 1, true, 'last'), hidden: 4 };
    const a = new ClassifierModel(f64, cfg);
    const b = new ClassifierModel(f64, cfg);
    a.init(new Rng(5));
    b.init(new Rng(5));
    expect(Array.from(a.params)).toEqual(Array.from(b.params));
    for (const name of ['rnn.bias_ih_l0', 'rnn.bias_ih_l0_reverse']) {
      expect(Array.from(a.layout.view(a.params, name).subarray(4, 8))).toEqual([1, 1, 1, 1]);
    }
    expect(Array.from(a.layout.view(a.params, 'rnn.bias_hh_l0_reverse').subarray(4, 8))).toEqual([0, 0, 0, 0]);
  });

  it('refuse a bad configuration', () => {
    expect(() => new ClassifierModel(f64, { ...cfgOf('lstm', 1, true, 'last'), pool: 'sum' as PoolKind })).toThrow(/pooling/);
    expect(() => new ClassifierModel(f64, { ...cfgOf('lstm', 1, true, 'last'), classes: 0 })).toThrow(/classes/);
    expect(() => new ClassifierModel(f64, { ...cfgOf('lstm', 0, true, 'last') })).toThrow(/layers/);
  });
});
