// The language-model task: next-character prediction over one stream of text.
//
//   data      a text file, a folder of text files (sorted, concatenated), or stdin;
//             vocabulary = its sorted characters; validation = the contiguous tail
//             ⌊N·valFrac⌋ characters (splitTrainVal)
//   batches   B contiguous streams, windows of T (Batcher); the cursor counts windows;
//             the hidden state is carried from window to window (truncated BPTT) and is
//             the task's run state (state.h_l{k}, state.c_l{k}, [B,H])
//   network   Model: embed → L × cell → linear → softmax over V (src/nn/model.ts)
//   metrics   { loss (nats/char), bpc }; primary: the lowest loss
//   metadata  cell, model (ModelConfig), vocab (string[]): format version 1 as written
//             before tasks existed, so every LM checkpoint loads the same way
import type { Kernels } from '../kernels/types.js';
import { CELL_KINDS, hasCellState } from '../nn/layer.js';
import { Model, paramSpecs, type ModelConfig, type Workspace } from '../nn/model.js';
import type { ParamSpec } from '../nn/params.js';
import { Batcher, splitTrainVal } from '../text/batches.js';
import { decodeCorpus, readCorpusPath } from '../text/corpus.js';
import { Vocab } from '../text/vocab.js';
import { evalWhen, type TrainConfig } from '../train/config.js';
import { CheckpointError, CorpusError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { plural } from '../util/words.js';
import { Evaluator, evalPlan } from './lm-eval.js';
import { parseMetaJson, isPositiveInt } from './meta.js';
import type { DataInput, Metrics, Task, TaskSession } from './task.js';

/** Validation windows scored per evaluation when --eval-windows is not given and the split is larger. */
export const AUTO_EVAL_WINDOWS = 100;

export interface LmData {
  vocab: Vocab;
  /** All ids; train and val are views of it. */
  ids: Int32Array;
  train: Int32Array;
  val: Int32Array;
}

export interface LmMeta {
  model: ModelConfig;
  vocab: Vocab;
}

const n = (x: number) => x.toLocaleString('en-US');

/** Reads the text of a run: a file, a folder, or the stdin bytes. */
export async function readText(input: DataInput): Promise<string> {
  if (input.path === '-') return decodeCorpus(input.stdin ?? new Uint8Array(0), 'stdin');
  return (await readCorpusPath(input.path, input.ahead)).text;
}

export function modelConfigOf(config: TrainConfig, vocab: number): ModelConfig {
  return { cell: config.cell, vocab, embed: config.embed, hidden: config.hidden, layers: config.layers };
}

export class LmSession implements TaskSession {
  readonly task = lmTask;
  readonly net: Model;
  readonly ws: Workspace;
  readonly batcher: Batcher;
  readonly evaluator: Evaluator;
  readonly size;
  readonly stepsPerEpoch: number;

  constructor(k: Kernels, readonly data: LmData, readonly config: TrainConfig) {
    this.batcher = new Batcher(data.train, config.batch, config.seq);
    this.net = new Model(k, modelConfigOf(config, data.vocab.size));
    this.ws = this.net.workspace(config.batch, config.seq, true, {
      layers: config.dropout ?? 0, embed: config.embedDropout ?? 0, recurrent: config.recurrentDropout ?? 0,
    });
    // the evaluation's workspace is made now, not at the first evaluation, so that the
    // memory need measured before the run (src/train/memory.ts) includes it
    this.evaluator = new Evaluator(this.net);
    this.evaluator.prepare(data.val.length, config.batch, config.seq, config.evalWindows);
    this.stepsPerEpoch = this.batcher.windowsPerEpoch;
    const scored = evalPlan(data.val.length, config.batch, config.seq, config.evalWindows)?.chars ?? 0;
    this.size = { unit: 'chars', train: data.train.length, val: data.val.length, valScored: scored, trainChars: data.train.length, vocab: data.vocab.size };
  }

  get cursor(): number {
    return this.batcher.cursor;
  }

  set cursor(value: number) {
    this.batcher.cursor = value;
  }

  trainStep(dropoutRng: Rng): { loss: number; chars: number } {
    const { ws, config } = this;
    if (this.batcher.next(ws.ids, ws.targets)) ws.resetState();
    if (config.dropout > 0 || config.embedDropout > 0 || config.recurrentDropout > 0) ws.drawDropout(dropoutRng);
    ws.forward();
    const loss = ws.loss();
    ws.backward();
    return { loss, chars: config.batch * config.seq };
  }

  commit(): void {
    this.ws.carry();
  }

  evaluate(): Metrics | null {
    const r = this.evaluator.run(this.data.val, this.config.batch, this.config.seq, this.config.evalWindows);
    return r ? { loss: r.nats, bpc: r.nats / Math.LN2 } : null;
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
    return { cell: this.net.config.cell, model: JSON.stringify(this.net.config), vocab: JSON.stringify(this.data.vocab.toJSON()) };
  }

  header(): string[] {
    const { data, config } = this;
    const m = this.net.config;
    const scored = this.size.valScored;
    const valNote = data.val.length === 0 ? 'no validation text (--val-frac 0): the training loss decides "best"'
      : scored === 0 ? `${plural(data.val.length, 'val char')}, too few to score: the training loss decides "best"`
      : `eval ${evalWhen(config)} on ${scored < data.val.length - config.batch * config.seq ? `the first ${n(scored)} of ${plural(data.val.length, 'val char')}` : `all ${plural(scored, 'val char')}`}`;
    return [
      `data: ${n(data.train.length)} train + ${plural(data.val.length, 'val char')} · vocab ${data.vocab.size} · ${valNote}`,
      `model: ${m.layers}×${m.hidden} ${m.cell}, embed ${m.embed}, ${n(this.net.parameterCount)} parameters · batch ${config.batch} × seq ${config.seq}`,
    ];
  }

  notes(): string[] {
    const params = this.net.parameterCount;
    const chars = this.data.train.length;
    const ratio = params / Math.max(1, chars);
    if (ratio > 10) return [`${n(params)} parameters for ${n(chars)} characters; the model will likely memorise the text (try a smaller --hidden, --dropout 0.2-0.5, or more text)`];
    if (ratio < 0.01) return [`only ${n(params)} parameters for ${n(chars)} characters; a larger --hidden or --layers would likely do better`];
    return [];
  }
}

/** The carried-state tensors of a language model trained with batch B. */
export function lmStateSpecs(model: ModelConfig, B: number): ParamSpec[] {
  const specs: ParamSpec[] = [];
  for (let l = 0; l < model.layers; l++) {
    specs.push({ name: `state.h_l${l}`, shape: [B, model.hidden] });
    if (hasCellState(model.cell)) specs.push({ name: `state.c_l${l}`, shape: [B, model.hidden] });
  }
  return specs;
}

/** Copies of the carried state of a workspace's rows, by the names of lmStateSpecs (state.h_l{k}, state.c_l{k}). */
export function getCarriedState(ws: Workspace, layers: number): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (let l = 0; l < layers; l++) {
    const s = ws.state(l);
    out[`state.h_l${l}`] = new Float32Array(s.h);
    if (s.c) out[`state.c_l${l}`] = new Float32Array(s.c);
  }
  return out;
}

/** Puts saved carried state (names and shapes as lmStateSpecs, already validated) back into a workspace. */
export function setCarriedState(ws: Workspace, layers: number, state: Record<string, Float32Array>): void {
  for (let l = 0; l < layers; l++) {
    const s = ws.state(l);
    const h = state[`state.h_l${l}`];
    const c = state[`state.c_l${l}`];
    if (h) s.h.set(h);
    if (c && s.c) s.c.set(c);
  }
}

/** Builds a language model's session over a text already in memory (tests, bench, library users). */
export function lmSession(k: Kernels, text: string | { vocab: Vocab; ids: Int32Array }, config: TrainConfig): LmSession {
  const vocab = typeof text === 'string' ? Vocab.fromText(text) : text.vocab;
  const ids = typeof text === 'string' ? vocab.encode(text) : text.ids;
  const { train, val } = splitTrainVal(ids, config.valFrac);
  return new LmSession(k, { vocab, ids, train, val }, config);
}

export const lmTask: Task<LmData, LmMeta> = {
  name: 'lm',
  title: 'language model',
  command: 'rnn sample',
  primary: { name: 'loss', direction: 'min' },
  tieBreak: null,
  flags: ['seq', 'evalWindows', 'embedDropout', 'recurrentDropout'],
  defaults: {},

  async readData(input: DataInput, config: TrainConfig, saved: LmMeta | null): Promise<LmData> {
    const text = await readText(input);
    let vocab: Vocab;
    let ids: Int32Array;
    if (saved) {
      vocab = saved.vocab;
      const r = vocab.encodeLenient(text);
      if (r.unknown.size > 0) {
        throw new CorpusError(`the text has ${plural(r.unknown.size, 'character')} the checkpoint's vocabulary lacks (e.g. ${JSON.stringify([...r.unknown.keys()][0])}); resume on the text the run was trained on`);
      }
      ids = r.ids;
    } else {
      vocab = Vocab.fromText(text);
      ids = vocab.encode(text);
    }
    const { train, val } = splitTrainVal(ids, config.valFrac);
    return { vocab, ids, train, val };
  },

  autoConfig(data: LmData, config: TrainConfig): Partial<TrainConfig> {
    // score the whole split, up to AUTO_EVAL_WINDOWS windows
    const plan = evalPlan(data.val.length, config.batch, config.seq);
    return { evalWindows: plan && plan.allWindows > AUTO_EVAL_WINDOWS ? AUTO_EVAL_WINDOWS : 0 };
  },

  open(k: Kernels, data: LmData, config: TrainConfig): TaskSession {
    return new LmSession(k, data, config);
  },

  decodeMeta(metadata: Record<string, string>, file: string, tensorCount: number) {
    const m = parseMetaJson(file, 'model', metadata.model) as Partial<ModelConfig> | null;
    if (!m || typeof m !== 'object' || !CELL_KINDS.includes(m.cell as never) || ![m.vocab, m.embed, m.hidden, m.layers].every(isPositiveInt)) {
      throw new CheckpointError(file, 'metadata "model" does not describe a valid model');
    }
    const model: ModelConfig = { cell: m.cell!, vocab: m.vocab!, embed: m.embed!, hidden: m.hidden!, layers: m.layers! };
    // every layer has 4 tensors: a larger layer count is damage, refused before a list of its layers is built
    if (model.layers > tensorCount / 4) {
      throw new CheckpointError(file, `metadata "model" claims ${model.layers} layers but the file holds only ${tensorCount} tensors; the file is damaged`);
    }
    const vocab = decodeVocab(file, metadata.vocab);
    if (vocab.size !== model.vocab) {
      throw new CheckpointError(file, `vocabulary has ${vocab.size} characters but the model expects ${model.vocab}`);
    }
    return { meta: { model, vocab }, specs: paramSpecs(model), stateSpecs: (train: TrainConfig) => lmStateSpecs(model, train.batch) };
  },

  formatMetrics(m: Metrics): string {
    return `${m.loss!.toFixed(3)} (${(m.loss! / Math.LN2).toFixed(2)} bpc) nats/char`;
  },
};

/** The vocabulary of a checkpoint's metadata (every task of characters stores one). */
export function decodeVocab(file: string, text: string | undefined, key = 'vocab'): Vocab {
  const chars = parseMetaJson(file, key, text);
  if (!Array.isArray(chars) || !chars.every((c) => typeof c === 'string')) {
    throw new CheckpointError(file, `metadata "${key}" is not a list of characters`);
  }
  try {
    return Vocab.fromChars(chars as string[]);
  } catch (e) {
    throw new CheckpointError(file, `metadata "${key}" is invalid (${(e as Error).message})`);
  }
}
