// Loss of a model on held-out text: the whole id sequence (or its first `maxWindows`
// windows), streamed through B contiguous rows with the state carried, as in training
// but without gradients.
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

export class Evaluator {
  private ws: Workspace | null = null;

  constructor(readonly model: Model) {}

  run(ids: Int32Array, B: number, T: number, maxWindows = 0): EvalResult | null {
    const shape = evalShape(ids.length, B, T);
    if (!shape) return null;
    if (!this.ws || this.ws.B !== shape.B || this.ws.T !== shape.T) this.ws = this.model.workspace(shape.B, shape.T, false);
    const ws = this.ws;
    const batcher = new Batcher(ids, shape.B, shape.T, 'the validation text');
    const windows = maxWindows > 0 ? Math.min(maxWindows, batcher.windowsPerEpoch) : batcher.windowsPerEpoch;
    ws.resetState();
    let total = 0;
    for (let w = 0; w < windows; w++) {
      batcher.next(ws.ids, ws.targets);
      ws.forward();
      total += ws.loss() * shape.B * shape.T;
      ws.carry();
    }
    const chars = windows * shape.B * shape.T;
    return { nats: total / chars, chars };
  }
}
