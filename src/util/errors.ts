// Typed errors. Every error a user can cause is one of these: its message is one line
// that names the problem and says what to do. The CLI's single handler maps them to
// stderr and an exit code; nothing below the CLI prints or exits.

/** Exit statuses, documented in the README. */
export const EXIT = { ok: 0, failure: 1, usage: 2, hangup: 129, interrupted: 130, terminated: 143 } as const;

export class RnnError extends Error {
  /** Process exit status the CLI uses for this error. */
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failure) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad flags or arguments: exit 2. */
export class UsageError extends RnnError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** The training text cannot be used (missing, empty, binary, invalid UTF-8, too short). */
export class CorpusError extends RnnError {}

/**
 * Too little text for B streams of T steps (src/text/batches.ts). The message speaks of
 * streams and steps; the CLI says it with its flags (--batch, --seq: cli/errors.ts).
 */
export class TooLittleDataError extends CorpusError {
  constructor(readonly label: string, readonly length: number, readonly batch: number, readonly seq: number, readonly needed: number) {
    super(`${label} has ${length} character${length === 1 ? '' : 's'}, but ${batch} streams × ${seq} steps need at least ${needed}; use fewer or shorter streams, or more text`);
  }
}

/** A checkpoint file that is missing, damaged, or not a checkpoint. */
export class CheckpointError extends RnnError {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
  }
}

/** Training cannot go on (diverged beyond recovery, and the like). */
export class TrainingError extends RnnError {}

/**
 * A model computed NaN or infinite outputs from finite inputs: its weights are damaged (a
 * flipped bit, absurd values). The CLI names the checkpoint they came from.
 */
export class NonFiniteOutputError extends RnnError {
  constructor() {
    super('the model computes NaN or infinite outputs; its weights are damaged');
  }
}

/**
 * The compute backend's memory cannot hold what a model asked for (the WebAssembly
 * backend addresses at most 4 GiB). Training checks the need up front (src/train
 * /memory.ts); this is what any later request past the limit becomes.
 */
export class MemoryLimitError extends RnnError {
  constructor(readonly needBytes: number, readonly limitBytes: number) {
    super(`out of memory: the model needs more than the ${formatBytes(limitBytes)} the compute backend can hold; use a smaller model (--hidden, --layers) or a smaller --batch`);
  }
}

/** "3.2 GiB", "512 MiB", "12 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} bytes` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '')} ${units[u]}`;
}
