// Small helpers for decoding a checkpoint's metadata strings, shared by the tasks.
import { CheckpointError } from '../util/errors.js';

/** Parses one JSON metadata entry; a missing or broken entry is a CheckpointError naming the file. */
export function parseMetaJson(file: string, key: string, text: string | undefined): unknown {
  if (text === undefined) throw new CheckpointError(file, `metadata has no "${key}" entry; it is not an rnn checkpoint`);
  try {
    return JSON.parse(text);
  } catch {
    throw new CheckpointError(file, `metadata "${key}" is not valid JSON; the file is damaged`);
  }
}

export function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}
