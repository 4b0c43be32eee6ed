// `rnn train <file|dir|->`: parse, validate into a TrainConfig, run the library's
// trainer, render its events (a bar on a terminal, one plain line per evaluation
// otherwise, JSON lines on stdout with --json).
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { readCheckpoint, restoreTrainer, saveTrainerCheckpoint, modelFromCheckpoint } from '../checkpoint/store.js';
import { createKernels } from '../kernels/index.js';
import { CELL_KINDS, type CellKind } from '../nn/layer.js';
import { OPTIMIZERS, type OptimName } from '../nn/optim.js';
import { decodeCorpus, readCorpusPath } from '../text/corpus.js';
import { Vocab } from '../text/vocab.js';
import { evalPlan } from '../train/evaluate.js';
import { SCHEDULES, type ScheduleName } from '../train/schedule.js';
import { Trainer, type TrainConfig, type TrainEvent } from '../train/trainer.js';
import { EXIT, UsageError, CorpusError } from '../util/errors.js';
import { backendOption, jsonOption, noColorOption, quietOption, readStdin, stdoutClosed, threadsOption, type BackendFlags } from './common.js';
import { choiceOption, durationOption, floatOption, formatDuration, intOption } from './options.js';
import { createProgress } from './ui/progress.js';
import { withSpinner } from './ui/spinner.js';
import { termInfo } from './ui/term.js';

interface TrainFlags extends BackendFlags {
  cell: CellKind;
  layers: number;
  hidden: number;
  embed: number;
  batch: number;
  seq: number;
  lr: number;
  clip: number;
  optim: OptimName;
  schedule: ScheduleName;
  warmup: number;
  decay: number;
  decayEvery: number;
  dropout: number;
  steps?: number;
  epochs?: number;
  time?: number;
  seed: number;
  out: string;
  valFrac: number;
  evalEvery: number;
  evalWindows?: number;
  patience: number;
  resume?: string;
  json: boolean;
  jsonEvery: number;
  quiet: boolean;
  color: boolean;
}

/** Validation windows scored per evaluation when --eval-windows is not given and the split is larger. */
export const AUTO_EVAL_WINDOWS = 100;

/** Flags that shape the model or the optimisation: a resumed run keeps its saved values. */
const RUN_FLAGS = [
  'cell', 'layers', 'hidden', 'embed', 'batch', 'seq', 'lr', 'clip', 'optim', 'schedule', 'warmup', 'decay',
  'decayEvery', 'dropout', 'seed', 'valFrac',
] as const;
/** Flags a resumed run may change: they decide when to evaluate and stop, not the updates. */
const RESUME_FLAGS = ['evalEvery', 'evalWindows', 'patience'] as const;

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model on a text file, a folder of text files, or - (stdin)')
    .argument('<corpus>', 'text file, folder (its text files in sorted order), or - for stdin')
    .addOption(new Option('--cell <kind>', 'cell: rnn, rnn-relu, gru (classic), gru-min, gru-torch (PyTorch variant), lstm, lstm-peep').default('lstm').argParser(choiceOption('--cell', CELL_KINDS)))
    .addOption(new Option('--layers <n>', 'stacked recurrent layers').default(2).argParser(intOption('--layers', 1, 64)))
    .addOption(new Option('--hidden <n>', 'hidden units per layer (H)').default(128).argParser(intOption('--hidden', 1, 8192)))
    .addOption(new Option('--embed <n>', 'embedding size (E)').default(64).argParser(intOption('--embed', 1, 8192)))
    .addOption(new Option('--batch <n>', 'streams per step (B)').default(50).argParser(intOption('--batch', 1, 4096)))
    .addOption(new Option('--seq <n>', 'time steps per window (T)').default(50).argParser(intOption('--seq', 1, 10000)))
    .addOption(new Option('--lr <x>', 'learning rate').default(2e-3).argParser(floatOption('--lr', 0, 10, { minExclusive: true })))
    .addOption(new Option('--clip <x>', 'clip the global gradient norm to this (0: off)').default(5).argParser(floatOption('--clip', 0, Infinity)))
    .addOption(new Option('--optim <name>', 'optimizer: adam, rmsprop, sgd').default('adam').argParser(choiceOption('--optim', OPTIMIZERS)))
    .addOption(new Option('--schedule <name>', 'learning-rate schedule: cosine (warm-up, then down to lr/10), step, constant').default('cosine').argParser(choiceOption('--schedule', SCHEDULES)))
    .addOption(new Option('--warmup <n>', 'warm-up steps of the cosine schedule').default(100).argParser(intOption('--warmup', 0)))
    .addOption(new Option('--decay <x>', 'step schedule: multiply lr by this every --decay-every steps').default(0.97).argParser(floatOption('--decay', 0, 1, { minExclusive: true })))
    .addOption(new Option('--decay-every <n>', 'step schedule: steps between decays').default(1000).argParser(intOption('--decay-every', 1)))
    .addOption(new Option('--dropout <p>', 'dropout between layers and before the output layer (0: off)').default(0).argParser(floatOption('--dropout', 0, 0.9)))
    .addOption(new Option('--steps <n>', 'stop after this many steps (in total, counting a resumed run\'s earlier steps)').argParser(intOption('--steps', 1)))
    .addOption(new Option('--epochs <n>', 'stop after this many passes over the text (default 10 when no --steps or --time)').argParser(floatOption('--epochs', 0, 1e6, { minExclusive: true })))
    .addOption(new Option('--time <duration>', 'stop after this much training time in total, e.g. 90s, 15m, 2h').argParser(durationOption('--time')))
    .addOption(new Option('--seed <n>', 'random seed (same seed, same run)').default(1).argParser(intOption('--seed', 0, 2 ** 32 - 1)))
    .addOption(new Option('--out <dir>', 'checkpoint folder (default checkpoints/, or the resumed checkpoint\'s folder)').default('checkpoints'))
    .addOption(new Option('--val-frac <x>', 'fraction of the text (its tail) held out for validation').default(0.05).argParser(floatOption('--val-frac', 0, 0.5)))
    .addOption(new Option('--eval-every <n>', 'validate and save every n steps (0: only at the end)').default(200).argParser(intOption('--eval-every', 0)))
    .addOption(new Option('--eval-windows <n>', `validation windows (batch × seq chars each) scored per evaluation (0: the whole split; default: the whole split up to ${AUTO_EVAL_WINDOWS})`).argParser(intOption('--eval-windows', 0)))
    .addOption(new Option('--patience <n>', 'stop after n evaluations without improvement (0: never)').default(0).argParser(intOption('--patience', 0)))
    .addOption(new Option('--resume <checkpoint>', 'continue the run saved in this checkpoint exactly where it stopped'))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addOption(jsonOption('write one JSON object per event to stdout (see README: Training)'))
    .addOption(new Option('--json-every <n>', 'with --json, write every n-th step event').default(10).argParser(intOption('--json-every', 1)))
    .addOption(quietOption())
    .addOption(noColorOption())
    .action(async (corpus: string, flags: TrainFlags, cmd: Command) => {
      const explicit = (name: string) => cmd.getOptionValueSource(name) === 'cli';
      process.exitCode = await runTrain(corpus, flags, explicit);
    });
}

function configFromFlags(f: TrainFlags, textLength: number): TrainConfig {
  const noLimit = f.steps === undefined && f.epochs === undefined && f.time === undefined;
  let evalWindows = f.evalWindows;
  if (evalWindows === undefined) {
    const plan = evalPlan(Math.floor(textLength * f.valFrac), f.batch, f.seq);
    evalWindows = plan && plan.allWindows > AUTO_EVAL_WINDOWS ? AUTO_EVAL_WINDOWS : 0;
  }
  return {
    cell: f.cell, layers: f.layers, hidden: f.hidden, embed: f.embed, batch: f.batch, seq: f.seq, lr: f.lr,
    clip: f.clip, optim: f.optim, schedule: f.schedule, warmup: f.warmup, decay: f.decay, decayEvery: f.decayEvery,
    dropout: f.dropout, steps: f.steps ?? 0, epochs: f.epochs ?? (noLimit ? 10 : 0), timeMs: f.time ?? 0, seed: f.seed,
    valFrac: f.valFrac, evalEvery: f.evalEvery, evalWindows, patience: f.patience,
  };
}

function runName(corpus: string): string {
  const stem = corpus === '-' ? 'stdin' : basename(resolve(corpus)).replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_') || 'corpus';
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  return `${stem}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** The run a checkpoint file belongs to: its name without -best/-last and the extension. */
export function runOfCheckpoint(file: string): string {
  return basename(file).replace(/\.safetensors$/, '').replace(/-(best|last)$/, '') || 'run';
}

const n = (x: number) => x.toLocaleString('en-US');
const bpc = (nats: number) => nats / Math.LN2;
const loss = (nats: number | null) => (nats === null || !Number.isFinite(nats) ? 'n/a' : `${nats.toFixed(3)} (${bpc(nats).toFixed(2)} bpc)`);

async function runTrain(corpus: string, flags: TrainFlags, explicit: (name: string) => boolean): Promise<number> {
  const term = termInfo({ color: flags.color });
  const c = term.color;
  const say = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${line}\n`);
  };
  // a reader that goes away (`rnn train x --json | head`) stops the run like Ctrl-C, but
  // quietly and with status 0 (1 if the write failed otherwise): the step finishes and
  // the checkpoint is saved
  const json = (obj: object) => {
    if (flags.json && !stdoutClosed()) process.stdout.write(`${JSON.stringify(obj)}\n`);
  };

  // 1. the text, and the run: fresh, or resumed from a checkpoint
  const kernels = createKernels({ backend: flags.backend, threads: flags.threads });
  const { trainer, config } = await withSpinner(term, !flags.quiet, 'reading the corpus…', async () => {
    let text: string;
    if (corpus === '-') {
      text = decodeCorpus(await readStdin('the corpus', 'pipe text in, e.g. cat book.txt | rnn train -'), 'stdin');
    } else {
      text = (await readCorpusPath(corpus)).text;
    }
    if (flags.resume) {
      const ckpt = await readCheckpoint(flags.resume);
      if (!ckpt.train) throw new UsageError(`${flags.resume} holds weights only and cannot be resumed; start a new run instead`);
      // limits given now replace the saved ones; they count the whole run, earlier sessions included
      const newLimit = flags.steps !== undefined || flags.epochs !== undefined || flags.time !== undefined;
      const config: TrainConfig = newLimit
        ? { ...ckpt.train, steps: flags.steps ?? 0, epochs: flags.epochs ?? 0, timeMs: flags.time ?? 0 }
        : { ...ckpt.train };
      for (const f of RESUME_FLAGS) if (explicit(f) && flags[f] !== undefined) config[f] = flags[f];
      const { ids, unknown } = ckpt.vocab.encodeLenient(text);
      if (unknown.size > 0) {
        throw new CorpusError(`the text has ${unknown.size} character(s) the checkpoint's vocabulary lacks (e.g. ${JSON.stringify([...unknown.keys()][0])}); resume on the text the run was trained on`);
      }
      const trainer = new Trainer(kernels, ckpt.vocab, ids, config, modelFromCheckpoint(kernels, ckpt));
      restoreTrainer(trainer, ckpt);
      return { trainer, config };
    }
    const vocab = Vocab.fromText(text);
    const ids = vocab.encode(text);
    const config = configFromFlags(flags, ids.length);
    return { trainer: new Trainer(kernels, vocab, ids, config), config };
  });
  const progress = trainer.progress;
  const total = trainer.totalSteps;
  if (flags.resume) {
    const ignored = RUN_FLAGS.filter(explicit).map((f) => `--${f.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`);
    if (ignored.length > 0) say(c.yellow(`note: ${ignored.join(', ')} ignored: a resumed run keeps its saved configuration`));
    if (total > 0 && progress.step >= total) {
      throw new UsageError(`the run in ${flags.resume} has already done ${progress.step} of its ${total} steps; ask for more in total with --steps N`);
    }
    if (total === 0 && config.timeMs > 0 && progress.elapsedMs >= config.timeMs) {
      throw new UsageError(`the run in ${flags.resume} has already used its ${formatDuration(config.timeMs)} budget; ask for more in total with --time, e.g. --time ${formatDuration(progress.elapsedMs + 15 * 60_000)}`);
    }
  }

  // 2. where checkpoints go: one file pair per run, so concurrent runs never collide; a
  // resumed run keeps writing its own pair
  const out = resolve(flags.resume && !explicit('out') ? dirname(flags.resume) : flags.out);
  try {
    await mkdir(out, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot create the checkpoint folder ${out} (${(e as NodeJS.ErrnoException).code}); pass --out DIR`);
  }
  const run = flags.resume ? runOfCheckpoint(flags.resume) : runName(corpus);
  const paths = { best: join(out, `${run}-best.safetensors`), last: join(out, `${run}-last.safetensors`) };
  const written = new Set<'best' | 'last'>();

  // 3. Ctrl-C: the first one finishes the step and saves; a second one exits at once
  let interrupts = 0;
  let view = await createProgress(term, { quiet: flags.quiet, label: 'training' });
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) view.log(c.yellow('interrupted: finishing this step and saving (Ctrl-C again to quit at once)'));
    else {
      view.stop();
      process.exit(EXIT.interrupted);
    }
  };
  process.on('SIGINT', onSigint);

  // 4. the header
  const m = trainer.model;
  const corpusName = corpus === '-' ? 'stdin' : corpus;
  say(c.bold(`rnn train: ${corpusName}`) + c.dim(` · ${n(trainer.train.length)} train + ${n(trainer.val.length)} val chars · vocab ${trainer.vocab.size}`));
  say(c.dim(`model: ${m.config.layers}×${m.config.hidden} ${m.config.cell}, embed ${m.config.embed}, ${n(m.parameterCount)} parameters` +
    `${config.dropout > 0 ? `, dropout ${config.dropout}` : ''} · batch ${config.batch} × seq ${config.seq} · ${config.optim} lr ${config.lr}` +
    ` ${config.schedule}${config.schedule === 'cosine' ? ` (warm-up ${trainer.warmupSteps})` : config.schedule === 'step' ? ` (×${config.decay} every ${config.decayEvery})` : ''}` +
    ` · clip ${config.clip} · ${kernels.name}`));
  const limits = [
    total > 0 ? `${n(total)} steps${config.epochs > 0 ? ` (${config.epochs} epochs)` : ''}` : '',
    config.timeMs > 0 ? `${formatDuration(config.timeMs)}${total === 0 && config.schedule === 'cosine' ? ' (cosine over the steps estimated to fit)' : ''}` : '',
    config.patience > 0 ? `${config.patience} evals without improvement` : '',
  ].filter(Boolean).join(' or ');
  const scored = trainer.valCharsScored;
  const valNote = trainer.val.length === 0 ? 'no validation text (--val-frac 0): the training loss decides "best"'
    : `eval every ${config.evalEvery || 'end'}${config.evalEvery ? ' steps' : ''} on ${scored < trainer.val.length - config.batch * config.seq ? `the first ${n(scored)} of ${n(trainer.val.length)}` : `all ${n(scored)}`} val chars`;
  say(c.dim(`until: ${limits || 'stopped'} · ${valNote}`));
  say(c.dim(`checkpoints: ${join(out, `${run}-{best,last}.safetensors`)}`));
  if (flags.resume && /-best\.safetensors$/.test(flags.resume)) {
    say(c.yellow(`note: resuming from the run's best checkpoint; ${basename(paths.last)} will be overwritten from step ${progress.step} on`));
  }
  if (flags.resume) say(c.dim(`resuming at step ${progress.step}${progress.bestVal !== null ? `, best val ${loss(progress.bestVal)} at step ${progress.bestStep}` : ''}`));
  const ratio = m.parameterCount / Math.max(1, trainer.train.length);
  if (!flags.resume) {
    if (ratio > 10) say(c.yellow(`note: ${n(m.parameterCount)} parameters for ${n(trainer.train.length)} characters; the model will likely memorise the text (try a smaller --hidden, --dropout 0.2-0.5, or more text)`));
    else if (ratio < 0.01) say(c.yellow(`note: only ${n(m.parameterCount)} parameters for ${n(trainer.train.length)} characters; a larger --hidden or --layers would likely do better`));
  }

  // 5. the events
  let smooth: number | null = null;
  let lastVal: number | null = null;
  let lastStep: Extract<TrainEvent, { type: 'step' }> | null = null;
  const eta = (e: Extract<TrainEvent, { type: 'step' }>): string => {
    let ms = 0;
    if (config.timeMs > 0) ms = config.timeMs - e.elapsedMs;
    if (total > 0) {
      const stepsPerMs = e.charsPerSec / (config.batch * config.seq) / 1000;
      const byStep = stepsPerMs > 0 ? (total - e.step) / stepsPerMs : Infinity;
      ms = ms > 0 ? Math.min(ms, byStep) : byStep;
    }
    return Number.isFinite(ms) && ms > 0 ? formatDuration(ms) : '?';
  };
  const onEvent = (e: TrainEvent) => {
    switch (e.type) {
      case 'start':
        json({ ...e, run, config, checkpoints: paths, resumed: Boolean(flags.resume) });
        break;
      case 'step': {
        if (e.step % flags.jsonEvery === 0 || e.step === total) json(e);
        smooth = smooth === null ? e.loss : 0.98 * smooth + 0.02 * e.loss;
        lastStep = e;
        const timeBar = total === 0 && config.timeMs > 0;
        view.update({
          value: timeBar ? e.elapsedMs / 1000 : e.step,
          total: timeBar ? Math.round(config.timeMs / 1000) : total,
          info: `step ${n(e.step)} · loss ${loss(smooth)} · val ${loss(lastVal)} · ${n(Math.round(e.charsPerSec))} chars/s · ETA ${eta(e)}`,
        });
        break;
      }
      case 'eval': {
        json(e);
        lastVal = e.val;
        const of = total > 0 ? `/${n(total)}` : '';
        const speed = lastStep ? ` · ${n(Math.round(lastStep.charsPerSec))} chars/s` : '';
        view.log(`step ${n(e.step)}${of}: train ${loss(e.train)} · val ${loss(e.val)} nats/char${e.best ? c.green(' best') : ''}${speed} · ${formatDuration(e.elapsedMs)}`);
        break;
      }
      case 'checkpoint':
        json(e);
        written.add(e.kind);
        break;
      case 'rollback':
        json(e);
        view.log(c.yellow(`step ${n(e.step)}: loss ${e.loss}, gradient norm ${e.gradNorm}: rolled back to step ${n(e.to)} with the learning rate ×${e.lrScale} (${e.rollbacks} of 3)`));
        break;
      case 'end': {
        json(e);
        view.stop();
        const best = e.bestVal === null ? 'n/a' : `${loss(e.bestVal)} nats/char at step ${n(e.bestStep)}`;
        const why = stdoutClosed() && interrupts === 0 ? 'stdout closed'
          : { steps: 'step limit', epochs: 'epoch limit', time: 'time budget', patience: 'no improvement', interrupted: 'interrupted' }[e.reason];
        say(`${e.reason === 'interrupted' ? c.yellow('stopped') : c.green('done')} (${why}) at step ${n(e.step)} after ${formatDuration(e.elapsedMs)}` +
          ` · best val ${best}`);
        if (written.has('best') || flags.resume) say(`best: ${paths.best}`);
        say(`last: ${paths.last}`);
        if (e.reason === 'interrupted') say(c.dim(`resume with: rnn train ${corpus} --resume ${paths.last}`));
        say(c.dim(`sample with: rnn sample --checkpoint ${written.has('best') || flags.resume ? paths.best : paths.last}`));
        break;
      }
    }
  };

  try {
    const reason = await trainer.run({
      onEvent,
      save: async (t, kind) => {
        await saveTrainerCheckpoint(t, paths[kind]);
        return paths[kind];
      },
      stopRequested: () => interrupts > 0 || stdoutClosed(),
    });
    return reason === 'interrupted' && interrupts > 0 ? EXIT.interrupted : EXIT.ok;
  } finally {
    view.stop();
    view = await createProgress(term, { quiet: true, label: '' });
    process.off('SIGINT', onSigint);
  }
}
