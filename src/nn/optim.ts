// Optimizers over the flat parameter buffer. Their moment buffers share the parameter
// layout, so a checkpoint stores them as tensors of the same names.
//
// Adam (Kingma & Ba 2015), with decoupled weight decay λ (AdamW, Loshchilov & Hutter
// 2019) when weightDecay > 0, for step t with rate lr:
//   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
//   p ← p − lr·λ·p − lr·(√(1 − β2ᵗ)/(1 − β1ᵗ))·m / (√v + ε·√(1 − β2ᵗ))
// The decay is on every parameter (biases and embeddings too), as torch.optim.AdamW
// over model.parameters() does, so the PyTorch job (checkpoint/pytorch-job) runs the
// same update; it follows the schedule because it is scaled by lr.
import type { Arena, Kernels, Vec } from '../kernels/types.js';

export type OptimName = 'adam' | 'rmsprop' | 'sgd';
export const OPTIMIZERS: readonly OptimName[] = ['adam', 'rmsprop', 'sgd'];

export interface OptimConfig {
  name: OptimName;
  /** Adam β1 / SGD momentum. */
  beta1: number;
  /** Adam β2 / RMSprop decay α. */
  beta2: number;
  eps: number;
  /** Decoupled weight decay λ (AdamW), per unit learning rate; Adam only. */
  weightDecay: number;
}

export const DEFAULT_OPTIM: Record<OptimName, OptimConfig> = {
  adam: { name: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  rmsprop: { name: 'rmsprop', beta1: 0, beta2: 0.95, eps: 1e-8, weightDecay: 0 },
  sgd: { name: 'sgd', beta1: 0.9, beta2: 0, eps: 0, weightDecay: 0 },
};

export class Optimizer {
  /** Moment buffers by name ('m', 'v'), each the size of the parameter buffer. */
  readonly moments: Map<string, Vec>;
  /** Steps taken (for Adam's bias correction). */
  t = 0;

  constructor(readonly k: Kernels, readonly config: OptimConfig, size: number, arena: Arena) {
    this.moments = new Map();
    if (!(config.weightDecay >= 0)) throw new RangeError(`weight decay must be ≥ 0, got ${config.weightDecay}`);
    if (config.weightDecay > 0 && config.name !== 'adam') throw new RangeError(`weight decay is decoupled Adam's (AdamW), not ${config.name}'s`);
    if (config.name === 'adam') {
      this.moments.set('m', arena.floats(size));
      this.moments.set('v', arena.floats(size));
    } else if (config.name === 'rmsprop') {
      this.moments.set('v', arena.floats(size));
    } else {
      this.moments.set('m', arena.floats(size));
    }
  }

  step(params: Vec, grads: Vec, lr: number): void {
    const { k, config: c } = this;
    const n = params.length;
    this.t++;
    if (c.name === 'adam') {
      // bias correction folded into the step size and ε (Kingma & Ba, §2)
      const bc1 = 1 - c.beta1 ** this.t;
      const bc2 = 1 - c.beta2 ** this.t;
      const stepSize = (lr * Math.sqrt(bc2)) / bc1;
      k.adam(n, params, grads, this.moments.get('m')!, this.moments.get('v')!, stepSize, c.beta1, c.beta2,
        c.eps * Math.sqrt(bc2), lr * c.weightDecay);
    } else if (c.name === 'rmsprop') {
      k.rmsprop(n, params, grads, this.moments.get('v')!, lr, c.beta2, c.eps);
    } else {
      k.sgd(n, params, grads, this.moments.get('m')!, lr, c.beta1);
    }
  }
}
