// Checkpoints: one self-contained .safetensors file holding the weights (PyTorch names),
// the optimizer moments, the carried training state, and in __metadata__ the format
// version, the model config, the vocabulary, the training config and progress.
//
// Tensors
//   embed.weight, rnn.weight_ih_l{k}, …, head.weight, head.bias     the model (F32)
//   optim.{m,v}.<param name>                                         optimizer moments (F32)
//   state.h_l{k}, state.c_l{k}                                       carried state [B,H] (F32)
// Metadata (all values are strings; JSON where structured)
//   format = "rnn-charlm", format_version = "1", cell, model (ModelConfig), vocab (string[]),
//   train (TrainConfig), progress (TrainProgress), optimizer ({ name, t }),
//   step, val_loss, best_val_loss, best_step (plain numbers, "" when unknown: what the file
//   holds at a glance for any safetensors reader)
// Fields added to TrainConfig/TrainProgress after version 1 was first written (dropout,
// dropoutRng, lrScale, …) are optional on reading and take their neutral values.
import { readFile, stat } from 'node:fs/promises';
import type { Kernels, Vec } from '../kernels/types.js';
import { CELL_KINDS } from '../nn/layer.js';
import { Model, paramSpecs, type ModelConfig } from '../nn/model.js';
import { numel } from '../nn/params.js';
import { Vocab } from '../text/vocab.js';
import type { TrainConfig, TrainProgress, Trainer } from '../train/trainer.js';
import { CheckpointError, TrainingError } from '../util/errors.js';
import { writeFileAtomic } from './atomic.js';
import { decodeSafetensors, encodeSafetensors, type TensorIn, type TensorOut } from './safetensors.js';

export const FORMAT_NAME = 'rnn-charlm';
export const FORMAT_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [1];
/** Refuse to read files larger than this (a checkpoint of a 100M-parameter model with Adam is ~1.2 GB). */
export const MAX_CHECKPOINT_BYTES = 4 * 1024 ** 3;

export interface Checkpoint {
  file: string;
  model: ModelConfig;
  vocab: Vocab;
  /** Parameters by name. */
  params: Map<string, Float32Array>;
  /** Optimizer moments by kind, then parameter name (empty for weights-only files). */
  moments: Map<string, Map<string, Float32Array>>;
  /** Carried state of the training rows, per layer. */
  state: { h: Float32Array[]; c: (Float32Array | null)[] } | null;
  train: TrainConfig | null;
  progress: TrainProgress | null;
  optimizer: { name: string; t: number } | null;
}

function f32(v: Vec): Float32Array {
  return v instanceof Float32Array ? Float32Array.from(v) : Float32Array.from(v);
}

/** Serialises a training run's current state. */
export function encodeTrainerCheckpoint(trainer: Trainer): Uint8Array {
  const { model, optimizer } = trainer;
  if (!trainer.isFinite()) {
    throw new TrainingError(`the weights are NaN or infinite at step ${trainer.progress.step}; refusing to write them (the previous checkpoint is intact)`);
  }
  const tensors: TensorIn[] = [];
  for (const spec of model.layout.specs) {
    tensors.push({ name: spec.name, shape: spec.shape, data: f32(model.layout.view(model.params, spec.name)) });
  }
  for (const [kind, buf] of optimizer.moments) {
    for (const spec of model.layout.specs) {
      tensors.push({ name: `optim.${kind}.${spec.name}`, shape: spec.shape, data: f32(model.layout.view(buf, spec.name)) });
    }
  }
  const carried = trainer.carried();
  const { batch: B } = trainer.config;
  const H = model.config.hidden;
  carried.h.forEach((h, l) => tensors.push({ name: `state.h_l${l}`, shape: [B, H], data: f32(h) }));
  carried.c.forEach((c, l) => {
    if (c) tensors.push({ name: `state.c_l${l}`, shape: [B, H], data: f32(c) });
  });
  return encodeSafetensors(tensors, {
    format: FORMAT_NAME,
    format_version: String(FORMAT_VERSION),
    cell: model.config.cell,
    model: JSON.stringify(model.config),
    vocab: JSON.stringify(trainer.vocab.toJSON()),
    train: JSON.stringify(trainer.config),
    progress: JSON.stringify(trainer.progress),
    optimizer: JSON.stringify({ name: optimizer.config.name, t: optimizer.t }),
    ...statusMetadata(trainer.progress),
  });
}

/** Step and losses as plain metadata strings (nats/char). */
function statusMetadata(p: TrainProgress): Record<string, string> {
  const last = p.history[p.history.length - 1];
  const val = last && last.step === p.step ? last.val : null;
  return {
    step: String(p.step),
    val_loss: val === null ? '' : String(val),
    best_val_loss: p.bestVal === null ? '' : String(p.bestVal),
    best_step: p.bestVal === null ? '' : String(p.bestStep),
  };
}

export async function saveTrainerCheckpoint(trainer: Trainer, path: string): Promise<void> {
  await writeFileAtomic(path, encodeTrainerCheckpoint(trainer));
}

function parseJson(file: string, key: string, text: string | undefined): unknown {
  if (text === undefined) throw new CheckpointError(file, `metadata has no "${key}" entry; it is not an rnn checkpoint`);
  try {
    return JSON.parse(text);
  } catch {
    throw new CheckpointError(file, `metadata "${key}" is not valid JSON; the file is damaged`);
  }
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

/** Reads, validates and interprets a checkpoint file. */
/**
 * Reads, validates and interprets a checkpoint file. With `weightsOnly`, the optimizer
 * moments are validated in the header but not copied out (sampling and scoring never
 * need them, and they are two thirds of an Adam checkpoint).
 */
export async function readCheckpoint(file: string, opts: { weightsOnly?: boolean } = {}): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new CheckpointError(file, 'is a folder, not a checkpoint file; pass a .safetensors file');
    if (st.size > MAX_CHECKPOINT_BYTES) throw new CheckpointError(file, `is ${st.size} bytes, larger than any checkpoint this tool writes`);
    const buf = await readFile(file);
    // a plain Uint8Array view: Buffer#slice would share memory where decoding expects copies
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CheckpointError(file, 'no such file; train a model first or pass --checkpoint PATH');
    if (code === 'EACCES') throw new CheckpointError(file, 'permission denied; check the file permissions');
    throw new CheckpointError(file, `cannot be read (${code ?? (e as Error).message})`);
  }
  return decodeCheckpoint(bytes, file, opts);
}

/** Validates and interprets checkpoint bytes; every problem is a CheckpointError. */
export function decodeCheckpoint(bytes: Uint8Array, file: string, opts: { weightsOnly?: boolean } = {}): Checkpoint {
  const { metadata, tensors } = decodeSafetensors(bytes, file, opts.weightsOnly ? (name) => !name.startsWith('optim.') : undefined);
  if (metadata.format !== FORMAT_NAME) {
    throw new CheckpointError(file, `is a safetensors file but not an rnn checkpoint (metadata format is ${JSON.stringify(metadata.format ?? null)})`);
  }
  const version = Number(metadata.format_version);
  if (!SUPPORTED_VERSIONS.includes(version)) {
    throw new CheckpointError(file, `has format version ${metadata.format_version}, which this version of rnn cannot read; upgrade rnn`);
  }
  const m = parseJson(file, 'model', metadata.model) as Partial<ModelConfig> | null;
  if (!m || typeof m !== 'object' || !CELL_KINDS.includes(m.cell as never) || ![m.vocab, m.embed, m.hidden, m.layers].every(isPositiveInt)) {
    throw new CheckpointError(file, 'metadata "model" does not describe a valid model');
  }
  const model = m as ModelConfig;
  // every layer has 4 tensors: a larger layer count is damage, refused before a list of its layers is built
  if (model.layers > tensors.size / 4) {
    throw new CheckpointError(file, `metadata "model" claims ${model.layers} layers but the file holds only ${tensors.size} tensors; the file is damaged`);
  }
  const chars = parseJson(file, 'vocab', metadata.vocab);
  if (!Array.isArray(chars) || !chars.every((c) => typeof c === 'string')) {
    throw new CheckpointError(file, 'metadata "vocab" is not a list of characters');
  }
  let vocab: Vocab;
  try {
    vocab = Vocab.fromChars(chars as string[]);
  } catch (e) {
    throw new CheckpointError(file, `metadata "vocab" is invalid (${(e as Error).message})`);
  }
  if (vocab.size !== model.vocab) {
    throw new CheckpointError(file, `vocabulary has ${vocab.size} characters but the model expects ${model.vocab}`);
  }
  const take = (name: string, shape: number[]): Float32Array => {
    const t = tensors.get(name);
    if (!t) throw new CheckpointError(file, `tensor ${name} is missing`);
    checkTensor(file, name, t, shape);
    return t.data as Float32Array;
  };
  const specs = paramSpecs(model);
  const params = new Map<string, Float32Array>();
  for (const s of specs) params.set(s.name, take(s.name, s.shape));

  const moments = new Map<string, Map<string, Float32Array>>();
  for (const kind of ['m', 'v']) {
    if (!tensors.has(`optim.${kind}.${specs[0].name}`)) continue;
    const byName = new Map<string, Float32Array>();
    for (const s of specs) byName.set(s.name, take(`optim.${kind}.${s.name}`, s.shape));
    moments.set(kind, byName);
  }

  let train: TrainConfig | null = null;
  let progress: TrainProgress | null = null;
  let optimizer: { name: string; t: number } | null = null;
  let state: Checkpoint['state'] = null;
  if (metadata.train !== undefined) {
    train = parseJson(file, 'train', metadata.train) as TrainConfig;
    progress = parseJson(file, 'progress', metadata.progress) as TrainProgress;
    optimizer = parseJson(file, 'optimizer', metadata.optimizer) as { name: string; t: number };
    if (!train || typeof train !== 'object' || !isPositiveInt(train.batch) || !isPositiveInt(train.seq)) {
      throw new CheckpointError(file, 'metadata "train" is invalid');
    }
    train.dropout ??= 0;
    if (typeof train.dropout !== 'number' || !(train.dropout >= 0 && train.dropout < 1)) {
      throw new CheckpointError(file, 'metadata "train" has an invalid dropout');
    }
    if (!progress || typeof progress !== 'object' || !Number.isSafeInteger(progress.step) || !Array.isArray(progress.rng)) {
      throw new CheckpointError(file, 'metadata "progress" is invalid');
    }
    if (!Array.isArray(progress.history)) progress.history = [];
    if (tensors.has('state.h_l0')) {
      const B = train.batch;
      const h: Float32Array[] = [];
      const c: (Float32Array | null)[] = [];
      for (let l = 0; l < model.layers; l++) {
        h.push(take(`state.h_l${l}`, [B, model.hidden]));
        c.push(tensors.has(`state.c_l${l}`) ? take(`state.c_l${l}`, [B, model.hidden]) : null);
      }
      state = { h, c };
    }
  }
  for (const p of params.values()) {
    if (!allFinite(p)) throw new CheckpointError(file, 'holds weights that are NaN or infinite; use an earlier checkpoint');
  }
  return { file, model, vocab, params, moments, state, train, progress, optimizer };
}

function checkTensor(file: string, name: string, t: TensorOut, shape: number[]): void {
  if (t.dtype !== 'F32') throw new CheckpointError(file, `tensor ${name} has dtype ${t.dtype}, expected F32`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new CheckpointError(file, `tensor ${name} has shape [${t.shape}] but the model config needs [${shape}]`);
  }
  if (t.data.length !== numel(shape)) throw new CheckpointError(file, `tensor ${name} has the wrong number of values`);
}

/** Builds a model on the given kernels with the checkpoint's weights. */
export function modelFromCheckpoint(k: Kernels, ckpt: Checkpoint): Model {
  const model = new Model(k, ckpt.model);
  for (const [name, data] of ckpt.params) model.layout.view(model.params, name).set(data);
  return model;
}

/** Puts a checkpoint's optimizer moments, carried state and progress into a fresh trainer built on its model. */
export function restoreTrainer(trainer: Trainer, ckpt: Checkpoint): void {
  const { model, optimizer } = trainer;
  if (!ckpt.progress || !ckpt.train) {
    throw new CheckpointError(ckpt.file, 'holds weights only, not a training run; it cannot be resumed');
  }
  if (ckpt.optimizer?.name !== optimizer.config.name) {
    throw new CheckpointError(ckpt.file, `was trained with --optim ${ckpt.optimizer?.name}; resume with the same optimizer`);
  }
  for (const [kind, buf] of optimizer.moments) {
    const saved = ckpt.moments.get(kind);
    if (!saved) throw new CheckpointError(ckpt.file, `has no optimizer moments "${kind}"; it cannot be resumed exactly`);
    for (const [name, data] of saved) model.layout.view(buf, name).set(data);
  }
  if (ckpt.state) {
    const carried = trainer.carried();
    if (ckpt.state.h[0].length !== carried.h[0].length) {
      throw new CheckpointError(ckpt.file, 'carried state does not match --batch; resume with the batch size it was trained with');
    }
    ckpt.state.h.forEach((h, l) => carried.h[l].set(h));
    ckpt.state.c.forEach((c, l) => {
      if (c) carried.c[l]?.set(c);
    });
  }
  trainer.restore(ckpt.progress);
}

/** True when no value is NaN or ±∞ (v − v is 0 exactly for finite v). */
function allFinite(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v - v !== 0) return false;
  }
  return true;
}
