import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { CellKind } from '../../src/nn/layer.js';
import { Sampler } from '../../src/sample/sampler.js';
import type { Trainer, TrainConfig } from '../../src/train/trainer.js';
import { config, lm, lmTrainer } from './config.js';

const k = new ReferenceKernels('f32');

const TEXT = 'the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n';

function train(cfg: TrainConfig, text: string, steps: number): { trainer: Trainer; losses: number[] } {
  const trainer = lmTrainer(k, text, cfg);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push(trainer.step().loss);
  return { trainer, losses };
}

function sampleBack(trainer: Trainer, prime: string, n: number, temp = 0, seed = 1): string {
  const { net, data } = lm(trainer);
  const sampler = new Sampler(net, data.vocab, { temp, topK: 0, topP: 1, seed });
  sampler.feed(data.vocab.encode(prime));
  let out = '';
  for (let i = 0; i < n; i++) out += sampler.next();
  return out;
}

describe('training', () => {
  for (const cell of ['lstm', 'gru', 'rnn'] as CellKind[]) {
    it(`${cell} overfits a short text and samples it back exactly at temperature 0`, () => {
      const { trainer, losses } = train(config({ cell, seq: 17 }), TEXT, 400);
      // mean over the last pass of windows
      const last = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
      expect(last).toBeLessThan(0.05);
      expect(sampleBack(trainer, TEXT[0], TEXT.length - 1)).toBe(TEXT.slice(1));
    });
  }

  it('same seed: identical losses and identical samples', () => {
    const a = train(config({ seed: 9, batch: 2, seq: 8 }), TEXT.repeat(3), 30);
    const b = train(config({ seed: 9, batch: 2, seq: 8 }), TEXT.repeat(3), 30);
    expect(a.losses).toEqual(b.losses);
    expect(sampleBack(a.trainer, 'the', 80, 1, 42)).toBe(sampleBack(b.trainer, 'the', 80, 1, 42));
    const c = train(config({ seed: 10, batch: 2, seq: 8 }), TEXT.repeat(3), 30);
    expect(c.losses).not.toEqual(a.losses);
  });

  it('loss starts near ln V for an untrained model', () => {
    const { losses, trainer } = train(config({ seed: 2 }), TEXT, 1);
    expect(Math.abs(losses[0] - Math.log(lm(trainer).data.vocab.size))).toBeLessThan(0.5);
  });
});
