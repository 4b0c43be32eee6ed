// Starting and resuming a run: the one way the CLI, the benchmark and a library user get
// a ready Trainer. It owns the policy that used to live in the train command: defaults
// (TRAIN_DEFAULTS, then the task's), which options apply to which task, what a resumed
// run may change, and the automatic evaluation plan (Task.autoConfig).
//
//   fresh    config = TRAIN_DEFAULTS ⊕ task.defaults ⊕ given options (10 epochs when no
//            limit is given) → data → task.autoConfig for what was not given → session
//            → Trainer (weights initialised from config.seed). A language model
//            given a limit and no model shape (--layers, --hidden, --embed) is sized
//            for its budget and its text first (sizing.ts); the options given win.
//            A run bounded only by --time validates by the clock (evalTimes) unless
//            --eval-every is given.
//   resume   config = the checkpoint's; a new limit (--steps, --epochs, --time) replaces
//            the saved ones (all three: they count the whole run); evalEvery, evalWindows
//            and patience may change (they decide when to evaluate and stop, not the
//            updates); any other option given is reported back in `ignored`. Data is
//            read with the checkpoint's vocabulary; the run state is put back exactly.
//   corpus   every checkpoint records the fingerprint of its training text (fingerprint.ts).
//            A resume given other text is refused, unless it is a fine-tune (fineTune):
//            then the model and optimizer go on from the checkpoint on the new text as a
//            new run whose best starts afresh (the old best loss does not compare). A
//            resume given no text reads the recorded path when it still matches. A file
//            from before fingerprints resumes as before, with a note. A corpus file is
//            read once (ReadAhead): a fresh run's reader notes its size and CRC for the
//            fingerprint; a resume's fingerprint comes first and hands the bytes to the
//            reader. So a pipe, `<(cmd)`, which can be read only once, is fingerprinted
//            from the bytes the run trains on.
import type { Kernels } from '../kernels/types.js';
import type { Checkpoint, CheckpointHeader } from '../checkpoint/store.js';
import { TASKS, taskByName } from '../tasks/registry.js';
import type { DataInput, Task, TaskSession } from '../tasks/task.js';
import { ReadAhead } from '../text/corpus.js';
import { CheckpointError, UsageError } from '../util/errors.js';
import { formatDuration } from '../util/format.js';
import { CELL_KINDS } from '../nn/layer.js';
import { OPTIMIZERS } from '../nn/optim.js';
import { MAX_ROLLBACKS, TRAIN_DEFAULTS, trainConfigProblem, type TrainConfig } from './config.js';
import { EVAL_TIMES, SCHEDULES } from './schedule.js';
import { SIZED_CELL, SIZED_CELL_REASON, SIZING_FIELDS, sizeRun, type SizedConfig, type Sizing } from './sizing.js';
import { fingerprintCorpus, sameCorpus, type CorpusFingerprint } from './fingerprint.js';
import { checkMemory } from './memory.js';
import { progressProblem } from './state.js';
import { Trainer } from './trainer.js';

/** Options a caller may give; what is left out takes its default. */
export type TrainOptions = Partial<Omit<TrainConfig, 'task' | 'taskOptions'>> & { taskOptions?: Record<string, unknown> };

/** Options every task takes (TrainConfig fields); a task lists its others in Task.flags. */
export const COMMON_TRAIN_FLAGS: readonly string[] = [
  'cell', 'layers', 'hidden', 'embed', 'batch', 'lr', 'clip', 'optim', 'schedule', 'warmup', 'decay', 'decayEvery',
  'dropout', 'weightDecay', 'ema', 'steps', 'epochs', 'timeMs', 'seed', 'valFrac', 'evalEvery', 'patience',
];

/** Options that shape the model or the optimisation: a resumed run keeps its saved values. */
const KEPT_ON_RESUME: readonly string[] = [
  'cell', 'layers', 'hidden', 'embed', 'batch', 'seq', 'optim', 'schedule', 'warmup', 'decay',
  'decayEvery', 'dropout', 'embedDropout', 'recurrentDropout', 'weightDecay', 'ema', 'seed', 'valFrac',
];
/**
 * Options a resumed run may change: when to evaluate and stop, and the two a diverged run is
 * told to lower (--lr, the peak of the schedule from here on; --clip). A resume that changes
 * neither of those is exact.
 */
const CHANGEABLE_ON_RESUME = ['evalEvery', 'evalWindows', 'patience', 'lr', 'clip'] as const;

/** The command-line spelling of an option: decayEvery → --decay-every, timeMs → --time. */
export function flagName(option: string): string {
  if (option === 'timeMs') return '--time';
  return `--${option.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`;
}

export interface StartRequest {
  kernels: Kernels;
  /** The training data: a path, or '-' with the stdin bytes (a resume may leave it out: the recorded corpus). */
  input?: DataInput;
  /** The task's name (default: the resumed checkpoint's, else 'lm'). */
  task?: string;
  /** Only the options the user gave. */
  options: TrainOptions;
  /** The checkpoint to continue. */
  resume?: Checkpoint;
  /** Size a fresh language model for its budget when no model shape is given (default true). */
  autoSize?: boolean;
  /** With resume: train the checkpoint's model on this (possibly different) corpus as a new run with a fresh best. */
  fineTune?: boolean;
}

export interface PreparedRun {
  task: Task;
  session: TaskSession;
  trainer: Trainer;
  config: TrainConfig;
  /** What checkpoints of this run are written with (saveCheckpoint(path, header, state)). */
  header: CheckpointHeader;
  resumed: boolean;
  /** Options given to a resumed run that it keeps at their saved values (the caller says so). */
  ignored: string[];
  /** What the sizing rule chose and why (null when it did not run). */
  sizing: Sizing | null;
  /** The corpus the run reads (for a resume without one: the recorded path). */
  input: DataInput;
  /** A resume that is a fine-tune: a new run from the checkpoint, with a fresh best. */
  fineTuned: boolean;
  /** Things the caller should tell the user once (e.g. a checkpoint without a corpus fingerprint). */
  notes: string[];
}

/** The options that fix a model's shape: given any of them, the run is not sized. */
const SHAPE_OPTIONS = ['layers', 'hidden', 'embed'] as const;

/** Refuses options that do not apply to the task: one line, exit 2. */
export function checkTaskOptions(task: Task, options: TrainOptions): void {
  const allowed = new Set([...COMMON_TRAIN_FLAGS, ...task.flags]);
  const given = [
    ...Object.keys(options).filter((k) => k !== 'taskOptions' && (options as Record<string, unknown>)[k] !== undefined),
    ...Object.keys(options.taskOptions ?? {}).filter((k) => options.taskOptions![k] !== undefined),
  ];
  const wrong = given.filter((k) => !allowed.has(k));
  if (wrong.length > 0) {
    const names = wrong.map(flagName).join(', ');
    throw new UsageError(`${names} ${wrong.length === 1 ? 'does' : 'do'} not apply to a ${task.title} (--task ${task.name}); remove ${wrong.length === 1 ? 'it' : 'them'} (rnn train --help lists the options of each task)`);
  }
}

/** The configuration of a fresh run: defaults, the task's defaults, then what was given. */
export function freshConfig(task: Task, options: TrainOptions): TrainConfig {
  const { taskOptions, ...given } = options;
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<TrainConfig>;
  const noLimit = given.steps === undefined && given.epochs === undefined && given.timeMs === undefined;
  const config: TrainConfig = {
    task: task.name,
    ...TRAIN_DEFAULTS,
    steps: 0,
    timeMs: 0,
    evalWindows: 0,
    ...task.defaults,
    ...defined,
    epochs: given.epochs ?? (noLimit ? (task.defaults.epochs ?? TRAIN_DEFAULTS.epochs) : 0),
  };
  // only a clock bounds the run: validate by the clock, not every n steps
  if (given.timeMs && !given.steps && !given.epochs && given.evalEvery === undefined) config.evalTimes = EVAL_TIMES;
  if (taskOptions && Object.keys(taskOptions).length > 0) {
    config.taskOptions = { ...(task.defaults.taskOptions ?? {}), ...Object.fromEntries(Object.entries(taskOptions).filter(([, v]) => v !== undefined)) };
  } else if (task.defaults.taskOptions) {
    config.taskOptions = { ...task.defaults.taskOptions };
  }
  return config;
}

/** The configuration of a resumed run (see the header), and the options it ignores. */
export function resumeConfig(saved: TrainConfig, options: TrainOptions): { config: TrainConfig; ignored: string[] } {
  const newLimit = options.steps !== undefined || options.epochs !== undefined || options.timeMs !== undefined;
  const config: TrainConfig = newLimit
    ? { ...saved, steps: options.steps ?? 0, epochs: options.epochs ?? 0, timeMs: options.timeMs ?? 0 }
    : { ...saved };
  for (const f of CHANGEABLE_ON_RESUME) if (options[f] !== undefined) config[f] = options[f]!;
  if (options.evalEvery !== undefined) config.evalTimes = 0;
  const ignored = [
    ...KEPT_ON_RESUME.filter((f) => (options as Record<string, unknown>)[f] !== undefined),
    ...Object.keys(options.taskOptions ?? {}).filter((k) => options.taskOptions![k] !== undefined),
  ];
  return { config, ignored };
}

/** Reads the data, builds the task's session and the trainer: fresh, or resumed exactly. */
export async function prepareRun(req: StartRequest): Promise<PreparedRun> {
  const { kernels, options, resume } = req;
  if (req.fineTune && !resume) throw new UsageError('--fine-tune continues a checkpoint on new text: give it with --resume CHECKPOINT');
  if (resume) {
    if (!resume.train || !resume.state) {
      throw new UsageError(`${resume.file} holds weights only and cannot be resumed; start a new run instead`);
    }
    const task: Task = TASKS[resume.task];
    if (req.task !== undefined && req.task !== resume.task) {
      throw new UsageError(`${resume.file} holds a ${task.title} (--task ${task.name}), not --task ${req.task}; drop --task to resume it`);
    }
    checkTaskOptions(task, options);
    // a damaged or hand-edited file must not train on nonsense (lr -1, step -1): every field
    // resume uses is held to the ranges the flags are held to
    const saved = resume.train as unknown as Record<string, unknown>;
    const configProblem = trainConfigProblem(saved, { cells: CELL_KINDS, optimizers: OPTIMIZERS, schedules: SCHEDULES });
    if (configProblem) throw new CheckpointError(resume.file, `metadata "train": ${configProblem}; the file is damaged, resume from another checkpoint of the run`);
    const { config, ignored } = resumeConfig({ ...resume.train, task: task.name }, options);
    if (resume.optimizer?.name !== config.optim) {
      throw new CheckpointError(resume.file, `was trained with --optim ${resume.optimizer?.name}; its metadata is inconsistent`);
    }
    const notes: string[] = [];
    const { input, corpus } = await resumedCorpus(resume, req.input, req.fineTune ?? false, notes);
    const data = await task.readData(input, config, resume.meta);
    checkMemory(kernels, task, data, config, resume.file);
    const session = task.open(kernels, data, config);
    const trainer = new Trainer(kernels, session, config);
    trainer.setState(resume.state);
    const progressProblemText = progressProblem(trainer.progress as unknown as Record<string, unknown>, MAX_ROLLBACKS);
    if (progressProblemText) throw new CheckpointError(resume.file, `metadata "progress": ${progressProblemText}; the file is damaged, resume from another checkpoint of the run`);
    const savedTrain = resume.train;
    if (options.lr !== undefined && options.lr !== savedTrain.lr) {
      // the rate the user gives is the rate: the halvings of earlier rollbacks end, and the
      // run has its rollbacks again
      const p = trainer.progress;
      const halved = p.lrScale !== 1 ? ` (it had been halved to ×${p.lrScale} by ${p.rollbacks} rollback(s); that ends)` : '';
      notes.push(`learning rate ${savedTrain.lr} → ${options.lr} from step ${p.step}, as given${halved}`);
      Object.assign(p, { lrScale: 1, rollbacks: 0 });
    }
    if (options.clip !== undefined && options.clip !== savedTrain.clip) {
      notes.push(`gradient clipping ${savedTrain.clip} → ${options.clip} from step ${trainer.progress.step}, as given`);
    }
    checkBudgetLeft(resume.file, trainer);
    if (req.fineTune) {
      // a loss on other text does not compare with the old run's best: the best starts afresh
      Object.assign(trainer.progress, { bestVal: null, bestMetrics: null, bestStep: 0, evalsSinceBest: 0 });
      trainer.restartAverage();
    }
    const fineTuned = req.fineTune ?? false;
    return { task, session, trainer, config, header: checkpointHeader(trainer, corpus), resumed: true, ignored, sizing: null, input, fineTuned, notes };
  }
  const input = req.input;
  if (!input) throw new UsageError('give the corpus to train on: rnn train FILE|FOLDER|- (or --resume CHECKPOINT to continue a run on its recorded text)');
  const task = taskByName(req.task ?? 'lm');
  checkTaskOptions(task, options);
  let config = freshConfig(task, options);
  if (config.weightDecay > 0 && config.optim !== 'adam') {
    throw new UsageError(`--weight-decay is AdamW's decoupled decay and needs --optim adam (got --optim ${config.optim}); drop one of them`);
  }
  // the reader notes the size and CRC of a corpus file as it reads it: the fingerprint
  // does not read the file again
  const ahead = new ReadAhead();
  const data = await task.readData({ ...input, ahead }, config, null);
  const corpus = await fingerprintCorpus(input.path, input.stdin, ahead);
  if (task.autoConfig) {
    const auto = task.autoConfig(data, config);
    const chosen = Object.fromEntries(Object.entries(auto).filter(([k]) => (options as Record<string, unknown>)[k] === undefined));
    config = { ...config, ...chosen };
  }
  let sizing: Sizing | null = null;
  let probeMs = 0;
  const limited = config.steps > 0 || config.epochs > 0 || config.timeMs > 0;
  const shaped = SHAPE_OPTIONS.some((f) => options[f] !== undefined);
  const noLimitGiven = options.steps === undefined && options.epochs === undefined && options.timeMs === undefined;
  if ((req.autoSize ?? true) && task.name === 'lm' && limited && !noLimitGiven && !shaped) {
    const probeStart = performance.now();
    ({ sizing, config } = await sizeLanguageModel(kernels, task, data, config, options));
    if (config.timeMs > 0) probeMs = performance.now() - probeStart;
  }
  checkMemory(kernels, task, data, config);
  const session = task.open(kernels, data, config);
  const trainer = new Trainer(kernels, session, config);
  // the time spent measuring candidates is part of the budget
  trainer.progress.elapsedMs = probeMs;
  return { task, session, trainer, config, header: checkpointHeader(trainer, corpus), resumed: false, ignored: [], sizing, input, fineTuned: false, notes: [] };
}

/**
 * The corpus a resume reads and the fingerprint its checkpoints record: the one given
 * (refused when it is not the recorded text, unless fine-tuning), or the recorded path
 * when none is given (refused when it moved or changed). See the header. The input it
 * returns carries the bytes the fingerprint read, for the task's reader.
 */
async function resumedCorpus(
  resume: Checkpoint, given: DataInput | undefined, fineTune: boolean, notes: string[],
): Promise<{ input: DataInput; corpus: CorpusFingerprint | null }> {
  const ahead = new ReadAhead();
  const file = resume.file;
  const recorded = resume.corpus;
  const sizeOf = (f: CorpusFingerprint) => `${f.bytes.toLocaleString('en-US')} bytes`;
  if (!given) {
    if (!recorded) throw new UsageError(`${file} does not record the text it was trained on (an older rnn wrote it); give it: rnn train CORPUS --resume ${file}`);
    if (recorded.path === '-') throw new UsageError(`the run in ${file} was trained on stdin; pipe the same text in: rnn train - --resume ${file}`);
    let now: CorpusFingerprint;
    try {
      now = await fingerprintCorpus(recorded.path, undefined, ahead);
    } catch {
      throw new UsageError(`${file} was trained on ${recorded.path}, which is no longer there; give the text: rnn train CORPUS --resume ${file}`);
    }
    if (!sameCorpus(now, recorded) && !fineTune) {
      throw new UsageError(`${recorded.path} has changed since the run in ${file} was trained on it (${sizeOf(recorded)} then, ${sizeOf(now)} now); give the original text, or add --fine-tune to train on it as it is now`);
    }
    return { input: { path: recorded.path, ahead }, corpus: now };
  }
  let now: CorpusFingerprint;
  try {
    now = await fingerprintCorpus(given.path, given.stdin, ahead);
  } catch {
    // the task's reader says what is wrong with the path (missing, unreadable)
    return { input: given, corpus: null };
  }
  if (!recorded) {
    notes.push(`${file} does not record the text it was trained on (an older rnn wrote it), so it cannot be checked; from now on it is recorded`);
  } else if (!sameCorpus(now, recorded) && !fineTune) {
    const name = given.path === '-' ? 'stdin' : given.path;
    const was = recorded.path === '-' ? 'stdin' : recorded.path;
    throw new UsageError(`${name} is not the text the run in ${file} was trained on (${was}, ${sizeOf(recorded)}); give that text, or add --fine-tune to go on training the model on this one as a new run`);
  }
  return { input: { ...given, ahead }, corpus: now };
}

/**
 * Runs the sizing rule for a fresh language model: the data's size, the budget, and (with
 * --time) each candidate's training throughput measured here and now, over a few real
 * training steps of a throwaway model of that shape.
 */
async function sizeLanguageModel(
  kernels: Kernels, task: Task, data: unknown, config: TrainConfig, options: TrainOptions,
): Promise<{ sizing: Sizing; config: TrainConfig }> {
  const fixed: Partial<SizedConfig> = {};
  for (const f of SIZING_FIELDS) if (options[f] !== undefined) fixed[f] = options[f] as number;
  // the cell given wins; else the sized cell (sizing.ts: SIZED_CELL)
  config = { ...config, cell: options.cell ?? SIZED_CELL };
  checkMemory(kernels, task, data, config);
  const probe = task.open(kernels, data, config);
  const trainChars = probe.size.trainChars;
  const vocab = probe.size.vocab;
  // a candidate trains as it would in the run (its dropout included) for about `ms`
  const measure = async (candidate: SizedConfig, ms: number): Promise<number> => {
    const cfg: TrainConfig = { ...config, ...candidate, steps: 0, epochs: 0, timeMs: 0 };
    checkMemory(kernels, task, data, cfg);
    const trainer = new Trainer(kernels, task.open(kernels, data, cfg), cfg);
    trainer.tryStep(); // the first step pays for compiling and for starting threads
    const t0 = performance.now();
    let chars = 0;
    let steps = 0;
    while (steps < 2 || (performance.now() - t0 < ms && steps < 200)) {
      const r = trainer.tryStep();
      if (r.ok) chars += r.chars;
      steps++;
    }
    await new Promise((resolve) => setImmediate(resolve));
    return (chars * 1000) / (performance.now() - t0);
  };
  const sizing = await sizeRun(
    { cell: config.cell, vocab, trainChars, budget: { timeMs: config.timeMs, steps: config.steps, epochs: config.epochs }, fixed, emaGiven: options.ema !== undefined },
    measure,
  );
  if (options.cell === undefined) sizing.reasons.push(SIZED_CELL_REASON);
  return { sizing, config: { ...config, ...sizing.config, ...(options.ema === undefined ? { emaHalfLife: sizing.emaHalfLife } : {}) } };
}

/** A resumed run must have steps or time left. */
function checkBudgetLeft(file: string, trainer: Trainer): void {
  const { progress, config } = trainer;
  const total = trainer.totalSteps;
  if (total > 0 && progress.step >= total) {
    throw new UsageError(`the run in ${file} has already done ${progress.step} of its ${total} steps; ask for more in total with --steps N`);
  }
  if (total === 0 && config.timeMs > 0 && progress.elapsedMs >= config.timeMs) {
    throw new UsageError(`the run in ${file} has already used its ${formatDuration(config.timeMs)} budget; ask for more in total with --time, e.g. --time ${formatDuration(progress.elapsedMs + 15 * 60_000)}`);
  }
}

/** What the checkpoints of a trainer's run are written with (and the fingerprint of its corpus, when known). */
export function checkpointHeader(trainer: Trainer, corpus: CorpusFingerprint | null = null): CheckpointHeader {
  const { session, config } = trainer;
  return {
    task: session.task.name, meta: session.checkpointMeta(), train: config, optimizer: config.optim,
    specs: trainer.net.layout.specs, stateSpecs: session.stateSpecs(), corpus,
  };
}
