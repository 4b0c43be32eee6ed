// The classification task: a whole sequence in, one label out (many-to-one).
//
//   data      labelled examples in one of three layouts (src/text/labelled.ts); classes =
//             the sorted labels (≥ 2); vocabulary = the characters of every example;
//             examples longer than maxLen characters are cut to their first maxLen
//   split     stratified and seeded: round(n·valFrac) examples of each class held out
//   batches   B examples of similar length, with per-row lengths (padding is masked, so it
//             changes nothing): each pass shuffles the examples (seeded by the pass number),
//             sorts pools of 16·B by length, cuts them into batches and shuffles the batch
//             order. Batch k of the run is a function of (data, seed, k): the cursor (batches
//             served) is the whole data state; there is no carried state.
//   network   ClassifierModel: embed → L × cell (one or both directions) → pool → linear →
//             softmax over K (src/nn/classifier.ts)
//   metrics   { accuracy, macroF1, loss, majority } on the validation split; primary: the
//             highest accuracy, ties broken by the lowest loss. `majority` is the accuracy of
//             always answering the most frequent training class: the baseline to beat.
//   metadata  model (ClassifierConfig), vocab, classes (string[]), class_counts (training
//             examples per class), max_len, data (how the data was read)
import type { Kernels, Vec } from '../kernels/types.js';
import {
  ClassifierModel, classifierParamSpecs, POOL_KINDS, type ClassifierConfig, type ClassifierWorkspace, type PoolKind,
} from '../nn/classifier.js';
import { CELL_KINDS } from '../nn/layer.js';
import { readLabelled, shuffler, stratifiedSplit, type LabelledSet } from '../text/labelled.js';
import { Vocab } from '../text/vocab.js';
import type { TrainConfig } from '../train/config.js';
import { CheckpointError, CorpusError, NonFiniteOutputError, UsageError } from '../util/errors.js';
import { allFinite } from '../train/state.js';
import type { Rng } from '../util/rng.js';
import { classificationReport } from './classify-metrics.js';
import { decodeVocab } from './lm.js';
import { isPositiveInt, parseMetaJson } from './meta.js';
import { EpochBatches, lengthBuckets } from './buckets.js';
import { StatelessSession, type DataInput, type Metrics, type Task, type TaskSession } from './task.js';

export interface ClassifyOptions {
  bidirectional: boolean;
  pool: PoolKind;
  /** Examples are cut to their first maxLen characters. */
  maxLen: number;
}

export const CLASSIFY_DEFAULTS: ClassifyOptions = { bidirectional: false, pool: 'last', maxLen: 256 };
/** Batches of one pass are formed within pools of this many batches' worth of examples, sorted by length. */
const POOL_BATCHES = 16;

export interface ClassifyData {
  set: LabelledSet;
  classes: string[];
  vocab: Vocab;
  /** Per example: its ids, cut to maxLen. */
  ids: Int32Array[];
  /** Per example: its class id. */
  labels: Int32Array;
  train: number[];
  val: number[];
  /** Training examples per class. */
  counts: number[];
  /** Examples cut to maxLen, and the longest length before cutting. */
  truncated: { count: number; longest: number };
  /** Classes too small for the validation split. */
  small: string[];
  options: ClassifyOptions;
}

export interface ClassifyMeta {
  model: ClassifierConfig;
  vocab: Vocab;
  classes: string[];
  counts: number[];
  maxLen: number;
}

/** The task options from a TrainConfig, with defaults; a bad value is a UsageError. */
export function classifyOptions(config: Pick<TrainConfig, 'taskOptions'>): ClassifyOptions {
  const o = { ...CLASSIFY_DEFAULTS, ...(config.taskOptions ?? {}) } as ClassifyOptions;
  if (typeof o.bidirectional !== 'boolean') throw new UsageError(`--bidirectional takes no value (got ${JSON.stringify(o.bidirectional)})`);
  if (!POOL_KINDS.includes(o.pool)) throw new UsageError(`--pool must be one of ${POOL_KINDS.join(', ')} (got ${JSON.stringify(o.pool)})`);
  if (!isPositiveInt(o.maxLen)) throw new UsageError(`--max-len must be a whole number ≥ 1 (got ${JSON.stringify(o.maxLen)})`);
  return { bidirectional: o.bidirectional, pool: o.pool, maxLen: o.maxLen };
}

const n = (x: number) => x.toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * Encodes texts for a classifier: ids of the known characters, cut to maxLen. Unknown
 * characters are left out and counted (the caller names them, as rnn sample does).
 */
export function encodeExamples(vocab: Vocab, texts: readonly string[], maxLen: number): { ids: Int32Array[]; unknown: Map<string, number>; truncated: number; longest: number } {
  const unknown = new Map<string, number>();
  let truncated = 0;
  let longest = 0;
  const ids = texts.map((t) => {
    const r = vocab.encodeLenient(t);
    for (const [ch, c] of r.unknown) unknown.set(ch, (unknown.get(ch) ?? 0) + c);
    longest = Math.max(longest, r.ids.length);
    if (r.ids.length > maxLen) {
      truncated++;
      return r.ids.subarray(0, maxLen);
    }
    return r.ids;
  });
  return { ids, unknown, truncated, longest };
}

/** Seeded, length-bucketed batches over a set of examples (see the header). */
export class BucketBatcher {
  readonly batchesPerEpoch: number;
  private readonly plan: EpochBatches;

  constructor(private readonly examples: readonly number[], private readonly lengths: (i: number) => number, readonly B: number, private readonly seed: number) {
    if (examples.length === 0) throw new CorpusError('no training examples are left after the validation split; lower --val-frac or add examples');
    this.batchesPerEpoch = Math.ceil(examples.length / B);
    this.plan = new EpochBatches(this.batchesPerEpoch, (epoch) => this.epochPlan(epoch));
  }

  /** The examples of batch `k` of the run (k = batches served before it). */
  batch(k: number): number[] {
    return this.plan.batch(k);
  }

  private epochPlan(epoch: number): number[][] {
    const shuffle = shuffler((this.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
    const order = shuffle([...this.examples]);
    return shuffle(lengthBuckets(order, POOL_BATCHES * this.B, this.B, (a, b) => this.lengths(a) - this.lengths(b)));
  }
}

/** Puts examples into a workspace: ids time-major, lengths, labels; unused rows get length 0. */
export function fillBatch(ws: ClassifierWorkspace, ids: readonly Int32Array[], labels: ArrayLike<number> | null): number {
  const { B } = ws;
  if (ids.length > B) throw new RangeError(`${ids.length} examples for a batch of ${B}`);
  ws.lengths.fill(0);
  let T = 1;
  let chars = 0;
  for (let b = 0; b < ids.length; b++) {
    const x = ids[b]!;
    if (x.length > ws.Tmax) throw new RangeError(`example of ${x.length} steps for a workspace of ${ws.Tmax}`);
    for (let t = 0; t < x.length; t++) ws.ids[t * B + b] = x[t]!;
    ws.lengths[b] = x.length;
    ws.labels[b] = labels ? labels[b]! : 0;
    T = Math.max(T, x.length);
    chars += x.length;
  }
  ws.setSteps(T);
  return chars;
}

/** softmax of each used row of logits [B,K] into probs (float64). */
function softmaxRows(logits: Vec, rows: number, K: number, out: Float64Array, at: number): void {
  for (let b = 0; b < rows; b++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, logits[b * K + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(logits[b * K + k]! - max);
    for (let k = 0; k < K; k++) out[(at + b) * K + k] = Math.exp(logits[b * K + k]! - max) / sum;
  }
}

/** Class probabilities of examples, in batches of similar length (no dropout). */
export class Predictor {
  private ws: ClassifierWorkspace | null = null;

  constructor(readonly model: ClassifierModel, readonly batch = 64) {}

  /** The workspace for examples up to Tmax long, made now if it is not there (a session reserves it at the start). */
  reserve(Tmax: number): ClassifierWorkspace {
    if (!this.ws || this.ws.Tmax < Tmax) this.ws = this.model.workspace(this.batch, Math.max(Tmax, this.ws?.Tmax ?? 0), false);
    return this.ws;
  }

  /**
   * @returns probs [n,K] (row i for ids[i]) and, with labels, the summed cross-entropy (nats)
   * @throws NonFiniteOutputError when a logit or the loss is NaN or infinite (damaged weights)
   */
  run(ids: readonly Int32Array[], labels: ArrayLike<number> | null = null): { probs: Float64Array; lossSum: number } {
    const K = this.model.config.classes;
    const probs = new Float64Array(ids.length * K);
    let lossSum = 0;
    if (ids.length === 0) return { probs, lossSum };
    const ws = this.reserve(longest(ids));
    const order = ids.map((_, i) => i).sort((a, b) => ids[a]!.length - ids[b]!.length);
    const rowProbs = new Float64Array(ws.B * K);
    for (let at = 0; at < order.length; at += ws.B) {
      const idx = order.slice(at, at + ws.B);
      fillBatch(ws, idx.map((i) => ids[i]!), labels ? idx.map((i) => labels[i]!) : null);
      ws.forward();
      // finite weights can still compute NaN (3e38 × 3e38 − …): that is damage, not a prediction
      if (!allFinite(ws.logits.subarray(0, idx.length * K))) throw new NonFiniteOutputError();
      softmaxRows(ws.logits, idx.length, K, rowProbs, 0);
      if (labels) lossSum += ws.loss() * idx.length;
      if (lossSum - lossSum !== 0) throw new NonFiniteOutputError();
      idx.forEach((i, b) => probs.set(rowProbs.subarray(b * K, (b + 1) * K), i * K));
    }
    return { probs, lossSum };
  }
}

/** The longest of some id sequences (at least 1). */
function longest(ids: readonly Int32Array[]): number {
  let T = 1;
  for (const x of ids) T = Math.max(T, x.length);
  return T;
}

/** The index of the largest value in row i of probs [n,K]. */
export function argmaxRow(probs: Float64Array, i: number, K: number): number {
  let best = 0;
  for (let k = 1; k < K; k++) if (probs[i * K + k]! > probs[i * K + best]!) best = k;
  return best;
}

export class ClassifySession extends StatelessSession implements TaskSession {
  readonly task = classifyTask;
  readonly net: ClassifierModel;
  readonly size;
  readonly stepsPerEpoch: number;
  cursor = 0;
  private readonly ws: ClassifierWorkspace;
  private readonly batcher: BucketBatcher;
  private readonly predictor: Predictor;
  /** Accuracy of always answering the most frequent training class, on the validation split. */
  readonly majority: number;

  constructor(k: Kernels, readonly data: ClassifyData, readonly config: TrainConfig) {
    super();
    const o = data.options;
    const cfg: ClassifierConfig = {
      cell: config.cell, vocab: data.vocab.size, embed: config.embed, hidden: config.hidden, layers: config.layers,
      bidirectional: o.bidirectional, pool: o.pool, classes: data.classes.length,
    };
    this.net = new ClassifierModel(k, cfg);
    const Tmax = longest(data.train.map((i) => data.ids[i]!));
    this.ws = this.net.workspace(config.batch, Tmax, true, config.dropout);
    this.batcher = new BucketBatcher(data.train, (i) => data.ids[i]!.length, config.batch, config.seed);
    this.stepsPerEpoch = this.batcher.batchesPerEpoch;
    this.predictor = new Predictor(this.net, config.batch);
    // the evaluation's workspace is made now, so the memory need (src/train/memory.ts) counts it
    if (data.val.length > 0) this.predictor.reserve(longest(data.val.map((i) => data.ids[i]!)));
    const top = data.counts.reduce((best, c, k) => (c > data.counts[best]! ? k : best), 0);
    this.majority = data.val.length === 0 ? 0 : data.val.filter((i) => data.labels[i] === top).length / data.val.length;
    const chars = (list: number[]) => list.reduce((s, i) => s + data.ids[i]!.length, 0);
    this.size = { unit: 'examples', train: data.train.length, val: data.val.length, valScored: data.val.length, trainChars: chars(data.train), vocab: data.vocab.size };
  }

  trainStep(dropoutRng: Rng): { loss: number; chars: number } {
    const { data, ws } = this;
    const idx = this.batcher.batch(this.cursor++);
    const chars = fillBatch(ws, idx.map((i) => data.ids[i]!), idx.map((i) => data.labels[i]!));
    if (this.config.dropout > 0) ws.drawDropout(dropoutRng);
    ws.forward();
    const loss = ws.loss();
    ws.backward();
    return { loss, chars };
  }

  commit(): void {}

  evaluate(): Metrics | null {
    const { data } = this;
    if (data.val.length === 0) return null;
    const ids = data.val.map((i) => data.ids[i]!);
    const truth = data.val.map((i) => data.labels[i]!);
    const K = data.classes.length;
    const { probs, lossSum } = this.predictor.run(ids, truth);
    const predicted = truth.map((_, i) => argmaxRow(probs, i, K));
    const r = classificationReport(truth, predicted, K);
    return { accuracy: r.accuracy, macroF1: r.macroF1, loss: lossSum / ids.length, majority: this.majority };
  }

  checkpointMeta(): Record<string, string> {
    const { data } = this;
    return {
      model: JSON.stringify(this.net.config),
      vocab: JSON.stringify(data.vocab.toJSON()),
      classes: JSON.stringify(data.classes),
      class_counts: JSON.stringify(data.counts),
      max_len: String(data.options.maxLen),
      data: data.set.description,
    };
  }

  header(): string[] {
    const { data, config } = this;
    const m = this.net.config;
    const classes = data.classes.map((c, k) => `${c} ${n(data.counts[k]!)}`);
    const shown = classes.length > 12 ? [...classes.slice(0, 12), `… ${classes.length - 12} more`] : classes;
    return [
      `data: ${data.set.description} · ${n(data.train.length)} train + ${n(data.val.length)} val examples (stratified) · vocab ${data.vocab.size}`,
      `classes: ${data.classes.length} (${shown.join(', ')})${data.val.length > 0 ? ` · majority-class baseline ${pct(this.majority)}` : ''}`,
      `model: ${m.layers}×${m.hidden} ${m.cell}${m.bidirectional ? ' bidirectional' : ''}, pool ${m.pool}, embed ${m.embed}, ${n(this.net.parameterCount)} parameters · batch ${config.batch} · max-len ${data.options.maxLen}`,
      data.val.length === 0 ? 'no validation examples (--val-frac 0): the training loss decides "best"'
        : `${config.evalEvery ? `eval every ${n(config.evalEvery)} steps` : 'eval at the end'} on all ${n(data.val.length)} val example${data.val.length === 1 ? '' : 's'}`,
    ];
  }

  notes(): string[] {
    const { data } = this;
    const out: string[] = [];
    if (data.small.length > 0) {
      out.push(`class${data.small.length === 1 ? '' : 'es'} ${data.small.map((s) => JSON.stringify(s)).join(', ')} ${data.small.length === 1 ? 'has' : 'have'} too few examples for the validation split (--val-frac ${this.config.valFrac}); add examples for a fair validation`);
    }
    if (data.truncated.count > 0) {
      out.push(`${n(data.truncated.count)} example${data.truncated.count === 1 ? ' is' : 's are'} longer than --max-len ${data.options.maxLen} (the longest ${n(data.truncated.longest)} characters) and cut to their first ${data.options.maxLen}`);
    }
    if (data.set.duplicates > 0) out.push(`${n(data.set.duplicates)} example${data.set.duplicates === 1 ? ' repeats' : 's repeat'} an earlier one exactly (kept)`);
    if (data.set.conflicting > 0) out.push(`${n(data.set.conflicting)} text${data.set.conflicting === 1 ? ' occurs' : 's occur'} with more than one label`);
    if (data.set.empty > 0) out.push(`${n(data.set.empty)} empty line${data.set.empty === 1 ? '' : 's'} skipped`);
    return out;
  }
}

export const classifyTask: Task<ClassifyData, ClassifyMeta> = {
  name: 'classify',
  title: 'classifier',
  command: 'rnn classify',
  primary: { name: 'accuracy', direction: 'max' },
  tieBreak: { name: 'loss', direction: 'min' },
  flags: ['bidirectional', 'pool', 'maxLen'],
  defaults: { batch: 32, valFrac: 0.1 },

  async readData(input: DataInput, config: TrainConfig, saved: ClassifyMeta | null): Promise<ClassifyData> {
    const options = classifyOptions(config);
    const set = await readLabelled(input.path, input.stdin, input.ahead);
    let classes: string[];
    let vocab: Vocab;
    if (saved) {
      classes = saved.classes;
      const unknown = set.labels.filter((l) => !classes.includes(l));
      if (unknown.length > 0) {
        throw new CorpusError(`${set.description}: label${unknown.length === 1 ? '' : 's'} ${unknown.slice(0, 5).map((l) => JSON.stringify(l)).join(', ')} not among the checkpoint's classes; resume on the data the run was trained on`);
      }
      vocab = saved.vocab;
    } else {
      classes = set.labels;
      if (classes.length < 2) {
        throw new CorpusError(`${set.description}: only one class (${JSON.stringify(classes[0])}); a classifier needs examples of at least two classes`);
      }
      vocab = Vocab.fromText(set.examples.map((e) => e.text).join(''));
    }
    const enc = encodeExamples(vocab, set.examples.map((e) => e.text), options.maxLen);
    if (enc.unknown.size > 0) {
      throw new CorpusError(`the examples have ${enc.unknown.size} character(s) the checkpoint's vocabulary lacks (e.g. ${JSON.stringify([...enc.unknown.keys()][0])}); resume on the data the run was trained on`);
    }
    const labels = Int32Array.from(set.examples, (e) => classes.indexOf(e.label));
    const split = stratifiedSplit(set.examples, config.valFrac, config.seed);
    const counts = classes.map(() => 0);
    for (const i of split.train) counts[labels[i]!]!++;
    return {
      set, classes, vocab, ids: enc.ids, labels, train: split.train, val: split.val, counts,
      truncated: { count: enc.truncated, longest: enc.longest }, small: split.small, options,
    };
  },

  autoConfig(data: ClassifyData, config: TrainConfig): Partial<TrainConfig> {
    // evaluate at least once a pass
    return { evalEvery: Math.min(config.evalEvery, Math.ceil(data.train.length / config.batch)) };
  },

  open(k: Kernels, data: ClassifyData, config: TrainConfig): TaskSession {
    return new ClassifySession(k, data, config);
  },

  decodeMeta(metadata: Record<string, string>, file: string, tensorCount: number) {
    const m = parseMetaJson(file, 'model', metadata.model) as Partial<ClassifierConfig> | null;
    if (!m || typeof m !== 'object' || !CELL_KINDS.includes(m.cell as never) || ![m.vocab, m.embed, m.hidden, m.layers, m.classes].every(isPositiveInt)
      || typeof m.bidirectional !== 'boolean' || !POOL_KINDS.includes(m.pool as never)) {
      throw new CheckpointError(file, 'metadata "model" does not describe a valid classifier');
    }
    const model: ClassifierConfig = {
      cell: m.cell!, vocab: m.vocab!, embed: m.embed!, hidden: m.hidden!, layers: m.layers!, bidirectional: m.bidirectional!, pool: m.pool!, classes: m.classes!,
    };
    if (model.layers * (model.bidirectional ? 8 : 4) > tensorCount) {
      throw new CheckpointError(file, `metadata "model" claims ${model.layers} layers but the file holds only ${tensorCount} tensors; the file is damaged`);
    }
    const vocab = decodeVocab(file, metadata.vocab);
    if (vocab.size !== model.vocab) throw new CheckpointError(file, `vocabulary has ${vocab.size} characters but the model expects ${model.vocab}`);
    const classes = parseMetaJson(file, 'classes', metadata.classes);
    if (!Array.isArray(classes) || classes.length !== model.classes || !classes.every((c) => typeof c === 'string' && c !== '') || new Set(classes).size !== classes.length) {
      throw new CheckpointError(file, `metadata "classes" is not a list of ${model.classes} distinct labels`);
    }
    const counts = metadata.class_counts === undefined ? classes.map(() => 0) : parseMetaJson(file, 'class_counts', metadata.class_counts);
    if (!Array.isArray(counts) || counts.length !== classes.length || !counts.every((c) => Number.isSafeInteger(c) && c >= 0)) {
      throw new CheckpointError(file, 'metadata "class_counts" is invalid');
    }
    const maxLen = Number(metadata.max_len);
    if (!isPositiveInt(maxLen)) throw new CheckpointError(file, 'metadata "max_len" is invalid');
    return { meta: { model, vocab, classes: classes as string[], counts: counts as number[], maxLen }, specs: classifierParamSpecs(model), stateSpecs: () => [] };
  },

  formatMetrics(m: Metrics): string {
    if (m.accuracy === undefined) return `loss ${m.loss!.toFixed(3)}`;
    return `accuracy ${pct(m.accuracy)}${m.majority !== undefined ? ` (majority ${pct(m.majority)})` : ''} · macro-F1 ${m.macroF1!.toFixed(3)} · loss ${m.loss!.toFixed(3)}`;
  },
};
