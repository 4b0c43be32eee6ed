// Generation: warm the state on a prime, then repeatedly pick a character from the
// logits and feed it back. Batch 1, no gradients. The prime runs through the network in
// windows (all-steps products), generation one step at a time; neither allocates per
// character.
import type { Model } from '../nn/model.js';
import type { Vocab } from '../text/vocab.js';
import { Rng } from '../util/rng.js';
import { pick, PickScratch, type PickOptions } from './pick.js';
import { StateStream } from './stream.js';

export interface SampleOptions extends PickOptions {
  seed: number;
}

export class Sampler {
  private readonly stream: StateStream;
  private readonly rng: Rng;
  private readonly scratch: PickScratch;
  /** The id fed at the next step, or -1 when the state has not been primed. */
  private nextId = -1;

  constructor(readonly model: Model, readonly vocab: Vocab, readonly opts: SampleOptions) {
    this.stream = new StateStream(model);
    this.rng = new Rng(opts.seed);
    this.scratch = new PickScratch(model.config.vocab);
  }

  /** Conditioned models: the tag weighting to generate with (see StateStream.setTagMix). */
  setTagMix(weights: ArrayLike<number>): void {
    this.stream.setTagMix(weights);
  }

  /**
   * Forgets the text so far (zero state, not primed) for an independent sample. The random
   * generator is not reset: the next sample continues its sequence, so it differs.
   */
  reset(): void {
    this.stream.reset();
    this.nextId = -1;
  }

  /** Feeds characters (as ids) through the network; the last one's prediction is sampled next. */
  feed(ids: ArrayLike<number>): void {
    const n = ids.length;
    if (n === 0) return;
    // everything but the last id runs now: the pending id (if any), then ids[0..n-2]
    const pending = this.nextId >= 0 ? 1 : 0;
    const run = new Int32Array(pending + n - 1);
    if (pending) run[0] = this.nextId;
    for (let i = 0; i < n - 1; i++) run[pending + i] = ids[i];
    this.stream.run(run, 0, run.length);
    this.nextId = ids[n - 1];
  }

  /**
   * Starts generation without a prime: from a newline when the vocabulary has one (the
   * model has seen it start lines), else from a random character, which is returned so
   * the caller can print it.
   */
  start(): string {
    const nl = this.vocab.id('\n');
    if (nl >= 0) {
      this.feed([nl]);
      return '';
    }
    const id = this.rng.int(this.vocab.size);
    this.feed([id]);
    return this.vocab.chars[id];
  }

  /** Generates one character id. */
  nextCharId(): number {
    if (this.nextId < 0) throw new Error('call start() or feed() before sampling');
    const logits = this.stream.step(this.nextId);
    const id = pick(logits, this.model.config.vocab, this.opts, this.rng, this.scratch);
    this.nextId = id;
    return id;
  }

  /** Generates one character. */
  next(): string {
    return this.vocab.chars[this.nextCharId()];
  }
}
