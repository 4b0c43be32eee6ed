// A small training configuration for tests; override what a test is about.
import type { TrainConfig } from '../../src/train/trainer.js';

export function config(over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    cell: 'lstm', layers: 1, hidden: 32, embed: 8, batch: 1, seq: 16, lr: 1e-2, clip: 5, optim: 'adam',
    schedule: 'constant', warmup: 0, decay: 0.97, decayEvery: 1000, steps: 0, epochs: 0, timeMs: 0, seed: 5,
    valFrac: 0, evalEvery: 0, evalWindows: 0, patience: 0, dropout: 0, ...over,
  };
}
