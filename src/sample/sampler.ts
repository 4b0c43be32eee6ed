// Generation: warm the state on a prime, then repeatedly pick a character from the
// logits and feed it back. One step at a time, batch 1, no gradients.
import type { Model, Workspace } from '../nn/model.js';
import type { Vocab } from '../text/vocab.js';
import { Rng } from '../util/rng.js';
import { pick, type PickOptions } from './pick.js';

export interface SampleOptions extends PickOptions {
  seed: number;
}

export class Sampler {
  private readonly ws: Workspace;
  private readonly rng: Rng;
  private readonly scratch: Float64Array;
  /** The id fed at the next step, or -1 when the state has not been primed. */
  private nextId = -1;

  constructor(readonly model: Model, readonly vocab: Vocab, readonly opts: SampleOptions) {
    this.ws = model.workspace(1, 1, false);
    this.rng = new Rng(opts.seed);
    this.scratch = new Float64Array(model.config.vocab);
  }

  /** Feeds characters (as ids) through the network; the last one's prediction is sampled next. */
  feed(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      if (this.nextId >= 0) this.advance(this.nextId);
      this.nextId = ids[i];
    }
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
    return this.vocab.decode([id]);
  }

  private advance(id: number): void {
    const ws = this.ws;
    ws.ids[0] = id;
    ws.forward();
    ws.carry();
  }

  /** Generates one character id. */
  nextCharId(): number {
    if (this.nextId < 0) throw new Error('call start() or feed() before sampling');
    const ws = this.ws;
    ws.ids[0] = this.nextId;
    ws.forward();
    ws.carry();
    const id = pick(ws.logits, this.model.config.vocab, this.opts, this.rng, this.scratch);
    this.nextId = id;
    return id;
  }

  /** Generates one character. */
  next(): string {
    return this.vocab.decode([this.nextCharId()]);
  }
}
