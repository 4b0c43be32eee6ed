// `rnn train <file|dir|->`: parse, validate into a TrainConfig, run the library's
// trainer, render its events (bar on a TTY, plain lines otherwise, JSON with --json).
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { readCheckpoint, restoreTrainer, saveTrainerCheckpoint, modelFromCheckpoint } from '../checkpoint/store.js';
import { createKernels, type BackendName } from '../kernels/index.js';
import { CELL_KINDS, type CellKind } from '../nn/layer.js';
import { OPTIMIZERS, type OptimName } from '../nn/optim.js';
import { decodeCorpus, readCorpusPath } from '../text/corpus.js';
import { Vocab } from '../text/vocab.js';
import { SCHEDULES, type ScheduleName } from '../train/schedule.js';
import { Trainer, type TrainConfig, type TrainEvent } from '../train/trainer.js';
import { EXIT, UsageError, CorpusError } from '../util/errors.js';
import { choiceOption, durationOption, floatOption, formatDuration, intOption } from './options.js';
import { termInfo } from './ui/term.js';

interface TrainFlags {
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
  steps?: number;
  epochs?: number;
  time?: number;
  seed: number;
  out: string;
  valFrac: number;
  evalEvery: number;
  evalWindows: number;
  patience: number;
  resume?: string;
  backend: BackendName;
  threads?: number;
  json: boolean;
  quiet: boolean;
  color: boolean;
}

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
    .addOption(new Option('--schedule <name>', 'learning-rate schedule: constant, step, cosine').default('cosine').argParser(choiceOption('--schedule', SCHEDULES)))
    .addOption(new Option('--warmup <n>', 'warm-up steps of the cosine schedule').default(100).argParser(intOption('--warmup', 0)))
    .addOption(new Option('--steps <n>', 'stop after this many steps').argParser(intOption('--steps', 1)))
    .addOption(new Option('--epochs <n>', 'stop after this many passes over the text (default 10 when no --steps or --time)').argParser(floatOption('--epochs', 0, 1e6, { minExclusive: true })))
    .addOption(new Option('--time <duration>', 'stop after this much wall-clock time, e.g. 90s, 15m, 2h').argParser(durationOption('--time')))
    .addOption(new Option('--seed <n>', 'random seed (same seed, same run)').default(1).argParser(intOption('--seed', 0, 2 ** 32 - 1)))
    .addOption(new Option('--out <dir>', 'checkpoint folder').default('checkpoints'))
    .addOption(new Option('--val-frac <x>', 'fraction of the text (its tail) held out for validation').default(0.05).argParser(floatOption('--val-frac', 0, 0.5)))
    .addOption(new Option('--eval-every <n>', 'validate and save every n steps (0: only at the end)').default(200).argParser(intOption('--eval-every', 0)))
    .addOption(new Option('--eval-windows <n>', 'validation windows scored per evaluation (0: the whole split)').default(0).argParser(intOption('--eval-windows', 0)))
    .addOption(new Option('--patience <n>', 'stop after n evaluations without improvement (0: never)').default(0).argParser(intOption('--patience', 0)))
    .addOption(new Option('--resume <checkpoint>', 'continue the run saved in this checkpoint'))
    .addOption(new Option('--backend <name>', 'compute backend: wasm (fast) or reference (plain TypeScript)').default('wasm').argParser(choiceOption('--backend', ['wasm', 'reference'] as const)))
    .addOption(new Option('--threads <n>', 'worker threads for the wasm backend (default: all cores)').argParser(intOption('--threads', 1, 64)))
    .option('--json', 'write one JSON object per event to stdout', false)
    .option('-q, --quiet', 'print nothing but errors', false)
    .option('--no-color', 'no colours on stderr')
    .action(async (corpus: string, flags: TrainFlags) => {
      process.exitCode = await runTrain(corpus, flags);
    });
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function configFromFlags(f: TrainFlags): TrainConfig {
  const noLimit = f.steps === undefined && f.epochs === undefined && f.time === undefined;
  return {
    cell: f.cell, layers: f.layers, hidden: f.hidden, embed: f.embed, batch: f.batch, seq: f.seq, lr: f.lr,
    clip: f.clip, optim: f.optim, schedule: f.schedule, warmup: f.warmup, decay: 0.97, decayEvery: 1000,
    steps: f.steps ?? 0, epochs: f.epochs ?? (noLimit ? 10 : 0), timeMs: f.time ?? 0, seed: f.seed,
    valFrac: f.valFrac, evalEvery: f.evalEvery, evalWindows: f.evalWindows, patience: f.patience,
  };
}

function runName(corpus: string): string {
  const stem = corpus === '-' ? 'stdin' : basename(resolve(corpus)).replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_') || 'corpus';
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  return `${stem}-${stamp}-${randomBytes(2).toString('hex')}`;
}

async function runTrain(corpus: string, flags: TrainFlags): Promise<number> {
  const term = termInfo({ color: flags.color });
  const c = term.color;
  const say = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${line}\n`);
  };
  const json = (obj: object) => {
    if (flags.json) process.stdout.write(`${JSON.stringify(obj)}\n`);
  };

  // 1. the text
  let text: string;
  if (corpus === '-') {
    if (process.stdin.isTTY) throw new UsageError('reading the corpus from stdin, but stdin is a terminal; pipe text in, e.g. cat book.txt | rnn train -');
    text = decodeCorpus(await readStdin(), 'stdin');
  } else {
    text = (await readCorpusPath(corpus)).text;
  }

  // 2. the run: fresh, or resumed from a checkpoint
  const kernels = createKernels({ backend: flags.backend, threads: flags.threads });
  let trainer: Trainer;
  let config: TrainConfig;
  if (flags.resume) {
    const ckpt = await readCheckpoint(flags.resume);
    if (!ckpt.train) throw new UsageError(`${flags.resume} holds weights only and cannot be resumed; start a new run instead`);
    const noLimit = flags.steps === undefined && flags.epochs === undefined && flags.time === undefined;
    config = noLimit ? ckpt.train : { ...ckpt.train, steps: flags.steps ?? 0, epochs: flags.epochs ?? 0, timeMs: flags.time ?? 0 };
    const { ids, unknown } = ckpt.vocab.encodeLenient(text);
    if (unknown.size > 0) {
      throw new CorpusError(`the text has ${unknown.size} character(s) the checkpoint's vocabulary lacks (e.g. ${JSON.stringify([...unknown.keys()][0])}); resume on the text the run was trained on`);
    }
    trainer = new Trainer(kernels, ckpt.vocab, ids, config, modelFromCheckpoint(kernels, ckpt));
    restoreTrainer(trainer, ckpt);
  } else {
    config = configFromFlags(flags);
    const vocab = Vocab.fromText(text);
    trainer = new Trainer(kernels, vocab, vocab.encode(text), config);
  }
  const total = trainer.totalSteps;
  if (flags.resume && total > 0 && trainer.progress.step >= total) {
    throw new UsageError(`the run in ${flags.resume} has already done ${trainer.progress.step} steps; ask for more with --steps N`);
  }

  // 3. where checkpoints go: one file pair per run, so concurrent runs never collide
  const out = resolve(flags.out);
  try {
    await mkdir(out, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot create the checkpoint folder ${out} (${(e as NodeJS.ErrnoException).code}); pass --out DIR`);
  }
  const run = runName(corpus);
  const paths = { best: join(out, `${run}-best.safetensors`), last: join(out, `${run}-last.safetensors`) };

  // 4. Ctrl-C: the first one finishes the step and saves; a second one exits at once
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) say(c.yellow('interrupted: finishing this step and saving (Ctrl-C again to quit at once)'));
    else process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', onSigint);

  const m = trainer.model;
  const bpc = (nats: number) => nats / Math.LN2;
  say(c.bold(`rnn train: ${corpus === '-' ? 'stdin' : corpus}`) +
    c.dim(` · ${trainer.train.length.toLocaleString('en-US')} train + ${trainer.val.length.toLocaleString('en-US')} val chars · vocab ${trainer.vocab.size}`));
  say(c.dim(`model: ${m.config.layers}×${m.config.hidden} ${m.config.cell}, embed ${m.config.embed}, ${m.parameterCount.toLocaleString('en-US')} parameters · batch ${config.batch} × seq ${config.seq} · ${config.optim} lr ${config.lr} · ${kernels.name}`));
  const ratio = m.parameterCount / Math.max(1, trainer.train.length);
  if (ratio > 10) say(c.yellow(`note: ${m.parameterCount.toLocaleString('en-US')} parameters for ${trainer.train.length.toLocaleString('en-US')} characters; the model will likely memorise the text (try a smaller --hidden or more text)`));
  else if (ratio < 0.01) say(c.yellow(`note: only ${m.parameterCount.toLocaleString('en-US')} parameters for ${trainer.train.length.toLocaleString('en-US')} characters; a larger --hidden or --layers would likely do better`));

  let lastPrint = 0;
  let lastEval = '';
  const onEvent = (e: TrainEvent) => {
    if (e.type === 'step') {
      if (flags.json && (e.step % 10 === 0 || e.step === total)) json(e);
      const t = performance.now();
      if (!flags.quiet && term.live && t - lastPrint > 250) {
        lastPrint = t;
        const of = total > 0 ? `/${total}` : config.timeMs > 0 ? ` (${formatDuration(e.elapsedMs)}/${formatDuration(config.timeMs)})` : '';
        process.stderr.write(`\r\x1b[2Kstep ${e.step}${of} · loss ${e.loss.toFixed(3)} · ${Math.round(e.charsPerSec).toLocaleString('en-US')} chars/s${lastEval}`);
      }
    } else if (e.type === 'eval') {
      json(e);
      lastEval = ` · val ${e.val.toFixed(3)}`;
      if (term.live && !flags.quiet) process.stderr.write('\r\x1b[2K');
      say(`step ${e.step}: train ${e.train.toFixed(4)} · val ${e.val.toFixed(4)} nats/char (${bpc(e.val).toFixed(3)} bpc)${e.best ? c.green(' best') : ''}`);
    } else if (e.type === 'checkpoint' || e.type === 'start') {
      json(e);
    } else if (e.type === 'end') {
      json(e);
      if (term.live && !flags.quiet) process.stderr.write('\r\x1b[2K');
      const best = e.bestVal === null ? 'n/a' : `${e.bestVal.toFixed(4)} nats/char (${bpc(e.bestVal).toFixed(3)} bpc) at step ${e.bestStep}`;
      say(`done (${e.reason}) after ${e.step} steps in ${formatDuration(e.elapsedMs)} · best val ${best}`);
      say(c.dim(`checkpoints: ${paths.best}\n             ${paths.last}`));
      say(c.dim(`sample with: rnn sample --checkpoint ${paths.best}`));
    }
  };

  try {
    const reason = await trainer.run({
      onEvent,
      save: async (t, kind) => {
        await saveTrainerCheckpoint(t, paths[kind]);
        return paths[kind];
      },
      stopRequested: () => interrupts > 0,
    });
    return reason === 'interrupted' ? EXIT.interrupted : EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
