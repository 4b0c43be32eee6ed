// Stop rules around a Sampler: a length cap, a number of lines, and stop strings. Text
// comes out in chunks produced synchronously (no promise per character); the caller
// writes each chunk and waits for the writer between chunks.
//
// Counting: `length` and `lines` count generated characters only (never the prime), in
// code points; the newline that completes the last line is printed. A stop string is
// searched for in the generated text only (a stop string inside the prime does not end
// generation, nor does one that starts in the prime); text that might be the start of a
// stop string is held back until it is known not to be one, so a stop string is never
// half printed. With keepStop, the stop string is printed and then generation ends.
import type { Sampler } from './sampler.js';

export interface StopRules {
  /** Generated characters at most (0: no limit). */
  length: number;
  /** Stop after this many generated newlines (0: no limit). */
  lines: number;
  /** Stop at the first occurrence of any of these (non-empty) strings. */
  stops: readonly string[];
  /** Print the stop string that ended generation. */
  keepStop: boolean;
}

/** Finds stop strings in a stream of characters, holding back possible beginnings of one. */
export class StopMatcher {
  private held = '';
  private readonly longest: number;

  constructor(private readonly stops: readonly string[], private readonly keep: boolean) {
    for (const s of stops) if (s.length === 0) throw new Error('stop strings must not be empty');
    this.longest = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /**
   * Adds one character. Returns the text that is now safe to print, and whether a stop
   * string has just been completed (the returned text then ends the output).
   */
  push(ch: string): { text: string; stopped: boolean } {
    const held = this.held + ch;
    for (const s of this.stops) {
      if (held.endsWith(s)) {
        this.held = '';
        return { text: this.keep ? held : held.slice(0, held.length - s.length), stopped: true };
      }
    }
    // keep the longest suffix of `held` that begins some stop string
    const maxKeep = Math.min(held.length, this.longest - 1);
    for (let n = maxKeep; n > 0; n--) {
      const suffix = held.slice(held.length - n);
      if (this.stops.some((s) => s.startsWith(suffix))) {
        this.held = suffix;
        return { text: held.slice(0, held.length - n), stopped: false };
      }
    }
    this.held = '';
    return { text: held, stopped: false };
  }

  /** What is still held back (it turned out not to be a stop string). */
  flush(): string {
    const text = this.held;
    this.held = '';
    return text;
  }
}

export class Generation {
  /** True once a stop rule has ended the sample. */
  done = false;
  /** Generated characters so far (code points). */
  produced = 0;
  /** Generated newlines so far. */
  newlines = 0;
  private readonly matcher: StopMatcher | null;
  private first: string;

  /**
   * @param first a character already generated (Sampler.start() without a newline in the
   *   vocabulary picks one); it is counted and checked like any other.
   */
  constructor(private readonly sampler: Sampler, private readonly rules: StopRules, first = '') {
    this.matcher = rules.stops.length > 0 ? new StopMatcher(rules.stops, rules.keepStop) : null;
    this.first = first; // with no rule at all, generation runs until the caller stops asking
  }

  /**
   * Generates up to `max` characters, stopping early after a newline (so text streams line
   * by line) or when a rule ends the sample. Returns the printable text (possibly empty
   * while a possible stop string is held back).
   */
  take(max: number): string {
    if (this.done) return '';
    const { length, lines } = this.rules;
    const chars = this.sampler.vocab.chars;
    let text = '';
    for (let i = 0; i < max; i++) {
      let ch: string;
      if (this.first !== '') {
        ch = this.first;
        this.first = '';
      } else {
        ch = chars[this.sampler.nextCharId()];
      }
      this.produced++;
      if (this.matcher) {
        const r = this.matcher.push(ch);
        text += r.text;
        if (r.stopped) {
          this.done = true;
          return text;
        }
      } else {
        text += ch;
      }
      const newline = ch === '\n';
      if (newline) this.newlines++;
      if ((length > 0 && this.produced >= length) || (lines > 0 && this.newlines >= lines)) {
        this.done = true;
        if (this.matcher) text += this.matcher.flush();
        return text;
      }
      if (newline) break;
    }
    return text;
  }
}
