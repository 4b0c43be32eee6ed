// `rnn train <file|dir|->`: parse, validate into a TrainConfig, run the library's
// trainer, render its events (a bar on a terminal, one plain line per evaluation
// otherwise, JSON lines on stdout with --json).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { FolderError, prepareFolder, removeStaleTemporaries } from '../checkpoint/folder.js';
import { readCheckpoint, saveCheckpoint } from '../checkpoint/store.js';
import { createKernels, describeKernels } from '../kernels/index.js';
import { CELL_KINDS } from '../nn/layer.js';
import { OPTIMIZERS } from '../nn/optim.js';
import { ATTENTION_MODES } from '../nn/seq2seq.js';
import { POOL_KINDS } from '../nn/classifier.js';
import { CLASSIFY_DEFAULTS } from '../tasks/classify.js';
import { COND_DEFAULTS } from '../tasks/cond.js';
import { AUTO_EVAL_WINDOWS } from '../tasks/lm.js';
import { TASK_NAMES } from '../tasks/registry.js';
import { TRAIN_DEFAULTS as D, TRAIN_LIMITS as L, type TrainConfig } from '../train/config.js';
import { COMMON_TRAIN_FLAGS, flagName, prepareRun, type TrainOptions } from '../train/run.js';
import { SCHEDULES } from '../train/schedule.js';
import type { TrainEvent } from '../train/trainer.js';
import { EXIT, UsageError } from '../util/errors.js';
import { backendOption, jsonOption, noColorOption, plural, quietOption, readStdin, stdoutClosed, stdoutFailed, threadsOption, type BackendFlags } from './common.js';
import { describeAverage, averages } from '../train/average.js';
import { EMA_MAX } from '../train/config.js';
import { choiceOption, durationOption, emaOption, floatOption, formatDuration, intOption, limitOption } from './options.js';
import { createProgress } from './ui/progress.js';
import { withSpinner } from './ui/spinner.js';
import { termInfo } from './ui/term.js';

/** The run options as commander parses them: TrainConfig's fields (the limits optional, --time for timeMs). */
type RunFlags = Omit<TrainConfig, 'task' | 'taskOptions' | 'evalTimes' | 'timeMs' | 'steps' | 'epochs' | 'evalWindows' | 'emaHalfLife'>
  & Partial<Pick<TrainConfig, 'steps' | 'epochs' | 'evalWindows'>> & { time?: number };

interface TrainFlags extends BackendFlags, RunFlags {
  task?: string;
  bidirectional?: boolean;
  pool?: string;
  maxLen?: number;
  condition?: boolean;
  tagEmbed?: number;
  tagDropout?: number;
  attention?: string;
  out: string;
  resume?: string;
  fineTune?: boolean;
  json: boolean;
  jsonEvery: number;
  quiet: boolean;
  color: boolean;
}

/** The flags that are run options (TrainConfig fields), by their commander names; the rest steer the command. */
const RUN_OPTIONS = [...COMMON_TRAIN_FLAGS, 'seq', 'evalWindows', 'embedDropout', 'recurrentDropout'].map((f) => (f === 'timeMs' ? 'time' : f)) as (keyof RunFlags)[];
/** Flags that are options of one task (config.taskOptions), by their commander names; each task says which it takes. */
const TASK_OPTIONS = ['bidirectional', 'pool', 'maxLen', 'attention', 'tagEmbed', 'tagDropout'] as const;

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model on a text file, a folder of text files, or - (stdin)')
    .argument('[corpus]', 'text file, folder (its text files in sorted order), or - for stdin (with --resume: default the run\'s recorded text)')
    .addOption(new Option('--task <name>', `what to train: ${TASK_NAMES.join(', ')} (default lm, or the resumed checkpoint's)`).argParser(choiceOption('--task', TASK_NAMES)))
    .addOption(new Option('--bidirectional', 'classifier, seq2seq: read each example (the source) both ways, a forward and a backward RNN per layer (seq2seq: a 2H → H bridge starts the decoder)'))
    .addOption(new Option('--pool <kind>', `classifier: the sequence representation: last (states after reading it all), mean or max over time (default ${CLASSIFY_DEFAULTS.pool})`).argParser(choiceOption('--pool', POOL_KINDS)))
    .addOption(new Option('--max-len <n>', `classifier: cut examples to their first n characters (default ${CLASSIFY_DEFAULTS.maxLen})`).argParser(intOption('--max-len', 1, 100_000)))
    .addOption(new Option('--condition', 'train a conditioned language model on labelled text (tag<TAB>text lines, a folder with a file or a folder per tag): the same as --task cond'))
    .addOption(new Option('--tag-embed <n>', `conditioned model: width of the tag embedding (default ${COND_DEFAULTS.tagEmbed})`).argParser(intOption('--tag-embed', 1, 4096)))
    .addOption(new Option('--tag-dropout <p>', `conditioned model: share of training windows read untagged, so --tag none works (default ${COND_DEFAULTS.tagDropout})`).argParser(floatOption('--tag-dropout', 0, 0.99)))
    .addOption(new Option('--cell <kind>', 'cell: rnn, rnn-relu, gru (classic), gru-min, gru-torch (PyTorch variant), lstm, lstm-peep').default(D.cell).argParser(choiceOption('--cell', CELL_KINDS)))
    .addOption(new Option('--layers <n>', 'stacked recurrent layers').default(D.layers).argParser(limitOption('--layers', L.layers)))
    .addOption(new Option('--hidden <n>', 'hidden units per layer (H)').default(D.hidden).argParser(limitOption('--hidden', L.hidden)))
    .addOption(new Option('--embed <n>', 'embedding size (E)').default(D.embed).argParser(limitOption('--embed', L.embed)))
    .addOption(new Option('--batch <n>', 'streams per step (B; a classifier: examples per step)').default(D.batch).argParser(limitOption('--batch', L.batch)))
    .addOption(new Option('--seq <n>', 'time steps per window (T; language model)').default(D.seq).argParser(limitOption('--seq', L.seq)))
    .addOption(new Option('--lr <x>', 'learning rate').default(D.lr).argParser(limitOption('--lr', L.lr)))
    .addOption(new Option('--clip <x>', 'clip the global gradient norm to this (0: off)').default(D.clip).argParser(limitOption('--clip', L.clip)))
    .addOption(new Option('--optim <name>', 'optimizer: adam, rmsprop, sgd').default(D.optim).argParser(choiceOption('--optim', OPTIMIZERS)))
    .addOption(new Option('--schedule <name>', 'learning-rate schedule: cosine (warm-up, then down to lr/10), step, constant').default(D.schedule).argParser(choiceOption('--schedule', SCHEDULES)))
    .addOption(new Option('--warmup <n>', 'warm-up steps of the cosine schedule').default(D.warmup).argParser(limitOption('--warmup', L.warmup)))
    .addOption(new Option('--decay <x>', 'step schedule: multiply lr by this every --decay-every steps').default(D.decay).argParser(limitOption('--decay', L.decay)))
    .addOption(new Option('--decay-every <n>', 'step schedule: steps between decays').default(D.decayEvery).argParser(limitOption('--decay-every', L.decayEvery)))
    .addOption(new Option('--dropout <p>', 'dropout between layers and before the output layer (0: off)').default(D.dropout).argParser(limitOption('--dropout', L.dropout)))
    .addOption(new Option('--embed-dropout <p>', 'language model: dropout on the character embedding, the first layer\'s input (0: off)').default(D.embedDropout).argParser(limitOption('--embed-dropout', L.embedDropout)))
    .addOption(new Option('--recurrent-dropout <p>', 'language model: variational dropout on each layer\'s recurrent input h(t-1), one mask per window for all its steps (0: off)').default(D.recurrentDropout).argParser(limitOption('--recurrent-dropout', L.recurrentDropout)))
    .addOption(new Option('--weight-decay <x>', 'decoupled weight decay (AdamW; --optim adam): every weight shrinks by lr × this per step (0: off)').default(D.weightDecay).argParser(limitOption('--weight-decay', L.weightDecay)))
    .addOption(new Option('--ema <decay|off>', 'keep a moving average of the weights with this decay per step, scored beside them at every evaluation; the better is kept (off: none; default: a half-life of a share of the run for a sized run, none otherwise)').argParser(emaOption('--ema', EMA_MAX)))
    .addOption(new Option('--steps <n>', 'stop after this many steps (in total, counting a resumed run\'s earlier steps)').argParser(intOption('--steps', 1)))
    .addOption(new Option('--epochs <n>', `stop after this many passes over the text (default ${D.epochs} when no --steps or --time)`).argParser(floatOption('--epochs', 0, 1e6, { minExclusive: true })))
    .addOption(new Option('--time <duration>', 'stop after this much training time in total, e.g. 90s, 15m, 2h').argParser(durationOption('--time')))
    .addOption(new Option('--seed <n>', 'random seed (same seed, same run)').default(D.seed).argParser(limitOption('--seed', L.seed)))
    .addOption(new Option('--out <dir>', 'checkpoint folder (default checkpoints/, or the resumed checkpoint\'s folder)').default('checkpoints'))
    .addOption(new Option('--val-frac <x>', 'fraction of the text (its tail) held out for validation').default(D.valFrac).argParser(limitOption('--val-frac', L.valFrac)))
    .addOption(new Option('--eval-every <n>', 'validate and save every n steps (0: only at the end)').default(D.evalEvery).argParser(limitOption('--eval-every', L.evalEvery)))
    .addOption(new Option('--eval-windows <n>', `validation windows (batch × seq chars each) scored per evaluation (0: the whole split; default: the whole split up to ${AUTO_EVAL_WINDOWS})`).argParser(limitOption('--eval-windows', L.evalWindows)))
    .addOption(new Option('--patience <n>', 'stop after n evaluations without improvement (0: never)').default(D.patience).argParser(limitOption('--patience', L.patience)))
    .addOption(new Option('--attention <kind>', 'seq2seq: attention over the encoder\'s outputs: none, dot (Luong), additive (Bahdanau) (default dot)').argParser(choiceOption('--attention', ATTENTION_MODES)))
    .addOption(new Option('--resume <checkpoint>', 'continue the run saved in this checkpoint exactly where it stopped (on the text it was trained on: other text is refused)'))
    .addOption(new Option('--fine-tune', 'with --resume: go on training the checkpoint\'s model on other text, as a new run (its own checkpoint pair, a fresh best)'))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addOption(jsonOption('write one JSON object per event to stdout (see README: Training)'))
    .addOption(new Option('--json-every <n>', 'with --json, write every n-th step event').default(10).argParser(intOption('--json-every', 1)))
    .addOption(quietOption())
    .addOption(noColorOption())
    .addHelpText('after', `
Exit status: 0 done, 1 failure (unusable text, diverged), 2 usage error (a bad flag, an
unwritable --out, a model too large for the backend's memory, a resume on other text
without --fine-tune); 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, each after saving -last.`)
    .action(async (corpus: string | undefined, flags: TrainFlags, cmd: Command) => {
      const explicit = (name: string) => cmd.getOptionValueSource(name) === 'cli';
      process.exitCode = await runTrain(corpus, flags, explicit);
    });
}

/** The run options the user gave on the command line (the library applies the defaults). */
function givenOptions(f: TrainFlags, explicit: (name: string) => boolean): TrainOptions {
  const given: Record<string, unknown> = {};
  for (const name of RUN_OPTIONS) {
    if (explicit(name) && f[name] !== undefined) given[name === 'time' ? 'timeMs' : name] = f[name];
  }
  const taskOptions: Record<string, unknown> = {};
  for (const name of TASK_OPTIONS) if (explicit(name) && f[name] !== undefined) taskOptions[name] = f[name];
  if (Object.keys(taskOptions).length > 0) given.taskOptions = taskOptions;
  return given as TrainOptions;
}

/** --task, with --condition as the conditioned model's short form. */
function taskOf(flags: TrainFlags): string | undefined {
  if (!flags.condition) return flags.task;
  if (flags.task !== undefined && flags.task !== 'cond') throw new UsageError(`--condition trains a conditioned model (--task cond), not --task ${flags.task}; give one of them`);
  return 'cond';
}

/** 128 + the signal number, as a shell reports a process stopped by it: 130, 143, 129. */
function signalExit(signal: NodeJS.Signals): number {
  return signal === 'SIGTERM' ? EXIT.terminated : signal === 'SIGHUP' ? EXIT.hangup : EXIT.interrupted;
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

/** " · dropout 0.2 · embed dropout 0.1 · recurrent dropout 0.25", the kinds that are on. */
function describeDropout(config: TrainConfig): string {
  const on: [string, number][] = [['dropout', config.dropout], ['embed dropout', config.embedDropout ?? 0], ['recurrent dropout', config.recurrentDropout ?? 0]];
  return on.filter(([, p]) => p > 0).map(([what, p]) => ` · ${what} ${p}`).join('');
}

const n = (x: number) => x.toLocaleString('en-US');
const bpc = (nats: number) => nats / Math.LN2;
const loss = (nats: number | null) => (nats === null || !Number.isFinite(nats) ? 'n/a' : `${nats.toFixed(3)} (${bpc(nats).toFixed(2)} bpc)`);

async function runTrain(given: string | undefined, flags: TrainFlags, explicit: (name: string) => boolean): Promise<number> {
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

  // where checkpoints go (a resumed run keeps writing next to its checkpoint): refused now
  // if it cannot be written, before the data is read or a model sized
  const out = resolve(flags.resume && !explicit('out') ? dirname(flags.resume) : flags.out);
  const folderProblem = (e: unknown) => (e instanceof FolderError ? new UsageError(`cannot write checkpoints to ${e.message}; pass --out DIR with a folder you can write`) : e);
  await prepareFolder(out, { create: false }).catch((e: unknown) => {
    throw folderProblem(e);
  });

  // 1. the data, and the run: fresh, or resumed from a checkpoint (the library decides how)
  const kernels = createKernels({ backend: flags.backend, threads: flags.threads });
  const prepared = await withSpinner(term, !flags.quiet, 'reading the corpus…', async () => {
    if (given === undefined && !flags.resume) throw new UsageError('give the corpus to train on: rnn train FILE|FOLDER|- (or --resume CHECKPOINT to continue a run on its recorded text)');
    const input = given === undefined ? undefined
      : given === '-' ? { path: '-', stdin: await readStdin('the corpus', 'pipe text in, e.g. cat book.txt | rnn train -') } : { path: given };
    const resume = flags.resume ? await readCheckpoint(flags.resume) : undefined;
    return prepareRun({ kernels, input, task: taskOf(flags), options: givenOptions(flags, explicit), resume, fineTune: flags.fineTune });
  });
  const { trainer, task, session, config, header } = prepared;
  // the text the run reads: the one given, or the one a resumed checkpoint recorded
  const corpus = prepared.input.path;
  for (const note of prepared.notes) say(c.yellow(`note: ${note}`));
  const progress = trainer.progress;
  const total = trainer.totalSteps;
  if (prepared.ignored.length > 0) {
    say(c.yellow(`note: ${prepared.ignored.map(flagName).join(', ')} ignored: a resumed run keeps its saved configuration`));
  }

  // 2. where checkpoints go: one file pair per run, so concurrent runs never collide; a
  // resumed run keeps writing its own pair
  // created now (and checked again), not at the first save after minutes of training
  await prepareFolder(out).catch((e: unknown) => {
    throw folderProblem(e);
  });
  // a fine-tune is a new run: the checkpoints it came from stay as they are
  const run = flags.resume && !prepared.fineTuned ? runOfCheckpoint(flags.resume) : runName(corpus);
  const paths = { best: join(out, `${run}-best.safetensors`), last: join(out, `${run}-last.safetensors`) };
  const written = new Set<'best' | 'last'>();
  const cleaned = await removeStaleTemporaries(out, run);
  if (cleaned > 0) say(c.dim(`removed ${plural(cleaned, 'temporary file')} left in ${out} by an interrupted save`));

  // 3. Ctrl-C, and SIGTERM/SIGHUP (kill, a closed terminal, a job scheduler) the same way:
  // the first one finishes the step and saves -last; a second one exits at once
  let interrupts = 0;
  let stopSignal: NodeJS.Signals | null = null;
  let view = await createProgress(term, { quiet: flags.quiet, label: 'training' });
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    stopSignal ??= signal;
    if (interrupts === 1) {
      const what = signal === 'SIGINT' ? 'interrupted' : `${signal === 'SIGTERM' ? 'terminated' : 'hung up'} (${signal})`;
      view.log(c.yellow(`${what}: finishing this step and saving (${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to quit at once)`));
    } else {
      view.stop();
      process.exit(signalExit(signal));
    }
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);

  // 4. the header: the task's lines (data, model), then the optimisation and the limits
  const corpusName = corpus === '-' ? 'stdin' : corpus;
  say(c.bold(`rnn train: ${corpusName}`) + c.dim(` · ${task.title}`));
  for (const line of session.header()) say(c.dim(line));
  // what the sizing rule chose for this budget and text, and why (the flags given were kept)
  for (const reason of prepared.sizing?.reasons ?? []) say(c.dim(`sized: ${reason}`));
  say(c.dim(`optimizer: ${config.optim} lr ${config.lr}` +
    ` ${config.schedule}${config.schedule === 'cosine' ? ` (warm-up ${trainer.warmupSteps})` : config.schedule === 'step' ? ` (×${config.decay} every ${config.decayEvery})` : ''}` +
    `${config.weightDecay > 0 ? ` · weight decay ${config.weightDecay}` : ''} · clip ${config.clip}${describeDropout(config)} · ${describeKernels(kernels)}`));
  if (averages(config)) say(c.dim(`${describeAverage(config)}: scored beside the trained weights at every evaluation; the better one is kept`));
  const limits = [
    total > 0 ? `${plural(total, 'step')}${config.epochs > 0 ? ` (${plural(config.epochs, 'epoch')})` : ''}` : '',
    config.timeMs > 0 ? `${formatDuration(config.timeMs)}${total === 0 && config.schedule === 'cosine' ? ' (cosine over the clock)' : ''}` : '',
    config.patience > 0 ? `${config.patience} evals without improvement` : '',
  ].filter(Boolean).join(' or ');
  say(c.dim(`until: ${limits || 'stopped'}`));
  say(c.dim(`checkpoints: ${join(out, `${run}-{best,last}.safetensors`)}`));
  if (prepared.fineTuned) say(c.yellow(`fine-tuning: ${basename(flags.resume!)} at step ${progress.step} goes on training on ${corpusName} as a new run; its best starts afresh`));
  if (flags.resume && !prepared.fineTuned && /-best\.safetensors$/.test(flags.resume)) {
    say(c.yellow(`note: resuming from the run's best checkpoint; ${basename(paths.last)} will be overwritten from step ${progress.step} on`));
  }
  const bestText = (m: Record<string, number> | null | undefined, v: number | null) =>
    m ? task.formatMetrics(m) : v === null ? 'n/a' : loss(v);
  if (flags.resume && !prepared.fineTuned) say(c.dim(`resuming at step ${progress.step}${progress.bestVal !== null ? `, best val ${bestText(progress.bestMetrics, progress.bestVal)} at step ${progress.bestStep}` : ''}`));
  if (!flags.resume) for (const note of session.notes()) say(c.yellow(`note: ${note}`));

  // 5. the events (a training loss per character in bpc too; per example in nats only)
  const trainLoss = (x: number | null) => (session.size.unit === 'chars' ? loss(x) : x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(3));
  let smooth: number | null = null;
  let lastVal: string = 'n/a';
  let lastStep: Extract<TrainEvent, { type: 'step' }> | null = null;
  const eta = (e: Extract<TrainEvent, { type: 'step' }>): string => {
    let ms = 0;
    if (config.timeMs > 0) ms = config.timeMs - e.elapsedMs;
    if (total > 0 && e.step > 0) {
      const byStep = ((total - e.step) * e.elapsedMs) / Math.max(1, e.step - startStep);
      ms = ms > 0 ? Math.min(ms, byStep) : byStep;
    }
    return Number.isFinite(ms) && ms > 0 ? formatDuration(ms) : '?';
  };
  const startStep = progress.step;
  const sessionStart = progress.elapsedMs;
  const onEvent = (e: TrainEvent) => {
    switch (e.type) {
      case 'start':
        json({ ...e, run, config, checkpoints: paths, resumed: Boolean(flags.resume), fineTuned: prepared.fineTuned, sizing: prepared.sizing });
        break;
      case 'step': {
        if (e.step % flags.jsonEvery === 0 || e.step === total) json(e);
        smooth = smooth === null ? e.loss : 0.98 * smooth + 0.02 * e.loss;
        lastStep = e;
        const timeBar = total === 0 && config.timeMs > 0;
        view.update({
          value: timeBar ? e.elapsedMs / 1000 : e.step,
          total: timeBar ? Math.round(config.timeMs / 1000) : total,
          info: `step ${n(e.step)} · loss ${trainLoss(smooth)} · val ${lastVal} · ${n(Math.round(e.charsPerSec))} chars/s · ETA ${eta({ ...e, elapsedMs: e.elapsedMs - sessionStart })}`,
        });
        break;
      }
      case 'eval': {
        json(e);
        lastVal = e.metrics ? task.formatMetrics(e.metrics) : 'n/a';
        const of = total > 0 ? `/${n(total)}` : '';
        const speed = lastStep ? ` · ${n(Math.round(lastStep.charsPerSec))} chars/s` : '';
        // a run that averages its weights: which of the two scored, and the other's loss
        const other = e.weights === 'average' ? e.valTrained : e.valAverage;
        const which = e.valAverage === null ? '' : c.dim(` (${e.weights}; ${e.weights === 'average' ? 'trained' : 'average'} ${other === null ? 'n/a' : other.toFixed(3)})`);
        view.log(`step ${n(e.step)}${of}: train ${session.size.unit === 'chars' ? '' : 'loss '}${trainLoss(e.train)} · val ${lastVal}${which}${e.best ? c.green(' best') : ''}${speed} · ${formatDuration(e.elapsedMs)}`);
        break;
      }
      case 'checkpoint':
        json(e);
        written.add(e.kind);
        break;
      case 'rollback':
        json(e);
        view.log(c.yellow(e.cause === 'blowup'
          ? `step ${n(e.step)}: validation loss ${e.loss.toFixed(3)}, far above the best: rolled back to step ${n(e.to)} with the learning rate ×${e.lrScale} (${e.rollbacks} of 3)`
          : `step ${n(e.step)}: loss ${e.loss}, gradient norm ${e.gradNorm}: rolled back to step ${n(e.to)} with the learning rate ×${e.lrScale} (${e.rollbacks} of 3)`));
        break;
      case 'end': {
        json(e);
        view.stop();
        const best = e.bestVal === null ? 'n/a' : `${bestText(e.bestMetrics, e.bestVal)} at step ${n(e.bestStep)}`;
        const why = stdoutFailed() ? 'stdout cannot be written' : stdoutClosed() && interrupts === 0 ? 'stdout closed'
          : { steps: 'step limit', epochs: 'epoch limit', time: 'time budget', patience: 'no improvement', interrupted: stopSignal && stopSignal !== 'SIGINT' ? stopSignal : 'interrupted' }[e.reason];
        say(`${e.reason === 'interrupted' ? c.yellow('stopped') : c.green('done')} (${why}) at step ${n(e.step)} after ${formatDuration(e.elapsedMs)}` +
          ` · best val ${best}`);
        // a resumed run's best may be in another folder, or never written: name only a file that is there
        const hasBest = written.has('best') || existsSync(paths.best);
        if (hasBest) say(`best: ${paths.best}`);
        say(`last: ${paths.last}`);
        if (e.reason === 'interrupted') say(c.dim(`resume with: rnn train --resume ${paths.last}${corpus === '-' ? ' -' : ''}`));
        const use = task.command === 'rnn sample' ? 'sample with: rnn sample --checkpoint' : `use it with: ${task.command} --checkpoint`;
        say(c.dim(`${use} ${hasBest ? paths.best : paths.last}`));
        break;
      }
    }
  };

  try {
    const reason = await trainer.run({
      onEvent,
      save: async (state, kind) => {
        await saveCheckpoint(paths[kind], header, state);
        return paths[kind];
      },
      stopRequested: () => interrupts > 0 || stdoutClosed(),
    });
    return reason === 'interrupted' && stopSignal ? signalExit(stopSignal) : EXIT.ok;
  } finally {
    view.stop();
    view = await createProgress(term, { quiet: true, label: '' });
    for (const s of signals) process.off(s, onSignal);
  }
}
