// Adam with decoupled weight decay (AdamW) against a naive loop written from the paper's
// algorithm (bias-corrected moments, decay applied to the weights before the step), in
// float64 on the reference kernels; and the options the optimizer refuses.
import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { DEFAULT_OPTIM, Optimizer } from '../../src/nn/optim.js';
import { Rng } from '../../src/util/rng.js';

const k = new ReferenceKernels('f64');

/** Loshchilov & Hutter, Algorithm 2, with the schedule multiplier folded into lr_t. */
function naiveAdamW(p: number[], grads: number[][], lrs: number[], wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number[] {
  const x = [...p];
  const m = x.map(() => 0);
  const v = x.map(() => 0);
  grads.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < x.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mHat = m[i] / (1 - b1 ** t);
      const vHat = v[i] / (1 - b2 ** t);
      x[i] = x[i] - lrs[s] * wd * x[i] - lrs[s] * (mHat / (Math.sqrt(vHat) + eps));
    }
  });
  return x;
}

describe('AdamW', () => {
  for (const wd of [0, 0.1, 2]) {
    it(`weight decay ${wd}: 6 steps with a changing rate equal the naive algorithm`, () => {
      const rng = new Rng(4);
      const n = 37;
      const start = Array.from({ length: n }, () => rng.normal());
      const grads = Array.from({ length: 6 }, () => Array.from({ length: n }, () => 0.3 * rng.normal()));
      const lrs = [1e-2, 8e-3, 5e-3, 5e-3, 2e-3, 1e-3];
      const opt = new Optimizer(k, { ...DEFAULT_OPTIM.adam, weightDecay: wd }, n, k.arena());
      const params = Float64Array.from(start);
      grads.forEach((g, s) => opt.step(params, Float64Array.from(g), lrs[s]));
      const want = naiveAdamW(start, grads, lrs, wd);
      for (let i = 0; i < n; i++) expect(Math.abs(params[i] - want[i])).toBeLessThan(1e-12);
    });
  }

  it('a zero gradient still shrinks the weights by lr·λ per step', () => {
    const opt = new Optimizer(k, { ...DEFAULT_OPTIM.adam, weightDecay: 0.5 }, 3, k.arena());
    const p = Float64Array.from([1, -2, 4]);
    opt.step(p, new Float64Array(3), 0.1);
    expect(Array.from(p)).toEqual([0.95, -1.9, 3.8]);
  });

  it('weight decay is for Adam only, and not negative', () => {
    expect(() => new Optimizer(k, { ...DEFAULT_OPTIM.sgd, weightDecay: 0.1 }, 3, k.arena())).toThrow(/AdamW/);
    expect(() => new Optimizer(k, { ...DEFAULT_OPTIM.rmsprop, weightDecay: 0.1 }, 3, k.arena())).toThrow(/AdamW/);
    expect(() => new Optimizer(k, { ...DEFAULT_OPTIM.adam, weightDecay: -1 }, 3, k.arena())).toThrow(/≥ 0/);
  });
});
