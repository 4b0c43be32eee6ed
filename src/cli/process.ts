// The process-level plumbing every command shares, kept free of heavy imports because
// main() loads it before it knows the command: the version, and stdout.
//
// stdout: main() installs one error listener (watchStdout). A reader that goes away
// (EPIPE, `rnn sample | head`) marks stdout closed and is not an error: commands see
// stdoutClosed() and stop quietly with status 0. Any other write error (a full disk, an
// I/O error) is reported once as one line, marks stdout closed too, and sets status 1.
import { EXIT } from '../util/errors.js';

declare const __RNN_VERSION__: string;
export const VERSION = typeof __RNN_VERSION__ === 'string' ? __RNN_VERSION__ : '0.0.0-dev';

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
