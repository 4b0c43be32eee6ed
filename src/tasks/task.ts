// A task is what a network is trained to do: predict the next character (lm), put a label
// on a whole sequence (classify), and, built on the same contract, conditioned generation
// and encoder-decoder translation. One module per task in src/tasks/ implements `Task`;
// the trainer (src/train), the cells and kernels (src/nn, src/kernels), the optimizers and
// the checkpoint I/O (src/checkpoint) are shared and never ask which task they run.
//
// Who does what
//   task      reads its data (and says which layout it found), builds its network, cuts
//             batches with a resumable cursor, runs forward + loss + backward of one batch,
//             evaluates into named metrics, encodes/decodes its checkpoint metadata, writes
//             its header lines, and says which `rnn train` options apply to it.
//   trainer   owns the optimizer, the two RNG streams (init, dropout), clipping, the
//             schedule, the budget, when to evaluate, best/last, rollback on NaN, Ctrl-C
//             and the events (src/train/trainer.ts).
//   run.ts    defaults, resume policy, flag checks: how the CLI, bench/ and a library user
//             start or resume a run (src/train/run.ts).
//
// Life of a run
//   fresh:   data = await task.readData(input, config, null)
//            session = task.open(k, data, config)           network allocated, not initialised
//            trainer = new Trainer(k, session, config)      initialises the weights from config.seed
//   resume:  ckpt = decodeCheckpoint(...)                   ckpt.task names the task; ckpt.meta is
//                                                           what task.decodeMeta returned
//            data = await task.readData(input, config, ckpt.meta)   same vocabulary / classes
//            session = task.open(k, data, config); trainer = …; trainer.setState(ckpt.state)
//   step:    trainer zeroes net.grads → session.trainStep(dropoutRng) (moves the cursor,
//            forward, loss, backward into net.grads) → trainer clips, checks finiteness,
//            updates → session.commit() (e.g. carry the hidden state to the next window)
//   eval:    session.evaluate() → Metrics or null (no validation data); the trainer compares
//            task.primary (then task.tieBreak) to keep the best checkpoint.
//
// The run state (src/train/state.ts) is one plain value: weights, optimizer moments,
// TrainProgress (step, data cursor, RNG states, history, best), and the task's own state
// tensors (session.stateSpecs()/getState()/setState(): the LM's carried hidden state;
// empty for a task whose batches are independent). The rollback copy and the checkpoint
// file both hold exactly that value. A task keeps everything else that decides the next
// batch in the cursor: batch k of the run must be a pure function of (data, config, k).
// A task that shuffles derives each pass's order from config.seed and the pass number.
//
// Checkpoints: the file records `task` (a file without it is a language model: the frozen
// v1 fixtures). session.checkpointMeta() gives the task's metadata strings (at least
// `model`, the network config as JSON, and `vocab`); task.decodeMeta(metadata, file)
// validates them (CheckpointError on anything wrong, never a crash) and returns the
// parameter specs the tensors must match. Every command takes only the tasks it serves
// and refuses the others with one line (requireTask in src/tasks/registry.ts).
//
// Flags: `task.flags` lists the `rnn train` options (commander attribute names) that
// apply to the task beyond COMMON_TRAIN_FLAGS (src/train/run.ts); one given explicitly
// that applies to neither is refused with a usage error (exit 2), never ignored. Task
// options that are not TrainConfig fields live in config.taskOptions (plain JSON, saved
// in the checkpoint's "train" entry; the task validates them in readData/open).
//
// Errors: everything a user can cause is a CorpusError / UsageError / CheckpointError
// with one line that names the problem and the fix. Nothing here prints.
import type { Arena, Kernels, Vec } from '../kernels/types.js';
import type { ParamLayout, ParamSpec } from '../nn/params.js';
import type { ReadAhead } from '../text/corpus.js';
import type { TrainConfig } from '../train/config.js';
import type { Rng } from '../util/rng.js';

/** Which way a metric improves. */
export type Direction = 'min' | 'max';

export interface MetricSpec {
  /** Key in Metrics. */
  name: string;
  direction: Direction;
}

/** The result of an evaluation: named numbers (e.g. { loss, bpc } or { accuracy, macroF1, loss }). */
export type Metrics = Record<string, number>;

/** What `rnn train` was pointed at: a path, or '-' with the bytes read from stdin. */
export interface DataInput {
  path: string;
  /** The bytes of stdin when path is '-'. */
  stdin?: Uint8Array;
  /** Files already read (the run's corpus, by its fingerprint): the readers take them from here. */
  ahead?: ReadAhead;
}

/** The network a task builds: one flat parameter buffer and its gradients, laid out by name. */
export interface Network {
  readonly layout: ParamLayout;
  /** All parameters, flat (layout above). */
  readonly params: Vec;
  /** ∂L/∂params, same layout; the task's backward accumulates, the trainer zeroes once per step. */
  readonly grads: Vec;
  readonly arena: Arena;
  /** Real parameters (padding excluded). */
  readonly parameterCount: number;
  /** Draws the initial weights. */
  init(rng: Rng): void;
}

/** How much data a run has, in the task's unit ('chars' for lm, 'examples' for classify). */
export interface DataSize {
  unit: string;
  train: number;
  val: number;
  /** Of `val`, how much one evaluation scores. */
  valScored: number;
  /** Characters of training input (for the model-size note). */
  trainChars: number;
  /** Size of the input vocabulary. */
  vocab: number;
}

/** One task bound to its data and its network: the trainer's only view of the task. */
export interface TaskSession {
  readonly task: Task;
  readonly net: Network;
  readonly size: DataSize;
  /** Training steps in one pass over the training data (≥ 1). */
  readonly stepsPerEpoch: number;
  /** Batches served since the run began; setting it resumes the exact batch sequence. */
  cursor: number;
  /**
   * Forward, loss and backward of the next training batch (the cursor advances even if
   * the loss turns out not finite; the trainer then rolls back). Gradients accumulate
   * into net.grads. Dropout masks are drawn from `dropoutRng` when config.dropout > 0.
   * @returns the mean loss of the batch (nats per predicted unit) and the input
   *   characters it read (for chars/s).
   */
  trainStep(dropoutRng: Rng): { loss: number; chars: number };
  /** After a successful update: whatever the next batch needs (the LM carries its state). */
  commit(): void;
  /** Validation metrics (the same batches every time, no dropout), or null without validation data. */
  evaluate(): Metrics | null;
  /** Names and shapes of the task's own run-state tensors (may be empty). */
  stateSpecs(): ParamSpec[];
  /** Copies of the task's run-state tensors, by name (shapes as stateSpecs()). */
  getState(): Record<string, Float32Array>;
  /** Puts saved run-state tensors back (names and shapes already validated). */
  setState(state: Record<string, Float32Array>): void;
  /** The task's checkpoint metadata: string values, JSON where structured; at least `model` and `vocab`. */
  checkpointMeta(): Record<string, string>;
  /** Lines for the run header: the data (layout, sizes, split) and the model, without colour. */
  header(): string[];
  /** Notes worth a line at the start of a fresh run (e.g. the model is far larger than the data). */
  notes(): string[];
}

/** What a checkpoint's task metadata decodes to. */
export interface DecodedMeta<M> {
  /** The task's model config and whatever else it stored (vocab, classes …). */
  meta: M;
  /** Parameter tensors the file must hold, in layout order. */
  specs: ParamSpec[];
  /** The task's run-state tensors a training checkpoint must hold, given its TrainConfig. */
  stateSpecs(train: TrainConfig): ParamSpec[];
}

export interface Task<Data = unknown, Meta = unknown> {
  /** Recorded in checkpoints (metadata `task`) and given as `rnn train --task NAME`. */
  readonly name: string;
  /** For people: "language model", "classifier". */
  readonly title: string;
  /** The command that uses its checkpoints: "rnn sample", "rnn classify". */
  readonly command: string;
  /** Decides the best checkpoint: lm { loss, min }; classify { accuracy, max }. */
  readonly primary: MetricSpec;
  /** Breaks ties of the primary metric (classify: { loss, min }), or null. */
  readonly tieBreak: MetricSpec | null;
  /** `rnn train` options that apply beyond COMMON_TRAIN_FLAGS (commander attribute names). */
  readonly flags: readonly string[];
  /** Defaults of this task that differ from TRAIN_DEFAULTS (e.g. a classifier's batch). */
  readonly defaults: Partial<TrainConfig>;
  /**
   * Reads the training data and prepares it (vocabulary, split). With `saved` (a resume),
   * keeps the saved vocabulary/classes and refuses data that does not fit them.
   * @throws CorpusError / UsageError with one line
   */
  readData(input: DataInput, config: TrainConfig, saved: Meta | null): Promise<Data>;
  /**
   * Settings chosen from the data for options the user did not give (fresh runs only),
   * e.g. the LM's automatic evaluation plan. Optional.
   */
  autoConfig?(data: Data, config: TrainConfig): Partial<TrainConfig>;
  /** Builds the network on the kernels (not initialised) and the batches over the data. */
  open(k: Kernels, data: Data, config: TrainConfig): TaskSession;
  /** Validates a checkpoint's task metadata. @throws CheckpointError naming `file` */
  decodeMeta(metadata: Record<string, string>, file: string, tensorCount: number): DecodedMeta<Meta>;
  /** One line of metrics for people, e.g. "1.234 nats/char (1.78 bpc)" or "accuracy 91.2% · macro-F1 0.90 · loss 0.31". */
  formatMetrics(m: Metrics): string;
}

/** True when metrics `a` are better than `b` under the task's primary metric and tie-break. */
export function isBetter(task: Pick<Task, 'primary' | 'tieBreak'>, a: Metrics, b: Metrics | null): boolean {
  if (b === null) return true;
  const cmp = (spec: MetricSpec): number => {
    const x = a[spec.name];
    const y = b[spec.name];
    if (x === y || x === undefined || y === undefined) return 0;
    return spec.direction === 'min' ? (x < y ? 1 : -1) : x > y ? 1 : -1;
  };
  const first = cmp(task.primary);
  if (first !== 0) return first > 0;
  return task.tieBreak ? cmp(task.tieBreak) > 0 : false;
}

/**
 * The run-state part of a session that carries nothing from one batch to the next (classify,
 * seq2seq: a batch is separate examples, and the cursor is the whole data state).
 */
export abstract class StatelessSession {
  stateSpecs(): ParamSpec[] {
    return [];
  }

  getState(): Record<string, Float32Array> {
    return {};
  }

  setState(): void {}
}
