// What the terminal on stderr can show: colour (NO_COLOR, --no-color, FORCE_COLOR) and
// live bars/spinners (only on a real TTY with a width, TERM not dumb, CI unset).
import { Chalk, type ChalkInstance } from 'chalk';

export interface TermInfo {
  color: ChalkInstance;
  /** Bars and spinners may be drawn. */
  live: boolean;
}

export function termInfo(opts: { color?: boolean } = {}): TermInfo {
  const err = process.stderr;
  const env = process.env;
  const tty = Boolean(err.isTTY) && (err.columns ?? 0) > 0 && env.TERM !== 'dumb' && !env.CI;
  const noColor = opts.color === false || (env.NO_COLOR !== undefined && env.NO_COLOR !== '');
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  const level = noColor ? 0 : forced || tty ? Math.max(1, new Chalk().level) as 1 | 2 | 3 : 0;
  return { color: new Chalk({ level }), live: tty };
}
