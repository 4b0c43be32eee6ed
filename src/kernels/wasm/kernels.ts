// The WebAssembly SIMD backend's kernels: each method checks its views (./memory.ts), turns
// them into byte offsets and calls the compiled module (./module.ts); large products are
// split across threads (./pool.ts).
import { largestMagnitudeIn } from '../magnitude.js';
import { ComposedStepper } from '../step.js';
import type { Arena, ArenaCapacity, Dtype, Kernels, RnnActivation, StepNet, Stepper, Vec } from '../types.js';
import { GemmPath, LOSS_BLOCK, SCRATCH_APACK_BYTES, SCRATCH_BPACK_BYTES, SCRATCH_BYTES, SweepKind, type WasmExports } from './abi.js';
import { allocatedBytes, WASM_MEMORY_LIMIT, WasmMemory } from './memory.js';
import { kernelsModule, type WasmVariant } from './module.js';
import { GemmPool } from './pool.js';

/** softmaxXent splits its rows across the threads from this many logits (rows·V) on: about
 *  0.3 ms of work on one core, against a hand-off of some µs. */
const XENT_SPLIT_ELEMENTS = 1 << 17;

export interface WasmKernels extends Kernels {
  /** 'fma': relaxed-SIMD fused multiply-add module; 'simd': plain SIMD128 module. */
  readonly variant: WasmVariant;
  /** Compute threads used for large products (1 = single-threaded). */
  readonly threads: number;
  /** Starts the workers now and blocks until they are ready (they otherwise start lazily). */
  startWorkers(): void;
  /** Stops the workers; the kernels keep working single-threaded. */
  dispose(): void;
  /** The shared memory every view lives in (another backend may work on the same views). */
  readonly memory: WebAssembly.Memory;
  largestMagnitude(x: Float32Array): number;
}

export interface BackendOptions {
  variant: WasmVariant;
  threads: number;
  splitFlops: number;
  splitWeights: number;
  /** A·Bᵀ products with M ≤ dotMaxM take the dot-product path (0: always packed). */
  dotMaxM: number;
}

export class WasmBackend implements WasmKernels {
  readonly name: string;
  readonly dtype: Dtype = 'f32';
  readonly variant: WasmVariant;
  readonly mem = new WasmMemory();
  readonly pool: GemmPool;
  private instance: WasmExports | null = null;
  private readonly mainScratch: number;
  private readonly dotMaxM: number;

  constructor(opts: BackendOptions) {
    this.variant = opts.variant;
    this.name = opts.variant === 'fma' ? 'wasm-fma' : 'wasm-simd';
    this.dotMaxM = opts.dotMaxM;
    this.mainScratch = this.mem.alloc(SCRATCH_BYTES);
    this.pool = new GemmPool(this.mem, () => kernelsModule(this.variant), SCRATCH_BYTES, {
      threads: opts.threads, splitFlops: opts.splitFlops, splitWeights: opts.splitWeights,
    });
  }

  /**
   * The module's exports, compiled and instantiated on the first kernel call: the native
   * backend, which runs a sample without any of them, never pays for the compile (~1.3 ms).
   */
  get ex(): WasmExports {
    return this.instance ?? this.instantiate();
  }

  private instantiate(): WasmExports {
    const ex = new WebAssembly.Instance(kernelsModule(this.variant), { env: { memory: this.mem.memory } }).exports as unknown as WasmExports;
    if (ex.scratchBytes() !== SCRATCH_BYTES) throw new Error(`wasm kernels: the module needs ${ex.scratchBytes()} bytes of scratch, abi.ts says ${SCRATCH_BYTES}`);
    this.instance = ex;
    return ex;
  }

  get memory(): WebAssembly.Memory {
    return this.mem.memory;
  }

  arena(): Arena {
    return this.mem.arena();
  }

  readonly capacity: ArenaCapacity = {
    limit: WASM_MEMORY_LIMIT,
    available: () => WASM_MEMORY_LIMIT - this.mem.used - this.pool.pendingBytes,
    footprint: allocatedBytes,
  };

  get threads(): number {
    return this.pool.threads;
  }

  largestMagnitude(x: Float32Array): number {
    this.mem.floatPtr(x, x.length, 'largestMagnitude x');
    return largestMagnitudeIn(this.mem.memory, x);
  }

  startWorkers(): void {
    this.pool.start();
  }

  dispose(): void {
    this.pool.dispose();
  }

  // ---- GEMM

  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    A: Vec, lda: number, B: Vec, ldb: number, beta: 0 | 1, C: Vec, ldc: number,
  ): void {
    if (M <= 0 || N <= 0) return;
    if (ldc < N) throw new RangeError(`gemm: ldc ${ldc} < N ${N}`);
    const pC = this.mem.floatPtr(C, (M - 1) * ldc + N, 'gemm C');
    let pA = 0;
    let pB = 0;
    if (K > 0) {
      const aCols = transA ? M : K;
      const bCols = transB ? K : N;
      if (lda < aCols) throw new RangeError(`gemm: lda ${lda} < ${aCols}`);
      if (ldb < bCols) throw new RangeError(`gemm: ldb ${ldb} < ${bCols}`);
      pA = this.mem.floatPtr(A, ((transA ? K : M) - 1) * lda + aCols, 'gemm A');
      pB = this.mem.floatPtr(B, ((transB ? N : K) - 1) * ldb + bCols, 'gemm B');
    }
    // one path for the whole product, so that a split product equals the unsplit one
    const path = transB && !transA && M <= this.dotMaxM ? GemmPath.dot : GemmPath.packed;
    if (this.pool.wantsSplit(M, N, K)) {
      this.pool.run({ transA, transB, M, N, K, A: pA, lda, B: pB, ldb, beta, C: pC, ldc, path }, this.ex, this.mainScratch);
      return;
    }
    this.ex.gemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, pA, lda, pB, ldb, beta, pC, ldc, path, this.mainScratch);
  }

  // ---- rows

  addBias(rows: number, N: number, X: Vec, ldx: number, bias: Vec): void {
    if (rows <= 0 || N <= 0) return;
    this.ex.addBias(rows, N, this.mem.floatPtr(X, (rows - 1) * ldx + N, 'addBias X'), ldx, this.mem.floatPtr(bias, N, 'addBias bias'));
  }

  sumRows(rows: number, N: number, dX: Vec, ldx: number, dbias: Vec): void {
    if (rows <= 0 || N <= 0) return;
    this.ex.sumRows(rows, N, this.mem.floatPtr(dX, (rows - 1) * ldx + N, 'sumRows dX'), ldx, this.mem.floatPtr(dbias, N, 'sumRows dbias'));
  }

  private ids(rows: number, E: number, ids: Int32Array, table: Vec, what: string): number {
    const p = this.mem.intPtr(ids, rows, `${what} ids`);
    const V = Math.floor(table.length / E);
    const bad = this.ex.checkIds(rows, p, V);
    if (bad >= 0) throw new RangeError(`${what}: id ${ids[bad]} at row ${bad} is outside the table of ${V} rows`);
    return p;
  }

  gatherRows(rows: number, E: number, ids: Int32Array, table: Vec, out: Vec): void {
    if (rows <= 0 || E <= 0) return;
    const pIds = this.ids(rows, E, ids, table, 'gatherRows');
    this.ex.gatherRows(rows, E, pIds, this.mem.floatPtr(table, E, 'gatherRows table'), this.mem.floatPtr(out, rows * E, 'gatherRows out'));
  }

  scatterAddRows(rows: number, E: number, ids: Int32Array, dOut: Vec, dtable: Vec): void {
    if (rows <= 0 || E <= 0) return;
    const pIds = this.ids(rows, E, ids, dtable, 'scatterAddRows');
    this.ex.scatterAddRows(rows, E, pIds, this.mem.floatPtr(dOut, rows * E, 'scatterAddRows dOut'), this.mem.floatPtr(dtable, E, 'scatterAddRows dtable'));
  }

  // ---- cells

  rnnForward(g: RnnActivation, n: number, H: number, pre: Vec, h: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.rnnForward(g === 'relu' ? 1 : 0, n, H, this.mem.floatPtr(pre, m, 'rnnForward pre'), this.mem.floatPtr(h, m, 'rnnForward h'));
  }

  rnnBackward(g: RnnActivation, n: number, H: number, h: Vec, dh: Vec, dPre: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.rnnBackward(g === 'relu' ? 1 : 0, n, H, this.mem.floatPtr(h, m, 'rnnBackward h'), this.mem.floatPtr(dh, m, 'rnnBackward dh'),
      this.mem.floatPtr(dPre, m, 'rnnBackward dPre'));
  }

  lstmForward(n: number, H: number, gates: Vec, cPrev: Vec, c: Vec, h: Vec, tanhC: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.lstmForward(n, H, this.mem.floatPtr(gates, 4 * m, 'lstmForward gates'), this.mem.floatPtr(cPrev, m, 'lstmForward cPrev'),
      this.mem.floatPtr(c, m, 'lstmForward c'), this.mem.floatPtr(h, m, 'lstmForward h'), this.mem.floatPtr(tanhC, m, 'lstmForward tanhC'));
  }

  lstmBackward(n: number, H: number, gates: Vec, cPrev: Vec, tanhC: Vec, dh: Vec, dc: Vec, dGates: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.lstmBackward(n, H, this.mem.floatPtr(gates, 4 * m, 'lstmBackward gates'), this.mem.floatPtr(cPrev, m, 'lstmBackward cPrev'),
      this.mem.floatPtr(tanhC, m, 'lstmBackward tanhC'), this.mem.floatPtr(dh, m, 'lstmBackward dh'), this.mem.floatPtr(dc, m, 'lstmBackward dc'),
      this.mem.floatPtr(dGates, 4 * m, 'lstmBackward dGates'));
  }

  gruResetForward(n: number, H: number, gates: Vec, hPrev: Vec, rh: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.gruResetForward(n, H, this.mem.floatPtr(gates, 3 * m, 'gruResetForward gates'),
      this.mem.floatPtr(hPrev, m, 'gruResetForward hPrev'), this.mem.floatPtr(rh, m, 'gruResetForward rh'));
  }

  gruOutForward(
    n: number, H: number, G: number, uOffset: number, cOffset: number, sigmoidU: boolean,
    gates: Vec, hPrev: Vec, h: Vec,
  ): void {
    const m = n * H;
    if (m <= 0) return;
    this.gruOffsets(H, G, uOffset, cOffset, 'gruOutForward');
    this.ex.gruOutForward(n, H, G, uOffset, cOffset, sigmoidU ? 1 : 0, this.mem.floatPtr(gates, n * G, 'gruOutForward gates'),
      this.mem.floatPtr(hPrev, m, 'gruOutForward hPrev'), this.mem.floatPtr(h, m, 'gruOutForward h'));
  }

  gruOutBackward(
    n: number, H: number, G: number, uOffset: number, cOffset: number,
    gates: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dhPrev: Vec,
  ): void {
    const m = n * H;
    if (m <= 0) return;
    this.gruOffsets(H, G, uOffset, cOffset, 'gruOutBackward');
    this.ex.gruOutBackward(n, H, G, uOffset, cOffset, this.mem.floatPtr(gates, n * G, 'gruOutBackward gates'),
      this.mem.floatPtr(hPrev, m, 'gruOutBackward hPrev'), this.mem.floatPtr(dh, m, 'gruOutBackward dh'),
      this.mem.floatPtr(dGates, n * G, 'gruOutBackward dGates'), this.mem.floatPtr(dhPrev, m, 'gruOutBackward dhPrev'));
  }

  private gruOffsets(H: number, G: number, uOffset: number, cOffset: number, what: string): void {
    if (uOffset < 0 || cOffset < 0 || uOffset + H > G || cOffset + H > G) {
      throw new RangeError(`${what}: gate blocks at ${uOffset} and ${cOffset} (width ${H}) do not fit a row of ${G}`);
    }
  }

  gruResetBackward(n: number, H: number, gates: Vec, hPrev: Vec, dRh: Vec, dGates: Vec, dhPrev: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.gruResetBackward(n, H, this.mem.floatPtr(gates, 3 * m, 'gruResetBackward gates'),
      this.mem.floatPtr(hPrev, m, 'gruResetBackward hPrev'), this.mem.floatPtr(dRh, m, 'gruResetBackward dRh'),
      this.mem.floatPtr(dGates, 3 * m, 'gruResetBackward dGates'), this.mem.floatPtr(dhPrev, m, 'gruResetBackward dhPrev'));
  }

  gruTorchForward(n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, h: Vec): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.gruTorchForward(n, H, this.mem.floatPtr(gates, 3 * m, 'gruTorchForward gates'), this.mem.floatPtr(hw, 3 * m, 'gruTorchForward hw'),
      this.mem.floatPtr(hPrev, m, 'gruTorchForward hPrev'), this.mem.floatPtr(h, m, 'gruTorchForward h'));
  }

  gruTorchBackward(
    n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dHw: Vec, dhPrev: Vec,
  ): void {
    const m = n * H;
    if (m <= 0) return;
    this.ex.gruTorchBackward(n, H, this.mem.floatPtr(gates, 3 * m, 'gruTorchBackward gates'),
      this.mem.floatPtr(hw, 3 * m, 'gruTorchBackward hw'), this.mem.floatPtr(hPrev, m, 'gruTorchBackward hPrev'),
      this.mem.floatPtr(dh, m, 'gruTorchBackward dh'), this.mem.floatPtr(dGates, 3 * m, 'gruTorchBackward dGates'),
      this.mem.floatPtr(dHw, 3 * m, 'gruTorchBackward dHw'), this.mem.floatPtr(dhPrev, m, 'gruTorchBackward dhPrev'));
  }

  // ---- loss

  softmaxXent(rows: number, V: number, logits: Vec, targets: Int32Array, dLogits: Vec | null, scale: number): number {
    if (rows <= 0 || V <= 0) return 0;
    const pL = this.mem.floatPtr(logits, rows * V, 'softmaxXent logits');
    const pT = this.mem.intPtr(targets, rows, 'softmaxXent targets');
    const pD = dLogits ? this.mem.floatPtr(dLogits, rows * V, 'softmaxXent dLogits') : 0;
    const loss = this.splitsLoss(rows, V) ? this.splitXent(rows, V, pL, pT, pD, scale) : this.ex.softmaxXent(rows, V, pL, pT, pD, scale);
    if (Number.isNaN(loss)) {
      for (let r = 0; r < rows; r++) {
        const t = targets[r];
        if (t < 0 || t >= V) throw new RangeError(`softmaxXent: target ${t} at row ${r} is outside [0, ${V})`);
      }
    }
    return loss;
  }

  /** A large loss (the head of a large vocabulary) runs its rows on every thread: blocks of
   *  LOSS_BLOCK rows whose sums go to the A-panel part of this thread's packing area. */
  private splitsLoss(rows: number, V: number): boolean {
    return rows * V >= XENT_SPLIT_ELEMENTS && rows > LOSS_BLOCK && Math.ceil(rows / LOSS_BLOCK) * 8 <= SCRATCH_APACK_BYTES
      && this.pool.wantsSplit(rows, V, 8);
  }

  private splitXent(rows: number, V: number, pL: number, pT: number, pD: number, scale: number): number {
    const partials = this.mainScratch;
    const bits = new Int32Array(new Float32Array([scale]).buffer)[0];
    this.pool.runSweep({ kind: SweepKind.softmaxXent, B: rows, T: V, H: 0, p: [pL, pT, pD, bits, partials] }, this.ex, this.mainScratch, LOSS_BLOCK);
    // the blocks' sums in order, as the module's softmaxXent adds them on one thread
    const sums = new Float64Array(this.mem.memory.buffer, partials, Math.ceil(rows / LOSS_BLOCK));
    let loss = 0;
    for (let b = 0; b < sums.length; b++) loss += sums[b];
    return loss;
  }

  // ---- flat buffers

  sumSquares(n: number, x: Vec): number {
    if (n <= 0) return 0;
    return this.ex.sumSquares(n, this.mem.floatPtr(x, n, 'sumSquares x'));
  }

  scale(n: number, x: Vec, s: number): void {
    if (n <= 0) return;
    this.ex.scale(n, this.mem.floatPtr(x, n, 'scale x'), s);
  }

  adam(n: number, p: Vec, g: Vec, m: Vec, v: Vec, lr: number, b1: number, b2: number, eps: number, lrWd: number): void {
    if (n <= 0) return;
    this.ex.adam(n, this.mem.floatPtr(p, n, 'adam p'), this.mem.floatPtr(g, n, 'adam g'), this.mem.floatPtr(m, n, 'adam m'), this.mem.floatPtr(v, n, 'adam v'),
      lr, b1, b2, eps, lrWd, 1 - b1, 1 - b2);
  }

  rmsprop(n: number, p: Vec, g: Vec, v: Vec, lr: number, alpha: number, eps: number): void {
    if (n <= 0) return;
    this.ex.rmsprop(n, this.mem.floatPtr(p, n, 'rmsprop p'), this.mem.floatPtr(g, n, 'rmsprop g'), this.mem.floatPtr(v, n, 'rmsprop v'),
      lr, alpha, eps, 1 - alpha);
  }

  sgd(n: number, p: Vec, g: Vec, m: Vec, lr: number, mu: number): void {
    if (n <= 0) return;
    this.ex.sgd(n, this.mem.floatPtr(p, n, 'sgd p'), this.mem.floatPtr(g, n, 'sgd g'), this.mem.floatPtr(m, n, 'sgd m'), lr, mu);
  }

  // ---- layer sweeps (assembly/sweep.ts): a window's time loop in one call, the batch rows shared out

  /**
   * Declined (false) when the per-step path's forward product would not take the dot
   * path (B > dotMaxM): the sweep computes what that path computes, bit for bit.
   */
  private sweepable(B: number, T: number, H: number): boolean {
    return B >= 1 && B <= this.dotMaxM && T >= 1 && H >= 1;
  }

  private runSweep(kind: SweepKind, B: number, T: number, H: number, G: number, p: number[]): void {
    if (this.pool.wantsSplit(B, G, H)) this.pool.runSweep({ kind, B, T, H, p }, this.ex, this.mainScratch);
    else this.ex.sweep(kind, 0, B, B, T, H, p[0], p[1], p[2], p[3], p[4], p[5] ?? 0, p[6] ?? 0, this.mainScratch);
  }

  /**
   * W_hh [G,H] packed whole for a backward sweep's ∂h products, into the B-panel part of the
   * calling thread's packing area (the sweep's products pack only A): no memory beyond what
   * the backend holds already, so the memory a run needs (src/train/memory.ts) is unchanged.
   * 0 when it does not fit (more than KC·NC floats: an LSTM wider than 256, a GRU wider than
   * 295); the backward sweep then declines.
   */
  private prepacked(G: number, H: number, pW: number): number {
    if (this.ex.prepackedBytes(G, H) > SCRATCH_BPACK_BYTES) return 0;
    const dst = this.mainScratch + SCRATCH_APACK_BYTES;
    this.ex.prepackB(G, H, pW, H, dst);
    return dst;
  }

  lstmSweepForward(B: number, T: number, H: number, gates: Vec, Whh: Vec, Hs: Vec, Cs: Vec, TC: Vec): boolean {
    if (!this.sweepable(B, T, H)) return false;
    const n = B * H, G = 4 * H;
    const p = [
      this.mem.floatPtr(gates, T * B * G, 'lstmSweepForward gates'), this.mem.floatPtr(Whh, G * H, 'lstmSweepForward Whh'),
      this.mem.floatPtr(Hs, (T + 1) * n, 'lstmSweepForward Hs'), this.mem.floatPtr(Cs, (T + 1) * n, 'lstmSweepForward Cs'),
      this.mem.floatPtr(TC, T * n, 'lstmSweepForward TC'),
    ];
    this.runSweep(SweepKind.lstmForward, B, T, H, G, p);
    return true;
  }

  lstmSweepBackward(B: number, T: number, H: number, gates: Vec, Whh: Vec, Cs: Vec, TC: Vec, dHs: Vec, dC: Vec, dGates: Vec): boolean {
    if (!this.sweepable(B, T, H)) return false;
    const n = B * H, G = 4 * H;
    const pGates = this.mem.floatPtr(gates, T * B * G, 'lstmSweepBackward gates');
    const pW = this.mem.floatPtr(Whh, G * H, 'lstmSweepBackward Whh');
    const pCs = this.mem.floatPtr(Cs, (T + 1) * n, 'lstmSweepBackward Cs');
    const pTC = this.mem.floatPtr(TC, T * n, 'lstmSweepBackward TC');
    const pdHs = this.mem.floatPtr(dHs, (T + 1) * n, 'lstmSweepBackward dHs');
    const pdC = this.mem.floatPtr(dC, n, 'lstmSweepBackward dC');
    const pdG = this.mem.floatPtr(dGates, T * B * G, 'lstmSweepBackward dGates');
    const packed = this.prepacked(G, H, pW);
    if (packed === 0) return false;
    this.runSweep(SweepKind.lstmBackward, B, T, H, G, [pGates, packed, pCs, pTC, pdHs, pdC, pdG]);
    return true;
  }

  gruTorchSweepForward(B: number, T: number, H: number, gates: Vec, Whh: Vec, bhh: Vec, HW: Vec, Hs: Vec): boolean {
    if (!this.sweepable(B, T, H)) return false;
    const n = B * H, G = 3 * H;
    const p = [
      this.mem.floatPtr(gates, T * B * G, 'gruTorchSweepForward gates'), this.mem.floatPtr(Whh, G * H, 'gruTorchSweepForward Whh'),
      this.mem.floatPtr(bhh, G, 'gruTorchSweepForward bhh'), this.mem.floatPtr(HW, T * B * G, 'gruTorchSweepForward HW'),
      this.mem.floatPtr(Hs, (T + 1) * n, 'gruTorchSweepForward Hs'),
    ];
    this.runSweep(SweepKind.gruTorchForward, B, T, H, G, p);
    return true;
  }

  gruTorchSweepBackward(B: number, T: number, H: number, gates: Vec, Whh: Vec, HW: Vec, Hs: Vec, dHs: Vec, dGates: Vec, dHW: Vec): boolean {
    if (!this.sweepable(B, T, H)) return false;
    const n = B * H, G = 3 * H;
    const pGates = this.mem.floatPtr(gates, T * B * G, 'gruTorchSweepBackward gates');
    const pW = this.mem.floatPtr(Whh, G * H, 'gruTorchSweepBackward Whh');
    const pHW = this.mem.floatPtr(HW, T * B * G, 'gruTorchSweepBackward HW');
    const pHs = this.mem.floatPtr(Hs, (T + 1) * n, 'gruTorchSweepBackward Hs');
    const pdHs = this.mem.floatPtr(dHs, (T + 1) * n, 'gruTorchSweepBackward dHs');
    const pdG = this.mem.floatPtr(dGates, T * B * G, 'gruTorchSweepBackward dGates');
    const pdHW = this.mem.floatPtr(dHW, T * B * G, 'gruTorchSweepBackward dHW');
    const packed = this.prepacked(G, H, pW);
    if (packed === 0) return false;
    this.runSweep(SweepKind.gruTorchBackward, B, T, H, G, [pGates, packed, pHW, pHs, pdHs, pdG, pdHW]);
    return true;
  }

  stepper(net: StepNet): Stepper {
    return new ComposedStepper(this, net);
  }
}
