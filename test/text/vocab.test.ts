import { describe, expect, it } from 'vitest';
import { Vocab } from '../../src/text/vocab.js';
import { CorpusError } from '../../src/util/errors.js';

/** Text → ids → text, through a vocab built from the text, and through its JSON form. */
function roundTrip(text: string): Vocab {
  const vocab = Vocab.fromText(text);
  const ids = vocab.encode(text);
  expect(ids).toBeInstanceOf(Int32Array);
  expect(ids.length).toBe([...text].length);
  expect(vocab.decode(ids)).toBe(text);
  const restored = Vocab.fromChars(JSON.parse(JSON.stringify(vocab)) as string[]);
  expect(restored.chars).toEqual(vocab.chars);
  expect(restored.decode(restored.encode(text))).toBe(text);
  // The decoded text survives UTF-8 encoding unchanged (no lone surrogates).
  const decoded = vocab.decode(ids);
  expect(new TextDecoder('utf-8', { fatal: true }).decode(new TextEncoder().encode(decoded))).toBe(text);
  return vocab;
}

describe('Vocab', () => {
  it('round-trips ASCII, sorted by code point', () => {
    const vocab = roundTrip('hello world\n');
    expect(vocab.chars).toEqual(['\n', ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
    expect(vocab.size).toBe(9);
    expect(vocab.id('l')).toBe(5);
    expect(vocab.id('z')).toBe(-1);
  });

  it('keeps precomposed and decomposed accents as given', () => {
    const nfc = 'caf\u00e9 na\u00efve';
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    const vocab = roundTrip(`${nfc} / ${nfd}`);
    expect(vocab.id('\u00e9')).toBeGreaterThanOrEqual(0);
    expect(vocab.id('\u0301')).toBeGreaterThanOrEqual(0);
    expect(vocab.encode(nfd).length).toBe(nfd.length);
    expect(vocab.encode(nfc).length).toBe(nfc.length);
  });

  it('round-trips CJK', () => {
    const vocab = roundTrip('床前明月光，疑是地上霜。\n举头望明月，低头思故乡。');
    expect(vocab.id('月')).toBeGreaterThanOrEqual(0);
  });

  it('treats an astral code point (emoji) as one symbol', () => {
    const text = 'a😀b😀🎉\u{1F468}\u200D\u{1F469}\n𝄞';
    const vocab = roundTrip(text);
    expect(vocab.chars).toContain('😀');
    expect(vocab.chars.every((ch) => [...ch].length === 1)).toBe(true);
    expect(vocab.encode('😀').length).toBe(1);
    expect(vocab.id('😀')).toBe(vocab.chars.indexOf('😀'));
    // sorted by code point, not by UTF-16 unit: U+FF0C (fullwidth comma) before U+1F600
    const mixed = Vocab.fromText('😀，');
    expect(mixed.chars).toEqual(['，', '😀']);
    expect(vocab.id('😀b')).toBe(-1);
    expect(vocab.id('')).toBe(-1);
  });

  it('round-trips CRLF text, with \\r and \\n as two symbols', () => {
    const vocab = roundTrip('line one\r\nline two\r\n');
    expect(vocab.chars.slice(0, 2)).toEqual(['\n', '\r']);
  });

  it('encode throws a CorpusError naming an unknown character; encodeLenient skips and counts', () => {
    const vocab = Vocab.fromText('abc');
    expect(() => vocab.encode('abx')).toThrow(CorpusError);
    expect(() => vocab.encode('ab😀')).toThrow(/"😀" \(U\+1F600\) at character 2/);
    const { ids, unknown } = vocab.encodeLenient('a😀bxxc😀😀');
    expect([...ids]).toEqual([0, 1, 2]);
    expect(unknown).toEqual(new Map([['😀', 3], ['x', 2]]));
  });

  it('fromChars keeps the given order and rejects damaged lists', () => {
    const vocab = Vocab.fromChars(['b', 'a', '😀']);
    expect(vocab.encode('ab😀')).toEqual(new Int32Array([1, 0, 2]));
    expect(() => Vocab.fromChars(['a', 'a'])).toThrow(/appears twice/);
    expect(() => Vocab.fromChars(['ab'])).toThrow(/not a single character/);
    expect(() => Vocab.fromChars([''])).toThrow(CorpusError);
    expect(() => Vocab.fromChars(['\uD800'])).toThrow(/surrogate/);
    expect(() => Vocab.fromChars([1 as unknown as string])).toThrow(CorpusError);
  });

  it('fromText rejects lone surrogates', () => {
    expect(() => Vocab.fromText('a\uD800b')).toThrow(/lone UTF-16 surrogate \(U\+D800\)/);
  });

  it('decode rejects ids outside the vocabulary', () => {
    const vocab = Vocab.fromText('ab');
    expect(() => vocab.decode([0, 2])).toThrow(RangeError);
    expect(() => vocab.decode([-1])).toThrow(RangeError);
    expect(vocab.decode(new Int32Array([1, 0]))).toBe('ba');
  });

  it('handles a large vocabulary and long text', () => {
    let text = '';
    for (let cp = 0x4e00; cp < 0x4e00 + 3000; cp++) text += String.fromCodePoint(cp);
    text += '\u{10FFFD}';
    const vocab = roundTrip(text.repeat(20));
    expect(vocab.size).toBe(3001);
  });
});
