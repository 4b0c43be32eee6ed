// A bidirectional classifier's tensors load by name (strict) into torch.nn.Embedding +
// torch.nn.LSTM/GRU/RNN(bidirectional=True) + torch.nn.Linear, and torch's packed
// sequences give the same logits as rnn's masked batch, for every pooling.
// Skipped, with the reason printed, where `python3 -c "import torch"` fails.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { ClassifierModel, type ClassifierConfig } from '../../src/nn/classifier.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from '../helpers/cli.js';
import { torchMissing } from '../helpers/torch.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/torch_classifier.py', import.meta.url));

const missing = torchMissing();
if (missing) console.warn(`skipping PyTorch classifier interop tests: ${missing}`);

const CASES = [['lstm', 2, 'last'], ['lstm', 1, 'mean'], ['gru-torch', 2, 'max'], ['rnn', 2, 'mean']] as const;
const LENGTHS = [4, 1, 6, 3];
const T = 6;

describe.skipIf(missing !== null)('PyTorch loads a bidirectional classifier by name', () => {
  const tmp = tempDir('rnn-torch-cls-');
  afterAll(() => tmp.cleanup());
  const ours: Float64Array[] = [];
  let torch: number[][] = [];

  beforeAll(() => {
    const jobs = CASES.map(([cell, layers, pool], n) => {
      const cfg: ClassifierConfig = { cell, vocab: 7, embed: 4, hidden: 5, layers, bidirectional: true, pool, classes: 3 };
      const model = new ClassifierModel(new ReferenceKernels('f64'), cfg);
      model.init(new Rng(3 + n));
      for (let i = 0; i < model.params.length; i++) model.params[i] = Math.fround(model.params[i]! * 1.5);
      const ckpt = join(tmp.dir, `${cell}-${layers}-${pool}.safetensors`);
      writeFileSync(ckpt, encodeSafetensors(model.layout.specs.map((s) => ({
        name: s.name, shape: s.shape, data: Float32Array.from(model.layout.view(model.params, s.name)),
      })), { model: JSON.stringify(cfg) }));
      const rng = new Rng(11 + n);
      const ids = Array.from({ length: T }, (_, t) => LENGTHS.map((len) => (t < len ? rng.int(7) : 0)));
      const ws = model.workspace(LENGTHS.length, T, false);
      ws.lengths.set(LENGTHS);
      ws.ids.set(ids.flat());
      ws.forward();
      ours.push(Float64Array.from(ws.logits));
      return { ckpt, ids, lengths: LENGTHS };
    });
    const r = spawnSync('python3', [SCRIPT, 'forward', JSON.stringify(jobs), '--double'], { encoding: 'utf8', timeout: 180_000 });
    if (r.status !== 0) throw new Error(`torch_classifier.py failed: ${r.stderr}`);
    torch = (JSON.parse(r.stdout) as { logits: number[][] }).logits;
  }, 200_000);

  CASES.forEach(([cell, layers, pool], n) => {
    it(`${cell}, ${layers} layer(s), ${pool} pooling: same logits on a batch of mixed lengths`, () => {
      const want = ours[n]!;
      const got = torch[n]!;
      expect(got.length).toBe(LENGTHS.length * 3);
      let scale = 0;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < got.length; i++) {
        expect(Math.abs(got[i]! - want[i]!) / Math.max(Math.abs(want[i]!), 0.1 * scale), `logit ${i}`).toBeLessThan(1e-9);
      }
    });
  });
});
