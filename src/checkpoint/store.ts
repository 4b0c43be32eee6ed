// Checkpoints: one self-contained .safetensors file holding a run state (src/train
// /state.ts: weights, optimizer moments, progress, the task's state tensors), the model
// config and the task's metadata. It encodes and decodes values; it never reaches into
// the trainer, and each task (src/tasks) decodes its own metadata.
//
// Tensors
//   embed.weight, rnn.weight_ih_l{k}, …, head.weight, head.bias     the network (F32, PyTorch names)
//   optim.{m,v}.<param name>                                         optimizer moments (F32)
//   optim.ema.<param name>       the average of the weights (src/train/average.ts), when the
//                                run keeps one and the file's model is the trained weights
//   optim.trained.<param name>   the trained weights, when the file's model is their average
//                                (metadata weights = "average"): the file samples with the
//                                weights that scored and still resumes exactly
//   state.*                                                          the task's run state (the LM's
//                                                                    carried state.h_l{k}, state.c_l{k} [B,H])
// Metadata (all values are strings; JSON where structured)
//   format = "rnn-charlm", format_version = "1" (lm) or "2" (other tasks), task (absent: "lm"), the task's entries
//   (at least model and vocab; the LM also writes cell), train (TrainConfig), progress
//   (TrainProgress), optimizer ({ name, t }), corpus (the training text's fingerprint:
//   { path, bytes, crc32 }, src/train/fingerprint.ts; absent in older files), step, val_loss, best_val_loss, best_step
//   (plain numbers, "" when unknown: what the file holds at a glance for any safetensors
//   reader), weights ("average" when the network's tensors are the average of the weights;
//   absent: the trained weights)
// Fields added to TrainConfig/TrainProgress after version 1 was first written (dropout,
// dropoutRng, lrScale, …) are optional on reading and take their neutral values.
import { closeSync, fstatSync, openSync, readSync, statSync, promises as fsp } from 'node:fs';
import { largestMagnitude } from '../kernels/magnitude.js';
import type { Kernels } from '../kernels/types.js';
import { Model, type ModelConfig } from '../nn/model.js';
import { numel, ParamLayout, type ParamSpec } from '../nn/params.js';
import { isTaskName, requireTask, TASKS, type TaskMetas, type TaskName } from '../tasks/registry.js';
import { parseMetaJson, isPositiveInt } from '../tasks/meta.js';
import type { Vocab } from '../text/vocab.js';
import type { TrainConfig } from '../train/config.js';
import { asFingerprint, type CorpusFingerprint } from '../train/fingerprint.js';
import { stateIsFinite, type RunState, type TrainProgress } from '../train/state.js';
import { CheckpointError, TrainingError } from '../util/errors.js';
import { writeFileAtomic } from './atomic.js';
import { crc32 } from './crc32.js';
import { encodeSafetensors, headerLength, HEAD_CHECKSUM_KEY, LITTLE_ENDIAN_HOST, parseHeader, tensorData, verifyChecksums, verifyHeadChecksum, type SafetensorsHeader, type TensorIn, type TensorInfo, type TensorOut } from './safetensors.js';

export const FORMAT_NAME = 'rnn-charlm';
/**
 * Version 1: language models (the files written before tasks existed, and every LM file
 * since, so older builds keep reading them). Version 2: the same layout with a `task`
 * other than lm, so that an older build refuses a classifier ("upgrade rnn") instead of
 * misreading it as a language model.
 */
export const FORMAT_VERSION = 2;
export const SUPPORTED_VERSIONS: readonly number[] = [1, 2];
/** Refuse to read files larger than this (a checkpoint of a 100M-parameter model with Adam is ~1.2 GB). */
export const MAX_CHECKPOINT_BYTES = 4 * 1024 ** 3;

/** A decoded checkpoint of task K. */
export interface TaskCheckpoint<K extends TaskName> {
  file: string;
  task: K;
  /** What the task decoded from its metadata (model config, vocabulary, classes …). */
  meta: TaskMetas[K];
  /** The model config (meta.model). */
  model: TaskMetas[K]['model'];
  /** The input vocabulary (meta.vocab). */
  vocab: Vocab;
  /** Parameters by name. */
  params: Map<string, Float32Array>;
  train: TrainConfig | null;
  progress: TrainProgress | null;
  optimizer: { name: string; t: number } | null;
  /** The fingerprint of the corpus the run was trained on (null: not recorded, an older file). */
  corpus: CorpusFingerprint | null;
  /** The run state to resume from (null for weights-only files and weightsOnly reads). */
  state: RunState | null;
}

/** A checkpoint of any task; narrow it with requireTask (src/tasks/registry.ts). */
export type Checkpoint = { [K in TaskName]: TaskCheckpoint<K> }[TaskName];

/** What a checkpoint needs besides the run state: which task, its metadata, the config and the tensor layouts. */
export interface CheckpointHeader {
  task: string;
  /** The task's metadata entries (TaskSession.checkpointMeta()). */
  meta: Record<string, string>;
  train: TrainConfig;
  optimizer: string;
  /** Parameter specs in layout order (the network's ParamLayout). */
  specs: readonly ParamSpec[];
  /** The task's state tensors. */
  stateSpecs: readonly ParamSpec[];
  /** The fingerprint of the training corpus (recorded when given). */
  corpus?: CorpusFingerprint | null;
}

/** Serialises a run state. Refuses non-finite weights or moments (the previous file stays intact). */
export function encodeCheckpoint(header: CheckpointHeader, state: RunState): Uint8Array {
  if (!stateIsFinite(state)) {
    throw new TrainingError(`the weights are NaN or infinite at step ${state.progress.step}; refusing to write them (the previous checkpoint is intact)`);
  }
  const layout = new ParamLayout([...header.specs]);
  const tensors: TensorIn[] = [];
  // the network's tensors are the weights the file presents as its model; the other set of
  // the two (when the run averages) goes with the optimizer's state
  const averageIsModel = state.model === 'average' && Boolean(state.average);
  const model = averageIsModel ? state.average! : state.params;
  for (const spec of layout.specs) {
    tensors.push({ name: spec.name, shape: spec.shape, data: layout.view(model, spec.name) as Float32Array });
  }
  const extra: [string, Float32Array][] = state.average ? [[averageIsModel ? 'trained' : 'ema', averageIsModel ? state.params : state.average]] : [];
  for (const [kind, buf] of [...Object.entries(state.moments), ...extra]) {
    for (const spec of layout.specs) {
      tensors.push({ name: `optim.${kind}.${spec.name}`, shape: spec.shape, data: layout.view(buf, spec.name) as Float32Array });
    }
  }
  for (const spec of header.stateSpecs) {
    const data = state.task[spec.name];
    if (!data) throw new Error(`run state has no tensor ${spec.name}`);
    tensors.push({ name: spec.name, shape: spec.shape, data });
  }
  return encodeSafetensors(tensors, {
    format: FORMAT_NAME,
    format_version: header.task === 'lm' ? '1' : String(FORMAT_VERSION),
    task: header.task,
    ...header.meta,
    train: JSON.stringify(header.train),
    progress: JSON.stringify(state.progress),
    optimizer: JSON.stringify({ name: header.optimizer, t: state.progress.optimizerSteps }),
    ...(header.corpus ? { corpus: JSON.stringify(header.corpus) } : {}),
    ...(averageIsModel ? { weights: 'average' } : {}),
    ...statusMetadata(state.progress),
  }, { checksum: true, headTensors: layout.specs.length });
}

/** Step and losses as plain metadata strings (nats per predicted unit). */
function statusMetadata(p: TrainProgress): Record<string, string> {
  const last = p.history[p.history.length - 1];
  const val = last && last.step === p.step ? last.val : null;
  return {
    step: String(p.step),
    val_loss: val === null ? '' : String(val),
    best_val_loss: p.bestVal === null ? '' : String(p.bestMetrics?.loss ?? p.bestVal),
    best_step: p.bestVal === null ? '' : String(p.bestStep),
  };
}

/** Writes a run state atomically (temporary file, fsync, rename). */
export async function saveCheckpoint(path: string, header: CheckpointHeader, state: RunState): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(header, state));
}

/**
 * Reads, validates and interprets a checkpoint file. With `weightsOnly`, the optimizer
 * moments and the task's state tensors are validated in the header but not used (sampling
 * and scoring never need them, and they are two thirds of an Adam checkpoint); a file that
 * records the checksum of its weights alone (HEAD_CHECKSUM_KEY: every checkpoint rnn writes
 * since that entry exists) is then read only up to the end of its weights, and those
 * bytes are checked. Older files are read and checked whole.
 */
export async function readCheckpoint(file: string, opts: { weightsOnly?: boolean } = {}): Promise<Checkpoint> {
  let read: { header: SafetensorsHeader; data: Uint8Array; whole: boolean };
  let fd: number | undefined;
  try {
    checkedSize(file);
    if (opts.weightsOnly) {
      fd = openSync(file, 'r');
      read = readWeightsPrefix(fd, file);
    } else {
      const buf = await fsp.readFile(file);
      // a plain Uint8Array view: Buffer#slice would share memory where decoding expects copies
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      const header = parseHeader(bytes, bytes.length, file);
      read = { header, data: bytes.subarray(header.dataStart), whole: true };
    }
  } catch (e) {
    throw readProblem(file, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  verifyChecksums(read.header, read.data, file, read.whole);
  // the bytes were read for this call alone: the tensors can be views of them
  return interpretCheckpoint(read.header, read.data, file, opts, true);
}

/**
 * A plain or conditioned language model read from its checkpoint straight into a Model on
 * the kernels `makeKernels` gives: the weights go from the file into the model's
 * parameters (the kernels' memory) with no buffer in between, and are checked there,
 * with the checks and messages of readCheckpoint(file, { weightsOnly: true }) followed
 * by modelFromCheckpoint, which is what a file without the checksum of its weights alone,
 * or of another task, still takes. The kernels are made once the header is validated.
 */
export async function readModel(
  file: string, makeKernels: () => Kernels, ...tasks: ('lm' | 'cond')[]
): Promise<{ ckpt: TaskCheckpoint<'lm'> | TaskCheckpoint<'cond'>; model: Model }> {
  const served = tasks.length > 0 ? tasks : ['lm' as const];
  let fd: number | undefined;
  let header: SafetensorsHeader;
  try {
    checkedSize(file);
    fd = openSync(file, 'r');
    header = readHeaderOf(fd, file);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    throw readProblem(file, e);
  }
  const taskName = header.metadata.task ?? 'lm';
  let kernels: Kernels | undefined;
  const theKernels = (): Kernels => (kernels ??= makeKernels());
  if (!LITTLE_ENDIAN_HOST || !weightsCovered(header) || !(served as string[]).includes(taskName)) {
    closeSync(fd);
    const ckpt = requireTask(await readCheckpoint(file, { weightsOnly: true }), ...served);
    return { ckpt, model: modelFromCheckpoint(theKernels(), ckpt) };
  }
  let model: Model;
  let decoded: DecodedHeader;
  let crc = 0;
  try {
    decoded = interpretHeader(header, file, { weightsOnly: true });
    if (theKernels().dtype !== 'f32') throw new Error('readModel reads float32 weights into float32 kernels');
    model = new Model(theKernels(), decoded.meta.model as ModelConfig);
    // the covered bytes in file order: each weight into its view of the parameters, any
    // other tensor there (none in the files rnn writes) into a scratch buffer, for the CRC
    for (const t of header.tensors) {
      if (t.begin >= header.headBytes) break;
      const end = Math.min(t.end, header.headBytes);
      const into = model.layout.has(t.name) && !notWeights(t.name) ? model.layout.view(model.params, t.name) : new Uint8Array(end - t.begin);
      const bytes = new Uint8Array(into.buffer, into.byteOffset, end - t.begin);
      try {
        readFully(fd, bytes, header.dataStart + t.begin, file);
      } catch (e) {
        throw readProblem(file, e);
      }
      crc = crc32(bytes, crc);
    }
  } finally {
    closeSync(fd);
  }
  verifyHeadChecksum(header, crc, file);
  const params = new Map(decoded.specs.map((s) => [s.name, model.layout.view(model.params, s.name) as Float32Array]));
  const ckpt = completeCheckpoint(header, file, { weightsOnly: true }, decoded, params, (name) => params.get(name)!, model.k);
  return { ckpt: requireTask(ckpt, ...served), model };
}

/** The size of a checkpoint file after the checks every read makes (a regular file, not too large). */
function checkedSize(file: string): number {
  const st = statSync(file);
  if (st.isDirectory()) throw new CheckpointError(file, 'is a folder, not a checkpoint file; pass a .safetensors file');
  // a FIFO, socket or device would block or never end: only regular files are read
  if (!st.isFile()) throw new CheckpointError(file, 'is not a regular file (a pipe, socket or device); pass a .safetensors file');
  if (st.size > MAX_CHECKPOINT_BYTES) throw new CheckpointError(file, `is ${st.size} bytes, larger than any checkpoint this tool writes`);
  return st.size;
}

/** A failed read as the CheckpointError a user sees (CheckpointErrors pass as they are). */
function readProblem(file: string, e: unknown): CheckpointError {
  if (e instanceof CheckpointError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CheckpointError(file, 'no such file; train a model first or pass --checkpoint PATH');
  if (code === 'EACCES') return new CheckpointError(file, 'permission denied; check the file permissions');
  return new CheckpointError(file, `cannot be read (${code ?? (e as Error).message})`);
}

/** Tensors a weightsOnly read leaves out: the optimizer moments and the task's run state. */
const notWeights = (name: string): boolean => name.startsWith('optim.') || name.startsWith('state.');

/**
 * The header and the data section's bytes up to the end of the weights when the file
 * records their checksum (whole: false), or all of the data section (whole: true). The
 * reads are synchronous: a command reads its checkpoint before it does anything else, and
 * a few reads on this thread cost less than handing each to libuv's thread pool.
 */
function readWeightsPrefix(fd: number, file: string): { header: SafetensorsHeader; data: Uint8Array; whole: boolean } {
  const header = readHeaderOf(fd, file);
  const covered = weightsCovered(header);
  const data = new Uint8Array(covered ? header.headBytes : header.dataLength);
  readFully(fd, data, header.dataStart, file);
  return { header, data, whole: !covered };
}

/** The validated header of an open checkpoint file. */
function readHeaderOf(fd: number, file: string): SafetensorsHeader {
  const size = fstatSync(fd).size;
  // the header is usually a few kB: one read for the length and the header
  let start = new Uint8Array(Math.min(size, 64 * 1024));
  readFully(fd, start, 0, file);
  const length = headerLength(start, size, file);
  if (start.length < 8 + length) {
    start = new Uint8Array(8 + length);
    readFully(fd, start, 0, file);
  }
  return parseHeader(start, size, file);
}

/** Whether the file records the checksum of a prefix of its data that holds all of its weights. */
function weightsCovered(header: SafetensorsHeader): boolean {
  let weightsEnd = 0;
  for (const t of header.tensors) if (!notWeights(t.name)) weightsEnd = Math.max(weightsEnd, t.end);
  return Object.prototype.hasOwnProperty.call(header.metadata, HEAD_CHECKSUM_KEY) && header.headBytes >= weightsEnd;
}

/** Fills `buf` from the file at `position`. */
function readFully(fd: number, buf: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < buf.length) {
    const bytesRead = readSync(fd, buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new CheckpointError(file, 'became shorter while it was read; read it again once it is written');
    done += bytesRead;
  }
}

/** Validates and interprets checkpoint bytes; every problem is a CheckpointError. */
export function decodeCheckpoint(bytes: Uint8Array, file: string, opts: { weightsOnly?: boolean } = {}): Checkpoint {
  const header = parseHeader(bytes, bytes.length, file);
  const data = bytes.subarray(header.dataStart);
  verifyChecksums(header, data, file, true);
  return interpretCheckpoint(header, data, file, opts, false);
}

/** What a validated header says before any tensor data is used (every parameter checked present, F32, of its shape). */
interface DecodedHeader {
  taskName: TaskName;
  meta: TaskMetas[TaskName];
  specs: ParamSpec[];
  stateSpecs: (train: TrainConfig) => ParamSpec[];
  infos: Map<string, TensorInfo>;
}

/**
 * The checkpoint in a validated header and its data section (all of it, or with weightsOnly
 * at least the weights); `owned`: `data` is this call's, its tensors may be views of it.
 */
function interpretCheckpoint(header: SafetensorsHeader, data: Uint8Array, file: string, opts: { weightsOnly?: boolean }, owned: boolean): Checkpoint {
  const decoded = interpretHeader(header, file, opts);
  const tensors = tensorData(header, data, opts.weightsOnly ? (name) => !notWeights(name) : undefined, owned);
  const tensor = (name: string): Float32Array => tensors.get(name)!.data as Float32Array;
  return completeCheckpoint(header, file, opts, decoded, new Map(decoded.specs.map((s) => [s.name, tensor(s.name)])), tensor);
}

/** The format, version and task of a header, the task's metadata, and the parameters' entries checked. */
function interpretHeader(header: SafetensorsHeader, file: string, opts: { weightsOnly?: boolean }): DecodedHeader {
  const { metadata } = header;
  const infos = new Map<string, TensorInfo>(header.tensors.map((t) => [t.name, t]));
  if (metadata.format !== FORMAT_NAME) {
    throw new CheckpointError(file, `is a safetensors file but not an rnn checkpoint (metadata format is ${JSON.stringify(metadata.format ?? null)})`);
  }
  const rawVersion = metadata.format_version;
  const version = Number(rawVersion);
  if (!SUPPORTED_VERSIONS.includes(version)) {
    // only a well-formed version newer than ours comes from a newer rnn; anything else is damage
    if (rawVersion !== undefined && /^[1-9]\d{0,8}$/.test(rawVersion) && version > FORMAT_VERSION) {
      throw new CheckpointError(file, `has format version ${rawVersion}, newer than this rnn reads (${SUPPORTED_VERSIONS.join(', ')}); upgrade rnn`);
    }
    throw new CheckpointError(file, `metadata format_version is ${JSON.stringify(rawVersion ?? null)}, not a version of the format; the file is damaged`);
  }
  const taskName = metadata.task ?? 'lm';
  if (!isTaskName(taskName)) {
    throw new CheckpointError(file, `holds a model of task ${JSON.stringify(taskName)}, which this version of rnn does not know; upgrade rnn`);
  }
  const task = TASKS[taskName];
  const tensorCount = opts.weightsOnly ? header.tensors.filter((t) => !t.name.startsWith('optim.')).length : header.tensors.length;
  const { meta, specs, stateSpecs } = task.decodeMeta(metadata, file, tensorCount);
  for (const s of specs) need(file, infos, s.name, s.shape);
  return { taskName, meta, specs, stateSpecs, infos };
}

/** Checks that a tensor is there with the shape the config needs (in the header: its data may not have been read). */
function need(file: string, infos: Map<string, TensorInfo>, name: string, shape: number[]): void {
  const t = infos.get(name);
  if (!t) throw new CheckpointError(file, `tensor ${name} is missing`);
  checkTensor(file, name, t, shape);
}

/**
 * The checkpoint from a decoded header and its parameters (`params`, one per spec, not yet
 * checked); `tensor` gives any other tensor's data (read by full reads only). `kernels`: the
 * kernels whose arena holds the parameters (readModel), which check them where they lie.
 */
function completeCheckpoint(
  header: SafetensorsHeader, file: string, opts: { weightsOnly?: boolean }, decoded: DecodedHeader,
  params: Map<string, Float32Array>, tensor: (name: string) => Float32Array, kernels?: Kernels,
): Checkpoint {
  const { metadata } = header;
  const { taskName, meta, specs, stateSpecs, infos } = decoded;
  const take = (name: string, shape: number[]): Float32Array => {
    need(file, infos, name, shape);
    return tensor(name);
  };
  for (const [name, p] of params) {
    const largest = kernels?.largestMagnitude ? kernels.largestMagnitude(p) : largestMagnitude(p);
    if (!Number.isFinite(largest)) throw new CheckpointError(file, 'holds weights that are NaN or infinite; use an earlier checkpoint');
    if (largest > MAX_PLAUSIBLE_WEIGHT) {
      throw new CheckpointError(file, `tensor ${name} holds a weight of ${largest.toExponential(1)}, far beyond what training produces; the file is damaged: use another checkpoint of the run`);
    }
  }

  let train: TrainConfig | null = null;
  let progress: TrainProgress | null = null;
  let optimizer: { name: string; t: number } | null = null;
  let state: RunState | null = null;
  let corpus: CorpusFingerprint | null = null;
  if (metadata.train !== undefined) {
    if (metadata.corpus !== undefined) {
      corpus = asFingerprint(parseJsonOrNull(metadata.corpus));
      // only a resume uses it: sampling from a file with a damaged fingerprint still works
      if (!corpus && !opts.weightsOnly) throw new CheckpointError(file, 'metadata "corpus" is not a corpus fingerprint; the file is damaged, resume from another checkpoint of the run');
    }
    train = parseMetaJson(file, 'train', metadata.train) as TrainConfig;
    progress = parseMetaJson(file, 'progress', metadata.progress) as TrainProgress;
    optimizer = parseMetaJson(file, 'optimizer', metadata.optimizer) as { name: string; t: number };
    if (!train || typeof train !== 'object' || !isPositiveInt(train.batch) || !isPositiveInt(train.seq)) {
      throw new CheckpointError(file, 'metadata "train" is invalid');
    }
    train.dropout ??= 0;
    if (typeof train.dropout !== 'number' || !(train.dropout >= 0 && train.dropout < 1)) {
      throw new CheckpointError(file, 'metadata "train" has an invalid dropout');
    }
    // added later (files written before read as off); their ranges are checked on resume
    train.embedDropout ??= 0;
    train.recurrentDropout ??= 0;
    train.weightDecay ??= 0;
    train.ema ??= 0;
    train.emaHalfLife ??= 0;
    if (!progress || typeof progress !== 'object' || !Number.isSafeInteger(progress.step) || !Array.isArray(progress.rng)) {
      throw new CheckpointError(file, 'metadata "progress" is invalid');
    }
    if (!Array.isArray(progress.history)) progress.history = [];
    if (!optimizer || typeof optimizer !== 'object') throw new CheckpointError(file, 'metadata "optimizer" is invalid');
    const taskState: Record<string, Float32Array> = {};
    for (const s of stateSpecs(train)) {
      if (opts.weightsOnly) need(file, infos, s.name, s.shape);
      else taskState[s.name] = take(s.name, s.shape);
    }
    const layout = new ParamLayout(specs);
    const flat = (byName: (name: string) => Float32Array): Float32Array => {
      const buf = new Float32Array(layout.size);
      for (const s of specs) layout.view(buf, s.name).set(byName(s.name));
      return buf;
    };
    const moments: Record<string, Float32Array> = {};
    // (a weightsOnly read leaves the moments alone, as it has no use for them)
    for (const kind of opts.weightsOnly ? [] : ['m', 'v']) {
      if (infos.has(`optim.${kind}.${specs[0]!.name}`)) moments[kind] = flat((name) => take(`optim.${kind}.${name}`, layout.spec(name).shape));
    }
    // the network's tensors are the average of the weights (and optim.trained.* the trained
    // ones), or the trained weights (and optim.ema.* their average, when the run keeps one)
    const weights = metadata.weights;
    if (weights !== undefined && weights !== 'average') throw new CheckpointError(file, `metadata "weights" is ${JSON.stringify(weights)}, not "average"; the file is damaged`);
    const other = (kind: string) => flat((name) => take(`optim.${kind}.${name}`, layout.spec(name).shape));
    if (!opts.weightsOnly) {
      const model = flat((name) => params.get(name)!);
      if (weights === 'average') state = { params: other('trained'), moments, progress, task: taskState, average: model, model: 'average' };
      else {
        const average = infos.has(`optim.ema.${specs[0]!.name}`) ? other('ema') : null;
        state = { params: model, moments, progress, task: taskState, ...(average ? { average } : {}) };
      }
    }
  }
  return { file, task: taskName, meta, model: meta.model, vocab: meta.vocab, params, train, progress, optimizer, corpus, state } as Checkpoint;
}

function checkTensor(file: string, name: string, t: TensorInfo, shape: number[]): void {
  if (t.dtype !== 'F32') throw new CheckpointError(file, `tensor ${name} has dtype ${t.dtype}, expected F32`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new CheckpointError(file, `tensor ${name} has shape [${t.shape}] but the model config needs [${shape}]`);
  }
  if ((t.end - t.begin) / 4 !== numel(shape)) throw new CheckpointError(file, `tensor ${name} has the wrong number of values`);
}

/** Builds a (plain or conditioned) language model on the given kernels with the checkpoint's weights (refuses other tasks). */
export function modelFromCheckpoint(k: Kernels, checkpoint: Checkpoint): Model {
  const ckpt = requireTask(checkpoint, 'lm', 'cond');
  const model = new Model(k, ckpt.model as ModelConfig);
  for (const [name, data] of ckpt.params) model.layout.view(model.params, name).set(data);
  return model;
}

/**
 * Weights larger than this come from damage (a flipped exponent bit turns 0.05 into about
 * 1e37), not from training: clipped, small-learning-rate updates keep weights within tens.
 */
export const MAX_PLAUSIBLE_WEIGHT = 1e8;

function parseJsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
