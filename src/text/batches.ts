// The data loader, char-rnn style. The id sequence (N ids) is cut into B contiguous
// streams of S = ⌊(N−1)/B⌋ inputs each; stream b starts at id b·S. A window takes the
// next T inputs of every stream, time-major:
//
//   x[t·B + b] = ids[b·S + w·T + t]        y[t·B + b] = ids[b·S + w·T + t + 1]
//
// for window w of a pass (0 ≤ w < ⌊S/T⌋). So row b of window w+1 continues exactly where
// row b of window w stopped, and the trainer can carry the hidden state of row b from one
// window to the next (truncated BPTT). When a pass ends, the next window starts every
// stream again from its beginning and the trainer resets the state. The last
// S − ⌊S/T⌋·T inputs of each stream (fewer than T) are not used.
//
// Position is one number, `cursor`: windows served since the first pass began. It is all
// a checkpoint needs to resume the exact same sequence of windows.

import { TooLittleDataError } from '../util/errors.js';

/**
 * Splits ids into training ids and a contiguous tail of ⌊N·valFrac⌋ ids for validation.
 * Both are views of `ids` (no copy). valFrac 0 gives an empty val.
 *
 * @throws RangeError when valFrac is not in [0, 1) (callers validate it first).
 */
export function splitTrainVal(ids: Int32Array, valFrac: number): { train: Int32Array; val: Int32Array } {
  if (!(valFrac >= 0 && valFrac < 1)) {
    throw new RangeError(`valFrac must be at least 0 and below 1 (got ${valFrac})`);
  }
  const nVal = Math.floor(ids.length * valFrac);
  const nTrain = ids.length - nVal;
  return { train: ids.subarray(0, nTrain), val: ids.subarray(nTrain) };
}

export class Batcher {
  /** B, the number of streams (rows of a window). */
  readonly batch: number;
  /** T, the window length. */
  readonly seq: number;
  /** S, inputs per stream. */
  readonly streamLength: number;
  /** Windows in one pass over the data: ⌊S/T⌋. */
  readonly windowsPerEpoch: number;

  private readonly ids: Int32Array;
  private served = 0;

  /**
   * @param ids the id sequence (not copied: do not change it while the batcher is in use)
   * @param B streams per window
   * @param T time steps per window
   * @param label how the data is named in the error for too little of it
   * @throws TooLittleDataError (a CorpusError) when ids has fewer than B·T+1 ids;
   *   RangeError when B or T is not a whole number ≥ 1 (callers validate them first).
   */
  constructor(ids: Int32Array, B: number, T: number, label = 'the training text') {
    if (!Number.isSafeInteger(B) || B < 1) throw new RangeError(`batcher: B must be a whole number ≥ 1 (got ${B})`);
    if (!Number.isSafeInteger(T) || T < 1) throw new RangeError(`batcher: T must be a whole number ≥ 1 (got ${T})`);
    const needed = Batcher.minLength(B, T);
    if (ids.length < needed) throw new TooLittleDataError(label, ids.length, B, T, needed);
    this.ids = ids;
    this.batch = B;
    this.seq = T;
    this.streamLength = Math.floor((ids.length - 1) / B);
    this.windowsPerEpoch = Math.floor(this.streamLength / T);
  }

  /** The fewest ids a batcher with these B and T accepts: B·T + 1. */
  static minLength(B: number, T: number): number {
    return B * T + 1;
  }

  /** Windows served since the start of the first pass; set it to resume exactly. */
  get cursor(): number {
    return this.served;
  }

  set cursor(value: number) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`batcher cursor must be a non-negative whole number (got ${value})`);
    }
    this.served = value;
  }

  /** Completed passes over the data. */
  get epoch(): number {
    return Math.floor(this.served / this.windowsPerEpoch);
  }

  /** Index of the next window within its pass, 0..windowsPerEpoch-1. */
  get position(): number {
    return this.served % this.windowsPerEpoch;
  }

  /** Passes completed so far, fractional (for progress reports). */
  get epochsDone(): number {
    return this.served / this.windowsPerEpoch;
  }

  /**
   * Fills the next window: x [T,B] inputs and y [T,B] targets (y is x shifted by one
   * character within each stream).
   *
   * @returns true when this window starts a pass over the data (streams restart from
   *   their beginning, so the carried state must be reset).
   */
  next(x: Int32Array, y: Int32Array): boolean {
    const B = this.batch;
    const T = this.seq;
    if (x.length !== T * B || y.length !== T * B) {
      throw new RangeError(`batch buffers must hold T·B = ${T * B} ids (got x ${x.length}, y ${y.length})`);
    }
    const w = this.position;
    const S = this.streamLength;
    const ids = this.ids;
    for (let b = 0; b < B; b++) {
      const start = b * S + w * T;
      for (let t = 0; t < T; t++) {
        x[t * B + b] = ids[start + t]!;
        y[t * B + b] = ids[start + t + 1]!;
      }
    }
    this.served++;
    return w === 0;
  }
}
