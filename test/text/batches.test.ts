import { describe, expect, it } from 'vitest';
import { Batcher, splitTrainVal } from '../../src/text/batches.js';
import { CorpusError } from '../../src/util/errors.js';

const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

describe('splitTrainVal', () => {
  it('takes a contiguous tail for validation', () => {
    const ids = range(100);
    const { train, val } = splitTrainVal(ids, 0.1);
    expect([...train]).toEqual([...range(90)]);
    expect([...val]).toEqual([...range(100)].slice(90));
  });

  it('valFrac 0 gives an empty val', () => {
    const { train, val } = splitTrainVal(range(7), 0);
    expect(train.length).toBe(7);
    expect(val.length).toBe(0);
  });

  it('rejects fractions outside [0, 1)', () => {
    for (const f of [-0.1, 1, 2, Number.NaN]) expect(() => splitTrainVal(range(10), f)).toThrow(RangeError);
  });
});

describe('Batcher', () => {
  it('fills x and y time-major with every target the next id of its input', () => {
    // ids[i] = i makes every check arithmetic.
    const N = 1000;
    const B = 4;
    const T = 7;
    const batcher = new Batcher(range(N), B, T);
    const S = Math.floor((N - 1) / B);
    expect(batcher.streamLength).toBe(S);
    expect(batcher.windowsPerEpoch).toBe(Math.floor(S / T));
    const x = new Int32Array(T * B);
    const y = new Int32Array(T * B);
    for (let w = 0; w < batcher.windowsPerEpoch; w++) {
      const fresh = batcher.next(x, y);
      expect(fresh).toBe(w === 0);
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          expect(x[t * B + b]).toBe(b * S + w * T + t);
          expect(y[t * B + b]).toBe(x[t * B + b]! + 1);
        }
      }
    }
  });

  it('streams are contiguous across windows and wrap to a new pass', () => {
    const ids = Int32Array.from({ length: 503 }, (_, i) => (i * 7919) % 97); // arbitrary content
    const B = 3;
    const T = 10;
    const batcher = new Batcher(ids, B, T);
    const x = new Int32Array(T * B);
    const y = new Int32Array(T * B);
    const streams: number[][] = Array.from({ length: B }, () => []);
    const wpe = batcher.windowsPerEpoch;
    for (let w = 0; w < wpe; w++) {
      batcher.next(x, y);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          // the target of step t is the input of step t+1 (or of step 0 of the next window)
          if (t + 1 < T) expect(y[t * B + b]).toBe(x[(t + 1) * B + b]);
          streams[b]!.push(x[t * B + b]!);
        }
      }
    }
    const S = batcher.streamLength;
    for (let b = 0; b < B; b++) expect(streams[b]).toEqual([...ids.subarray(b * S, b * S + wpe * T)]);
    expect(batcher.epoch).toBe(1);
    expect(batcher.cursor).toBe(wpe);
    expect(batcher.next(x, y)).toBe(true); // a new pass starts
    expect(x[0]).toBe(ids[0]);
    expect(batcher.position).toBe(1);
  });

  it('saving and restoring the cursor reproduces the sequence exactly', () => {
    const ids = Int32Array.from({ length: 2000 }, (_, i) => (i * i + 3 * i) % 61);
    const B = 5;
    const T = 9;
    const run = (batcher: Batcher, n: number) => {
      const out: number[][] = [];
      const x = new Int32Array(T * B);
      const y = new Int32Array(T * B);
      for (let i = 0; i < n; i++) {
        const fresh = batcher.next(x, y);
        out.push([fresh ? 1 : 0, ...x, ...y]);
      }
      return out;
    };
    const reference = new Batcher(ids, B, T);
    const all = run(reference, 150); // several passes (windowsPerEpoch is 44)
    expect(reference.windowsPerEpoch).toBe(44);

    const first = new Batcher(ids, B, T);
    run(first, 61);
    const saved = first.cursor;
    const resumed = new Batcher(ids, B, T);
    resumed.cursor = saved;
    expect(resumed.epoch).toBe(1);
    expect(run(resumed, 89)).toEqual(all.slice(61));
    expect(() => {
      resumed.cursor = -1;
    }).toThrow(RangeError);
  });

  it('accepts exactly B·T+1 ids and rejects fewer with the fix in the message', () => {
    const B = 4;
    const T = 5;
    const ok = new Batcher(range(B * T + 1), B, T);
    expect(ok.windowsPerEpoch).toBe(1);
    const x = new Int32Array(T * B);
    const y = new Int32Array(T * B);
    ok.next(x, y);
    expect(y[(T - 1) * B + (B - 1)]).toBe(B * T);
    let caught: unknown;
    try {
      new Batcher(range(B * T), B, T);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CorpusError);
    // library wording: no flags (the CLI says it with --batch and --seq: test/cli/errors.test.ts)
    expect((caught as Error).message).toBe(
      'the training text has 20 characters, but 4 streams × 5 steps need at least 21; use fewer or shorter streams, or more text',
    );
    expect((caught as Error).message).not.toMatch(/--/);
    expect(() => new Batcher(range(3), 2, 2, 'the validation text')).toThrow(/^the validation text has 3/);
  });

  it('rejects bad sizes and wrong buffers', () => {
    expect(() => new Batcher(range(100), 0, 5)).toThrow(RangeError);
    expect(() => new Batcher(range(100), 2, 1.5)).toThrow(RangeError);
    const batcher = new Batcher(range(100), 2, 5);
    expect(() => batcher.next(new Int32Array(9), new Int32Array(10))).toThrow(RangeError);
  });
});
