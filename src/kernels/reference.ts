// Plain TypeScript kernels: the oracle the fast backend is tested against, and the
// float64 path the finite-difference gradient checks run on. Written for clarity
// first; the loops are in cache-friendly order but nothing is blocked or unrolled.
import { ComposedStepper } from './step.js';
import type { Arena, Dtype, Kernels, RnnActivation, StepNet, Stepper, Vec } from './types.js';

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** An arena of separately allocated typed arrays; alignment is trivially satisfied. */
class ReferenceArena implements Arena {
  constructor(readonly dtype: Dtype) {}
  floats(n: number): Vec {
    return this.dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
  }
  ints(n: number): Int32Array {
    return new Int32Array(n);
  }
}

export class ReferenceKernels implements Kernels {
  readonly name: string;
  constructor(readonly dtype: Dtype = 'f32') {
    this.name = `reference-${dtype}`;
  }

  arena(): Arena {
    return new ReferenceArena(this.dtype);
  }

  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    A: Vec, lda: number, B: Vec, ldb: number, beta: 0 | 1, C: Vec, ldc: number,
  ): void {
    for (let i = 0; i < M; i++) {
      const ci = i * ldc;
      if (!transA && transB) {
        // rows of A against rows of B: both contiguous
        const ai = i * lda;
        for (let j = 0; j < N; j++) {
          const bj = j * ldb;
          let dot = 0;
          for (let k = 0; k < K; k++) dot += A[ai + k] * B[bj + k];
          C[ci + j] = beta === 0 ? dot : C[ci + j] + dot;
        }
        continue;
      }
      if (beta === 0) for (let j = 0; j < N; j++) C[ci + j] = 0;
      for (let k = 0; k < K; k++) {
        const a = transA ? A[k * lda + i] : A[i * lda + k];
        if (transB) {
          for (let j = 0; j < N; j++) C[ci + j] += a * B[j * ldb + k];
        } else {
          const bk = k * ldb;
          for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
        }
      }
    }
  }

  addBias(rows: number, N: number, X: Vec, ldx: number, bias: Vec): void {
    for (let r = 0; r < rows; r++) {
      const o = r * ldx;
      for (let j = 0; j < N; j++) X[o + j] += bias[j];
    }
  }

  sumRows(rows: number, N: number, dX: Vec, ldx: number, dbias: Vec): void {
    for (let r = 0; r < rows; r++) {
      const o = r * ldx;
      for (let j = 0; j < N; j++) dbias[j] += dX[o + j];
    }
  }

  gatherRows(rows: number, E: number, ids: Int32Array, table: Vec, out: Vec): void {
    for (let r = 0; r < rows; r++) {
      const src = ids[r] * E;
      const dst = r * E;
      for (let j = 0; j < E; j++) out[dst + j] = table[src + j];
    }
  }

  scatterAddRows(rows: number, E: number, ids: Int32Array, dOut: Vec, dtable: Vec): void {
    for (let r = 0; r < rows; r++) {
      const dst = ids[r] * E;
      const src = r * E;
      for (let j = 0; j < E; j++) dtable[dst + j] += dOut[src + j];
    }
  }

  rnnForward(g: RnnActivation, n: number, H: number, pre: Vec, h: Vec): void {
    const m = n * H;
    if (g === 'tanh') for (let i = 0; i < m; i++) h[i] = Math.tanh(pre[i]);
    else for (let i = 0; i < m; i++) h[i] = pre[i] > 0 ? pre[i] : 0;
  }

  rnnBackward(g: RnnActivation, n: number, H: number, h: Vec, dh: Vec, dPre: Vec): void {
    const m = n * H;
    if (g === 'tanh') for (let i = 0; i < m; i++) dPre[i] = dh[i] * (1 - h[i] * h[i]);
    else for (let i = 0; i < m; i++) dPre[i] = h[i] > 0 ? dh[i] : 0;
  }

  lstmForward(n: number, H: number, gates: Vec, cPrev: Vec, c: Vec, h: Vec, tanhC: Vec): void {
    const G = 4 * H;
    for (let b = 0; b < n; b++) {
      const gr = b * G;
      const hr = b * H;
      for (let j = 0; j < H; j++) {
        const i = sigmoid(gates[gr + j]);
        const f = sigmoid(gates[gr + H + j]);
        const gg = Math.tanh(gates[gr + 2 * H + j]);
        const o = sigmoid(gates[gr + 3 * H + j]);
        gates[gr + j] = i;
        gates[gr + H + j] = f;
        gates[gr + 2 * H + j] = gg;
        gates[gr + 3 * H + j] = o;
        const ct = i * gg + f * cPrev[hr + j];
        const tc = Math.tanh(ct);
        c[hr + j] = ct;
        tanhC[hr + j] = tc;
        h[hr + j] = o * tc;
      }
    }
  }

  lstmBackward(
    n: number, H: number, gates: Vec, cPrev: Vec, tanhC: Vec, dh: Vec, dc: Vec, dGates: Vec,
  ): void {
    const G = 4 * H;
    for (let b = 0; b < n; b++) {
      const gr = b * G;
      const hr = b * H;
      for (let j = 0; j < H; j++) {
        const i = gates[gr + j];
        const f = gates[gr + H + j];
        const gg = gates[gr + 2 * H + j];
        const o = gates[gr + 3 * H + j];
        const tc = tanhC[hr + j];
        const dhj = dh[hr + j];
        // h = o ⊙ tanh(c)
        const dO = dhj * tc;
        const dct = dc[hr + j] + dhj * o * (1 - tc * tc);
        // c = i ⊙ g + f ⊙ cPrev
        dGates[gr + j] = dct * gg * i * (1 - i);
        dGates[gr + H + j] = dct * cPrev[hr + j] * f * (1 - f);
        dGates[gr + 2 * H + j] = dct * i * (1 - gg * gg);
        dGates[gr + 3 * H + j] = dO * o * (1 - o);
        dc[hr + j] = dct * f;
      }
    }
  }

  gruResetForward(n: number, H: number, gates: Vec, hPrev: Vec, rh: Vec): void {
    const G = 3 * H;
    for (let b = 0; b < n; b++) {
      const gr = b * G;
      const hr = b * H;
      for (let j = 0; j < H; j++) {
        const r = sigmoid(gates[gr + j]);
        gates[gr + j] = r;
        gates[gr + H + j] = sigmoid(gates[gr + H + j]);
        rh[hr + j] = r * hPrev[hr + j];
      }
    }
  }

  gruOutForward(
    n: number, H: number, G: number, uOffset: number, cOffset: number, sigmoidU: boolean,
    gates: Vec, hPrev: Vec, h: Vec,
  ): void {
    for (let b = 0; b < n; b++) {
      const gr = b * G;
      const hr = b * H;
      for (let j = 0; j < H; j++) {
        let u = gates[gr + uOffset + j];
        if (sigmoidU) {
          u = sigmoid(u);
          gates[gr + uOffset + j] = u;
        }
        const cc = Math.tanh(gates[gr + cOffset + j]);
        gates[gr + cOffset + j] = cc;
        h[hr + j] = u * cc + (1 - u) * hPrev[hr + j];
      }
    }
  }

  gruOutBackward(
    n: number, H: number, G: number, uOffset: number, cOffset: number,
    gates: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dhPrev: Vec,
  ): void {
    for (let b = 0; b < n; b++) {
      const gr = b * G;
      const hr = b * H;
      for (let j = 0; j < H; j++) {
        const u = gates[gr + uOffset + j];
        const cc = gates[gr + cOffset + j];
        const dhj = dh[hr + j];
        // h = u ⊙ c̃ + (1 − u) ⊙ hPrev
        dGates[gr + uOffset + j] = dhj * (cc - hPrev[hr + j]) * u * (1 - u);
        dGates[gr + cOffset + j] = dhj * u * (1 - cc * cc);
        dhPrev[hr + j] += dhj * (1 - u);
      }
    }
  }

  gruResetBackward(n: number, H: number, gates: Vec, hPrev: Vec, dRh: Vec, dGates: Vec, dhPrev: Vec): void {
    const G = 3 * H;
    for (let b = 0; b < n; b++) {
      const gr = b * G;
      const hr = b * H;
      for (let j = 0; j < H; j++) {
        const r = gates[gr + j];
        const d = dRh[hr + j];
        // rh = r ⊙ hPrev
        dGates[gr + j] = d * hPrev[hr + j] * r * (1 - r);
        dhPrev[hr + j] += d * r;
      }
    }
  }

  gruTorchForward(n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, h: Vec): void {
    const G = 3 * H;
    for (let b = 0; b < n; b++) {
      const gr = b * G;
      const hr = b * H;
      for (let j = 0; j < H; j++) {
        const r = sigmoid(gates[gr + j] + hw[gr + j]);
        const z = sigmoid(gates[gr + H + j] + hw[gr + H + j]);
        const nn = Math.tanh(gates[gr + 2 * H + j] + r * hw[gr + 2 * H + j]);
        gates[gr + j] = r;
        gates[gr + H + j] = z;
        gates[gr + 2 * H + j] = nn;
        h[hr + j] = (1 - z) * nn + z * hPrev[hr + j];
      }
    }
  }

  gruTorchBackward(
    n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dHw: Vec, dhPrev: Vec,
  ): void {
    const G = 3 * H;
    for (let b = 0; b < n; b++) {
      const gr = b * G;
      const hr = b * H;
      for (let j = 0; j < H; j++) {
        const r = gates[gr + j];
        const z = gates[gr + H + j];
        const nn = gates[gr + 2 * H + j];
        const dhj = dh[hr + j];
        // h = (1 − z) ⊙ n + z ⊙ hPrev
        const dnPre = dhj * (1 - z) * (1 - nn * nn);
        const dzPre = dhj * (hPrev[hr + j] - nn) * z * (1 - z);
        // n = tanh(x_n + r ⊙ hw_n)
        const drPre = dnPre * hw[gr + 2 * H + j] * r * (1 - r);
        dGates[gr + j] = drPre;
        dGates[gr + H + j] = dzPre;
        dGates[gr + 2 * H + j] = dnPre;
        dHw[gr + j] = drPre;
        dHw[gr + H + j] = dzPre;
        dHw[gr + 2 * H + j] = dnPre * r;
        dhPrev[hr + j] += dhj * z;
      }
    }
  }

  softmaxXent(rows: number, V: number, logits: Vec, targets: Int32Array, dLogits: Vec | null, scale: number): number {
    let loss = 0;
    for (let r = 0; r < rows; r++) {
      const o = r * V;
      let max = -Infinity;
      for (let j = 0; j < V; j++) if (logits[o + j] > max) max = logits[o + j];
      let sum = 0;
      for (let j = 0; j < V; j++) sum += Math.exp(logits[o + j] - max);
      const t = targets[r];
      const logZ = max + Math.log(sum);
      loss += logZ - logits[o + t];
      if (dLogits) {
        for (let j = 0; j < V; j++) dLogits[o + j] = scale * Math.exp(logits[o + j] - logZ);
        dLogits[o + t] -= scale;
      }
    }
    return loss;
  }

  sumSquares(n: number, x: Vec): number {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    return s;
  }

  scale(n: number, x: Vec, s: number): void {
    for (let i = 0; i < n; i++) x[i] *= s;
  }

  adam(n: number, p: Vec, g: Vec, m: Vec, v: Vec, lr: number, b1: number, b2: number, eps: number, lrWd: number): void {
    for (let i = 0; i < n; i++) {
      const gi = g[i];
      const mi = b1 * m[i] + (1 - b1) * gi;
      const vi = b2 * v[i] + (1 - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] -= lrWd * p[i] + (lr * mi) / (Math.sqrt(vi) + eps);
    }
  }

  rmsprop(n: number, p: Vec, g: Vec, v: Vec, lr: number, alpha: number, eps: number): void {
    for (let i = 0; i < n; i++) {
      const gi = g[i];
      const vi = alpha * v[i] + (1 - alpha) * gi * gi;
      v[i] = vi;
      p[i] -= (lr * gi) / (Math.sqrt(vi) + eps);
    }
  }

  sgd(n: number, p: Vec, g: Vec, m: Vec, lr: number, mu: number): void {
    for (let i = 0; i < n; i++) {
      const mi = mu * m[i] + g[i];
      m[i] = mi;
      p[i] -= lr * mi;
    }
  }

  stepper(net: StepNet): Stepper {
    return new ComposedStepper(this, net);
  }
}
