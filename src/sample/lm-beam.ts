// Beam search for the language model: the most likely continuations of a prime under the
// model (beam.ts does the search; this file is its BeamModel and the stop rules).
//
// The prime but its last character runs through a StateStream (B = 1, windows); its state
// goes to row 0 of a workspace of B = width, T = 1, whose rows are the hypotheses; the last
// prime character is the start symbol. A step feeds one character per row and turns the
// logits into log-probabilities (float64); a reorder permutes the rows of every layer's
// carried h (and c). The stop rules of sampling apply per hypothesis: `length` generated
// characters at most (the search's maxLength), `lines` newlines, or a stop string found in the
// generated text (held out of the text unless keepStop), as in generate.ts.
import type { Vec } from '../kernels/types.js';
import type { Model, Workspace } from '../nn/model.js';
import type { Vocab } from '../text/vocab.js';
import { beamSearch, logSoftmaxRows, type BeamEnd, type BeamModel } from './beam.js';
import { StateStream } from './stream.js';

export interface LmBeamOptions {
  width: number;
  nbest: number;
  /** α of the length penalty ((5 + n) / 6)^α. */
  alpha: number;
  /** Generated characters at most (≥ 1). */
  length: number;
  /** End after this many generated newlines (0: no limit). */
  lines: number;
  stops: readonly string[];
  keepStop: boolean;
}

export interface LmBeamResult {
  /** The generated text as printed (a stop string removed unless keepStop). */
  text: string;
  /** Generated characters (code points) the log-probability covers, a stop string included. */
  chars: number;
  /** Natural-log probability of those characters given the prime. */
  logProb: number;
  /** logProb / lp(chars): the ranking score. */
  score: number;
  /** 'length', 'lines' or 'stop'. */
  reason: 'length' | 'lines' | 'stop';
}

/** The hypotheses of a beam as the rows of one batch-`width`, one-step workspace. */
export class LmBeamModel implements BeamModel {
  readonly symbols: number;
  private readonly ws: Workspace;
  private readonly scratch: Float64Array;

  constructor(readonly model: Model, readonly width: number) {
    this.symbols = model.config.vocab;
    this.ws = model.workspace(width, 1, false);
    this.scratch = new Float64Array(width * model.config.hidden);
  }

  /** Conditioned models: the tag weighting every row reads. */
  setTagMix(weights: ArrayLike<number>): void {
    this.ws.setTagMix(weights);
  }

  /** Row 0 takes the stream's carried state (zero when it has none). */
  load(stream: StateStream): void {
    this.ws.resetState();
    const H = this.model.config.hidden;
    for (let l = 0; l < this.model.config.layers; l++) {
      const from = stream.carried(l);
      if (!from) continue;
      const to = this.ws.state(l);
      to.h.set(from.h.subarray(0, H));
      if (from.c && to.c) to.c.set(from.c.subarray(0, H));
    }
  }

  step(inputs: Int32Array, rows: number, logProbs: Float64Array): void {
    const { ws } = this;
    ws.ids.fill(0);
    ws.ids.set(inputs.subarray(0, rows));
    ws.forward();
    ws.carry();
    logSoftmaxRows(ws.logits, rows, this.symbols, logProbs);
  }

  reorder(from: Int32Array, rows: number): void {
    for (let l = 0; l < this.model.config.layers; l++) {
      const { h, c } = this.ws.state(l);
      this.permute(h, from, rows);
      if (c) this.permute(c, from, rows);
    }
  }

  private permute(state: Vec, from: Int32Array, rows: number): void {
    const H = this.model.config.hidden;
    const old = this.scratch;
    for (let i = 0; i < this.width * H; i++) old[i] = state[i];
    for (let r = 0; r < rows; r++) {
      const src = from[r] * H;
      for (let j = 0; j < H; j++) state[r * H + j] = old[src + j];
    }
  }
}

/**
 * The `nbest` most likely continuations of the prime (ids; empty: start as after a line
 * break, which needs a newline in the vocabulary), best score first. A conditioned model
 * reads `tagMix` (its tag weighting) at every step.
 */
export function lmBeamSearch(model: Model, vocab: Vocab, primeIds: ArrayLike<number>, opts: LmBeamOptions, tagMix: ArrayLike<number> | null = null): LmBeamResult[] {
  let start: number;
  const stream = new StateStream(model);
  if (tagMix) stream.setTagMix(tagMix);
  if (primeIds.length > 0) {
    const run = Int32Array.from(primeIds);
    stream.run(run, 0, run.length - 1);
    start = run[run.length - 1];
  } else {
    start = vocab.id('\n');
    if (start < 0) throw new Error('the model has no newline to start from; give a prime');
  }
  const beam = new LmBeamModel(model, opts.width);
  if (tagMix) beam.setTagMix(tagMix);
  beam.load(stream);

  const newline = vocab.id('\n');
  const longest = opts.stops.reduce((m, s) => Math.max(m, s.length), 0);
  const stopAt = (symbols: readonly number[]): string | null => {
    if (longest === 0) return null;
    // the generated text's last `longest` UTF-16 units are within its last `longest` characters
    let tail = '';
    for (let i = Math.max(0, symbols.length - longest); i < symbols.length; i++) tail += vocab.chars[symbols[i]];
    return opts.stops.find((s) => tail.endsWith(s)) ?? null;
  };
  const newlines = (symbols: readonly number[]) => {
    let n = 0;
    for (const s of symbols) if (s === newline) n++;
    return n;
  };
  const isFinished = (symbols: readonly number[]) =>
    stopAt(symbols) !== null || (opts.lines > 0 && symbols[symbols.length - 1] === newline && newlines(symbols) >= opts.lines);

  const found = beamSearch(beam, {
    width: opts.width, nbest: opts.nbest, start, maxLength: opts.length, alpha: opts.alpha,
    isFinished: longest > 0 || opts.lines > 0 ? isFinished : undefined,
  });
  return found.map((h) => {
    let text = h.symbols.map((s) => vocab.chars[s]).join('');
    const stop = h.reason === 'finished' ? stopAt(h.symbols) : null;
    if (stop !== null && !opts.keepStop) text = text.slice(0, text.length - stop.length);
    const reason: LmBeamResult['reason'] = stop !== null ? 'stop' : reasonOf(h.reason);
    return { text, chars: h.symbols.length, logProb: h.logProb, score: h.score, reason };
  });
}

function reasonOf(r: BeamEnd): 'length' | 'lines' {
  return r === 'finished' ? 'lines' : 'length';
}
