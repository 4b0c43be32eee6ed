// The vocabulary: the unique Unicode code points of a text, sorted by code point, each
// given an id 0..V-1. A symbol is a code point, not a UTF-16 unit: an emoji or a CJK
// ideograph is one symbol, so a model never samples half a surrogate pair and decoded
// text is always valid UTF-8. No normalisation is applied: "é" precomposed (U+00E9) and
// "e" + U+0301 are kept exactly as the text has them.

import { CorpusError } from '../util/errors.js';

/** Size of the direct lookup table for Basic Multilingual Plane code points. */
const BMP = 0x10000;

export class Vocab {
  /** The symbols in id order; each is one code point (one or two UTF-16 units). */
  readonly chars: string[];
  /** id by code point for code points below min(maxCodePoint + 1, 0x10000); -1 when absent. */
  private readonly table: Int32Array;
  /** id by code point for astral code points (above U+FFFF). */
  private readonly astral = new Map<number, number>();

  private constructor(chars: string[]) {
    this.chars = chars;
    let maxBmp = -1;
    for (const ch of chars) {
      const cp = ch.codePointAt(0)!;
      if (cp < BMP && cp > maxBmp) maxBmp = cp;
    }
    this.table = new Int32Array(maxBmp + 1).fill(-1);
    chars.forEach((ch, id) => {
      const cp = ch.codePointAt(0)!;
      if (cp < BMP) this.table[cp] = id;
      else this.astral.set(cp, id);
    });
  }

  /** The vocabulary of a text: its distinct code points in code-point order. */
  static fromText(text: string): Vocab {
    const seen = new Set<number>();
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      seen.add(cp);
    }
    const points = [...seen].sort((a, b) => a - b);
    for (const cp of points) {
      if (cp >= 0xd800 && cp <= 0xdfff) {
        throw new CorpusError(
          `the text holds a lone UTF-16 surrogate (U+${hex(cp)}), which is not a character; decode the text from valid UTF-8`,
        );
      }
    }
    return new Vocab(points.map((cp) => String.fromCodePoint(cp)));
  }

  /**
   * A vocabulary with exactly these symbols in this order (as stored in a checkpoint).
   *
   * @throws CorpusError when an entry is not a single code point or appears twice.
   */
  static fromChars(chars: readonly string[]): Vocab {
    const seen = new Set<string>();
    chars.forEach((ch, id) => {
      if (typeof ch !== 'string' || ch.length === 0 || ch.length > 2 || [...ch].length !== 1) {
        throw new CorpusError(`vocabulary entry ${id} (${JSON.stringify(ch)}) is not a single character; the vocabulary is damaged`);
      }
      const cp = ch.codePointAt(0)!;
      if (cp >= 0xd800 && cp <= 0xdfff) {
        throw new CorpusError(`vocabulary entry ${id} is a lone UTF-16 surrogate (U+${hex(cp)}); the vocabulary is damaged`);
      }
      if (seen.has(ch)) {
        throw new CorpusError(`vocabulary entry ${id} (${JSON.stringify(ch)}) appears twice; the vocabulary is damaged`);
      }
      seen.add(ch);
    });
    return new Vocab([...chars]);
  }

  /** V, the number of symbols. */
  get size(): number {
    return this.chars.length;
  }

  /** The id of one symbol (a one-code-point string), or -1 if it is not in the vocabulary. */
  id(ch: string): number {
    if (ch.length === 0 || ch.length > 2) return -1;
    const cp = ch.codePointAt(0)!;
    if (String.fromCodePoint(cp).length !== ch.length) return -1; // more than one code point
    return this.idOf(cp);
  }

  /**
   * The ids of a text, one per code point.
   *
   * @throws CorpusError naming the first symbol that is not in the vocabulary.
   */
  encode(text: string): Int32Array {
    const ids = new Int32Array(text.length);
    let n = 0;
    let position = 0;
    for (let i = 0; i < text.length; i++, position++) {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      const id = this.idOf(cp);
      if (id < 0) {
        throw new CorpusError(
          `the text holds ${describeChar(cp)} at character ${position}, which is not in the model's vocabulary; remove it or train on text that contains it`,
        );
      }
      ids[n++] = id;
    }
    return n === ids.length ? ids : ids.slice(0, n);
  }

  /** The ids of a text, skipping symbols not in the vocabulary; `unknown` counts each skipped symbol. */
  encodeLenient(text: string): { ids: Int32Array; unknown: Map<string, number> } {
    const ids = new Int32Array(text.length);
    const unknown = new Map<string, number>();
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      const id = this.idOf(cp);
      if (id < 0) {
        const ch = String.fromCodePoint(cp);
        unknown.set(ch, (unknown.get(ch) ?? 0) + 1);
      } else {
        ids[n++] = id;
      }
    }
    return { ids: n === ids.length ? ids : ids.slice(0, n), unknown };
  }

  /**
   * The text of a sequence of ids.
   *
   * @throws RangeError for an id outside 0..V-1 (a bug in the caller, not a user error).
   */
  decode(ids: ArrayLike<number>): string {
    const parts: string[] = new Array<string>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const ch = this.chars[ids[i]!];
      if (ch === undefined) throw new RangeError(`id ${ids[i]} at position ${i} is outside the vocabulary (0..${this.size - 1})`);
      parts[i] = ch;
    }
    return parts.join('');
  }

  /** The symbols in id order; `Vocab.fromChars(JSON.parse(JSON.stringify(vocab)))` restores it. */
  toJSON(): string[] {
    return [...this.chars];
  }

  private idOf(cp: number): number {
    if (cp < BMP) return cp < this.table.length ? this.table[cp]! : -1;
    return this.astral.get(cp) ?? -1;
  }
}

function hex(cp: number): string {
  return cp.toString(16).toUpperCase().padStart(4, '0');
}

/** 'x' (U+0078), or just U+0007 for invisible characters. */
function describeChar(cp: number): string {
  const printable = cp >= 0x20 && cp !== 0x7f && !(cp >= 0x80 && cp < 0xa0) && !(cp >= 0xd800 && cp <= 0xdfff);
  return printable ? `${JSON.stringify(String.fromCodePoint(cp))} (U+${hex(cp)})` : `U+${hex(cp)}`;
}
