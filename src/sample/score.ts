// How surprised a model is by a text: the loss of a whole text (rnn eval) and of single
// lines, per line and per character (rnn score).
//
// evaluateText: the text is one stream (B = 1) read from a zero state with the state
// carried from window to window, so every character is predicted from everything before
// it: the exact per-character loss −(1/(N−1)) Σ_{i≥1} ln p(x_i | x_<i). The first character
// is context only (as in training, where no window predicts the first character). Each
// window is Workspace.forward() + Workspace.loss(), the training loss computation.
//
// LineScorer: each line is scored on its own, from a zero state that has seen one newline
// (the model has learnt how lines start after "\n"), predicting the line's characters and
// the newline that ends it: a line's score does not depend on its neighbours, so sorting
// lines by score is meaningful. Without "\n" in the vocabulary the first character of a
// line is context only and nothing predicts the end of the line.
import type { Model } from '../nn/model.js';
import type { Vocab } from '../text/vocab.js';
import { StateStream } from './stream.js';


export interface TextLoss {
  /** Mean −ln p per predicted character (nats/char); NaN when nothing was predicted. */
  nats: number;
  /** Characters predicted (known characters − 1). */
  chars: number;
  /** Characters not in the vocabulary, skipped, with their counts. */
  unknown: Map<string, number>;
}

/** Mean loss over a sequence of ids: predictions of ids[1..n-1], state carried (see above). */
export function evaluateIds(model: Model, ids: Int32Array, stream = new StateStream(model)): { nats: number; chars: number } {
  const n = ids.length;
  if (n < 2) return { nats: Number.NaN, chars: 0 };
  stream.reset();
  const total = stream.run(ids, 0, n - 1, ids.subarray(1));
  return { nats: total / (n - 1), chars: n - 1 };
}

/** The loss of a text; characters outside the vocabulary are left out (and counted). */
export function evaluateText(model: Model, vocab: Vocab, text: string): TextLoss {
  const { ids, unknown } = vocab.encodeLenient(text);
  const { nats, chars } = evaluateIds(model, ids);
  return { nats, chars, unknown };
}

export interface LineScore {
  /** Mean surprisal in bits per scored character; NaN when nothing could be scored. */
  bpc: number;
  /** Characters scored (including the line end when the vocabulary has "\n"). */
  chars: number;
  /** Characters of the line not in the vocabulary (skipped: not fed, not scored). */
  unknown: number;
}

export interface CharSurprisal {
  /** The line's code points, then "\n" when the line end is scored. */
  symbols: string[];
  /** Surprisal in bits of each symbol; NaN where not scored (unknown, or context only). */
  bits: Float64Array;
}

/**
 * Scores lines one at a time. A line can be given whole (score) or in parts as it arrives
 * (begin, push for each part, end), with the same numbers either way: the state is carried
 * from part to part, so memory stays bounded however long the line.
 */
export class LineScorer {
  private readonly stream: StateStream;
  private readonly newline: number;
  /** Unknown characters seen so far, with counts, over all lines. */
  readonly unknown = new Map<string, number>();
  private inputs = new Int32Array(256);
  private targets = new Int32Array(256);
  /** For each step: the code-point index (within the part) of its target. */
  private targetAt = new Int32Array(256);
  private perStep = new Float64Array(256);
  /** The id to feed before the next known character (-1: none yet, the next one is context only). */
  private prev = -1;
  private lineTotal = 0;
  private lineSteps = 0;
  private lineUnknown = 0;

  constructor(readonly model: Model, readonly vocab: Vocab) {
    this.stream = new StateStream(model);
    this.newline = vocab.id('\n');
  }

  /** Scores one line (without its line break). With `detail`, also per character. */
  score(line: string): LineScore;
  score(line: string, detail: true): LineScore & CharSurprisal;
  score(line: string, detail = false): LineScore & Partial<CharSurprisal> {
    this.begin();
    const part = this.push(line, detail);
    const { endBits, ...end } = this.end();
    if (!detail) return end;
    const symbols = part!.symbols;
    const bits = part!.bits;
    if (this.newline < 0) return { ...end, symbols, bits };
    const all = new Float64Array(bits.length + 1);
    all.set(bits);
    all[bits.length] = endBits;
    return { ...end, symbols: [...symbols, '\n'], bits: all };
  }

  /** Starts a line: a fresh state that has seen one line break (when the vocabulary has one). */
  begin(): void {
    this.stream.reset();
    this.prev = this.newline;
    this.lineTotal = 0;
    this.lineSteps = 0;
    this.lineUnknown = 0;
  }

  /**
   * Scores the next part of the line (whole code points; no line break). With `detail`,
   * returns the part's code points and the surprisal in bits of each (NaN where not scored).
   */
  push(part: string): undefined;
  push(part: string, detail: boolean): CharSurprisal | undefined;
  push(part: string, detail = false): CharSurprisal | undefined {
    if (this.inputs.length < part.length) this.grow(part.length);
    const { inputs, targets, targetAt } = this;
    const symbols: string[] = [];
    let steps = 0;
    let cpIndex = 0;
    for (let i = 0; i < part.length; i++, cpIndex++) {
      const cp = part.codePointAt(i)!;
      const ch = cp > 0xffff ? String.fromCodePoint(cp) : part[i]!;
      if (cp > 0xffff) i++;
      if (detail) symbols.push(ch);
      const id = this.vocab.id(ch);
      if (id < 0) {
        this.lineUnknown++;
        this.unknown.set(ch, (this.unknown.get(ch) ?? 0) + 1);
        continue;
      }
      if (this.prev >= 0) {
        inputs[steps] = this.prev;
        targets[steps] = id;
        targetAt[steps] = cpIndex;
        steps++;
      }
      this.prev = id;
    }
    const total = steps > 0 ? this.stream.run(inputs, 0, steps, targets, detail ? this.perStep : null) : 0;
    this.lineTotal += total;
    this.lineSteps += steps;
    if (!detail) return undefined;
    const bits = new Float64Array(cpIndex).fill(Number.NaN);
    for (let s = 0; s < steps; s++) bits[targetAt[s]!] = this.perStep[s]! / Math.LN2;
    return { symbols, bits };
  }

  /**
   * Ends the line: predicts its line break (when the vocabulary has one). Returns the
   * line's score and the line break's surprisal in bits (NaN when it is not scored).
   */
  end(): LineScore & { endBits: number } {
    let endBits = Number.NaN;
    if (this.newline >= 0) {
      this.inputs[0] = this.prev;
      this.targets[0] = this.newline;
      const nats = this.stream.run(this.inputs, 0, 1, this.targets, this.perStep);
      this.lineTotal += nats;
      this.lineSteps++;
      endBits = nats / Math.LN2;
    }
    const steps = this.lineSteps;
    return { bpc: steps > 0 ? this.lineTotal / steps / Math.LN2 : Number.NaN, chars: steps, unknown: this.lineUnknown, endBits };
  }

  private grow(cap: number): void {
    const size = Math.max(cap, this.inputs.length * 2);
    this.inputs = new Int32Array(size);
    this.targets = new Int32Array(size);
    this.targetAt = new Int32Array(size);
    this.perStep = new Float64Array(size);
  }
}
