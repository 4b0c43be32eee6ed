// ONNX export of a conditioned model: onnxruntime runs the graph, with the tag as an input
// [T,B,K] (hard tags, untagged rows and blends in one batch), to the same logits and final
// states as rnn's own forward pass. Skipped where onnxruntime-web is not installed.
import { describe, expect, it } from 'vitest';
import { exportOnnx } from '../../src/checkpoint/onnx.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { CellKind } from '../../src/nn/layer.js';
import { Model } from '../../src/nn/model.js';
import { Rng } from '../../src/util/rng.js';

type Ort = typeof import('onnxruntime-web');
let ort: Ort | null = null;
try {
  ort = (await import('../helpers/ort.js')).ort;
} catch (e) {
  console.warn(`skipping conditioned ONNX tests: onnxruntime-web is not available (${(e as Error).message.split('\n')[0]})`);
}

const V = 9;
const E = 4;
const H = 6;
const K = 4;
const D = 3;

describe.skipIf(!ort)('ONNX export of a conditioned model', () => {
  for (const cell of ['lstm', 'gru-torch', 'gru', 'rnn'] as CellKind[]) {
    for (const layers of [1, 2]) {
      it(`${cell}, ${layers} layer(s): the tag input gives rnn's logits and states`, async () => {
        const model = new Model(new ReferenceKernels('f64'), { cell, vocab: V, embed: E, hidden: H, layers, tags: K, tagEmbed: D });
        const rng = new Rng(40 + layers);
        model.init(rng);
        for (let i = 0; i < model.params.length; i++) model.params[i] = Math.fround(model.params[i]! * 1.3);
        const params = new Map<string, Float32Array>();
        for (const s of model.layout.specs) params.set(s.name, Float32Array.from(model.layout.view(model.params, s.name)));
        const session = await ort!.InferenceSession.create(exportOnnx({ model: model.config, params, chars: [...'abcdefghi'], tags: ['x', 'y', 'z'] }, { stateInputs: false }));
        expect(session.inputNames).toEqual(['ids', 'tag']);

        const T = 5;
        const B = 3;
        const ws = model.workspace(B, T, false);
        const ids = Int32Array.from({ length: T * B }, () => rng.int(V));
        ws.ids.set(ids);
        // row 0: a hard tag per position; row 1: untagged; row 2: a blend
        const mix = new Float32Array(T * B * K);
        for (let t = 0; t < T; t++) {
          mix[(t * B) * K + 1 + rng.int(K - 1)] = 1;
          mix[(t * B + 1) * K] = 1;
          mix.set([0, 0.5, 0.25, 0.25], (t * B + 2) * K);
        }
        ws.tagMix!.set(mix);
        ws.resetState();
        ws.forward();
        const out = await session.run({
          ids: new ort!.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [T, B]),
          tag: new ort!.Tensor('float32', mix, [T, B, K]),
        });
        const logits = out.logits!.data as Float32Array;
        let worst = 0;
        for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i]! - ws.logits[i]!));
        expect(worst).toBeLessThan(1e-4);
        const hn = out.h_n!.data as Float32Array;
        for (let l = 0; l < layers; l++) {
          const c = ws.layers[l]!;
          for (let i = 0; i < B * H; i++) expect(hn[l * B * H + i]).toBeCloseTo(c.Hs[T * B * H + i]!, 5);
        }
      });
    }
  }
});
