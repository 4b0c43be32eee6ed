// What every command shares: the common flags, finding and loading a checkpoint, reading
// stdin, stdout as a pipeline citizen (process.ts, re-exported here) and wording. Colour
// decisions live in ui/term.ts (they need chalk, which the commands that print no colour
// should not load).
import { Option } from 'commander';
import { newestFile } from '../checkpoint/atomic.js';
import { readModel, type TaskCheckpoint } from '../checkpoint/store.js';
import { BACKENDS, createKernels, type BackendName } from '../kernels/index.js';
import type { Model } from '../nn/model.js';
import { CheckpointError, EXIT, NonFiniteOutputError, RnnError, UsageError } from '../util/errors.js';
import { choiceOption, intOption } from './options.js';


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
  return readModel(await findCheckpoint(given), () => createKernels({ backend: flags.backend, threads: flags.threads }), ...tasks);
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

// ---- stdout: in ./process.ts (main loads it before any command), re-exported here ----

export { DataOut, stdoutClosed, stdoutFailed, watchStdout, writeStdout, VERSION } from './process.js';

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
