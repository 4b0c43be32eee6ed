// The conditioned language model (one-to-many): next-character prediction where every
// position also knows the tag of the document it belongs to, so one checkpoint generates
// text in the style of a tag, of a blend of tags, or of none.
//
//   data      labelled text read by src/text/labelled.ts: tag<TAB>text lines (one document
//             per line), a folder of files (one tag per file, the file's lines its text) or
//             a folder of folders (one tag per folder, one document per file). Each
//             document is followed by a newline. Validation: the tail ⌊n_k·valFrac⌋
//             characters of every tag's text (its documents in reading order), so every tag
//             is scored. The training documents are then laid out in one seeded shuffled
//             order (tags interleave, as in a mixed file), the validation pieces likewise.
//   tags      row 0 of the tag table is the untagged mode ("none"); rows 1..K the tags in
//             sorted order. A position's tag is that of the character it predicts, so the
//             newline ending a document already carries the next document's tag.
//   batches   the LM's B contiguous streams and windows of T with the state carried
//             (Batcher), and a second Batcher over the per-position tags, so the tags of
//             window w are those of its characters. Tag dropout: each row of each training
//             window is untagged (row 0) with probability tagDropout, drawn from the
//             trainer's dropout stream (part of the run state, so resume is exact), which
//             trains the untagged mode on the same text.
//   network   Model with config.tags = K + 1 (src/nn/model.ts: tag_embed.weight,
//             rnn.weight_ih_tag_l0; every other tensor as in the LM)
//   metrics   { loss, bpc, untagged } on the validation stream: loss with the true tags
//             (primary, lowest is best) and with every position untagged
//   metadata  model (with tags, tagEmbed), vocab, tags (names of rows 1..K), tag_chars
//             (training characters per tag: the shares `rnn sample --list-tags` shows)
import type { Kernels } from '../kernels/types.js';
import { CELL_KINDS } from '../nn/layer.js';
import { Model, paramSpecs, type ModelConfig, type Workspace } from '../nn/model.js';
import type { ParamSpec } from '../nn/params.js';
import { Batcher } from '../text/batches.js';
import { readLabelled, shuffler } from '../text/labelled.js';
import { Vocab } from '../text/vocab.js';
import type { TrainConfig } from '../train/config.js';
import { CheckpointError, CorpusError, UsageError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { evalPlan } from './lm-eval.js';
import { decodeVocab, getCarriedState, lmStateSpecs, modelConfigOf, setCarriedState } from './lm.js';
import { isPositiveInt, parseMetaJson } from './meta.js';
import type { DataInput, Metrics, Task, TaskSession } from './task.js';

/** Options of the conditioned task (config.taskOptions). */
export interface CondOptions {
  /** D: width of the tag embedding. */
  tagEmbed: number;
  /** Probability that a row of a training window is untagged. */
  tagDropout: number;
}

export const COND_DEFAULTS: CondOptions = { tagEmbed: 16, tagDropout: 0.2 };

/** The name of the untagged mode (row 0). */
export const NO_TAG = 'none';

/** One stream of documents: ids and, per position, the tag row of the character it predicts. */
export interface TaggedStream {
  ids: Int32Array;
  /** tags[i] = tag row of ids[i + 1]'s document (the last one: its own). */
  tags: Int32Array;
}

export interface CondData {
  vocab: Vocab;
  /** Tag names of rows 1..K, sorted. */
  tags: string[];
  /** Training characters per tag (same order as tags). */
  tagChars: number[];
  train: TaggedStream;
  val: TaggedStream;
  /** How the data was read, for the header. */
  description: string;
}

export interface CondMeta {
  model: ModelConfig;
  vocab: Vocab;
  tags: string[];
  tagChars: number[];
}

export function condOptions(config: Pick<TrainConfig, 'taskOptions'>): CondOptions {
  const o = { ...COND_DEFAULTS, ...(config.taskOptions ?? {}) } as CondOptions;
  if (!isPositiveInt(o.tagEmbed)) throw new UsageError(`--tag-embed must be a whole number ≥ 1 (got ${JSON.stringify(o.tagEmbed)})`);
  if (!(typeof o.tagDropout === 'number' && o.tagDropout >= 0 && o.tagDropout < 1)) {
    throw new UsageError(`--tag-dropout must be a number ≥ 0 and < 1 (got ${JSON.stringify(o.tagDropout)})`);
  }
  return o;
}

/** A document: its tag row and its text (a newline is added after it). */
export interface TaggedDoc {
  tag: number;
  text: string;
}

/** Lays documents out as one stream: each followed by a newline, each position tagged with the tag of the character after it. */
export function tagStream(vocab: Vocab, docs: readonly TaggedDoc[]): TaggedStream {
  const texts = docs.map((d) => `${d.text}\n`);
  const parts = texts.map((t) => vocab.encode(t));
  const n = parts.reduce((s, p) => s + p.length, 0);
  const ids = new Int32Array(n);
  const charTag = new Int32Array(n);
  let at = 0;
  parts.forEach((p, i) => {
    ids.set(p, at);
    charTag.fill(docs[i].tag, at, at + p.length);
    at += p.length;
  });
  const tags = new Int32Array(n);
  if (n > 0) {
    tags.set(charTag.subarray(1));
    tags[n - 1] = charTag[n - 1];
  }
  return { ids, tags };
}

/**
 * Splits each tag's text (its documents in order) into a training head and a validation
 * tail of ⌊n_k·valFrac⌋ characters (code points), cutting a document where needed.
 */
export function splitByTag(docs: readonly TaggedDoc[], K: number, valFrac: number): { train: TaggedDoc[]; val: TaggedDoc[] } {
  if (!(valFrac >= 0 && valFrac < 1)) throw new UsageError(`--val-frac must be at least 0 and below 1 (got ${valFrac}); try 0.1`);
  const train: TaggedDoc[] = [];
  const val: TaggedDoc[] = [];
  for (let tag = 1; tag <= K; tag++) {
    const mine = docs.filter((d) => d.tag === tag).map((d) => [...d.text]);
    const total = mine.reduce((s, d) => s + d.length, 0);
    let wantVal = Math.floor(total * valFrac);
    const tail: TaggedDoc[] = [];
    for (let i = mine.length - 1; i >= 0; i--) {
      const chars = mine[i];
      if (wantVal >= chars.length) {
        tail.unshift({ tag, text: chars.join('') });
        wantVal -= chars.length;
      } else {
        if (wantVal > 0) tail.unshift({ tag, text: chars.slice(chars.length - wantVal).join('') });
        const head = chars.slice(0, chars.length - wantVal).join('');
        for (let j = 0; j < i; j++) train.push({ tag, text: mine[j].join('') });
        if (head.length > 0) train.push({ tag, text: head });
        wantVal = 0;
        break;
      }
    }
    val.push(...tail);
  }
  return { train, val };
}

/** Reads labelled data as tagged documents (the table layout: one per line; files: one per file of lines; folders: one per file). */
export async function readTaggedDocs(input: DataInput): Promise<{ labels: string[]; docs: { label: string; text: string }[]; description: string }> {
  const set = await readLabelled(input.path, input.stdin, input.ahead);
  if (set.layout !== 'files') return { labels: set.labels, docs: set.examples, description: set.description };
  // one tag per file: the file's lines, back in order, are one document
  const byLabel = new Map<string, string[]>();
  for (const ex of set.examples) {
    const lines = byLabel.get(ex.label) ?? [];
    lines.push(ex.text);
    byLabel.set(ex.label, lines);
  }
  return {
    labels: set.labels,
    docs: [...byLabel].map(([label, lines]) => ({ label, text: lines.join('\n') })),
    description: `one tag per file of ${input.path}`,
  };
}

export class CondSession implements TaskSession {
  readonly task = condTask;
  readonly net: Model;
  readonly ws: Workspace;
  readonly batcher: Batcher;
  private readonly tagBatcher: Batcher;
  /** [T,B] tag rows of the current window. */
  private readonly tagRows: Int32Array;
  private readonly scratch: Int32Array;
  private evalWs: Workspace | null = null;
  readonly size;
  readonly stepsPerEpoch: number;
  readonly options: CondOptions;

  constructor(k: Kernels, readonly data: CondData, readonly config: TrainConfig) {
    this.options = condOptions(config);
    this.batcher = new Batcher(data.train.ids, config.batch, config.seq);
    this.tagBatcher = new Batcher(data.train.tags, config.batch, config.seq);
    this.net = new Model(k, { ...modelConfigOf(config, data.vocab.size), tags: data.tags.length + 1, tagEmbed: this.options.tagEmbed });
    this.ws = this.net.workspace(config.batch, config.seq, true, config.dropout ?? 0);
    this.tagRows = new Int32Array(config.batch * config.seq);
    this.scratch = new Int32Array(config.batch * config.seq);
    this.stepsPerEpoch = this.batcher.windowsPerEpoch;
    const plan = evalPlan(data.val.ids.length, config.batch, config.seq, config.evalWindows);
    // made now, not at the first evaluation: the memory need (src/train/memory.ts) counts it
    if (plan) this.evalWs = this.net.workspace(plan.B, plan.T, false);
    const scored = plan?.chars ?? 0;
    this.size = { unit: 'chars', train: data.train.ids.length, val: data.val.ids.length, valScored: scored, trainChars: data.train.ids.length, vocab: data.vocab.size };
  }

  get cursor(): number {
    return this.batcher.cursor;
  }

  set cursor(value: number) {
    this.batcher.cursor = value;
    this.tagBatcher.cursor = value;
  }

  trainStep(dropoutRng: Rng): { loss: number; chars: number } {
    const { ws, config } = this;
    const B = config.batch;
    if (this.batcher.next(ws.ids, ws.targets)) ws.resetState();
    this.tagBatcher.next(this.tagRows, this.scratch);
    const p = this.options.tagDropout;
    if (p > 0) {
      for (let b = 0; b < B; b++) {
        if (dropoutRng.next() < p) for (let t = 0; t < config.seq; t++) this.tagRows[t * B + b] = 0;
      }
    }
    ws.setTags(this.tagRows);
    if (config.dropout > 0) ws.drawDropout(dropoutRng);
    ws.forward();
    const loss = ws.loss();
    ws.backward();
    return { loss, chars: B * config.seq };
  }

  commit(): void {
    this.ws.carry();
  }

  evaluate(): Metrics | null {
    const plan = evalPlan(this.data.val.ids.length, this.config.batch, this.config.seq, this.config.evalWindows);
    if (plan && (!this.evalWs || this.evalWs.B !== plan.B || this.evalWs.T !== plan.T)) this.evalWs = this.net.workspace(plan.B, plan.T, false);
    const r = evaluateTagged(this.net, this.data.val, this.config.batch, this.config.seq, this.config.evalWindows, this.evalWs);
    return r ? { loss: r.tagged.nats, bpc: r.tagged.nats / Math.LN2, untagged: r.untagged.nats } : null;
  }

  stateSpecs(): ParamSpec[] {
    return lmStateSpecs(this.net.config, this.config.batch);
  }

  getState(): Record<string, Float32Array> {
    return getCarriedState(this.ws, this.net.config.layers);
  }

  setState(state: Record<string, Float32Array>): void {
    setCarriedState(this.ws, this.net.config.layers, state);
  }

  checkpointMeta(): Record<string, string> {
    return {
      cell: this.net.config.cell,
      model: JSON.stringify(this.net.config),
      vocab: JSON.stringify(this.data.vocab.toJSON()),
      tags: JSON.stringify(this.data.tags),
      tag_chars: JSON.stringify(this.data.tagChars),
    };
  }

  header(): string[] {
    const { data, config } = this;
    const m = this.net.config;
    const n = (x: number) => x.toLocaleString('en-US');
    const total = data.tagChars.reduce((s, x) => s + x, 0) || 1;
    const shown = data.tags.slice(0, 8).map((t, i) => `${t} ${((100 * data.tagChars[i]) / total).toFixed(0)}%`).join(', ');
    return [
      `data: ${data.description}: ${data.tags.length} tags (${shown}${data.tags.length > 8 ? ', …' : ''})`,
      `data: ${n(data.train.ids.length)} train + ${n(data.val.ids.length)} val chars (every tag's tail) · vocab ${data.vocab.size} · tag dropout ${this.options.tagDropout}`,
      `model: ${m.layers}×${m.hidden} ${m.cell}, embed ${m.embed} + tag ${m.tagEmbed}, ${n(this.net.parameterCount)} parameters · batch ${config.batch} × seq ${config.seq}`,
    ];
  }

  notes(): string[] {
    const tiny = this.data.tags.filter((_, i) => this.data.tagChars[i] < 1000);
    return tiny.length > 0 ? [`tag(s) ${tiny.slice(0, 5).map((t) => JSON.stringify(t)).join(', ')} have fewer than 1,000 characters of text; the model will know little of their style`] : [];
  }
}

export interface TaggedEval {
  tagged: { nats: number; chars: number };
  untagged: { nats: number; chars: number };
  /** Per tag row 1..K (index tag − 1): nats/char with the true tag and untagged, and the characters scored. */
  perTag: { tagged: number; untagged: number; chars: number }[];
}

/**
 * Loss of a conditioned model on a tagged stream, in windows of B×T with the state
 * carried as in training (the first `maxWindows` windows, 0: all), once with the true tags
 * and once with every position untagged; also per tag (positions bucketed by their tag).
 */
export function evaluateTagged(model: Model, stream: TaggedStream, B: number, T: number, maxWindows = 0, reuse: Workspace | null = null): TaggedEval | null {
  const plan = evalPlan(stream.ids.length, B, T, maxWindows);
  if (!plan) return null;
  const K = model.config.tags! - 1;
  // (a workspace is arena memory that is never freed: evaluations of a run pass theirs back)
  const ws = reuse && reuse.B === plan.B && reuse.T === plan.T && !reuse.training ? reuse : model.workspace(plan.B, plan.T, false);
  const rows = plan.B * plan.T;
  const tagRows = new Int32Array(rows);
  const scratch = new Int32Array(rows);
  const V = model.config.vocab;
  const result: TaggedEval = {
    tagged: { nats: 0, chars: 0 }, untagged: { nats: 0, chars: 0 },
    perTag: Array.from({ length: K }, () => ({ tagged: 0, untagged: 0, chars: 0 })),
  };
  for (const mode of ['tagged', 'untagged'] as const) {
    const ids = new Batcher(stream.ids, plan.B, plan.T, 'the validation text');
    const tags = new Batcher(stream.tags, plan.B, plan.T, 'the validation text');
    ws.resetState();
    for (let w = 0; w < plan.windows; w++) {
      ids.next(ws.ids, ws.targets);
      tags.next(tagRows, scratch);
      if (mode === 'untagged') ws.setTagMix(oneHot(K + 1, 0));
      else ws.setTags(tagRows);
      ws.forward();
      for (let r = 0; r < rows; r++) {
        const nats = model.k.softmaxXent(1, V, ws.logits.subarray(r * V, (r + 1) * V), ws.targets.subarray(r, r + 1), null, 1);
        result[mode].nats += nats;
        const bucket = result.perTag[tagRows[r] - 1];
        if (bucket) {
          bucket[mode] += nats;
          if (mode === 'tagged') bucket.chars++;
        }
      }
      ws.carry();
    }
    result[mode].chars = plan.chars;
    result[mode].nats /= plan.chars;
  }
  for (const b of result.perTag) {
    if (b.chars > 0) {
      b.tagged /= b.chars;
      b.untagged /= b.chars;
    }
  }
  return result;
}

export function oneHot(n: number, i: number): Float64Array {
  const v = new Float64Array(n);
  v[i] = 1;
  return v;
}

/**
 * The tag weighting of a --tag value: "none", one tag, or a blend "a=0.7,b=0.3" (weights
 * ≥ 0, normalised to sum 1). Unknown tags: a UsageError listing the known ones.
 */
export function parseTagSpec(spec: string, tags: readonly string[]): { weights: Float64Array; label: string } {
  const K = tags.length;
  const unknown = (name: string) => new UsageError(`unknown tag ${JSON.stringify(name)}; this model knows ${NO_TAG}, ${tags.map((t) => JSON.stringify(t)).join(', ')} (rnn sample --list-tags)`);
  const trimmed = spec.trim();
  if (trimmed === NO_TAG) return { weights: oneHot(K + 1, 0), label: NO_TAG };
  const exact = tags.indexOf(spec);
  if (exact >= 0) return { weights: oneHot(K + 1, exact + 1), label: spec };
  if (!spec.includes('=')) {
    const t = tags.indexOf(trimmed);
    if (t < 0) throw unknown(trimmed);
    return { weights: oneHot(K + 1, t + 1), label: trimmed };
  }
  const weights = new Float64Array(K + 1);
  for (const part of spec.split(',')) {
    const at = part.lastIndexOf('=');
    if (at < 0) throw new UsageError(`--tag ${JSON.stringify(spec)}: give a blend as tag=weight,tag=weight (e.g. a=0.7,b=0.3)`);
    const name = part.slice(0, at).trim();
    const w = Number(part.slice(at + 1));
    if (part.slice(at + 1).trim() === '' || !Number.isFinite(w) || w < 0) throw new UsageError(`--tag: the weight of ${JSON.stringify(name)} must be a number ≥ 0 (got ${JSON.stringify(part.slice(at + 1))})`);
    const row = name === NO_TAG ? 0 : tags.indexOf(name) + 1;
    if (row === 0 && name !== NO_TAG) throw unknown(name);
    weights[row] += w;
  }
  const sum = weights.reduce((s, x) => s + x, 0);
  if (!(sum > 0)) throw new UsageError(`--tag ${JSON.stringify(spec)}: the weights add up to 0; give at least one positive weight`);
  for (let i = 0; i <= K; i++) weights[i] /= sum;
  return { weights, label: spec };
}

export const condTask: Task<CondData, CondMeta> = {
  name: 'cond',
  title: 'conditioned language model',
  command: 'rnn sample',
  primary: { name: 'loss', direction: 'min' },
  tieBreak: null,
  flags: ['seq', 'evalWindows', 'tagEmbed', 'tagDropout'],
  defaults: {},

  async readData(input: DataInput, config: TrainConfig, saved: CondMeta | null): Promise<CondData> {
    condOptions(config);
    const { labels, docs, description } = await readTaggedDocs(input);
    let vocab: Vocab;
    let tags: string[];
    if (saved) {
      vocab = saved.vocab;
      tags = saved.tags;
      const extra = labels.filter((l) => !tags.includes(l));
      if (extra.length > 0) throw new CorpusError(`the data has tag(s) the checkpoint does not know (${extra.slice(0, 5).map((t) => JSON.stringify(t)).join(', ')}); resume on the data the run was trained on`);
      const missing = new Set<string>();
      for (const d of docs) for (const ch of d.text) if (vocab.id(ch) < 0) missing.add(ch);
      if (vocab.id('\n') < 0) missing.add('\n');
      if (missing.size > 0) throw new CorpusError(`the text has ${missing.size} character(s) the checkpoint's vocabulary lacks (e.g. ${JSON.stringify([...missing][0])}); resume on the text the run was trained on`);
    } else {
      if (labels.includes(NO_TAG)) throw new CorpusError(`the data has a tag named ${JSON.stringify(NO_TAG)}, which is the name of the untagged mode; rename it`);
      tags = labels;
      vocab = Vocab.fromText(`${docs.map((d) => d.text).join('\n')}\n`);
    }
    const tagged: TaggedDoc[] = docs.map((d) => ({ tag: tags.indexOf(d.label) + 1, text: d.text }));
    const split = splitByTag(tagged, tags.length, config.valFrac);
    const shuffle = shuffler(config.seed);
    const trainDocs = shuffle([...split.train]);
    const valDocs = shuffle([...split.val]);
    const tagChars = tags.map((_, i) => split.train.filter((d) => d.tag === i + 1).reduce((s, d) => s + [...d.text].length + 1, 0));
    return { vocab, tags, tagChars, train: tagStream(vocab, trainDocs), val: tagStream(vocab, valDocs), description };
  },

  autoConfig(data: CondData, config: TrainConfig): Partial<TrainConfig> {
    const plan = evalPlan(data.val.ids.length, config.batch, config.seq);
    return { evalWindows: plan && plan.allWindows > 100 ? 100 : 0 };
  },

  open(k: Kernels, data: CondData, config: TrainConfig): TaskSession {
    return new CondSession(k, data, config);
  },

  decodeMeta(metadata: Record<string, string>, file: string, tensorCount: number) {
    const m = parseMetaJson(file, 'model', metadata.model) as Partial<ModelConfig> | null;
    if (!m || typeof m !== 'object' || !CELL_KINDS.includes(m.cell as never) || ![m.vocab, m.embed, m.hidden, m.layers, m.tags, m.tagEmbed].every(isPositiveInt)) {
      throw new CheckpointError(file, 'metadata "model" does not describe a valid conditioned model');
    }
    const model: ModelConfig = { cell: m.cell!, vocab: m.vocab!, embed: m.embed!, hidden: m.hidden!, layers: m.layers!, tags: m.tags!, tagEmbed: m.tagEmbed! };
    if (model.layers > tensorCount / 4) {
      throw new CheckpointError(file, `metadata "model" claims ${model.layers} layers but the file holds only ${tensorCount} tensors; the file is damaged`);
    }
    const vocab = decodeVocab(file, metadata.vocab);
    if (vocab.size !== model.vocab) throw new CheckpointError(file, `vocabulary has ${vocab.size} characters but the model expects ${model.vocab}`);
    const tags = parseMetaJson(file, 'tags', metadata.tags);
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string') || tags.length + 1 !== model.tags!) {
      throw new CheckpointError(file, `metadata "tags" is not a list of the model's ${model.tags! - 1} tag names`);
    }
    const chars = parseMetaJson(file, 'tag_chars', metadata.tag_chars);
    if (!Array.isArray(chars) || chars.length !== tags.length || !chars.every((c) => Number.isSafeInteger(c) && c >= 0)) {
      throw new CheckpointError(file, 'metadata "tag_chars" is not a count of characters per tag');
    }
    return { meta: { model, vocab, tags: tags as string[], tagChars: chars as number[] }, specs: paramSpecs(model), stateSpecs: (train: TrainConfig) => lmStateSpecs(model, train.batch) };
  },

  formatMetrics(m: Metrics): string {
    return `${m.loss!.toFixed(3)} (${(m.loss! / Math.LN2).toFixed(2)} bpc) nats/char, untagged ${m.untagged!.toFixed(3)}`;
  },
};

/**
 * Exact loss of a conditioned model on a whole tagged stream (every one of its n − 1
 * predictions), as one stream from a zero state with the state carried (batch 1, windows
 * of T and a shorter last one); with the true tags and untagged, in total and per tag.
 */
export function scoreTaggedStream(model: Model, stream: TaggedStream, T = 64): TaggedEval {
  const K = model.config.tags! - 1;
  const V = model.config.vocab;
  const n = stream.ids.length - 1;
  const result: TaggedEval = {
    tagged: { nats: 0, chars: Math.max(0, n) }, untagged: { nats: 0, chars: Math.max(0, n) },
    perTag: Array.from({ length: K }, () => ({ tagged: 0, untagged: 0, chars: 0 })),
  };
  if (n <= 0) return result;
  const full = model.workspace(1, Math.min(T, n), false);
  const rest = n % full.T === 0 ? null : model.workspace(1, n % full.T, false);
  const none = oneHot(K + 1, 0);
  for (const mode of ['tagged', 'untagged'] as const) {
    let prev: Workspace | null = null;
    for (let i = 0; i < n; ) {
      const ws = n - i >= full.T ? full : rest!;
      if (prev === null) ws.resetState();
      else if (prev !== ws) {
        for (let l = 0; l < model.config.layers; l++) {
          const a = prev.state(l);
          const b = ws.state(l);
          b.h.set(a.h);
          if (a.c && b.c) b.c.set(a.c);
        }
      }
      const tags = stream.tags.subarray(i, i + ws.T);
      ws.ids.set(stream.ids.subarray(i, i + ws.T));
      ws.targets.set(stream.ids.subarray(i + 1, i + 1 + ws.T));
      if (mode === 'tagged') ws.setTags(tags);
      else ws.setTagMix(none);
      ws.forward();
      for (let t = 0; t < ws.T; t++) {
        const nats = model.k.softmaxXent(1, V, ws.logits.subarray(t * V, (t + 1) * V), ws.targets.subarray(t, t + 1), null, 1);
        result[mode].nats += nats;
        const bucket = result.perTag[tags[t] - 1];
        if (bucket) {
          bucket[mode] += nats;
          if (mode === 'tagged') bucket.chars++;
        }
      }
      ws.carry();
      prev = ws;
      i += ws.T;
    }
    result[mode].nats /= n;
  }
  for (const b of result.perTag) {
    if (b.chars > 0) {
      b.tagged /= b.chars;
      b.untagged /= b.chars;
    }
  }
  return result;
}

/**
 * Held-out labelled data for `rnn eval --condition`: documents of known tags, characters
 * the model knows, in a seeded shuffled order (tags interleave as in training), laid out as
 * one tagged stream. Reports what was left out.
 */
export async function readHeldOut(input: DataInput, meta: CondMeta): Promise<{ stream: TaggedStream; unknownTags: Map<string, number>; unknownChars: Map<string, number>; description: string }> {
  const { docs, description } = await readTaggedDocs(input);
  const unknownTags = new Map<string, number>();
  const unknownChars = new Map<string, number>();
  const kept: TaggedDoc[] = [];
  for (const d of docs) {
    const row = meta.tags.indexOf(d.label) + 1;
    if (row === 0) {
      unknownTags.set(d.label, (unknownTags.get(d.label) ?? 0) + 1);
      continue;
    }
    let text = '';
    for (const ch of d.text) {
      if (meta.vocab.id(ch) >= 0) text += ch;
      else unknownChars.set(ch, (unknownChars.get(ch) ?? 0) + 1);
    }
    kept.push({ tag: row, text });
  }
  const order = shuffler(1)(kept);
  return { stream: tagStream(meta.vocab, order), unknownTags, unknownChars, description };
}
