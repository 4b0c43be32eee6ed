// The batch-1 Stepper (types.ts) composed of a backend's own kernels: the reference and
// WebAssembly backends use it; the native backend has a fused one (native/step.c).
//
// It runs the calls a training Workspace of B = 1, T = 1 makes (src/nn/model.ts,
// layer.ts and the cell files), in the same order on the same shapes, so its logits are
// those of the windowed model path bit for bit, and the tempered exps are pick.ts's own
// (temperedExps: float64 Math.exp), so seeded samples stay as they were on these
// backends. Per layer, with x = the layer's input and h, c = its carried state:
//
//   gates = x·W_ihᵀ + b_ih (+ b_hh) (+ the tag term on layer 0)
//   rnn        gates += h·W_hhᵀ;                         h' = g(gates)
//   lstm       gates += h·W_hhᵀ (+ c·W_chᵀ on i, f, o);  c', h' = lstmForward
//   gru        [r u] += h·W_hh[r,u]ᵀ; σ; rh = r ⊙ h;  c += rh·W_hh[c]ᵀ;  h' = gruOutForward
//   gru-min    gates += h·W_hhᵀ;                         h' = gruOutForward (σ on u)
//   gru-torch  hw = h·W_hhᵀ + b_hh (b_hh not in gates);  h' = gruTorchForward
import { temperedExps } from '../sample/pick.js';
import type { Arena, Kernels, StepNet, Stepper, Vec } from './types.js';

interface LayerBuffers {
  h: Vec;
  c: Vec | null;
  hNew: Vec;
  cNew: Vec | null;
  /** [G] pre-activations, then the activated gates */
  gates: Vec;
  /** [G] W_hh·h + b_hh (gru-torch) */
  hw: Vec | null;
  /** [H] r ⊙ h (classic GRU) */
  rh: Vec | null;
  /** [H] tanh(c) (LSTM) */
  tanhC: Vec | null;
}

const GATES: Record<StepNet['cell'], number> = { 'rnn': 1, 'rnn-relu': 1, 'gru': 3, 'gru-min': 2, 'gru-torch': 3, 'lstm': 4, 'lstm-peep': 4 };

export class ComposedStepper implements Stepper {
  readonly inputBias: Vec | null;
  readonly logits: Vec;
  readonly probs: Float64Array;
  private readonly ids: Int32Array;
  private readonly x: Vec;
  private readonly layers: LayerBuffers[];
  private readonly G: number;

  constructor(private readonly k: Kernels, private readonly net: StepNet, arena: Arena = k.arena()) {
    const { vocab: V, embed: E, hidden: H, cell } = net;
    const G = GATES[cell] * H;
    const lstm = cell === 'lstm' || cell === 'lstm-peep';
    this.G = G;
    this.ids = arena.ints(1);
    this.x = arena.floats(E);
    this.layers = net.layers.map(() => ({
      h: arena.floats(H),
      c: lstm ? arena.floats(H) : null,
      hNew: arena.floats(H),
      cNew: lstm ? arena.floats(H) : null,
      gates: arena.floats(G),
      hw: cell === 'gru-torch' ? arena.floats(G) : null,
      rh: cell === 'gru' ? arena.floats(H) : null,
      tanhC: lstm ? arena.floats(H) : null,
    }));
    this.inputBias = net.tagged ? arena.floats(G) : null;
    this.logits = arena.floats(V);
    this.probs = new Float64Array(V);
  }

  state(l: number): { h: Vec; c: Vec | null } {
    const b = this.layers[l];
    return { h: b.h, c: b.c };
  }

  reset(): void {
    for (const b of this.layers) {
      b.h.fill(0);
      b.c?.fill(0);
    }
  }

  advance(ids: Int32Array, from: number, to: number): void {
    for (let i = from; i < to; i++) this.runLayers(ids[i]);
  }

  step(id: number, temp: number): number {
    this.runLayers(id);
    const { k, net, logits } = this;
    const { vocab: V, hidden: H } = net;
    const top = this.layers[this.layers.length - 1].h;
    k.gemm(false, true, 1, V, H, top, H, net.headW, H, 0, logits, V);
    k.addBias(1, V, logits, V, net.headB);
    let max = -Infinity;
    for (let j = 0; j < V; j++) {
      const z = logits[j];
      if (z - z !== 0) return NaN;
      if (z > max) max = z;
    }
    if (!(temp > 0)) return 0;
    return temperedExps(logits, V, max, 1 / temp, this.probs);
  }

  private runLayers(id: number): void {
    const { k, net, G } = this;
    const { embed: E, hidden: H, cell } = net;
    if (!(id >= 0 && id < net.vocab)) throw new RangeError(`stepper: id ${id} is outside [0, ${net.vocab})`);
    this.ids[0] = id;
    k.gatherRows(1, E, this.ids, net.embedTable, this.x);
    for (let l = 0; l < this.layers.length; l++) {
      const w = net.layers[l];
      const b = this.layers[l];
      const In = l === 0 ? E : H;
      const x = l === 0 ? this.x : this.layers[l - 1].h;
      const { gates, h } = b;
      k.gemm(false, true, 1, G, In, x, In, w.Wih, In, 0, gates, G);
      k.addBias(1, G, gates, G, w.bih);
      if (cell !== 'gru-torch') k.addBias(1, G, gates, G, w.bhh);
      if (l === 0 && this.inputBias) k.addBias(1, G, gates, G, this.inputBias);
      switch (cell) {
        case 'rnn':
        case 'rnn-relu':
          k.gemm(false, true, 1, H, H, h, H, w.Whh, H, 1, gates, H);
          k.rnnForward(cell === 'rnn-relu' ? 'relu' : 'tanh', 1, H, gates, b.hNew);
          break;
        case 'lstm':
        case 'lstm-peep':
          k.gemm(false, true, 1, G, H, h, H, w.Whh, H, 1, gates, G);
          if (w.Wch) {
            k.gemm(false, true, 1, 2 * H, H, b.c!, H, w.Wch, H, 1, gates, G);
            k.gemm(false, true, 1, H, H, b.c!, H, w.Wch.subarray(2 * H * H), H, 1, gates.subarray(3 * H), G);
          }
          k.lstmForward(1, H, gates, b.c!, b.cNew!, b.hNew, b.tanhC!);
          b.c!.set(b.cNew!);
          break;
        case 'gru':
          k.gemm(false, true, 1, 2 * H, H, h, H, w.Whh, H, 1, gates, G);
          k.gruResetForward(1, H, gates, h, b.rh!);
          k.gemm(false, true, 1, H, H, b.rh!, H, w.Whh.subarray(2 * H * H), H, 1, gates.subarray(2 * H), G);
          k.gruOutForward(1, H, G, H, 2 * H, false, gates, h, b.hNew);
          break;
        case 'gru-min':
          k.gemm(false, true, 1, G, H, h, H, w.Whh, H, 1, gates, G);
          k.gruOutForward(1, H, G, 0, H, true, gates, h, b.hNew);
          break;
        case 'gru-torch':
          k.gemm(false, true, 1, G, H, h, H, w.Whh, H, 0, b.hw!, G);
          k.addBias(1, G, b.hw!, G, w.bhh);
          k.gruTorchForward(1, H, gates, b.hw!, h, b.hNew);
          break;
      }
      h.set(b.hNew);
    }
  }
}
