// The encoder-decoder: float64 central-difference checks of every parameter through encoder,
// bridge, attention and decoder; masking (a row's loss and gradient do not depend on what it
// is batched with or padded to); decoding step by step equals the teacher-forced forward.
import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { CellKind } from '../../src/nn/layer.js';
import { Seq2SeqModel, type AttentionMode, type Seq2SeqConfig } from '../../src/nn/seq2seq.js';
import { Rng } from '../../src/util/rng.js';
import { gradcheck } from '../helpers/gradcheck.js';

const k = new ReferenceKernels('f64');
const TOL = 1e-5;

const SOURCES = [[1, 2, 3, 4], [2, 1], [3, 3, 1]];
const TARGETS = [[1, 2], [3, 1, 2, 3], [2]];

function build(cfg: Partial<Seq2SeqConfig> & { dropout?: number }, seed = 5) {
  const config: Seq2SeqConfig = {
    cell: 'gru', vocab: 5, tgtVocab: 4, embed: 3, hidden: 3, layers: 1, bidirectional: false, attention: 'none',
  };
  for (const key of ['cell', 'layers', 'bidirectional', 'attention'] as const) if (cfg[key] !== undefined) (config as any)[key] = cfg[key];
  const model = new Seq2SeqModel(k, config);
  const rng = new Rng(seed);
  model.init(rng);
  for (let i = 0; i < model.params.length; i++) model.params[i] = 0.6 * rng.normal();
  return model;
}

function lossOf(model: Seq2SeqModel, sources: number[][], targets: number[][], dropout = 0) {
  const ws = model.workspace(true, dropout);
  const f = () => {
    ws.forward();
    return ws.loss(); // (writes ∂L/∂logits into the workspace, never into model.grads)
  };
  model.grads.fill(0);
  ws.load(sources, targets);
  if (dropout > 0) ws.drawDropout(new Rng(11));
  ws.forward();
  const l = ws.loss();
  ws.backward();
  return { ws, f, l };
}

const ATTN: AttentionMode[] = ['none', 'dot', 'additive'];

interface GradCase { cell: CellKind; layers: number; bidirectional: boolean; attention: AttentionMode; dropout?: number }
// every attention mode and both bridges (identity for D = H, learned 2H → H), every cell family
const GRAD_CASES: GradCase[] = [
  ...ATTN.map((attention): GradCase => ({ cell: 'gru', layers: 2, bidirectional: true, attention })),
  { cell: 'lstm', layers: 2, bidirectional: true, attention: 'dot' },
  { cell: 'lstm', layers: 2, bidirectional: true, attention: 'additive', dropout: 0.3 },
  { cell: 'lstm', layers: 1, bidirectional: false, attention: 'none' },
  { cell: 'rnn', layers: 2, bidirectional: false, attention: 'dot' },
  { cell: 'gru-torch', layers: 1, bidirectional: true, attention: 'additive' },
  { cell: 'lstm-peep', layers: 1, bidirectional: true, attention: 'dot' },
];

describe('seq2seq gradients (float64 central differences through encoder, bridge, attention, decoder)', () => {
  for (const c of GRAD_CASES) {
    const name = `${c.cell}, ${c.layers} layer(s), ${c.bidirectional ? 'bidirectional (bridge 2H → H)' : 'unidirectional'}, attention ${c.attention}${c.dropout ? `, dropout ${c.dropout}` : ''}`;
    it(`${name}: every parameter`, () => {
      const model = build(c);
      const { f } = lossOf(model, SOURCES, TARGETS, c.dropout ?? 0);
      const grads = Float64Array.from(model.grads);
      if (c.bidirectional) expect(model.layout.has('bridge.weight_h_l0')).toBe(true);
      for (const spec of model.layout.specs) {
        const p = model.layout.view(model.params, spec.name) as Float64Array;
        const g = model.layout.view(grads, spec.name);
        const r = gradcheck(f, p, g);
        expect(r.maxRelError, `${spec.name} ${JSON.stringify(r.worst)}`).toBeLessThanOrEqual(TOL);
      }
    });
  }
});

describe('seq2seq masking', () => {
  for (const attention of ATTN) {
    it(`attention ${attention}: a batch's loss and gradient are the sums of each row's alone`, () => {
      const model = build({ attention, layers: 2, cell: 'lstm', bidirectional: true });
      const together = lossOf(model, SOURCES, TARGETS);
      const gTogether = Float64Array.from(model.grads);
      const sum = together.ws.lossSum;
      let rowsSum = 0;
      const gRows = new Float64Array(model.grads.length);
      for (let b = 0; b < SOURCES.length; b++) {
        const alone = lossOf(model, [SOURCES[b]], [TARGETS[b]]);
        rowsSum += alone.ws.lossSum;
        // per-row gradients are of the row's mean; the batch's are of the batch mean
        const n = TARGETS[b].length + 1;
        for (let i = 0; i < gRows.length; i++) gRows[i] += (model.grads[i] * n) / together.ws.positions;
      }
      expect(sum).toBeCloseTo(rowsSum, 10);
      for (let i = 0; i < gRows.length; i++) expect(gTogether[i]).toBeCloseTo(gRows[i], 10);
    });
  }

  it('padded target positions have zero ∂L/∂logits', () => {
    const model = build({ attention: 'dot' });
    const { ws } = lossOf(model, SOURCES, TARGETS);
    const V = model.config.tgtVocab;
    for (let t = 0; t < ws.T; t++) {
      for (let b = 0; b < ws.B; b++) {
        const row = ws.logits.subarray((t * ws.B + b) * V, (t * ws.B + b + 1) * V);
        if (t > TARGETS[b].length) expect(Array.from(row).every((x) => x === 0)).toBe(true);
        else expect(Array.from(row).some((x) => x !== 0)).toBe(true);
      }
    }
  });
});

describe('seq2seq decoding', () => {
  for (const attention of ATTN) {
    it(`attention ${attention}: step-by-step logits equal the teacher-forced ones`, () => {
      const model = build({ attention, layers: 2, cell: 'lstm', bidirectional: true });
      const tf = model.workspace(false);
      tf.load(SOURCES, TARGETS);
      tf.forward();
      const V = model.config.tgtVocab;
      const B = SOURCES.length;
      const expected = Float64Array.from(tf.logits);
      const T = tf.T;
      const dec = model.workspace(false);
      dec.encode(SOURCES);
      for (let t = 0; t < T; t++) {
        const tokens = Array.from({ length: B }, (_, b) => (t === 0 ? 0 : (TARGETS[b][t - 1] ?? 0)));
        const logits = dec.step(tokens);
        for (let b = 0; b < B; b++) {
          if (t > TARGETS[b].length) continue;
          for (let v = 0; v < V; v++) expect(logits[b * V + v]).toBeCloseTo(expected[(t * B + b) * V + v], 12);
        }
      }
    });
  }

  it('reorder moves state and source with the row', () => {
    const model = build({ attention: 'additive', layers: 2, cell: 'lstm', bidirectional: true });
    const V = model.config.tgtVocab;
    const a = model.workspace(false);
    a.encode(SOURCES);
    a.step([0, 0, 0]);
    a.reorder([2, 0, 0]);
    const got = Float64Array.from(a.step([1, 2, 3]));
    const b = model.workspace(false);
    b.encode([SOURCES[2], SOURCES[0], SOURCES[0]]);
    b.step([0, 0, 0]);
    const want = b.step([1, 2, 3]);
    for (let i = 0; i < 3 * V; i++) expect(got[i]).toBeCloseTo(want[i], 12);
  });
});
