// ONNX export of classifiers: onnxruntime runs the exported graph (LSTM/GRU/RNN operators
// with direction = bidirectional and sequence_lens) to the logits of rnn's own forward
// pass, for every exportable cell, uni- and bidirectional, 1 and 2 layers, every pooling,
// on a batch of mixed lengths. Skipped (with the reason printed) where onnxruntime-web is
// not installed.
import { describe, expect, it } from 'vitest';
import { classifierToOnnx } from '../../src/checkpoint/onnx-classifier.js';
import { ExportError } from '../../src/checkpoint/onnx.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { ClassifierModel, type ClassifierConfig, type PoolKind } from '../../src/nn/classifier.js';
import type { CellKind } from '../../src/nn/layer.js';
import { Rng } from '../../src/util/rng.js';

type Ort = typeof import('onnxruntime-web');
let ort: Ort | null = null;
try {
  ort = (await import('../helpers/ort.js')).ort;
} catch (e) {
  console.warn(`skipping classifier ONNX runtime tests: onnxruntime-web is not available (${(e as Error).message.split('\n')[0]})`);
}

const VOCAB = [...'abcdefghi'];
const CLASSES = ['one', 'two', 'three', 'four'];

function randomClassifier(cfg: ClassifierConfig, seed: number): ClassifierModel {
  const model = new ClassifierModel(new ReferenceKernels('f64'), cfg);
  model.init(new Rng(seed));
  // float32 weights, as a checkpoint holds them; larger than init so every gate matters
  for (let i = 0; i < model.params.length; i++) model.params[i] = Math.fround(model.params[i]! * 1.5);
  return model;
}

function paramsOf(model: ClassifierModel): Map<string, Float32Array> {
  return new Map(model.layout.specs.map((s) => [s.name, Float32Array.from(model.layout.view(model.params, s.name))]));
}

const LENGTHS = [5, 2, 7, 1, 4];
const T = 7;

describe.skipIf(!ort)('classifier ONNX export runs in onnxruntime to the same logits', () => {
  const pools: PoolKind[] = ['last', 'mean', 'max'];
  let n = 0;
  for (const cell of ['lstm', 'gru', 'gru-torch', 'rnn', 'rnn-relu'] as CellKind[]) {
    for (const bidirectional of [false, true]) {
      for (const layers of [1, 2]) {
        const pool = pools[n++ % 3]!;
        it(`${cell}, ${bidirectional ? 'bi' : 'uni'}directional, ${layers} layer(s), ${pool} pooling, mixed lengths`, async () => {
          const cfg: ClassifierConfig = { cell, vocab: VOCAB.length, embed: 4, hidden: 5, layers, bidirectional, pool, classes: 4 };
          const model = randomClassifier(cfg, 100 + n);
          const session = await ort!.InferenceSession.create(classifierToOnnx(cfg, paramsOf(model), VOCAB, CLASSES));
          expect(session.inputNames).toEqual(['ids', 'lengths']);
          expect(session.outputNames).toEqual(['logits', 'probs']);
          const B = LENGTHS.length;
          const ws = model.workspace(B, T, false);
          const rng = new Rng(n);
          const ids = new BigInt64Array(T * B); // padding: id 0
          for (let b = 0; b < B; b++) {
            ws.lengths[b] = LENGTHS[b]!;
            for (let t = 0; t < LENGTHS[b]!; t++) {
              const id = rng.int(VOCAB.length);
              ws.ids[t * B + b] = id;
              ids[t * B + b] = BigInt(id);
            }
          }
          ws.forward();
          const out = await session.run({
            ids: new ort!.Tensor('int64', ids, [T, B]),
            lengths: new ort!.Tensor('int64', BigInt64Array.from(LENGTHS, (v) => BigInt(v)), [B]),
          });
          expect(out.logits!.dims).toEqual([B, 4]);
          const got = out.logits!.data as Float32Array;
          let scale = 0;
          for (const v of ws.logits) scale = Math.max(scale, Math.abs(v));
          for (let i = 0; i < got.length; i++) {
            expect(Math.abs(got[i]! - ws.logits[i]!) / Math.max(Math.abs(ws.logits[i]!), 0.1 * scale), `logit ${i}`).toBeLessThan(1e-5);
          }
          const probs = out.probs!.data as Float32Array;
          for (let b = 0; b < B; b++) expect(probs.subarray(b * 4, b * 4 + 4).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
        });
      }
    }
  }
});

describe('classifier ONNX export refuses what ONNX cannot express', () => {
  for (const cell of ['lstm-peep', 'gru-min'] as CellKind[]) {
    it(cell, () => {
      const cfg: ClassifierConfig = { cell, vocab: VOCAB.length, embed: 4, hidden: 5, layers: 1, bidirectional: true, pool: 'last', classes: 4 };
      const model = randomClassifier(cfg, 1);
      expect(() => classifierToOnnx(cfg, paramsOf(model), VOCAB, CLASSES)).toThrow(ExportError);
      expect(() => classifierToOnnx(cfg, paramsOf(model), VOCAB, CLASSES)).toThrow(`cell ${cell} cannot be exported to ONNX`);
    });
  }
  it('a missing tensor or mismatched names', () => {
    const cfg: ClassifierConfig = { cell: 'lstm', vocab: VOCAB.length, embed: 4, hidden: 5, layers: 1, bidirectional: true, pool: 'last', classes: 4 };
    const params = paramsOf(randomClassifier(cfg, 1));
    expect(() => classifierToOnnx(cfg, params, VOCAB, CLASSES.slice(1))).toThrow(/class names/);
    params.delete('rnn.weight_hh_l0_reverse');
    expect(() => classifierToOnnx(cfg, params, VOCAB, CLASSES)).toThrow(/no tensor rnn.weight_hh_l0_reverse/);
  });
});
