// A small training configuration for tests; override what a test is about.
import { decodeCheckpoint, encodeCheckpoint } from '../../src/checkpoint/store.js';
import type { Kernels } from '../../src/kernels/types.js';
import { lmSession } from '../../src/tasks/lm.js';
import { requireTask } from '../../src/tasks/registry.js';
import { checkpointHeader } from '../../src/train/run.js';
import { Trainer, type TrainConfig } from '../../src/train/trainer.js';

export function config(over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    cell: 'lstm', layers: 1, hidden: 32, embed: 8, batch: 1, seq: 16, lr: 1e-2, clip: 5, optim: 'adam',
    schedule: 'constant', warmup: 0, decay: 0.97, decayEvery: 1000, steps: 0, epochs: 0, timeMs: 0, seed: 5,
    valFrac: 0, evalEvery: 0, evalWindows: 0, patience: 0, dropout: 0, embedDropout: 0, recurrentDropout: 0, weightDecay: 0, ema: 0, emaHalfLife: 0,
    ...over,
  };
}

/** A language-model trainer over a text in memory. */
export function lmTrainer(k: Kernels, text: string, cfg: TrainConfig): Trainer {
  return new Trainer(k, lmSession(k, text, cfg), cfg);
}

/** The checkpoint bytes of a trainer's current run state. */
export function checkpointBytes(t: Trainer): Uint8Array {
  return encodeCheckpoint(checkpointHeader(t), t.state());
}

/** A trainer resumed from checkpoint bytes on `text` (with the checkpoint's vocabulary). */
export function resumeTrainer(k: Kernels, bytes: Uint8Array, text: string, over: Partial<TrainConfig> = {}): Trainer {
  const ckpt = requireTask(decodeCheckpoint(bytes, 'mem'), 'lm');
  const cfg = { ...ckpt.train!, ...over };
  const t = new Trainer(k, lmSession(k, { vocab: ckpt.vocab, ids: ckpt.vocab.encode(text) }, cfg), cfg);
  t.setState(ckpt.state!);
  return t;
}

/** The language-model session of a trainer (its batcher, workspace, vocabulary). */
export function lm(t: Trainer): ReturnType<typeof lmSession> {
  return t.session as ReturnType<typeof lmSession>;
}
