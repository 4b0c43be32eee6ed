import { describe, expect, it } from 'vitest';
import { estimateTotalSteps, learningRate, type ScheduleConfig } from '../../src/train/schedule.js';

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

  it('estimateTotalSteps: steps done plus what fits in the remaining time at the measured rate', () => {
    // 100 steps took 10 s; 50 s of a 60 s budget used → 10 s left → 100 more
    expect(estimateTotalSteps(400, 50_000, 60_000, 100, 10_000)).toBe(500);
    expect(estimateTotalSteps(400, 70_000, 60_000, 100, 10_000)).toBe(401);
    expect(estimateTotalSteps(400, 0, 60_000, 0, 0)).toBe(0);
  });
});
