// What every command shares: the common flags, finding and loading a checkpoint, reading
// stdin, and stdout as a pipeline citizen. Colour decisions live in ui/term.ts (they need
// chalk, which the commands that print no colour should not load).
//
// stdout: main() installs one error listener (watchStdout). A reader that goes away
// (EPIPE, `rnn sample | head`) marks stdout closed and is not an error: commands see
// stdoutClosed() and stop quietly with status 0. Any other write error (a full disk, an
// I/O error) is reported once as one line, marks stdout closed too, and sets status 1.
import { Option } from 'commander';
import { newestFile } from '../checkpoint/atomic.js';
import { modelFromCheckpoint, readCheckpoint, type TaskCheckpoint } from '../checkpoint/store.js';
import { BACKENDS, createKernels, type BackendName } from '../kernels/index.js';
import type { Model } from '../nn/model.js';
import { requireTask } from '../tasks/registry.js';
import { CheckpointError, EXIT, NonFiniteOutputError, RnnError, UsageError } from '../util/errors.js';
import { choiceOption, intOption } from './options.js';

declare const __RNN_VERSION__: string;
export const VERSION = typeof __RNN_VERSION__ === 'string' ? __RNN_VERSION__ : '0.0.0-dev';

// ---- shared flags ----------------------------------------------------------------------

export interface BackendFlags {
  backend: BackendName;
  threads?: number;
}

export function checkpointOption(what: string): Option {
  return new Option('-c, --checkpoint <path>', `checkpoint to ${what} (default: the newest *-best.safetensors in checkpoints/)`);
}

export function backendOption(): Option {
  return new Option('--backend <name>', 'compute backend: auto (native when built, else wasm), native, wasm or reference (plain TypeScript)')
    .default('auto').argParser(choiceOption('--backend', BACKENDS));
}

export function threadsOption(): Option {
  return new Option('--threads <n>', 'compute threads (default: all cores)').argParser(intOption('--threads', 1, 64));
}

export function jsonOption(description: string): Option {
  return new Option('--json', description).default(false);
}

export function quietOption(description = 'print nothing on stderr but errors'): Option {
  return new Option('-q, --quiet', description).default(false);
}

export function noColorOption(description = 'no colours (NO_COLOR does the same)'): Option {
  return new Option('--no-color', description);
}

// ---- checkpoints -----------------------------------------------------------------------

/** The checkpoint to use: `given`, else the newest best (then any) checkpoint in `dir`. */
export async function findCheckpoint(given: string | undefined, dir = 'checkpoints'): Promise<string> {
  if (given) return given;
  const found = (await newestFile(dir, '-best.safetensors')) ?? (await newestFile(dir, '.safetensors'));
  if (!found) throw new RnnError(`no checkpoint found in ${dir}/; train one first (rnn train FILE) or pass --checkpoint PATH`);
  return found;
}

/**
 * Finds, reads and builds the model of a checkpoint (weights only). The wasm backend keeps
 * batch-1 products on this thread until enough of them have run to pay for starting a
 * worker, so short samples start fast and long ones use both cores.
 */
export async function loadModel(given: string | undefined, flags: BackendFlags): Promise<{ ckpt: TaskCheckpoint<'lm'>; model: Model }>;
export async function loadModel(given: string | undefined, flags: BackendFlags, ...tasks: ('lm' | 'cond')[]): Promise<{ ckpt: TaskCheckpoint<'lm'> | TaskCheckpoint<'cond'>; model: Model }>;
/** (`tasks`: the tasks the command serves, default the language model; plain and conditioned LMs build the same Model.) */
export async function loadModel(given: string | undefined, flags: BackendFlags, ...tasks: ('lm' | 'cond')[]): Promise<{ ckpt: TaskCheckpoint<'lm'> | TaskCheckpoint<'cond'>; model: Model }> {
  const ckpt = requireTask(await readCheckpoint(await findCheckpoint(given), { weightsOnly: true }), ...(tasks.length > 0 ? tasks : ['lm' as const]));
  const model = modelFromCheckpoint(createKernels({ backend: flags.backend, threads: flags.threads }), ckpt);
  return { ckpt, model };
}

/**
 * Runs work that computes with a checkpoint's model: outputs that turn out NaN or
 * infinite (damaged weights) become one line naming the checkpoint.
 */
export async function usingModel<T>(file: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof NonFiniteOutputError) {
      throw new CheckpointError(file, 'the model computes NaN or infinite outputs: the file is damaged; use another checkpoint of the run');
    }
    throw e;
  }
}

// ---- stdin -----------------------------------------------------------------------------

/** All of stdin; `what` names it in the error when stdin is a terminal ("the prime"). */
export async function readStdin(what: string, hint = 'pipe text in or give a file'): Promise<Uint8Array> {
  if (process.stdin.isTTY) throw new UsageError(`reading ${what} from stdin, but stdin is a terminal; ${hint}`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// ---- stdout ----------------------------------------------------------------------------

let closed = false;
let failed = false;

/** True once the reader has gone away or a write has failed: stop writing data. */
export function stdoutClosed(): boolean {
  return closed;
}

/** True when a write to stdout failed for a reason other than a closed pipe. */
export function stdoutFailed(): boolean {
  return failed;
}

/** Installs the one stdout error listener (see the header). */
export function watchStdout(stream: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (closed) return;
    closed = true;
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
    failed = true;
    process.exitCode = EXIT.failure;
    stderr.write(`rnn: cannot write to stdout: ${describeWriteError(e)}\n`);
  });
  // stderr is where errors would go: when it fails there is nobody to tell
  process.stderr.on('error', () => {
    process.exitCode = process.exitCode || EXIT.failure;
  });
}

function describeWriteError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOSPC': return 'no space left on the device (ENOSPC); free some space or write elsewhere';
    case 'EIO': return 'input/output error (EIO)';
    case 'EBADF': return 'stdout is not open for writing (EBADF)';
    case 'EDQUOT': return 'disk quota exceeded (EDQUOT)';
    case 'EFBIG': return 'file too large (EFBIG)';
    default: return `${e.code ?? e.message}`;
  }
}

/**
 * Text data to stdout: flushed per line or when a small buffer fills, with backpressure.
 * After the reader has gone away, writes do nothing.
 */
export class DataOut {
  private buf = '';

  constructor(private readonly stream: NodeJS.WritableStream & { writableNeedDrain?: boolean } = process.stdout, private readonly chunk = 256) {}

  get isClosed(): boolean {
    return closed;
  }

  /** Appends text; flushes at a newline or when the buffer is full. Resolves when it is safe to write more. */
  async write(text: string): Promise<void> {
    if (closed) return;
    this.buf += text;
    if (this.buf.length >= this.chunk || text.includes('\n')) await this.flush();
  }

  async flush(): Promise<void> {
    if (closed || this.buf.length === 0) return;
    const data = this.buf;
    this.buf = '';
    await writeStdout(data, this.stream);
  }

  /** Flushes what is left and waits until the stream has taken it. */
  async end(): Promise<void> {
    await this.flush();
    if (closed) return;
    await new Promise<void>((resolve) => this.stream.write('', () => resolve()));
  }
}

/** Writes to stdout and waits for it to be taken (or for the reader to go away); never rejects. */
export async function writeStdout(data: string | Uint8Array, stream: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (closed) return;
  const ok = stream.write(data);
  if (ok || closed) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

// ---- wording ---------------------------------------------------------------------------

export { plural } from '../util/words.js';

/** 'x' 'y' U+0007 …, at most `max` of them. */
export function nameChars(chars: Iterable<string>, max = 20): string {
  const all = [...chars];
  const named = all.slice(0, max).map((ch) => {
    const cp = ch.codePointAt(0)!;
    const printable = cp >= 0x20 && cp !== 0x7f && !(cp >= 0x80 && cp < 0xa0);
    return printable ? JSON.stringify(ch) : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  });
  return named.join(' ') + (all.length > max ? ` and ${all.length - max} more` : '');
}
