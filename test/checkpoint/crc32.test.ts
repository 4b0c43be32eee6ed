// CRC-32: the check value of the standard, the TypeScript fallback and the native addon's
// (crc.c, where the CPU has it) against zlib's, and a CRC continued over two pieces equal
// to the CRC of the whole.
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Slicing } from '../../src/checkpoint/crc32.js';
import { loadedCrc32, loadNative } from '../../src/kernels/native/index.js';

const addonCrc = loadNative().addon ? loadedCrc32() : null;
const zlibCrc = (d: Uint8Array, prev = 0) => (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32!(d, prev) >>> 0;

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

  it.skipIf(!addonCrc || !(zlib as { crc32?: unknown }).crc32)('the native one equals zlib\'s on every length and alignment, from any previous CRC', () => {
    const bytes = new Uint8Array((1 << 20) + 64);
    let x = 99;
    for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    // every length around the 16- and 64-byte blocks, at each alignment, from a few previous values
    for (let n = 0; n <= 300; n++) {
      for (const lo of [0, 1, 5, 15]) {
        for (const prev of [0, 0xffffffff, 0x12345678]) {
          const piece = bytes.subarray(lo, lo + n);
          expect(addonCrc!(piece, prev), `${n} bytes at ${lo} from ${prev}`).toBe(zlibCrc(piece, prev));
        }
      }
    }
    for (const [lo, hi] of [[0, bytes.length], [3, 1 << 20], [64, 64 + 4096 * 3 + 17]]) {
      expect(addonCrc!(bytes.subarray(lo, hi), 7)).toBe(zlibCrc(bytes.subarray(lo, hi), 7));
    }
    expect(addonCrc!(ascii('123456789'), 0)).toBe(0xcbf43926);
    expect(crc32(bytes)).toBe(zlibCrc(bytes));
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
