// The encoder-decoder task: a source line in, a target line out (translation, reformatting).
//
//   data      `source<TAB>target` per line (.tsv); CRLF, BOM and empty lines handled;
//             exact duplicate pairs are dropped (else they would straddle the split);
//             validation = a seeded random ⌊N·valFrac⌋ of the pairs
//   vocab     two: the source's characters (model id = vocab id + 1; 0 = a character the
//             training sources never had) and the target's (model id = vocab id + 1;
//             0 = the boundary symbol that starts and ends every output, see nn/seq2seq.ts)
//   batches   bucketed by source length: each pass shuffles the pairs (seeded by the run's
//             seed and the pass number), sorts each group of 32 batches' worth by source
//             length, cuts batches and shuffles their order; batch k of the run is a pure
//             function of (data, config, k), so the cursor resumes it exactly
//   network   Seq2SeqModel (src/nn/seq2seq.ts): encoder → bridge → decoder [→ attention]
//   metrics   exact (share of validation targets decoded exactly, greedy), cer (character
//             error rate of the greedy outputs), loss (teacher-forced nats per target
//             symbol, the end symbol included); best checkpoint: highest exact, then lowest loss
//   metadata  model (Seq2SeqConfig), vocab (source characters), targetVocab, longestTarget
import type { Kernels } from '../kernels/types.js';
import { CELL_KINDS } from '../nn/layer.js';
import {
  ATTENTION_MODES, BOUNDARY, Seq2SeqModel, seq2seqParamSpecs, type AttentionMode, type Seq2SeqConfig, type Seq2SeqWorkspace,
} from '../nn/seq2seq.js';
import { beamDecode, decodeBatch } from '../sample/translate.js';
import { decodeCorpus, readTextFile } from '../text/corpus.js';
import { Vocab } from '../text/vocab.js';
import type { TrainConfig } from '../train/config.js';
import { CheckpointError, CorpusError, UsageError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { decodeVocab } from './lm.js';
import { isPositiveInt, parseMetaJson } from './meta.js';
import { scorePairs } from './seq2seq-metrics.js';
import { EpochBatches, lengthBuckets } from './buckets.js';
import { StatelessSession, type DataInput, type Metrics, type Task, type TaskSession } from './task.js';

export interface Pair {
  source: string;
  target: string;
  /** model ids */
  src: Int32Array;
  tgt: Int32Array;
}

export interface Seq2SeqData {
  srcVocab: Vocab;
  tgtVocab: Vocab;
  train: Pair[];
  val: Pair[];
  /** exact duplicate lines dropped */
  duplicates: number;
  /** longest target of the data, in symbols */
  longestTarget: number;
}

export interface Seq2SeqMeta {
  model: Seq2SeqConfig;
  /** the source vocabulary */
  vocab: Vocab;
  tgtVocab: Vocab;
  longestTarget: number;
}

export interface Seq2SeqOptions {
  bidirectional: boolean;
  attention: AttentionMode;
}

const n = (x: number) => x.toLocaleString('en-US');

/** Source text → model ids (0 for characters the vocabulary lacks), and the characters it lacked. */
export function encodeSource(vocab: Vocab, text: string): { ids: Int32Array; unknown: string[] } {
  const chars = [...text];
  const ids = new Int32Array(chars.length);
  const unknown: string[] = [];
  chars.forEach((ch, i) => {
    const id = vocab.id(ch);
    if (id < 0) unknown.push(ch);
    ids[i] = id + 1;
  });
  return { ids, unknown };
}

/** Target model ids (boundary excluded) → text. */
export function decodeTarget(vocab: Vocab, ids: readonly number[]): string {
  return vocab.decode(ids.map((id) => id - 1));
}

/**
 * Lines of `source<TAB>target`; a line without a tab is an error naming its number.
 * Exact duplicate lines are dropped and counted unless `keepDuplicates` (evaluation scores every line).
 */
export function parsePairLines(text: string, name: string, keepDuplicates = false): { pairs: [string, string][]; duplicates: number } {
  const seen = new Set<string>();
  const pairs: [string, string][] = [];
  let duplicates = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const tab = line.indexOf('\t');
    if (tab < 0) {
      throw new CorpusError(`${name}:${i + 1}: no tab; each line of a seq2seq file is source<TAB>target`);
    }
    const source = line.slice(0, tab);
    const target = line.slice(tab + 1);
    if (source.length === 0) throw new CorpusError(`${name}:${i + 1}: the source (before the tab) is empty`);
    if (!keepDuplicates && seen.has(line)) {
      duplicates++;
      continue;
    }
    seen.add(line);
    pairs.push([source, target]);
  }
  if (pairs.length === 0) throw new CorpusError(`${name}: no source<TAB>target lines`);
  return { pairs, duplicates };
}

async function readInput(input: DataInput): Promise<{ text: string; name: string }> {
  if (input.path === '-') return { text: decodeCorpus(input.stdin ?? new Uint8Array(0), 'stdin'), name: 'stdin' };
  return { text: await readTextFile(input.path, '--task seq2seq reads one file of source<TAB>target lines', input.ahead), name: input.path };
}

/** Seeded Fisher–Yates over 0..n-1. */
function permutation(count: number, rng: Rng): Int32Array {
  const p = Int32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Splits pairs into train and val with a seeded shuffle; val gets ⌊N·valFrac⌋ (none when N < 2). */
export function splitPairs<T>(pairs: T[], valFrac: number, seed: number): { train: T[]; val: T[] } {
  const nVal = pairs.length < 2 ? 0 : Math.min(pairs.length - 1, Math.floor(pairs.length * valFrac));
  const order = permutation(pairs.length, new Rng((seed ^ 0x5e9) >>> 0));
  const val = Array.from(order.subarray(0, nVal), (i) => pairs[i]);
  const train = Array.from(order.subarray(nVal), (i) => pairs[i]);
  return { train, val };
}

/** The pairs of data (already parsed), encoded over the vocabularies. */
function encodePairs(raw: [string, string][], srcVocab: Vocab, tgtVocab: Vocab): Pair[] {
  return raw.map(([source, target]) => ({
    source, target,
    src: encodeSource(srcVocab, source).ids,
    tgt: Int32Array.from([...target], (ch) => tgtVocab.id(ch) + 1),
  }));
}

export function seq2seqOptions(config: TrainConfig): Seq2SeqOptions {
  const o = config.taskOptions ?? {};
  const attention = (o.attention ?? 'dot') as AttentionMode;
  if (!ATTENTION_MODES.includes(attention)) {
    throw new UsageError(`--attention must be one of ${ATTENTION_MODES.join(', ')} (got ${JSON.stringify(o.attention)})`);
  }
  return { bidirectional: o.bidirectional === true, attention };
}

export function seq2seqConfigOf(config: TrainConfig, data: Pick<Seq2SeqData, 'srcVocab' | 'tgtVocab'>): Seq2SeqConfig {
  const o = seq2seqOptions(config);
  return {
    cell: config.cell, vocab: data.srcVocab.size + 1, tgtVocab: data.tgtVocab.size + 1, embed: config.embed,
    hidden: config.hidden, layers: config.layers, bidirectional: o.bidirectional, attention: o.attention,
  };
}

/** Batches of pair indices, bucketed by source length (see the header). */
export function bucketBatches(pairs: readonly Pair[], B: number, rng: Rng): number[][] {
  const order = Array.from(permutation(pairs.length, rng));
  const batches = lengthBuckets(order, 32 * B, B, (a, b) => pairs[a].src.length - pairs[b].src.length || a - b);
  const shuffle = permutation(batches.length, rng);
  return Array.from(shuffle, (i) => batches[i]);
}

/** Validation batches: sorted by source length, always the same. */
/** [longest source, longest target + 1 (its end mark)] over the pairs, at least [1, 1]: the workspace shape that fits any batch of them. */
function largestShape(pairs: readonly Pair[]): [number, number] {
  let S = 1;
  let T = 1;
  for (const p of pairs) {
    S = Math.max(S, p.src.length);
    T = Math.max(T, p.tgt.length + 1);
  }
  return [S, T];
}

function fixedBatches(pairs: readonly Pair[], B: number): number[][] {
  const order = pairs.map((_, i) => i).sort((a, b) => pairs[a].src.length - pairs[b].src.length || a - b);
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += B) batches.push(order.slice(i, i + B));
  return batches;
}

/** The longest output decoding allows for targets like these: twice the longest, plus 10. */
export function defaultMaxLen(longestTarget: number): number {
  return 2 * longestTarget + 10;
}

export interface PairEvaluation {
  exact: number;
  cer: number;
  loss: number;
  count: number;
}

export interface PairEvalOptions {
  /** decode with beam search of this width (default: greedy) */
  beam?: number;
  lengthPenalty?: number;
  /** validation batches at most (0: all) */
  limit?: number;
  ws?: Seq2SeqWorkspace;
  /** called with each pair's output text, in the order of `pairs` (for printing them) */
  onOutput?: (index: number, text: string, truncated: boolean) => void;
}

/**
 * Teacher-forced loss and exact match / CER of the decoded outputs (greedy, or beam
 * search) of a model on pairs, in batches of B sorted by source length.
 */
export function evaluatePairs(
  model: Seq2SeqModel, pairs: readonly Pair[], tgtVocab: Vocab, B: number, maxLen: number, opts: PairEvalOptions = {},
): PairEvaluation & { truncated: number } {
  const ws = opts.ws ?? model.workspace(false);
  let batches = fixedBatches(pairs, B);
  if (opts.limit) batches = batches.slice(0, opts.limit);
  let lossSum = 0;
  let positions = 0;
  let truncated = 0;
  const hyps: string[] = [];
  const refs: string[] = [];
  for (const batch of batches) {
    const rows = batch.map((i) => pairs[i]);
    ws.load(rows.map((p) => p.src), rows.map((p) => p.tgt));
    ws.forward();
    ws.loss();
    lossSum += ws.lossSum;
    positions += ws.positions;
    const out = opts.beam
      ? rows.map((p) => beamDecode(ws, p.src, { width: opts.beam!, maxLen, lengthPenalty: opts.lengthPenalty ?? 0 })[0])
      : decodeBatch(ws, rows.map((p) => p.src), maxLen);
    out.forEach((o, r) => {
      const text = decodeTarget(tgtVocab, o.ids);
      if (o.truncated) truncated++;
      hyps.push(text);
      refs.push(rows[r].target);
      opts.onOutput?.(batch[r], text, o.truncated);
    });
  }
  const s = scorePairs(hyps, refs);
  return { exact: s.exactMatch, cer: s.cer, loss: positions === 0 ? 0 : lossSum / positions, count: s.count, truncated };
}

export class Seq2SeqSession extends StatelessSession implements TaskSession {
  readonly task = seq2seqTask;
  readonly net: Seq2SeqModel;
  readonly ws: Seq2SeqWorkspace;
  private readonly evalWs: Seq2SeqWorkspace;
  readonly size;
  readonly stepsPerEpoch: number;
  cursor = 0;
  private readonly batches: EpochBatches;

  constructor(k: Kernels, readonly data: Seq2SeqData, readonly config: TrainConfig) {
    super();
    if (data.train.length === 0) throw new CorpusError('no training pairs are left after the validation split; lower --val-frac or add pairs');
    this.net = new Seq2SeqModel(k, seq2seqConfigOf(config, data));
    this.ws = this.net.workspace(true, config.dropout ?? 0);
    // shaped once at the largest batch there can be, so its slab is taken now, once, and
    // the run's memory need is known before training (src/train/memory.ts)
    const [S, T] = largestShape(data.train);
    this.ws.shape(Math.min(config.batch, data.train.length), S, T);
    this.evalWs = this.net.workspace(false);
    // and the evaluation's, at the largest validation batch (teacher-forced loss; decoding
    // shapes it smaller), so its slab is taken now and counted in the memory need too
    if (data.val.length > 0) {
      const [valS, valT] = largestShape(data.val);
      this.evalWs.shape(Math.min(config.batch, data.val.length), valS, valT);
    }
    this.stepsPerEpoch = Math.ceil(data.train.length / config.batch);
    this.batches = new EpochBatches(this.stepsPerEpoch, (epoch) =>
      bucketBatches(data.train, config.batch, new Rng((Math.imul(config.seed, 0x9e3779b1) + epoch + 1) >>> 0)));
    const valScored = config.evalWindows > 0 ? Math.min(data.val.length, config.evalWindows * config.batch) : data.val.length;
    const chars = data.train.reduce((s, p) => s + p.src.length + p.tgt.length, 0);
    this.size = { unit: 'pairs', train: data.train.length, val: data.val.length, valScored, trainChars: chars, vocab: data.srcVocab.size };
  }

  trainStep(dropoutRng: Rng): { loss: number; chars: number } {
    const rows = this.batches.batch(this.cursor).map((i) => this.data.train[i]);
    this.cursor++;
    const { ws } = this;
    ws.load(rows.map((p) => p.src), rows.map((p) => p.tgt));
    if (this.config.dropout > 0) ws.drawDropout(dropoutRng);
    ws.forward();
    const loss = ws.loss();
    ws.backward();
    return { loss, chars: rows.reduce((s, p) => s + p.src.length + p.tgt.length + 1, 0) };
  }

  commit(): void {}

  evaluate(): Metrics | null {
    if (this.data.val.length === 0) return null;
    const r = evaluatePairs(this.net, this.data.val, this.data.tgtVocab, this.config.batch,
      defaultMaxLen(this.data.longestTarget), { limit: this.config.evalWindows, ws: this.evalWs });
    return { exact: r.exact, cer: r.cer, loss: r.loss };
  }

  checkpointMeta(): Record<string, string> {
    const m = this.net.config;
    return {
      cell: m.cell,
      model: JSON.stringify(m),
      vocab: JSON.stringify(this.data.srcVocab.toJSON()),
      targetVocab: JSON.stringify(this.data.tgtVocab.toJSON()),
      longestTarget: String(this.data.longestTarget),
    };
  }

  header(): string[] {
    const { data, config } = this;
    const m = this.net.config;
    const longestSrc = Math.max(...data.train.map((p) => p.src.length));
    const dup = data.duplicates > 0 ? ` · ${n(data.duplicates)} duplicate line(s) dropped` : '';
    const valNote = data.val.length === 0 ? 'no validation pairs (--val-frac 0): the training loss decides "best"'
      : `${config.evalEvery ? `eval every ${n(config.evalEvery)} step${config.evalEvery === 1 ? '' : 's'}` : 'eval at the end'} on ${this.size.valScored < data.val.length ? `${n(this.size.valScored)} of ${n(data.val.length)}` : `all ${n(data.val.length)}`} val pairs (greedy)`;
    return [
      `data: source<TAB>target pairs · ${n(data.train.length)} train + ${n(data.val.length)} val${dup} · source vocab ${data.srcVocab.size}, target vocab ${data.tgtVocab.size} · longest source ${longestSrc}, target ${data.longestTarget} · ${valNote}`,
      `model: encoder ${m.layers}×${m.hidden} ${m.cell}${m.bidirectional ? ' bidirectional' : ''} → decoder ${m.layers}×${m.hidden}, attention ${m.attention}, embed ${m.embed}, ${n(this.net.parameterCount)} parameters · batch ${config.batch}`,
    ];
  }

  notes(): string[] {
    const params = this.net.parameterCount;
    const chars = this.size.trainChars;
    if (params / Math.max(1, chars) > 10) return [`${n(params)} parameters for ${n(chars)} characters of pairs; the model will likely memorise them (try a smaller --hidden, --dropout, or more pairs)`];
    return [];
  }
}

/** A session over pairs already in memory (tests, bench, library users). */
export function seq2seqSession(k: Kernels, pairs: [string, string][], config: TrainConfig): Seq2SeqSession {
  return new Seq2SeqSession(k, buildData(pairs, 0, config, null), config);
}

function buildData(raw: [string, string][], duplicates: number, config: TrainConfig, saved: Seq2SeqMeta | null): Seq2SeqData {
  let srcVocab: Vocab;
  let tgtVocab: Vocab;
  if (saved) {
    srcVocab = saved.vocab;
    tgtVocab = saved.tgtVocab;
    for (const [s, t] of raw) {
      const bad = [...s].find((ch) => srcVocab.id(ch) < 0) ?? [...t].find((ch) => tgtVocab.id(ch) < 0);
      if (bad !== undefined) {
        throw new CorpusError(`the pairs have a character the checkpoint's vocabularies lack (${JSON.stringify(bad)} in ${JSON.stringify(`${s}\t${t}`)}); resume on the pairs the run was trained on`);
      }
    }
  } else {
    srcVocab = Vocab.fromText(raw.map(([s]) => s).join(''));
    tgtVocab = Vocab.fromText(raw.map(([, t]) => t).join(''));
  }
  const pairs = encodePairs(raw, srcVocab, tgtVocab);
  const { train, val } = splitPairs(pairs, config.valFrac, config.seed);
  const longestTarget = saved?.longestTarget ?? Math.max(1, ...pairs.map((p) => p.tgt.length));
  return { srcVocab, tgtVocab, train, val, duplicates, longestTarget };
}

export const seq2seqTask: Task<Seq2SeqData, Seq2SeqMeta> = {
  name: 'seq2seq',
  title: 'sequence-to-sequence model',
  command: 'rnn translate',
  primary: { name: 'exact', direction: 'max' },
  tieBreak: { name: 'loss', direction: 'min' },
  flags: ['evalWindows', 'bidirectional', 'attention'],
  defaults: { batch: 32, epochs: 30 },

  async readData(input: DataInput, config: TrainConfig, saved: Seq2SeqMeta | null): Promise<Seq2SeqData> {
    seq2seqOptions(config);
    const { text, name } = await readInput(input);
    const { pairs, duplicates } = parsePairLines(text, name);
    return buildData(pairs, duplicates, config, saved);
  },

  open(k: Kernels, data: Seq2SeqData, config: TrainConfig): TaskSession {
    return new Seq2SeqSession(k, data, config);
  },

  decodeMeta(metadata: Record<string, string>, file: string, tensorCount: number) {
    const m = parseMetaJson(file, 'model', metadata.model) as Partial<Seq2SeqConfig> | null;
    if (!m || typeof m !== 'object' || !CELL_KINDS.includes(m.cell as never)
      || ![m.vocab, m.tgtVocab, m.embed, m.hidden, m.layers].every(isPositiveInt)
      || typeof m.bidirectional !== 'boolean' || !ATTENTION_MODES.includes(m.attention as never)) {
      throw new CheckpointError(file, 'metadata "model" does not describe a valid encoder-decoder');
    }
    const model: Seq2SeqConfig = {
      cell: m.cell!, vocab: m.vocab!, tgtVocab: m.tgtVocab!, embed: m.embed!, hidden: m.hidden!, layers: m.layers!,
      bidirectional: m.bidirectional!, attention: m.attention!,
    };
    // encoder and decoder have 4 tensors per layer each
    if (model.layers > tensorCount / 8) {
      throw new CheckpointError(file, `metadata "model" claims ${model.layers} layers but the file holds only ${tensorCount} tensors; the file is damaged`);
    }
    const srcVocab = decodeVocab(file, metadata.vocab);
    const tgtVocab = decodeVocab(file, metadata.targetVocab, 'targetVocab');
    if (srcVocab.size + 1 !== model.vocab || tgtVocab.size + 1 !== model.tgtVocab) {
      throw new CheckpointError(file, 'the vocabularies do not match the model\'s sizes; the file is damaged');
    }
    const longestTarget = Number(metadata.longestTarget);
    if (!isPositiveInt(longestTarget)) throw new CheckpointError(file, 'metadata "longestTarget" is not a positive integer');
    return { meta: { model, vocab: srcVocab, tgtVocab, longestTarget }, specs: seq2seqParamSpecs(model), stateSpecs: () => [] };
  },

  formatMetrics(m: Metrics): string {
    return `exact ${(100 * m.exact!).toFixed(1)}% · CER ${m.cer!.toFixed(3)} · loss ${m.loss!.toFixed(3)}`;
  },
};

export { BOUNDARY };

/** The network of a seq2seq checkpoint (weights as saved), on the given kernels. */
export function seq2seqFromCheckpoint(k: Kernels, ckpt: { model: Seq2SeqConfig; params: ReadonlyMap<string, Float32Array> }): Seq2SeqModel {
  const model = new Seq2SeqModel(k, ckpt.model);
  for (const [name, data] of ckpt.params) model.layout.view(model.params, name).set(data);
  return model;
}

/** Pairs read from a labelled file for `rnn eval`, over a checkpoint's vocabularies (unknown source characters → 0). */
export function pairsForEval(text: string, name: string, meta: Seq2SeqMeta): { pairs: Pair[]; unknownTarget: number } {
  const { pairs } = parsePairLines(text, name, true);
  let unknownTarget = 0;
  const out = pairs.map(([source, target]) => {
    const tgt: number[] = [];
    for (const ch of target) {
      const id = meta.tgtVocab.id(ch);
      if (id < 0) unknownTarget++;
      else tgt.push(id + 1);
    }
    return { source, target, src: encodeSource(meta.vocab, source).ids, tgt: Int32Array.from(tgt) };
  });
  return { pairs: out, unknownTarget };
}
