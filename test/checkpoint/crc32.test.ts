// CRC-32: the check value of the standard, the TypeScript fallback against zlib's, and a
// CRC continued over two pieces equal to the CRC of the whole.
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Slicing } from '../../src/checkpoint/crc32.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc32', () => {
  it('gives the check value of CRC-32/ISO-HDLC for "123456789"', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32Slicing(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32Slicing(new Uint8Array(0))).toBe(0);
  });

  it('the TypeScript version equals the native one on every length and alignment', () => {
    const bytes = new Uint8Array(4099);
    let x = 12345;
    for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    for (const [lo, hi] of [[0, 4099], [1, 4099], [3, 10], [5, 6], [0, 3], [2, 2051]]) {
      const piece = bytes.subarray(lo, hi);
      expect(crc32Slicing(piece)).toBe(crc32(piece));
      const z = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
      if (z) expect(crc32Slicing(piece)).toBe(z(piece) >>> 0);
    }
  });

  it('continues from the CRC of what came before', () => {
    const whole = ascii('The quick brown fox jumps over the lazy dog');
    for (const cut of [0, 1, 7, 20, whole.length]) {
      const first = whole.subarray(0, cut);
      const rest = whole.subarray(cut);
      expect(crc32(rest, crc32(first))).toBe(0x414fa339);
      expect(crc32Slicing(rest, crc32Slicing(first))).toBe(0x414fa339);
    }
  });
});
