// Flag parsing and validation: every bad value becomes a UsageError (exit 2) that names
// the flag, what it got, and what it accepts.
import type { Limit } from '../train/config.js';
import { UsageError } from '../util/errors.js';

export function intOption(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^[+]?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = `a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`;
      throw new UsageError(`${flag} must be ${range} (got ${JSON.stringify(value)})`);
    }
    return n;
  };
}

export function floatOption(flag: string, min: number, max: number, { minExclusive = false, maxExclusive = false } = {}) {
  return (value: string): number => {
    const n = Number(value);
    const ok = value.trim() !== '' && Number.isFinite(n) && (minExclusive ? n > min : n >= min) && (maxExclusive ? n < max : n <= max);
    if (!ok) {
      const lo = `${minExclusive ? '>' : '≥'} ${min}`;
      const hi = max === Infinity ? '' : ` and ${maxExclusive ? '<' : '≤'} ${max}`;
      throw new UsageError(`${flag} must be a number ${lo}${hi} (got ${JSON.stringify(value)})`);
    }
    return n;
  };
}

export function choiceOption<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new UsageError(`${flag} must be one of ${choices.join(', ')} (got ${JSON.stringify(value)})`);
    }
    return value as T;
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90s", "15m", "1.5h", "500ms", or a plain number of seconds → milliseconds. */
export function durationOption(flag: string) {
  return (value: string): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
    const ms = m ? Number(m[1]) * UNITS[m[2] ?? 's'] : NaN;
    if (!Number.isFinite(ms) || ms <= 0) {
      throw new UsageError(`${flag} must be a duration such as 90s, 15m or 2h (got ${JSON.stringify(value)})`);
    }
    return ms;
  };
}

export { formatDuration } from '../util/format.js';

/** A flag held to a TRAIN_LIMITS range, the same one a resumed checkpoint is held to. */
export function limitOption(flag: string, limit: Limit) {
  return limit.int ? intOption(flag, limit.min, limit.max) : floatOption(flag, limit.min, limit.max, { minExclusive: limit.minExclusive ?? false });
}

/** --ema: "off" (or 0) → 0, else a decay per step > 0 and ≤ max. */
export function emaOption(flag: string, max: number) {
  return (value: string): number => {
    if (value.trim() === 'off') return 0;
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) {
      throw new UsageError(`${flag} must be off or a decay per step from 0 to ${max}, e.g. 0.999 (got ${JSON.stringify(value)})`);
    }
    return n;
  };
}
