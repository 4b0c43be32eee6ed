// Trainer.run: exact resume through a real checkpoint round trip, early stopping and
// best/last retention, divergence rollback, and the time-only cosine schedule.
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointHeader } from '../../src/checkpoint/store.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { checkpointHeader } from '../../src/train/run.js';
import { blownUp, MAX_ROLLBACKS, type Trainer, type TrainConfig, type TrainEvent, type TrainHooks } from '../../src/train/trainer.js';
import { TrainingError } from '../../src/util/errors.js';
import { config, lm, lmTrainer, resumeTrainer } from './config.js';

const k = new ReferenceKernels('f32');
const TEXT = 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.\n'.repeat(12);

interface Recorder extends TrainHooks {
  events: TrainEvent[];
  files: Record<string, Uint8Array>;
  saves: { kind: string; step: number }[];
  header?: CheckpointHeader;
}

function recorder(opts: { stopAfter?: number; onStep?: (t: Trainer, step: number) => void; trainer?: () => Trainer; now?: () => number } = {}): Recorder {
  let steps = 0;
  const r: Recorder = {
    events: [],
    files: {},
    saves: [],
    onEvent(e) {
      r.events.push(e);
      if (e.type === 'step') {
        steps++;
        opts.onStep?.(opts.trainer!(), e.step);
      }
    },
    async save(state, kind) {
      r.files[kind] = encodeCheckpoint(r.header!, state);
      r.saves.push({ kind, step: state.progress.step });
      return kind;
    },
    stopRequested: () => opts.stopAfter !== undefined && steps >= opts.stopAfter,
    now: opts.now,
  };
  return r;
}

function fresh(cfg: TrainConfig): Trainer {
  return lmTrainer(k, TEXT, cfg);
}

function resumed(bytes: Uint8Array, over: Partial<TrainConfig> = {}): Trainer {
  return resumeTrainer(k, bytes, TEXT, over);
}

/** Runs a trainer with a recorder that encodes its saves as checkpoint files. */
function go(t: Trainer, rec: Recorder) {
  rec.header = checkpointHeader(t);
  return t.run(rec);
}

const RUN = config({
  cell: 'lstm', layers: 2, hidden: 16, embed: 8, batch: 4, seq: 12, lr: 5e-3, schedule: 'cosine', warmup: 4,
  dropout: 0.25, valFrac: 0.1, evalEvery: 5, seed: 3,
});

describe('exact resume', () => {
  it('2N steps == N steps, checkpoint, resume for N steps: bitwise equal weights, moments and history (cosine + dropout)', async () => {
    const N = 13; // not a multiple of --eval-every, crosses an epoch boundary
    const full = fresh({ ...RUN, steps: 2 * N });
    expect(await go(full, recorder())).toBe('steps');
    expect(lm(full).batcher.epoch).toBeGreaterThan(0);

    const first = fresh({ ...RUN, steps: 2 * N });
    const rec = recorder({ stopAfter: N });
    expect(await go(first, rec)).toBe('interrupted');
    expect(first.progress.step).toBe(N);
    const second = resumed(rec.files.last);
    expect(second.progress.step).toBe(N);
    expect(await go(second, recorder())).toBe('steps');

    expect(second.progress.step).toBe(2 * N);
    expect(Array.from(second.model.params)).toEqual(Array.from(full.model.params));
    for (const [name, v] of full.optimizer.moments) expect(Array.from(second.optimizer.moments.get(name)!)).toEqual(Array.from(v));
    expect(second.progress.history).toEqual(full.progress.history);
    expect(second.progress.cursor).toBe(full.progress.cursor);
    expect(second.progress.dropoutRng).toEqual(full.progress.dropoutRng);
    expect(second.progress.bestVal).toBe(full.progress.bestVal);
  });

  for (const cell of ['lstm', 'gru-torch'] as const) {
    it(`${cell} with embedding dropout, recurrent dropout and AdamW: N + resume + N == 2N bitwise, the options kept by the checkpoint`, async () => {
      const N = 9;
      const cfg = { ...RUN, cell, embedDropout: 0.2, recurrentDropout: 0.3, weightDecay: 0.1, steps: 2 * N };
      const full = fresh(cfg);
      await go(full, recorder());
      const first = fresh(cfg);
      const rec = recorder({ stopAfter: N });
      expect(await go(first, rec)).toBe('interrupted');
      const second = resumed(rec.files.last);
      expect([second.config.embedDropout, second.config.recurrentDropout, second.config.weightDecay]).toEqual([0.2, 0.3, 0.1]);
      expect(second.optimizer.config.weightDecay).toBe(0.1);
      await go(second, recorder());
      expect(Array.from(second.model.params)).toEqual(Array.from(full.model.params));
      for (const [name, v] of full.optimizer.moments) expect(Array.from(second.optimizer.moments.get(name)!)).toEqual(Array.from(v));
      expect(second.progress.dropoutRng).toEqual(full.progress.dropoutRng);
      expect(second.progress.history).toEqual(full.progress.history);
      // each option changes the run (a flag that did nothing would leave the weights as without it)
      for (const off of [{ embedDropout: 0 }, { recurrentDropout: 0 }, { weightDecay: 0 }]) {
        const other = fresh({ ...cfg, ...off });
        await go(other, recorder());
        expect(Array.from(other.model.params)).not.toEqual(Array.from(full.model.params));
      }
    });
  }

  it('--steps N, then resume with --steps 2N (constant schedule) == 2N straight', async () => {
    const cfg = { ...RUN, schedule: 'constant' as const, evalEvery: 4 };
    const full = fresh({ ...cfg, steps: 20 });
    await go(full, recorder());
    const first = fresh({ ...cfg, steps: 10 });
    const rec = recorder();
    await go(first, rec);
    const second = resumed(rec.files.last, { steps: 20 });
    await go(second, recorder());
    expect(Array.from(second.model.params)).toEqual(Array.from(full.model.params));
  });
});

describe('early stopping and best/last', () => {
  it('stops after --patience evaluations without improvement; best holds the best step, last the final one', async () => {
    const t = fresh({ ...RUN, dropout: 0, evalEvery: 2, patience: 2, steps: 1000 });
    const scripted = [3, 2, 2.5, 1.9, 2.2, 2.1, 5];
    let i = 0;
    t.evaluate = () => ({ loss: scripted[i++]! });
    const rec = recorder();
    expect(await go(t, rec)).toBe('patience');
    // evals at 2,4,6,8,10,12: best at 8 (1.9), then 2.2 and 2.1 → two without improvement
    expect(t.progress.step).toBe(12);
    expect(t.progress.bestStep).toBe(8);
    expect(t.progress.bestVal).toBe(1.9);
    expect(rec.saves.filter((s) => s.kind === 'best').map((s) => s.step)).toEqual([2, 4, 8]);
    expect(rec.saves.filter((s) => s.kind === 'last').map((s) => s.step)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(decodeCheckpoint(rec.files.best, 'best').progress!.step).toBe(8);
    expect(decodeCheckpoint(rec.files.last, 'last').progress!.step).toBe(12);
    const evals = rec.events.filter((e) => e.type === 'eval');
    expect(evals.map((e) => e.type === 'eval' && e.best)).toEqual([true, true, false, true, false, false]);
    const end = rec.events.at(-1)!;
    expect(end).toMatchObject({ type: 'end', reason: 'patience', bestVal: 1.9, bestStep: 8 });
  });

  it('checkpoint metadata shows the step and the val loss', async () => {
    const t = fresh({ ...RUN, steps: 10 });
    const rec = recorder();
    await go(t, rec);
    const { decodeSafetensors } = await import('../../src/checkpoint/safetensors.js');
    const meta = decodeSafetensors(rec.files.last, 'last').metadata;
    expect(meta.step).toBe('10');
    expect(Number(meta.val_loss)).toBe(t.progress.history.at(-1)!.val);
    expect(Number(meta.best_val_loss)).toBe(t.progress.bestVal);
  });
});

describe('divergence', () => {
  it('a NaN weight is caught at the next step: roll back to the last save with half the learning rate, then finish', async () => {
    let injected = false;
    let t!: Trainer;
    t = fresh({ ...RUN, steps: 20 });
    const rec = recorder({
      trainer: () => t,
      onStep: (tr, step) => {
        if (step === 7 && !injected) {
          injected = true;
          tr.model.layout.view(tr.model.params, 'head.bias')[0] = Number.NaN;
        }
      },
    });
    expect(await go(t, rec)).toBe('steps');
    const rollbacks = rec.events.filter((e) => e.type === 'rollback');
    expect(rollbacks).toEqual([expect.objectContaining({ step: 8, to: 5, lrScale: 0.5, rollbacks: 1 })]);
    expect(t.progress.step).toBe(20);
    expect(t.progress.lrScale).toBe(0.5);
    expect(t.isFinite()).toBe(true);
    const steps = rec.events.filter((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>[];
    // after the rollback, steps 6.. are redone at half the scheduled rate
    const redo = steps.filter((e) => e.step === 6);
    expect(redo.length).toBe(2);
    expect(redo[1].lr).toBeCloseTo(redo[0].lr / 2, 12);
    for (const bytes of Object.values(rec.files)) decodeCheckpoint(bytes, 'ok'); // loadable, finite
  });

  it('a NaN found at evaluation is never saved', async () => {
    let t!: Trainer;
    let injected = false;
    t = fresh({ ...RUN, steps: 12 });
    const rec = recorder({
      trainer: () => t,
      onStep: (tr, step) => {
        if (step === 10 && !injected) {
          injected = true;
          tr.model.params[0] = Number.POSITIVE_INFINITY; // step 10 is an eval step: the eval must notice
        }
      },
    });
    await go(t, rec);
    const kinds = rec.events.map((e) => e.type);
    expect(rec.events.filter((e) => e.type === 'rollback')).toEqual([expect.objectContaining({ step: 10, to: 5 })]);
    // no eval event and no save between the injection and the rollback; step 10 is redone and saved clean
    const at = kinds.indexOf('rollback');
    expect(kinds[at - 1]).toBe('step');
    expect(rec.saves.map((s) => s.step)).toEqual([5, 5, 10, 10, 12, 12]);
    for (const bytes of Object.values(rec.files)) decodeCheckpoint(bytes, 'ok');
    expect(t.progress.step).toBe(12);
  });

  it(`keeps diverging: stops with a TrainingError after ${MAX_ROLLBACKS} rollbacks, the last checkpoint intact`, async () => {
    let t!: Trainer;
    t = fresh({ ...RUN, steps: 40 });
    const rec = recorder({
      trainer: () => t,
      onStep: (tr, step) => {
        if (step === 7) tr.model.layout.view(tr.model.params, 'head.bias')[0] = Number.NaN;
      },
    });
    await expect(go(t, rec)).rejects.toThrow(TrainingError);
    expect(rec.events.filter((e) => e.type === 'rollback').map((e) => e.type === 'rollback' && e.lrScale)).toEqual([0.5, 0.25, 0.125]);
    const last = decodeCheckpoint(rec.files.last, 'last');
    expect(last.progress!.step).toBe(5);
  });
});

describe('blow-up (finite, but far above the best validation loss)', () => {
  /** Makes the head's biases large: every loss finite, the validation loss many nats above the best. */
  const blowUp = (tr: Trainer) => {
    const bias = tr.model.layout.view(tr.model.params, 'head.bias');
    for (let i = 0; i < bias.length; i++) bias[i] = i % 2 ? 40 : -40;
  };

  it('the margin: the JavaScript run that jumped from 1.42 to 1.98 is one; overfitting from 1.518 to 1.641 is not', () => {
    expect(blownUp(1.98, 1.42)).toBe(true);
    expect(blownUp(1.641, 1.518)).toBe(false);
    expect(blownUp(0.2, 0.05)).toBe(true);
    expect(blownUp(0.12, 0.05)).toBe(false);
  });

  it('a smaller rise is one when the training loss rose with it: tinyshakespeare 1.536 (train 1.509) to 1.772 (train 1.750)', () => {
    expect(blownUp(1.772, 1.536)).toBe(false); // under the wide margin alone (2.020)
    expect(blownUp(1.772, 1.536, 1.750, 1.509)).toBe(true);
    // the evaluation before the blow-up of the other run: 1.601 (train 1.585) against 1.538 (train 1.511)
    expect(blownUp(1.601, 1.538, 1.585, 1.511)).toBe(false);
    // overfitting: the validation loss climbs while the training loss falls
    expect(blownUp(1.772, 1.536, 1.2, 1.509)).toBe(false);
    // the training loss a little up (noise, another part of the text), the validation loss too
    expect(blownUp(1.70, 1.541, 1.45, 1.35)).toBe(false); // val under 1.541 × 1.1 + 0.05
    expect(blownUp(1.80, 1.541, 1.45, 1.35)).toBe(false); // train under 1.35 × 1.1
    // no training loss at the best evaluation (merged away in a long history): the wide margin only
    expect(blownUp(1.772, 1.536, 1.750)).toBe(false);
  });

  it('rolls back on a moderate rise of the validation loss only when the training loss rose too', async () => {
    const run = async (trainAfter: number) => {
      let t!: Trainer;
      t = fresh({ ...RUN, dropout: 0, evalEvery: 2, steps: 8 });
      const vals = [3, 2, 2.3, 2.0, 1.9]; // 2.3: above 2 × 1.1 + 0.05, under 2 × 1.25 + 0.1
      let i = 0;
      t.evaluate = () => ({ loss: vals[i++]! });
      // the training loss the third evaluation sees: set on the steps before it
      const rec = recorder({
        trainer: () => t,
        onStep: (tr, step) => {
          if (step === 5 || step === 6) tr.progress.lossSum = trainAfter * tr.progress.lossCount;
        },
      });
      expect(await go(t, rec)).toBe('steps');
      return rec;
    };
    const trainAtBest = (rec: Recorder) => (rec.events.filter((e) => e.type === 'eval')[1] as Extract<TrainEvent, { type: 'eval' }>).train;
    const up = await run(50);
    expect(up.events.filter((e) => e.type === 'rollback')).toEqual([expect.objectContaining({ step: 6, to: 4, loss: 2.3, cause: 'blowup' })]);
    expect(trainAtBest(up)).toBeLessThan(50 / 1.1);
    const down = await run(0.01);
    expect(down.events.filter((e) => e.type === 'rollback')).toEqual([]);
    expect(down.events.filter((e) => e.type === 'eval').map((e) => e.type === 'eval' && e.val)).toEqual([3, 2, 2.3, 2.0]);
  });

  it('rolls back to the last save with half the rate at the evaluation that finds it, never saving it', async () => {
    let t!: Trainer;
    let injected = false;
    t = fresh({ ...RUN, dropout: 0, steps: 20 });
    const rec = recorder({
      trainer: () => t,
      onStep: (tr, step) => {
        if (step === 12 && !injected) {
          injected = true;
          blowUp(tr);
        }
      },
    });
    expect(await go(t, rec)).toBe('steps');
    const rollbacks = rec.events.filter((e) => e.type === 'rollback');
    expect(rollbacks).toEqual([expect.objectContaining({ step: 15, to: 10, lrScale: 0.5, rollbacks: 1, cause: 'blowup' })]);
    const rb = rollbacks[0] as Extract<TrainEvent, { type: 'rollback' }>;
    expect(rb.loss).toBeGreaterThan(5);
    // steps 11-15 are redone, and no evaluation event or save carries the blown-up step 15
    expect(rec.saves.map((s) => `${s.kind} ${s.step}`)).toEqual(['best 5', 'last 5', 'best 10', 'last 10', 'best 15', 'last 15', 'best 20', 'last 20']);
    const evals = rec.events.filter((e) => e.type === 'eval') as Extract<TrainEvent, { type: 'eval' }>[];
    expect(evals.map((e) => e.step)).toEqual([5, 10, 15, 20]);
    for (const e of evals) expect(e.val!).toBeLessThan(5);
    expect(t.progress.lrScale).toBe(0.5);
  });

  it(`after ${MAX_ROLLBACKS} rollbacks it goes on without one (no error): the best checkpoint stays the one before`, async () => {
    let t!: Trainer;
    t = fresh({ ...RUN, dropout: 0, steps: 20 });
    const rec = recorder({ trainer: () => t, onStep: (tr, step) => step === 12 && blowUp(tr) });
    expect(await go(t, rec)).toBe('steps');
    const causes = rec.events.filter((e) => e.type === 'rollback').map((e) => e.type === 'rollback' && e.cause);
    expect(causes).toEqual(['blowup', 'blowup', 'blowup']);
    expect(decodeCheckpoint(rec.files.best, 'best').progress!.step).toBeLessThanOrEqual(10);
    expect(t.progress.step).toBe(20);
  });
});

describe('time budget', () => {
  it('with only --time, cosine decays over the clock, whatever the step rate does', async () => {
    let clock = 0;
    let t!: Trainer;
    t = fresh({ ...RUN, dropout: 0, warmup: 5, timeMs: 6000, evalEvery: 10 });
    // the first 20 steps take 50 ms each of the fake clock, the rest 250 ms (the machine got busy)
    const rec = recorder({ trainer: () => t, onStep: () => {}, now: () => clock });
    const step = t.tryStep.bind(t);
    t.tryStep = () => {
      clock += t.progress.step < 20 ? 50 : 250;
      return step();
    };
    expect(await go(t, rec)).toBe('time');
    expect(t.progress.step).toBe(20 + 20);
    const steps = rec.events.filter((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>[];
    expect(steps[4].lr).toBeCloseTo(RUN.lr * (0.55 + 0.45 * Math.cos(Math.PI * 200 / 6000)), 6);
    // each step's lr is the cosine at the share of the clock used before it
    for (const e of steps.slice(5)) {
      const before = e.elapsedMs - (e.step <= 20 ? 50 : 250);
      expect(e.lr).toBeCloseTo(RUN.lr * (0.55 + 0.45 * Math.cos(Math.PI * Math.min(1, before / 6000))), 6);
    }
    expect(steps.at(-1)!.lr).toBeLessThan(0.11 * RUN.lr);
  });

  it('with only --time and evalTimes, validates by the clock: about evalTimes times, never beyond its share of the time', async () => {
    let clock = 0;
    let t!: Trainer;
    t = fresh({ ...RUN, dropout: 0, timeMs: 10_000, evalEvery: 3, evalTimes: 5 });
    const rec = recorder({ trainer: () => t, onStep: () => {}, now: () => clock });
    const step = t.tryStep.bind(t);
    t.tryStep = () => {
      clock += 100;
      return step();
    };
    expect(await go(t, rec)).toBe('time');
    const evalSteps = rec.events.filter((e) => e.type === 'eval').map((e) => (e as { step: number }).step);
    // every 2 s of the clock = 20 steps (not every 3 steps), and a last one at the end
    expect(evalSteps).toEqual([20, 40, 60, 80, 100]);

    // an evaluation that takes 0.5 s may come only every 12.5 s (4%): after the first, only the last
    clock = 0;
    t = fresh({ ...RUN, dropout: 0, timeMs: 10_000, evalEvery: 3, evalTimes: 5 });
    const slow = recorder({ trainer: () => t, onStep: () => {}, now: () => clock });
    const step2 = t.tryStep.bind(t);
    t.tryStep = () => {
      clock += 100;
      return step2();
    };
    const evaluate = t.evaluate.bind(t);
    t.evaluate = () => {
      clock += 500;
      return evaluate();
    };
    expect(await go(t, slow)).toBe('time');
    expect(slow.events.filter((e) => e.type === 'eval').map((e) => (e as { step: number }).step)).toEqual([20, 95]);
  });
});
