// One training window of a small model on some kernels, and the comparisons of two such
// windows (bit for bit, or within float32 tolerance of the float64 reference): the layer
// sweep tests of both backends (test/kernels/native-sweep.test.ts, wasm-sweep.test.ts), and
// kernels that count (or hide) their sweeps.
import { expect } from 'vitest';
import type { Kernels } from '../../src/kernels/types.js';
import { Model } from '../../src/nn/model.js';
import { Rng } from '../../src/util/rng.js';

export type Cell = 'lstm' | 'gru-torch';

export interface Shape {
  cell: Cell;
  B: number;
  T: number;
  H: number;
  E: number;
  layers: number;
}

/** Everything a training step computes: logits, loss, gradients, the carried state out and its gradient in. */
export interface Run {
  logits: Float64Array;
  loss: number;
  grads: Float64Array;
  states: Float64Array[];
  stateGrads: Float64Array[];
}

/** One window of a model on kernels k: random weights (larger than init), state, ids and targets from the seed. */
export function run(k: Kernels, s: Shape, seed: number): Run {
  const rng = new Rng(seed);
  const V = 11;
  const model = new Model(k, { cell: s.cell, vocab: V, embed: s.E, hidden: s.H, layers: s.layers });
  model.init(rng);
  for (let i = 0; i < model.params.length; i++) model.params[i] = 0.5 * rng.normal() / Math.sqrt(s.H / 8 + 1);
  const ws = model.workspace(s.B, s.T, true);
  for (let i = 0; i < ws.ids.length; i++) {
    ws.ids[i] = rng.int(V);
    ws.targets[i] = rng.int(V);
  }
  for (let l = 0; l < s.layers; l++) {
    const st = ws.state(l);
    for (let i = 0; i < st.h.length; i++) st.h[i] = rng.uniform(-0.9, 0.9);
    if (st.c) for (let i = 0; i < st.c.length; i++) st.c[i] = rng.uniform(-2, 2);
  }
  model.grads.fill(0);
  ws.forward();
  const loss = ws.loss();
  ws.backward();
  const stateGrads: Float64Array[] = [];
  for (let l = 0; l < s.layers; l++) {
    const d = ws.stateGrad(l);
    stateGrads.push(Float64Array.from(d.h));
    if (d.c) stateGrads.push(Float64Array.from(d.c));
  }
  ws.carry();
  const states: Float64Array[] = [];
  for (let l = 0; l < s.layers; l++) {
    const st = ws.state(l);
    states.push(Float64Array.from(st.h));
    if (st.c) states.push(Float64Array.from(st.c));
  }
  return { logits: Float64Array.from(ws.logits), loss, grads: Float64Array.from(model.grads), states, stateGrads };
}

export function expectSame(a: Run, b: Run, what: string): void {
  const eq = (x: Float64Array, y: Float64Array, name: string) => {
    expect(x.length, `${what}: ${name} length`).toBe(y.length);
    for (let i = 0; i < x.length; i++) {
      if (!Object.is(x[i], y[i])) expect.fail(`${what}: ${name}[${i}] ${x[i]} vs ${y[i]}`);
    }
  };
  eq(a.logits, b.logits, 'dLogits');
  expect(a.loss, `${what}: loss`).toBe(b.loss);
  eq(a.grads, b.grads, 'grads');
  expect(a.states.length).toBe(b.states.length);
  a.states.forEach((x, i) => eq(x, b.states[i], `state ${i}`));
  a.stateGrads.forEach((x, i) => eq(x, b.stateGrads[i], `state gradient ${i}`));
}

export function expectClose(a: Run, want: Run, what: string): void {
  const close = (x: Float64Array, y: Float64Array, name: string, abs: number) => {
    let worst = 0;
    let at = 0;
    for (let i = 0; i < y.length; i++) {
      const r = Math.abs(x[i] - y[i]) / (abs + 1e-3 * Math.abs(y[i]));
      if (!(r <= worst)) {
        worst = r;
        at = i;
      }
    }
    if (worst > 1) expect.fail(`${what}: ${name}[${at}] ${x[at]}, reference ${y[at]}`);
  };
  close(a.logits, want.logits, 'dLogits', 1e-5);
  expect(Math.abs(a.loss - want.loss)).toBeLessThan(1e-4 * Math.abs(want.loss) + 1e-4);
  close(a.grads, want.grads, 'grads', 2e-5);
  a.states.forEach((x, i) => close(x, want.states[i], `state ${i}`, 2e-5));
  a.stateGrads.forEach((x, i) => close(x, want.stateGrads[i], `state gradient ${i}`, 2e-5));
}

/** The optional layer sweeps of the Kernels interface (types.ts). */
const SWEEPS = ['lstmSweepForward', 'lstmSweepBackward', 'gruTorchSweepForward', 'gruTorchSweepBackward'];

/** Kernels k counting the sweep calls that ran (returned true), or with the sweeps hidden (hide: the per-step path runs). */
export function sweepCounting(k: Kernels, hide = false): { k: Kernels; ran: () => number } {
  let n = 0;
  const proxy = new Proxy(k, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function') return v;
      if (SWEEPS.includes(String(prop))) {
        if (hide) return undefined;
        return (...a: unknown[]) => {
          const r = (v as (...x: unknown[]) => boolean).apply(target, a);
          if (r) n++;
          return r;
        };
      }
      return v.bind(target);
    },
  });
  return { k: proxy, ran: () => n };
}
