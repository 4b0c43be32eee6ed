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

export const LN2 = Math.LN2;

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

export class LineScorer {
  private readonly stream: StateStream;
  private readonly newline: number;
  /** Unknown characters seen so far, with counts, over all lines. */
  readonly unknown = new Map<string, number>();
  private known = new Int32Array(256);
  /** For each known id: its code-point index in the line. */
  private knownAt = new Int32Array(256);
  private inputs = new Int32Array(256);
  private targets = new Int32Array(256);
  /** For each step: the code-point index of its target (the line end is index length). */
  private targetAt = new Int32Array(256);
  private perStep = new Float64Array(256);

  constructor(readonly model: Model, readonly vocab: Vocab) {
    this.stream = new StateStream(model);
    this.newline = vocab.id('\n');
  }

  /** Scores one line (without its line break). With `detail`, also per character. */
  score(line: string): LineScore;
  score(line: string, detail: true): LineScore & CharSurprisal;
  score(line: string, detail = false): LineScore & Partial<CharSurprisal> {
    if (this.known.length < line.length + 2) this.grow(line.length + 2);
    const { known, knownAt, inputs, targets, targetAt } = this;
    // 1. the known characters, each with its code-point index
    let n = 0;
    let unknown = 0;
    let cpIndex = 0;
    for (let i = 0; i < line.length; i++, cpIndex++) {
      const cp = line.codePointAt(i)!;
      const ch = cp > 0xffff ? String.fromCodePoint(cp) : line[i];
      if (cp > 0xffff) i++;
      const id = this.vocab.id(ch);
      if (id < 0) {
        unknown++;
        this.unknown.set(ch, (this.unknown.get(ch) ?? 0) + 1);
        continue;
      }
      known[n] = id;
      knownAt[n] = cpIndex;
      n++;
    }
    // 2. the steps: with a newline, inputs = [\n, known…], targets = [known…, \n];
    //    without, inputs = known[0..n-2], targets = known[1..n-1]
    const nl = this.newline;
    let steps: number;
    if (nl >= 0) {
      inputs[0] = nl;
      for (let i = 0; i < n; i++) {
        inputs[i + 1] = known[i];
        targets[i] = known[i];
        targetAt[i] = knownAt[i];
      }
      targets[n] = nl;
      targetAt[n] = cpIndex;
      steps = n + 1;
    } else {
      steps = Math.max(0, n - 1);
      for (let i = 0; i < steps; i++) {
        inputs[i] = known[i];
        targets[i] = known[i + 1];
        targetAt[i] = knownAt[i + 1];
      }
    }
    this.stream.reset();
    const total = steps > 0 ? this.stream.run(inputs, 0, steps, targets, detail ? this.perStep : null) : 0;
    const result: LineScore & Partial<CharSurprisal> = {
      bpc: steps > 0 ? total / steps / LN2 : Number.NaN,
      chars: steps,
      unknown,
    };
    if (detail) {
      const symbols = [...line];
      if (nl >= 0) symbols.push('\n');
      const bits = new Float64Array(symbols.length).fill(Number.NaN);
      for (let s = 0; s < steps; s++) bits[targetAt[s]] = this.perStep[s] / LN2;
      result.symbols = symbols;
      result.bits = bits;
    }
    return result;
  }

  private grow(cap: number): void {
    const size = Math.max(cap, this.known.length * 2);
    this.known = new Int32Array(size);
    this.knownAt = new Int32Array(size);
    this.inputs = new Int32Array(size);
    this.targets = new Int32Array(size);
    this.targetAt = new Int32Array(size);
    this.perStep = new Float64Array(size);
  }
}
