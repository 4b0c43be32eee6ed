// The weight check's largest |value|: the WebAssembly loop (copying, and in place on the
// WebAssembly kernels' arena), the native addon's and the TypeScript one against a reference
// written on the floats (Math.abs, NaN tested by x !== x), over every length around the
// lanes (4) and the chunk (16,384 floats), on views that start inside a buffer, with the
// values that decide a check (NaN of either sign, ±∞, the largest finite float,
// subnormals, −0) planted at the first, last and chunk-edge positions.
import { describe, expect, it } from 'vitest';
import { largestMagnitude, largestMagnitudeScalar, simdMagnitudeAvailable } from '../../src/kernels/magnitude.js';
import { createNativeKernels } from '../../src/kernels/native/index.js';
import type { Kernels } from '../../src/kernels/types.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';

function reference(x: Float32Array): number {
  let max = 0;
  for (const v of x) {
    if (v !== v) return Number.NaN;
    max = Math.max(max, Math.abs(v));
  }
  return max;
}

/** Floats in ±scale from a fixed LCG, in a buffer with `offset` floats before the view. */
function randomView(n: number, offset: number, seed: number, scale = 1): Float32Array {
  const buf = new Float32Array(offset + n + 3);
  let s = seed >>> 0;
  for (let i = 0; i < buf.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    buf[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  // values outside the view that would change the answer if they were read
  buf[offset + n] = Number.NaN;
  if (offset > 0) buf[offset - 1] = 1e30;
  return buf.subarray(offset, offset + n);
}

const floatOfBits = (bits: number) => new Float32Array(Uint32Array.of(bits >>> 0).buffer)[0]!;
const SPECIAL = [
  Number.NaN, floatOfBits(0xffc00000), floatOfBits(0x7f800001), Infinity, -Infinity,
  floatOfBits(0x7f7fffff), -floatOfBits(0x7f7fffff), 2.5e8, -1e8, floatOfBits(0x00000001), -0,
];
const CHUNK = 16384;

const wasm = createWasmKernels({ threads: 1 });
const ARENAS: [string, Kernels][] = [['wasm', wasm]];
const native = createNativeKernels({ threads: 1 });
if (native) ARENAS.push(['native', native]);

/** Every path's answer for x; the in-place ones on a copy of x in each arena, guarded as randomView guards. */
function answers(x: Float32Array): [string, number][] {
  const out: [string, number][] = [['copying', largestMagnitude(x)], ['scalar', largestMagnitudeScalar(x)]];
  for (const [name, k] of ARENAS) {
    const buf = k.arena().floats(x.length + 8) as Float32Array;
    buf.fill(1e30, 0, 3);
    buf[3 + x.length] = Number.NaN;
    const view = buf.subarray(3, 3 + x.length);
    view.set(x);
    out.push([name, k.largestMagnitude!(view)]);
  }
  return out;
}

describe('largestMagnitude', () => {
  it('runs the WebAssembly loop on this Node', () => {
    expect(simdMagnitudeAvailable()).toBe(true);
  });

  it('equals the reference on every length around the lanes and the chunk, on offset views', () => {
    const lengths = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, CHUNK - 5, CHUNK - 1, CHUNK, CHUNK + 1, CHUNK + 3, 2 * CHUNK + 2, 3 * CHUNK + 7];
    for (const n of lengths) {
      for (const offset of [0, 1, 3]) {
        const x = randomView(n, offset, n * 7 + offset, 10);
        const want = reference(x);
        for (const [path, got] of answers(x)) expect(got, `${path}, ${n} floats at ${offset}`).toBe(want);
      }
    }
  });

  it('finds each deciding value at the first, last and chunk-edge positions', () => {
    const n = 2 * CHUNK + 6;
    for (const v of SPECIAL) {
      for (const at of [0, 1, 3, 4, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 1, n - 2, n - 1]) {
        const x = randomView(n, 1, at + 11, 0.5);
        x[at] = v;
        const want = reference(x);
        for (const [path, got] of answers(x)) expect(Object.is(got, want), `${path}: value ${v} at ${at}: got ${got}, want ${want}`).toBe(true);
      }
    }
  });

  it('tells a weight just above a limit from one just below it', () => {
    const x = randomView(1000, 0, 5);
    x[500] = floatOfBits(0x4cbebc20); // 1e8 exactly
    expect(largestMagnitude(x)).toBe(1e8);
    x[501] = -floatOfBits(0x4cbebc21); // the next float up
    expect(largestMagnitude(x)).toBe(floatOfBits(0x4cbebc21));
    expect(largestMagnitude(x)).toBeGreaterThan(1e8);
    for (const [path, got] of answers(x)) expect(got, path).toBe(floatOfBits(0x4cbebc21));
  });

  it('in place: views made before the memory grew; the WebAssembly kernels take only views of their arena', () => {
    for (const [name, k] of ARENAS) {
      const arena = k.arena();
      const early = arena.floats(1000) as Float32Array;
      early.set(randomView(1000, 0, 9));
      early[999] = -7;
      arena.floats(8 << 20); // 32 MiB: the memory grows and hands out a new buffer
      expect(k.largestMagnitude!(early), name).toBe(7);
      const plain = Float32Array.of(1, -3, 2);
      if (name === 'wasm') expect(() => k.largestMagnitude!(plain)).toThrow("does not live in this backend's memory");
      else expect(k.largestMagnitude!(plain), name).toBe(3);
    }
  });
});
