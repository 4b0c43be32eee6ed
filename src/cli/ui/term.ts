// What a terminal can show. Colour: off with --no-color or NO_COLOR (chalk does not read
// it), on when FORCE_COLOR says so or the stream is a terminal (TERM not dumb). Live bars
// and spinners: only on stderr when it is a real TTY with a width, TERM not dumb, CI unset.
import { Chalk, type ChalkInstance } from 'chalk';

export interface TermInfo {
  color: ChalkInstance;
  /** Bars and spinners may be drawn. */
  live: boolean;
}

/**
 * The colours to use on `stream`. `color: false` is --no-color; `force` turns colour on
 * off a terminal (score's --heatmap for less -R).
 */
export function colorFor(stream: NodeJS.WriteStream, opts: { color?: boolean; force?: boolean } = {}): ChalkInstance {
  const env = process.env;
  const noColor = opts.color === false || (env.NO_COLOR !== undefined && env.NO_COLOR !== '');
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  const tty = Boolean(stream.isTTY) && env.TERM !== 'dumb';
  const level = noColor ? 0 : forced || tty || opts.force ? Math.max(1, new Chalk().level) as 1 | 2 | 3 : 0;
  return new Chalk({ level });
}

/** stderr: its colours, and whether bars and spinners may be drawn. */
export function termInfo(opts: { color?: boolean } = {}): TermInfo {
  const err = process.stderr;
  const live = Boolean(err.isTTY) && (err.columns ?? 0) > 0 && process.env.TERM !== 'dumb' && !process.env.CI;
  return { color: colorFor(err, opts), live };
}
