// The native backend's Stepper (types.ts): the addon's fused batch-1 step (step.c). Its
// weights are laid out for streaming once, when it is created; each generated character
// is one call that runs every layer, the head and the tempered exps, into the views below
// (arena memory the addon writes in place). The draw stays in TypeScript (pick.ts).
import type { Arena, StepNet, Stepper, Vec } from '../types.js';

/** The addon's step functions (step.c). */
export interface StepAddon {
  stepCreate(net: object): object;
  stepAdvance(handle: object, ids: Int32Array, from: number, to: number): void;
  stepNext(handle: object, id: number, invTemp: number): number;
}

/** Where the addon splits a step across its threads (for measurements; the defaults are step.c's). */
export interface StepTuning {
  /** A layer's or the head's products are split from this many bytes of weights on. */
  splitBytes?: number;
  /** The exps are split from this vocabulary size on. */
  splitExp?: number;
}

const GATES: Record<StepNet['cell'], number> = { 'rnn': 1, 'rnn-relu': 1, 'gru': 3, 'gru-min': 2, 'gru-torch': 3, 'lstm': 4, 'lstm-peep': 4 };

export class NativeStepper implements Stepper {
  readonly inputBias: Vec | null;
  readonly logits: Vec;
  readonly probs: Vec;
  private readonly states: { h: Vec; c: Vec | null }[];
  private readonly handle: object;

  /** @param before runs before every call (the backend re-applies its thread setting) */
  constructor(private readonly addon: StepAddon, net: StepNet, arena: Arena, private readonly before: () => void, tuning: StepTuning = {}) {
    const { vocab: V, hidden: H, cell } = net;
    const lstm = cell === 'lstm' || cell === 'lstm-peep';
    this.states = net.layers.map(() => ({ h: arena.floats(H), c: lstm ? arena.floats(H) : null }));
    this.inputBias = net.tagged ? arena.floats(GATES[cell] * H) : null;
    this.logits = arena.floats(V);
    this.probs = arena.floats(V);
    this.handle = addon.stepCreate({
      cell, vocab: V, embed: net.embed, hidden: H, embedTable: net.embedTable, headW: net.headW, headB: net.headB,
      logits: this.logits, probs: this.probs, tagBias: this.inputBias,
      layers: net.layers.map((w, l) => ({ ...w, h: this.states[l].h, c: this.states[l].c })),
      ...tuning,
    });
  }

  state(l: number): { h: Vec; c: Vec | null } {
    return this.states[l];
  }

  reset(): void {
    for (const s of this.states) {
      s.h.fill(0);
      s.c?.fill(0);
    }
  }

  advance(ids: Int32Array, from: number, to: number): void {
    if (to <= from) return;
    this.before();
    this.addon.stepAdvance(this.handle, ids, from, to);
  }

  step(id: number, temp: number): number {
    this.before();
    return this.addon.stepNext(this.handle, id, temp > 0 ? 1 / temp : 0);
  }
}
