// The moving average of the weights (src/train/average.ts): the update against a naive
// reference, its decay schedule, the trainer's average against the weights it recorded,
// scoring both at every evaluation, the checkpoints holding the weights that scored, and
// exact resume with the average.
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointHeader } from '../../src/checkpoint/store.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { averageDecay, averages, foldIntoAverage, swapContents } from '../../src/train/average.js';
import { checkpointHeader } from '../../src/train/run.js';
import type { Trainer, TrainConfig, TrainEvent, TrainHooks } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { config, lmTrainer, resumeTrainer } from './config.js';

const k = new ReferenceKernels('f32');
const TEXT = 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.\n'.repeat(12);

describe('averageDecay', () => {
  it('warms up as (1 + t) / (10 + t) whatever the decay', () => {
    expect(averageDecay({ ema: 0.999, emaHalfLife: 0 }, 0, 100)).toBeCloseTo(2 / 11, 15);
    expect(averageDecay({ ema: 0.999, emaHalfLife: 0 }, 89, 100)).toBeCloseTo(91 / 100, 15);
    expect(averageDecay({ ema: 0, emaHalfLife: 0.5 }, 4, 1e9)).toBeCloseTo(6 / 15, 15);
  });

  it('a fixed decay once the warm-up is past it, and it wins over a half-life', () => {
    expect(averageDecay({ ema: 0.9, emaHalfLife: 0 }, 1000, 100)).toBe(0.9);
    expect(averageDecay({ ema: 0.9, emaHalfLife: 0.5 }, 1000, 1e6)).toBe(0.9);
  });

  it('a half-life of a share of the planned steps: after share × planned updates the old average weighs one half', () => {
    for (const [share, planned] of [[0.05, 20_000], [0.02, 1300], [0.1, 6000]]) {
      const beta = averageDecay({ ema: 0, emaHalfLife: share }, 1e9, planned);
      expect(beta ** (share * planned)).toBeCloseTo(0.5, 12);
    }
    // planned not known yet (a clock-bounded run's first step): the warm-up alone
    expect(averageDecay({ ema: 0, emaHalfLife: 0.05 }, 50, Infinity)).toBeCloseTo(52 / 61, 15);
  });

  it('averages() is on for a decay or a half-life, off for neither', () => {
    expect([averages({ ema: 0, emaHalfLife: 0 }), averages({ ema: 0.99, emaHalfLife: 0 }), averages({ ema: 0, emaHalfLife: 0.05 })]).toEqual([false, true, true]);
  });
});

/**
 * The average after a sequence of weights, written as the explicit weighted sum
 * w̄_T = Π_t β_t · w_0 + Σ_t (1 − β_t) Π_{u>t} β_u · w_t, in float64.
 */
function naiveAverage(weights: number[][], decays: number[]): number[] {
  const T = decays.length;
  return weights[0]!.map((_, i) => {
    let sum = 0;
    for (let t = 0; t <= T; t++) {
      let w = t === 0 ? 1 : 1 - decays[t - 1]!;
      for (let u = t; u < T; u++) w *= decays[u]!;
      sum += w * weights[t]![i]!;
    }
    return sum;
  });
}

describe('foldIntoAverage', () => {
  it('matches the explicit weighted sum of every weight vector seen', () => {
    const rng = new Rng(4);
    const n = 37;
    const weights: number[][] = [];
    const decays: number[] = [];
    let w = Array.from({ length: n }, () => rng.normal());
    weights.push(w);
    const avg = new Float32Array(w);
    for (let t = 0; t < 60; t++) {
      w = w.map((x) => x + 0.1 * rng.normal());
      weights.push(w);
      const beta = averageDecay({ ema: 0, emaHalfLife: 0.2 }, t, 60);
      decays.push(beta);
      foldIntoAverage(avg, new Float32Array(w), beta);
    }
    const want = naiveAverage(weights.map((v) => Array.from(new Float32Array(v))), decays);
    for (let i = 0; i < n; i++) expect(avg[i]).toBeCloseTo(want[i]!, 5);
  });

  it('swapContents exchanges two buffers and refuses different lengths', () => {
    const a = new Float32Array([1, 2, 3]);
    const b = new Float32Array([4, 5, 6]);
    swapContents(a, b);
    expect([...a, ...b]).toEqual([4, 5, 6, 1, 2, 3]);
    expect(() => swapContents(a, new Float32Array(2))).toThrow(/lengths/);
  });
});

interface Recorder extends TrainHooks {
  events: TrainEvent[];
  files: Record<string, Uint8Array>;
  header?: CheckpointHeader;
}

function recorder(opts: { stopAfter?: number; onStep?: () => void } = {}): Recorder {
  let steps = 0;
  const r: Recorder = {
    events: [],
    files: {},
    onEvent(e) {
      r.events.push(e);
      if (e.type === 'step') {
        steps++;
        opts.onStep?.();
      }
    },
    async save(state, kind) {
      r.files[kind] = encodeCheckpoint(r.header!, state);
      return kind;
    },
    stopRequested: () => opts.stopAfter !== undefined && steps >= opts.stopAfter,
  };
  return r;
}

function go(t: Trainer, rec: Recorder) {
  rec.header = checkpointHeader(t);
  return t.run(rec);
}

// a high constant rate: by step 30 the weights jitter around the text and their average scores lower
const RUN = config({
  cell: 'gru-torch', layers: 1, hidden: 16, embed: 8, batch: 4, seq: 12, lr: 0.1, schedule: 'constant',
  valFrac: 0.1, evalEvery: 6, seed: 3, emaHalfLife: 0.2,
});
const STEPS = 36;

describe('a run that averages its weights', () => {
  it('its average is the naive average of the weights after every update, with the decays of its planned steps', async () => {
    const t = lmTrainer(k, TEXT, { ...RUN, steps: 20, evalEvery: 0 });
    const seen: number[][] = [Array.from(t.net.params)];
    await go(t, recorder({ onStep: () => seen.push(Array.from(t.net.params)) }));
    const decays = Array.from({ length: 20 }, (_, i) => averageDecay(RUN, i, 20));
    const want = naiveAverage(seen, decays);
    expect(t.progress.averaged).toBe(20);
    for (let i = 0; i < want.length; i++) expect(t.average![i]).toBeCloseTo(want[i]!, 5);
    // and it is not the weights themselves
    expect(Array.from(t.average!)).not.toEqual(Array.from(t.net.params));
  });

  it('scores both at every evaluation; val is the better, and the checkpoints hold the weights that scored', async () => {
    const t = lmTrainer(k, TEXT, { ...RUN, steps: STEPS });
    const rec = recorder();
    const averagesAtSave: Float32Array[] = [];
    const save = rec.save;
    rec.save = async (state, kind) => {
      if (kind === 'best') averagesAtSave.push(state.average!.slice());
      return save(state, kind);
    };
    await go(t, rec);
    const evals = rec.events.filter((e): e is Extract<TrainEvent, { type: 'eval' }> => e.type === 'eval');
    expect(evals.length).toBe(STEPS / RUN.evalEvery);
    for (const e of evals) {
      expect(e.valTrained).not.toBeNull();
      expect(e.valAverage).not.toBeNull();
      expect(e.val).toBe(Math.min(e.valTrained!, e.valAverage!));
      expect(e.weights).toBe(e.valAverage! < e.valTrained! ? 'average' : 'trained');
    }
    // at this rate the average wins at the end
    expect(evals.at(-1)!.weights).toBe('average');
    const best = decodeCheckpoint(rec.files.best, 'best');
    const bestEval = evals.find((e) => e.step === best.progress!.bestStep)!;
    // the best is the average's: the file's model (what sample and eval read) is the average,
    // and it resumes from the trained weights it also holds
    expect(bestEval.weights).toBe('average');
    for (const [name, w] of best.params) expect(Array.from(w)).toEqual(Array.from(t.net.layout.view(best.state!.average!, name)));
    expect(Array.from(best.state!.average!)).toEqual(Array.from(averagesAtSave.at(-1)!));
    expect(Array.from(best.state!.params)).not.toEqual(Array.from(best.state!.average!));
    const weightsOnly = decodeCheckpoint(rec.files.best, 'best', { weightsOnly: true });
    for (const [name, w] of weightsOnly.params) expect(Array.from(w)).toEqual(Array.from(best.params.get(name)!));
    // the last file after the final evaluation: its model is the average too, and its val is the average's
    const last = decodeCheckpoint(rec.files.last, 'last');
    expect(last.state!.model).toBe('average');
    expect(Array.from(last.state!.params)).toEqual(Array.from(t.net.params));
    expect(Array.from(last.state!.average!)).toEqual(Array.from(t.average!));
    expect(last.progress!.history.at(-1)).toMatchObject({ val: evals.at(-1)!.val, valAverage: evals.at(-1)!.valAverage, valTrained: evals.at(-1)!.valTrained });
  });

  it('without an average: no second score, valAverage null, the trained weights kept', async () => {
    const t = lmTrainer(k, TEXT, { ...RUN, emaHalfLife: 0, steps: 12 });
    const rec = recorder();
    await go(t, rec);
    expect(t.average).toBeNull();
    const evals = rec.events.filter((e): e is Extract<TrainEvent, { type: 'eval' }> => e.type === 'eval');
    for (const e of evals) expect([e.weights, e.valAverage, e.valTrained]).toEqual(['trained', null, null]);
    const last = decodeCheckpoint(rec.files.last, 'last');
    expect(last.state!.average ?? null).toBeNull();
  });

  for (const [what, stopAfter] of [['between evaluations', 9], ['right after an evaluation the average won', 30]] as const) {
    it(`${STEPS} steps == N steps, checkpoint ${what}, resume to ${STEPS}: bitwise equal weights, average and history`, async () => {
      const cfg: TrainConfig = { ...RUN, steps: STEPS };
      const full = lmTrainer(k, TEXT, cfg);
      await go(full, recorder());
      const first = lmTrainer(k, TEXT, cfg);
      const rec = recorder({ stopAfter });
      expect(await go(first, rec)).toBe('interrupted');
      const saved = decodeCheckpoint(rec.files.last, 'last');
      if (stopAfter % RUN.evalEvery === 0) expect(saved.state!.model).toBe('average');
      const second = resumeTrainer(k, rec.files.last, TEXT);
      expect(second.progress.averaged).toBe(stopAfter);
      await go(second, recorder());
      expect(Array.from(second.net.params)).toEqual(Array.from(full.net.params));
      expect(Array.from(second.average!)).toEqual(Array.from(full.average!));
      for (const [name, v] of full.optimizer.moments) expect(Array.from(second.optimizer.moments.get(name)!)).toEqual(Array.from(v));
      expect(second.progress.history).toEqual(full.progress.history);
      expect(second.progress.bestVal).toBe(full.progress.bestVal);
    });
  }

  it('a checkpoint written without an average resumes into a run that keeps one: the average starts at its weights', async () => {
    const plain = lmTrainer(k, TEXT, { ...RUN, emaHalfLife: 0, steps: 12 });
    const rec = recorder();
    await go(plain, rec);
    const t = resumeTrainer(k, rec.files.last, TEXT, { emaHalfLife: 0.2, steps: 18 });
    expect(Array.from(t.average!)).toEqual(Array.from(t.net.params));
    expect(t.progress.averaged).toBe(0);
    await go(t, recorder());
    expect(t.progress.averaged).toBe(6);
  });
});
