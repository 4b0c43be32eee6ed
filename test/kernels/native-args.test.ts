// The addon's argument checks (src/kernels/native/args.c and the tables in addon.c, ops.c,
// step.c), called as a caller of the addon can get them wrong: every function with one
// argument too few, every number, boolean, handle and view of the wrong type, every view
// one element too short (so each length the C side asks for is the exact one), and the
// offsets and leading dimensions out of range. Skipped without the addon.
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../src/kernels/native/index.js';

const addon = loadNative().addon as unknown as Record<string, (...args: unknown[]) => unknown> | null;

const f = (n: number) => new Float32Array(n);
const ids = (n: number) => new Int32Array(n);

/** A one-layer rnn of V 3, E 2, H 2: a step handle to call stepNext and stepAdvance on. */
function stepHandle(): object {
  return addon!.stepCreate({
    cell: 'rnn', vocab: 3, embed: 2, hidden: 2, embedTable: f(6), headW: f(6), headB: f(3), logits: f(3), probs: f(3),
    tagBias: null, layers: [{ Wih: f(4), Whh: f(4), bih: f(2), bhh: f(2), Wch: null, h: f(2), c: null }],
  }) as object;
}

type Kind = 'number' | 'bool' | 'f32' | 'f32?' | 'i32' | 'handle';
/** One argument of a call that is right: its kind, and a view's name (its length is the call's need). */
type Arg = [Kind, unknown, string?];

/** A right call of every function, each view exactly as long as the call needs. */
const calls: Record<string, () => Arg[]> = {
  // 2x3 = A[2x4] B[4x3], lda 5 and ldc 4 padded: A needs 1*5+4, B 3*3+3, C 1*4+3
  gemm: () => [['bool', false], ['bool', false], ['number', 2], ['number', 3], ['number', 4], ['f32', f(9), 'A'],
    ['number', 5], ['f32', f(12), 'B'], ['number', 3], ['number', 0], ['f32', f(7), 'C'], ['number', 4]],
  rnnForward: () => [['number', 0], ['number', 2], ['number', 3], ['f32', f(6), 'pre'], ['f32', f(6), 'h']],
  rnnBackward: () => [['number', 1], ['number', 2], ['number', 3], ['f32', f(6), 'h'], ['f32', f(6), 'dh'], ['f32', f(6), 'dPre']],
  lstmForward: () => [['number', 2], ['number', 3], ['f32', f(24), 'gates'], ['f32', f(6), 'cPrev'], ['f32', f(6), 'c'],
    ['f32', f(6), 'h'], ['f32', f(6), 'tanhC']],
  lstmBackward: () => [['number', 2], ['number', 3], ['f32', f(24), 'gates'], ['f32', f(6), 'cPrev'], ['f32', f(6), 'tanhC'],
    ['f32', f(6), 'dh'], ['f32', f(6), 'dc'], ['f32', f(24), 'dGates']],
  gruResetForward: () => [['number', 2], ['number', 3], ['f32', f(18), 'gates'], ['f32', f(6), 'hPrev'], ['f32', f(6), 'rh']],
  gruOutForward: () => [['number', 2], ['number', 3], ['number', 7], ['number', 0], ['number', 4], ['bool', true],
    ['f32', f(14), 'gates'], ['f32', f(6), 'hPrev'], ['f32', f(6), 'h']],
  gruOutBackward: () => [['number', 2], ['number', 3], ['number', 7], ['number', 0], ['number', 4], ['f32', f(14), 'gates'],
    ['f32', f(6), 'hPrev'], ['f32', f(6), 'dh'], ['f32', f(14), 'dGates'], ['f32', f(6), 'dhPrev']],
  gruResetBackward: () => [['number', 2], ['number', 3], ['f32', f(18), 'gates'], ['f32', f(6), 'hPrev'], ['f32', f(6), 'dRh'],
    ['f32', f(18), 'dGates'], ['f32', f(6), 'dhPrev']],
  gruTorchForward: () => [['number', 2], ['number', 3], ['f32', f(18), 'gates'], ['f32', f(18), 'hw'], ['f32', f(6), 'hPrev'],
    ['f32', f(6), 'h']],
  gruTorchBackward: () => [['number', 2], ['number', 3], ['f32', f(18), 'gates'], ['f32', f(18), 'hw'], ['f32', f(6), 'hPrev'],
    ['f32', f(6), 'dh'], ['f32', f(18), 'dGates'], ['f32', f(18), 'dHw'], ['f32', f(6), 'dhPrev']],
  softmaxXent: () => [['number', 2], ['number', 5], ['f32', f(10), 'logits'], ['i32', ids(2), 'targets'],
    ['f32?', f(10), 'dLogits'], ['number', 0.5]],
  // 2 rows of 3 in a row stride of 4: X needs 1*4+3
  addBias: () => [['number', 2], ['number', 3], ['f32', f(7), 'X'], ['number', 4], ['f32', f(3), 'bias']],
  sumRows: () => [['number', 2], ['number', 3], ['f32', f(7), 'dX'], ['number', 4], ['f32', f(3), 'dbias']],
  adam: () => [['number', 3], ['f32', f(3), 'p'], ['f32', f(3), 'g'], ['f32', f(3), 'm'], ['f32', f(3), 'v'], ['number', 1e-3],
    ['number', 0.9], ['number', 0.999], ['number', 1e-8], ['number', 0]],
  stepNext: () => [['handle', stepHandle()], ['number', 1], ['number', 1.25]],
  stepAdvance: () => [['handle', stepHandle()], ['i32', Int32Array.of(0, 2, 1), 'ids'], ['number', 0], ['number', 3]],
};

function call(fn: string, args: unknown[]): unknown {
  return addon![fn](...args);
}
/** What call(fn, args) threw: its class and message. */
function thrown(fn: string, args: unknown[]): string {
  try {
    call(fn, args);
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
  return 'nothing';
}

describe.skipIf(!addon)('native addon: argument checks', () => {
  for (const [fn, make] of Object.entries(calls)) {
    describe(fn, () => {
      it('a right call runs', () => {
        expect(thrown(fn, make().map((a) => a[1]))).toBe('nothing');
      });

      it('one argument too few', () => {
        const args = make().map((a) => a[1]);
        expect(thrown(fn, args.slice(0, -1))).toBe(`RangeError: native ${fn}: ${args.length} arguments expected`);
        expect(thrown(fn, [])).toBe(`RangeError: native ${fn}: ${args.length} arguments expected`);
      });

      it('every argument of the wrong type', () => {
        make().forEach(([kind, , name], k) => {
          const args = make().map((a) => a[1]);
          const want = {
            number: `TypeError: native ${fn}: argument ${k + 1} must be a number`,
            bool: `TypeError: native ${fn}: argument ${k + 1} must be a boolean`,
            handle: `TypeError: native ${fn}: not a step handle`,
            f32: `TypeError: native ${fn}: ${name} must be a Float32Array`,
            'f32?': `TypeError: native ${fn}: ${name} must be a Float32Array`,
            i32: `TypeError: native ${fn}: ${name} must be an Int32Array`,
          }[kind];
          args[k] = '3';
          expect(thrown(fn, args), `argument ${k + 1} a string`).toBe(want);
          if (kind !== 'number' && kind !== 'bool') {
            args[k] = kind === 'i32' ? new Float32Array(8) : kind === 'handle' ? {} : new Float64Array(32);
            expect(thrown(fn, args), `argument ${k + 1} the wrong kind of object`).toBe(want);
          }
        });
      });

      it('every view one element too short', () => {
        make().forEach(([kind, value, name], k) => {
          if (kind !== 'f32' && kind !== 'f32?' && !(kind === 'i32' && fn !== 'stepAdvance')) return;
          const args = make().map((a) => a[1]);
          const need = (value as Float32Array).length;
          args[k] = (value as Float32Array).subarray(1);
          expect(thrown(fn, args), name).toBe(`RangeError: native ${fn}: ${name} has ${need - 1} elements, the call needs ${need}`);
        });
      });
    });
  }

  it('an optional view may be null or undefined', () => {
    const args = calls.softmaxXent().map((a) => a[1]);
    const loss = call('softmaxXent', args) as number;
    expect(loss).toBeGreaterThan(0);
    expect(call('softmaxXent', [...args.slice(0, 4), null, args[5]])).toBe(loss);
    expect(call('softmaxXent', [...args.slice(0, 4), undefined, args[5]])).toBe(loss);
  });

  it('sizes that make a call empty return before the views are looked at', () => {
    expect(thrown('lstmForward', [0, 3, null, null, null, null, null])).toBe('nothing');
    expect(thrown('gemm', [false, false, 0, 3, 4, null, 5, null, 3, 0, null, 4])).toBe('nothing');
    expect(call('softmaxXent', [0, 5, null, null, null, 1])).toBe(0);
    // K = 0 reads neither A nor B
    expect(thrown('gemm', [false, false, 2, 3, 0, null, 0, null, 0, 0, f(7), 4])).toBe('nothing');
  });

  it('offsets, leading dimensions, ids and ranges out of range', () => {
    const gemm = (edit: Record<number, unknown>) => {
      const args = calls.gemm().map((a) => a[1]);
      for (const [k, v] of Object.entries(edit)) args[Number(k)] = v;
      return thrown('gemm', args);
    };
    expect(gemm({ 4: -1 })).toBe('RangeError: native gemm: K < 0');
    expect(gemm({ 9: 2 })).toBe('RangeError: native gemm: beta must be 0 or 1');
    expect(gemm({ 11: 2 })).toBe('RangeError: gemm: ldc 2 < N 3');
    expect(gemm({ 6: 3 })).toBe('RangeError: gemm: lda 3 < 4');
    expect(gemm({ 8: 2 })).toBe('RangeError: gemm: ldb 2 < 3');
    expect(gemm({ 0: true, 5: f(20), 6: 1 })).toBe('RangeError: gemm: lda 1 < 2');

    const gruOut = (G: number, u: number, c: number) => {
      const args = calls.gruOutForward().map((a) => a[1]);
      args.splice(2, 3, G, u, c);
      args[6] = f(2 * G);
      return thrown('gruOutForward', args);
    };
    expect(gruOut(7, 0, 4)).toBe('nothing');
    expect(gruOut(7, 0, 5)).toBe('RangeError: gruOutForward: gate blocks at 0 and 5 (width 3) do not fit a row of 7');
    expect(gruOut(7, -1, 4)).toBe('RangeError: gruOutForward: gate blocks at -1 and 4 (width 3) do not fit a row of 7');
    const gruOutB = calls.gruOutBackward().map((a) => a[1]);
    gruOutB[3] = 5;
    expect(thrown('gruOutBackward', gruOutB)).toBe('RangeError: gruOutBackward: gate blocks at 5 and 4 (width 3) do not fit a row of 7');

    const bias = calls.addBias().map((a) => a[1]);
    bias[3] = 2;
    expect(thrown('addBias', bias)).toBe('RangeError: native addBias: ldx < N');
    expect(thrown('sumRows', bias)).toBe('RangeError: native sumRows: ldx < N');

    const xent = calls.softmaxXent().map((a) => a[1]);
    xent[3] = Int32Array.of(1, 5);
    expect(thrown('softmaxXent', xent)).toBe('RangeError: softmaxXent: target 5 at row 1 is outside [0, 5)');
    xent[3] = Int32Array.of(-1, 0);
    expect(thrown('softmaxXent', xent)).toBe('RangeError: softmaxXent: target -1 at row 0 is outside [0, 5)');

    const h = stepHandle();
    expect(thrown('stepNext', [h, 3, 1])).toBe('RangeError: native step: id 3 is outside [0, 3)');
    expect(thrown('stepNext', [h, -1, 1])).toBe('RangeError: native step: id -1 is outside [0, 3)');
    const three = Int32Array.of(0, 1, 2);
    for (const [from, to] of [[-1, 2], [2, 1], [0, 4], [4, 4]]) {
      expect(thrown('stepAdvance', [h, three, from, to]), `[${from}, ${to})`).toBe('RangeError: native stepAdvance: [from, to) is outside ids');
    }
    expect(thrown('stepAdvance', [h, three, 3, 3])).toBe('nothing');
    expect(thrown('stepAdvance', [h, new Int32Array(0), 0, 0])).toBe('nothing');
    expect(thrown('stepAdvance', [h, Int32Array.of(0, 3), 0, 2])).toBe('RangeError: native step: id 3 is outside [0, 3)');
  });
});
