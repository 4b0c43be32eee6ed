// Loss of a model on held-out text: the whole id sequence (or its first `maxWindows`
// windows), streamed through B contiguous rows with the state carried, as in training
// but without gradients and without dropout. The windows scored are the same at every
// evaluation, so successive validation losses are comparable.
import type { Model, Workspace } from '../nn/model.js';
import { Batcher } from '../text/batches.js';

export interface EvalResult {
  /** Mean cross-entropy, nats per character. */
  nats: number;
  /** Characters scored. */
  chars: number;
}

/** Picks a window no larger than B×T that the data can fill at least once. */
export function evalShape(n: number, B: number, T: number): { B: number; T: number } | null {
  if (n < 2) return null;
  const t = Math.min(T, n - 1);
  const b = Math.max(1, Math.min(B, Math.floor((n - 1) / t)));
  return { B: b, T: t };
}

/** What an evaluation of n ids scores: windows of shape B×T, and the characters in them. */
export function evalPlan(n: number, B: number, T: number, maxWindows = 0): { B: number; T: number; windows: number; chars: number; allWindows: number } | null {
  const shape = evalShape(n, B, T);
  if (!shape) return null;
  const allWindows = Math.floor(Math.floor((n - 1) / shape.B) / shape.T);
  const windows = maxWindows > 0 ? Math.min(maxWindows, allWindows) : allWindows;
  return { ...shape, windows, chars: windows * shape.B * shape.T, allWindows };
}

export class Evaluator {
  private ws: Workspace | null = null;

  constructor(readonly model: Model) {}

  /**
   * Makes now the workspace that run() on n ids will use, so that a training session holds
   * it from the start and the run's memory need counts it (src/train/memory.ts).
   */
  prepare(n: number, B: number, T: number, maxWindows = 0): void {
    const plan = evalPlan(n, B, T, maxWindows);
    if (plan) this.workspaceFor(plan);
  }

  run(ids: Int32Array, B: number, T: number, maxWindows = 0): EvalResult | null {
    const plan = evalPlan(ids.length, B, T, maxWindows);
    if (!plan) return null;
    const ws = this.workspaceFor(plan);
    const batcher = new Batcher(ids, plan.B, plan.T, 'the validation text');
    ws.resetState();
    let total = 0;
    for (let w = 0; w < plan.windows; w++) {
      batcher.next(ws.ids, ws.targets);
      ws.forward();
      total += ws.loss() * plan.B * plan.T;
      ws.carry();
    }
    return { nats: total / plan.chars, chars: plan.chars };
  }

  private workspaceFor(plan: { B: number; T: number }): Workspace {
    if (!this.ws || this.ws.B !== plan.B || this.ws.T !== plan.T) this.ws = this.model.workspace(plan.B, plan.T, false);
    return this.ws;
  }
}
