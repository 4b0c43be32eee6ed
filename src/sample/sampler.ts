// Generation: warm the state on a prime, then repeatedly pick a character from the
// logits and feed it back. Batch 1, no gradients, through the backend's Stepper
// (Kernels.stepper: on the native backend one call per character runs every layer, the
// head and the tempered exps; elsewhere the backend's own kernels in the Workspace's
// order). The prime runs through the layers only; nothing allocates per character.
import type { Stepper } from '../kernels/types.js';
import type { Model } from '../nn/model.js';
import type { Vocab } from '../text/vocab.js';
import { NonFiniteOutputError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { drawTempered, pick, PickScratch, plainTemperature, type PickOptions } from './pick.js';

export interface SampleOptions extends PickOptions {
  seed: number;
}

export class Sampler {
  private readonly stepper: Stepper;
  private readonly rng: Rng;
  private readonly scratch: PickScratch;
  /** The id fed at the next step, or -1 when the state has not been primed. */
  private nextId = -1;

  constructor(readonly model: Model, readonly vocab: Vocab, readonly opts: SampleOptions) {
    this.stepper = model.stepper();
    this.rng = new Rng(opts.seed);
    this.scratch = new PickScratch(model.config.vocab);
  }

  /** Conditioned models: the tag weighting w [K] to generate with (a one-hot row for a tag, or a blend); it stays until changed. */
  setTagMix(weights: ArrayLike<number>): void {
    const term = this.stepper.inputBias;
    if (!term) throw new Error('this model has no tag input');
    this.model.tagTerm(weights, term);
  }

  /**
   * Forgets the text so far (zero state, not primed) for an independent sample. The random
   * generator is not reset: the next sample continues its sequence, so it differs.
   */
  reset(): void {
    this.stepper.reset();
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
    this.stepper.advance(run, 0, run.length);
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
    const V = this.model.config.vocab;
    const tempered = this.opts.temp !== 0 && plainTemperature(this.opts, V);
    const sum = this.stepper.step(this.nextId, tempered ? this.opts.temp : 0);
    if (sum !== sum) throw new NonFiniteOutputError();
    const id = tempered
      ? drawTempered(this.stepper.probs, V, sum, this.rng)
      : pick(this.stepper.logits, V, this.opts, this.rng, this.scratch);
    this.nextId = id;
    return id;
  }

  /** Generates one character. */
  next(): string {
    return this.vocab.chars[this.nextCharId()];
  }
}
