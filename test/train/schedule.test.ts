import { describe, expect, it } from 'vitest';
import { WARMUP_FRAC, evalDue, learningRate, type ScheduleConfig } from '../../src/train/schedule.js';

const base: ScheduleConfig = { name: 'cosine', lr: 1, warmup: 10, total: 110, minFrac: 0.1, gamma: 0.5, every: 20 };

describe('learning-rate schedules', () => {
  it('constant is constant', () => {
    for (const s of [0, 5, 1e6]) expect(learningRate({ ...base, name: 'constant' }, s)).toBe(1);
  });

  it('step decay multiplies by gamma every `every` steps', () => {
    const s = { ...base, name: 'step' as const };
    expect(learningRate(s, 0)).toBe(1);
    expect(learningRate(s, 19)).toBe(1);
    expect(learningRate(s, 20)).toBe(0.5);
    expect(learningRate(s, 45)).toBe(0.25);
  });

  it('cosine: linear warm-up, lr at the end of warm-up, half cosine down to minFrac, flat after', () => {
    expect(learningRate(base, 0)).toBeCloseTo(0.1);
    expect(learningRate(base, 4)).toBeCloseTo(0.5);
    expect(learningRate(base, 9)).toBeCloseTo(1);
    expect(learningRate(base, 10)).toBeCloseTo(1);
    expect(learningRate(base, 60)).toBeCloseTo(0.55); // half way: (1 + 0.1) / 2
    expect(learningRate(base, 110)).toBeCloseTo(0.1);
    expect(learningRate(base, 500)).toBeCloseTo(0.1);
    // monotone after warm-up
    let prev = Infinity;
    for (let s = 10; s <= 110; s++) {
      const lr = learningRate(base, s);
      expect(lr).toBeLessThanOrEqual(prev);
      prev = lr;
    }
  });

  it('cosine with an unknown total holds lr after warm-up', () => {
    expect(learningRate({ ...base, total: 0 }, 5)).toBeCloseTo(0.6);
    expect(learningRate({ ...base, total: 0 }, 1000)).toBe(1);
  });

  it('no warm-up starts at full lr', () => {
    expect(learningRate({ ...base, warmup: 0 }, 0)).toBe(1);
  });

  it('with a time budget: the cosine over the clock, whatever the step count', () => {
    const t = { ...base, total: 0, warmup: 0 };
    expect(learningRate(t, 0, 0)).toBe(1);
    expect(learningRate(t, 7, 0.5)).toBeCloseTo(0.55);
    expect(learningRate(t, 70_000, 0.5)).toBeCloseTo(0.55);
    expect(learningRate(t, 9, 1)).toBeCloseTo(0.1);
    // the last step may start after the clock ran out: it stays at the floor
    expect(learningRate(t, 9, 1.2)).toBeCloseTo(0.1);
    let prev = Infinity;
    for (let f = 0; f <= 1; f += 0.01) {
      expect(learningRate(t, 0, f)).toBeLessThanOrEqual(prev);
      prev = learningRate(t, 0, f);
    }
  });

  it('with a time budget: warm-up over `warmup` steps or the first WARMUP_FRAC of the clock, whichever ends first', () => {
    const t = { ...base, total: 0, warmup: 100, minFrac: 1 }; // minFrac 1: no decay, to see the warm-up alone
    expect(learningRate(t, 49, 0)).toBeCloseTo(0.5); // steps first
    expect(learningRate(t, 0, WARMUP_FRAC / 4)).toBeCloseTo(0.25); // the clock first (a slow model)
    expect(learningRate(t, 0, WARMUP_FRAC)).toBe(1);
    expect(learningRate(t, 99, 0.001)).toBe(1);
  });

  it('with both limits, the one that comes first sets the pace', () => {
    const both = { ...base, warmup: 0 }; // 110 planned steps
    expect(learningRate(both, 55, 0.1)).toBeCloseTo(learningRate(both, 55, null));
    expect(learningRate(both, 10, 0.5)).toBeCloseTo(0.55);
    expect(learningRate(both, 110, 0.2)).toBeCloseTo(0.1);
  });
});

describe('evalDue', () => {
  it('every budget / evals of the clock', () => {
    expect(evalDue(5_999, 60_000, 10, 10, 0.05)).toBe(false);
    expect(evalDue(6_000, 60_000, 10, 10, 0.05)).toBe(true);
  });
  it('less often when an evaluation is expensive, so it stays within its share of the time', () => {
    // 1 s per evaluation at 5% → at most one per 20 s, not one per 6 s
    expect(evalDue(19_000, 60_000, 10, 1000, 0.05)).toBe(false);
    expect(evalDue(20_000, 60_000, 10, 1000, 0.05)).toBe(true);
  });
});
