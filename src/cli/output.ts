// Writing data to stdout as a pipeline citizen: chunks are flushed per line or when a
// small buffer fills, backpressure is respected, and a reader that goes away (EPIPE,
// `rnn sample | head`) ends generation quietly instead of raising.

export class DataOut {
  private buf = '';
  private closed = false;
  private readonly onError = (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') this.closed = true;
    else throw e;
  };

  constructor(private readonly stream: NodeJS.WritableStream & { writableNeedDrain?: boolean } = process.stdout, private readonly chunk = 256) {
    stream.on('error', this.onError);
  }

  /** True once the reader has gone away. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Appends text; flushes at a newline or when the buffer is full. Resolves when it is safe to write more. */
  async write(text: string): Promise<void> {
    if (this.closed) return;
    this.buf += text;
    if (this.buf.length >= this.chunk || text.includes('\n')) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.closed || this.buf.length === 0) return;
    const data = this.buf;
    this.buf = '';
    const ok = this.stream.write(data);
    if (!ok && !this.closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          this.stream.off('error', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('close', done);
        this.stream.on('error', done);
      });
    }
  }

  /** Flushes what is left and waits until the stream has taken it. */
  async end(): Promise<void> {
    await this.flush();
    if (this.closed) return;
    await new Promise<void>((resolve) => this.stream.write('', () => resolve()));
  }
}
