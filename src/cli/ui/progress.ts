// The training progress bar (cli-progress, loaded only when stderr is a live terminal)
// and the lines printed around it. Off a terminal there is no bar: `log` writes plain
// lines and `update` does nothing.
import type { TermInfo } from './term.js';

export interface BarState {
  /** Steps done, or seconds elapsed for a time-bounded run. */
  value: number;
  total: number;
  /** Text after the bar: losses, speed, ETA. */
  info: string;
}

export interface ProgressView {
  update(s: BarState): void;
  /** A line above the bar (or a plain line without one). */
  log(line: string): void;
  stop(): void;
}

interface BarLike {
  start(total: number, value: number, payload?: object): void;
  update(value: number, payload?: object): void;
  setTotal(total: number): void;
  stop(): void;
  render(): void;
}

/** A bar on a live terminal, plain lines otherwise; `quiet` shows nothing. */
export async function createProgress(term: TermInfo, opts: { quiet: boolean; label: string }): Promise<ProgressView> {
  const write = (line: string) => process.stderr.write(`${line}\n`);
  if (opts.quiet) return { update() {}, log() {}, stop() {} };
  if (!term.live) return { update() {}, log: write, stop() {} };
  // cli-progress is CommonJS: in the split bundle its chunk has only a default export
  const mod: typeof import('cli-progress') & { default?: typeof import('cli-progress') } = await import('cli-progress');
  const { SingleBar } = mod.default ?? mod;
  const c = term.color;
  const bar = new SingleBar({
    stream: process.stderr,
    format: `${c.cyan(opts.label)} {bar} {progress} {info}`,
    barCompleteChar: '█',
    barIncompleteChar: '░',
    barsize: 20,
    hideCursor: true,
    // cli-progress's own clearing restores a cursor position saved before the lines
    // printed above the bar; clear the bar's line ourselves instead (stop below)
    clearOnComplete: false,
    linewrap: false,
    fps: 8,
    forceRedraw: false,
    gracefulExit: false, // Ctrl-C belongs to the train command
  }) as unknown as BarLike & { terminal?: { cursorSave?: () => void; cursorRestore?: () => void } };
  // The bar saves the cursor position at start and restores it at stop. Lines printed
  // above the bar move it down, so the restored position would land on them: keep the
  // cursor where it is (the bar's own line) instead.
  if (bar.terminal) {
    bar.terminal.cursorSave = () => {};
    bar.terminal.cursorRestore = () => {};
  }
  let started = false;
  let total = 0;
  return {
    update(s) {
      const payload = { info: s.info, progress: s.total > 0 ? `${Math.floor(s.value)}/${s.total}` : `${Math.floor(s.value)}` };
      if (!started) {
        bar.start(Math.max(1, s.total), s.value, payload);
        started = true;
        total = s.total;
      } else {
        if (s.total !== total && s.total > 0) {
          bar.setTotal(s.total);
          total = s.total;
        }
        bar.update(s.value, payload);
      }
    },
    log(line) {
      // clear the bar's line, print above it, and draw the bar again below
      process.stderr.write(`\r\x1b[2K${line}\n`);
      if (started) bar.render();
    },
    stop() {
      if (started) {
        bar.stop(); // leaves the bar drawn and moves to the next line
        process.stderr.write('\x1b[1A\r\x1b[2K');
      }
      started = false;
    },
  };
}
