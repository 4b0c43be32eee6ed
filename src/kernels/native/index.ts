// The native backend: the Node-API addon built from this folder at install (binding.gyp at
// the top of the repository, scripts/install-native.mjs) computes the matrix products on
// the CPU's full vector width (AVX-512, AVX2+FMA or NEON, chosen at run time from the CPU's
// features; plain C otherwise), and so do the pointwise kernels of every cell, the softmax
// cross-entropy head, addBias/sumRows and Adam (ops.c, cells_impl.h), an LSTM layer's
// time loop as one call per window (sweep.c), and batch-1 generation as one call per
// character (step.c, ./step.ts); the rest (row gathers, the
// other optimizers, sums of squares) is the WebAssembly backend's.
//
// Memory: the backend is a WebAssembly backend whose gemm is replaced. The arena is the
// wasm one (its shared WebAssembly.Memory), and the addon reads and writes the same
// Float32Array views in place (napi_get_typedarray_info gives it their data pointers), so
// nothing is copied per call and the pointwise kernels see the products' results directly.
//
// Threads: the addon has one pool of compute threads per process (see pool.c). Each
// backend object remembers its own thread count and instruction set and re-applies them
// when another object changed them, so a test can hold a 1-thread and a 2-thread backend.
// Results are bit-identical for any thread count (gemm_driver.h says why).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Arena, ArenaCapacity, Dtype, Kernels, RnnActivation, StepNet, Stepper, Vec } from '../types.js';
import { magnitudeOfBits } from '../magnitude.js';
import { createWasmKernels, type WasmKernels } from '../wasm/index.js';
import { NativeStepper, type StepAddon, type StepTuning } from './step.js';

export interface NativeInfo {
  /** The instruction set the products run on: 'avx512', 'avx2', 'neon' or 'generic'. */
  isa: string;
  threads: number;
  /** Products of at least this many flops (2·M·N·K) are split across the threads. */
  splitFlops: number;
  /** The vector features the addon found on this CPU (avx512f, avx2, fma, neon). */
  features: string[];
}

/** The addon's JavaScript surface (addon.c, ops.c, step.c, crc.c). */
interface NativeAddon extends StepAddon {
  /** zlib's CRC-32 of `bytes` continued from `previous` (crc.c): x86-64 CPUs with PCLMULQDQ only. */
  crc32?(bytes: Uint8Array, previous: number): number;
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    A: Vec, lda: number, B: Vec, ldb: number, beta: 0 | 1, C: Vec, ldc: number,
  ): void;
  configure(opts: { threads?: number; isa?: string; splitFlops?: number }): NativeInfo;
  // the pointwise kernels (ops.c): Kernels' signatures, the activation as 0 tanh / 1 relu
  rnnForward(g: number, n: number, H: number, pre: Vec, h: Vec): void;
  rnnBackward(g: number, n: number, H: number, h: Vec, dh: Vec, dPre: Vec): void;
  lstmForward(n: number, H: number, gates: Vec, cPrev: Vec, c: Vec, h: Vec, tanhC: Vec): void;
  lstmBackward(n: number, H: number, gates: Vec, cPrev: Vec, tanhC: Vec, dh: Vec, dc: Vec, dGates: Vec): void;
  gruResetForward(n: number, H: number, gates: Vec, hPrev: Vec, rh: Vec): void;
  gruOutForward(n: number, H: number, G: number, uOffset: number, cOffset: number, sigmoidU: boolean, gates: Vec, hPrev: Vec, h: Vec): void;
  gruOutBackward(n: number, H: number, G: number, uOffset: number, cOffset: number, gates: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dhPrev: Vec): void;
  gruResetBackward(n: number, H: number, gates: Vec, hPrev: Vec, dRh: Vec, dGates: Vec, dhPrev: Vec): void;
  gruTorchForward(n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, h: Vec): void;
  gruTorchBackward(n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dHw: Vec, dhPrev: Vec): void;
  softmaxXent(rows: number, V: number, logits: Vec, targets: Int32Array, dLogits: Vec | null, scale: number): number;
  addBias(rows: number, N: number, X: Vec, ldx: number, bias: Vec): void;
  sumRows(rows: number, N: number, dX: Vec, ldx: number, dbias: Vec): void;
  adam(n: number, p: Vec, g: Vec, m: Vec, v: Vec, lr: number, b1: number, b2: number, eps: number, lrWd: number): void;
  /** The largest (bits & 0x7fffffff) of x[0:n] (ops.c): the weight check's maximum. */
  maxMagnitudeBits(n: number, x: Vec): number;
  // the time loop of one LSTM layer's window (sweep.c): Kernels' signatures
  lstmSweepForward(B: number, T: number, H: number, gates: Vec, Whh: Vec, Hs: Vec, Cs: Vec, TC: Vec): boolean;
  lstmSweepBackward(B: number, T: number, H: number, gates: Vec, Whh: Vec, Cs: Vec, TC: Vec, dHs: Vec, dC: Vec, dGates: Vec): boolean;
  info(): NativeInfo;
  /** The instruction sets this CPU runs, best first. */
  supported(): string[];
}

export type NativeLoad = { addon: NativeAddon; file: string } | { addon: null; reason: string };

const ADDON = join('build', 'Release', 'rnn_native.node');

/** Every function of NativeAddon: an addon built from older sources lacks some of them. */
const ADDON_FUNCTIONS: readonly (keyof NativeAddon)[] = [
  'gemm', 'configure', 'rnnForward', 'rnnBackward', 'lstmForward', 'lstmBackward',
  'gruResetForward', 'gruOutForward', 'gruOutBackward', 'gruResetBackward', 'gruTorchForward',
  'gruTorchBackward', 'softmaxXent', 'addBias', 'sumRows', 'adam', 'info', 'supported',
  'stepCreate', 'stepAdvance', 'stepNext', 'lstmSweepForward', 'lstmSweepBackward', 'maxMagnitudeBits',
];

/**
 * The functions this build calls that a loaded addon does not have. A checkout updated
 * without `npm run build:native` keeps the old build/ folder: it is then not used (the run
 * goes to WebAssembly and `rnn info --system` says why) instead of failing mid-run.
 */
export function missingAddonFunctions(addon: object): string[] {
  const surface = addon as Record<string, unknown>;
  return ADDON_FUNCTIONS.filter((name) => typeof surface[name] !== 'function');
}
let loaded: NativeLoad | null = null;

/**
 * Loads the addon once. Not loaded when RNN_NATIVE=0 (the switch to run everything on
 * WebAssembly), when the install could not build it, or when it fails to load.
 */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  loaded = tryLoad();
  return loaded;
}

/**
 * The addon's CRC-32 when this process has already loaded the addon and the CPU has it,
 * else null. It never loads the addon: for a caller that would otherwise load node:zlib.
 */
export function loadedCrc32(): ((bytes: Uint8Array, previous: number) => number) | null {
  return loaded?.addon?.crc32 ?? null;
}

function tryLoad(): NativeLoad {
  if (process.env.RNN_NATIVE === '0') return { addon: null, reason: 'disabled by RNN_NATIVE=0' };
  // the package root is a few levels up from this module: src/kernels/native/ in the
  // sources, bin/chunks/ in the bundle
  let dir = dirname(fileURLToPath(import.meta.url));
  let file = '';
  for (let up = 0; up < 5 && !file; up++, dir = dirname(dir)) {
    if (existsSync(join(dir, ADDON))) file = join(dir, ADDON);
  }
  if (!file) return { addon: null, reason: 'not built (no C compiler at install?); `npm run build:native` builds it' };
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    const missing = missingAddonFunctions(addon);
    if (missing.length > 0) {
      return { addon: null, reason: `built from older sources (no ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}); \`npm run build:native\` rebuilds it` };
    }
    addon.info();
    return { addon, file };
  } catch (e) {
    return { addon: null, reason: `failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
}

export interface NativeKernelOptions {
  /** Compute threads including the calling one (default: os.availableParallelism()). */
  threads?: number;
  /** Instruction set for the products (default 'auto': the best this CPU runs). */
  isa?: string;
  /** Split products from this many flops on (default: the addon's measured threshold; for benchmarks). */
  splitFlops?: number;
  /** Run LSTM windows as one sweep call (default true; false: the per-step calls, for tests and measurements). */
  sweep?: boolean;
}

export interface NativeKernels extends Kernels {
  readonly threads: number;
  /** The instruction set the products run on. */
  readonly isa: string;
  info(): NativeInfo;
  lstmSweepForward(B: number, T: number, H: number, gates: Vec, Whh: Vec, Hs: Vec, Cs: Vec, TC: Vec): boolean;
  lstmSweepBackward(B: number, T: number, H: number, gates: Vec, Whh: Vec, Cs: Vec, TC: Vec, dHs: Vec, dC: Vec, dGates: Vec): boolean;
  /** The fused batch-1 step (native/step.ts); `tuning` moves its thread split, for measurements. */
  stepper(net: StepNet, tuning?: StepTuning): Stepper;
  /** Stops nothing of its own (the addon's pool lives with the process); releases the wasm part's workers. */
  dispose(): void;
}

/** The per-process state of the addon the backend objects share. */
type Setting = { threads: number; isa: string; splitFlops: number };
let applied: Setting | null = null;

class NativeBackend implements NativeKernels {
  readonly name = 'native';
  readonly dtype: Dtype = 'f32';
  readonly isa: string;
  readonly threads: number;
  private readonly setting: Setting;

  constructor(
    private readonly addon: NativeAddon, private readonly w: WasmKernels, threads: number, isa: string, splitFlops: number | undefined,
    private readonly sweep: boolean,
  ) {
    const info = addon.configure({ threads, isa, splitFlops: splitFlops ?? defaultSplitFlops(addon) });
    this.isa = info.isa;
    this.threads = info.threads;
    this.setting = { threads: this.threads, isa: this.isa, splitFlops: info.splitFlops };
    applied = this.setting;
  }

  info(): NativeInfo {
    this.apply();
    return this.addon.info();
  }

  private apply(): void {
    if (applied !== this.setting) {
      this.addon.configure(this.setting);
      applied = this.setting;
    }
  }

  dispose(): void {
    this.w.dispose();
  }

  arena(): Arena {
    return this.w.arena();
  }

  get capacity(): ArenaCapacity | undefined {
    return this.w.capacity;
  }

  largestMagnitude(x: Float32Array): number {
    return magnitudeOfBits(this.addon.maxMagnitudeBits(x.length, x));
  }

  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    A: Vec, lda: number, B: Vec, ldb: number, beta: 0 | 1, C: Vec, ldc: number,
  ): void {
    if (applied !== this.setting) this.apply();
    this.addon.gemm(transA, transB, M, N, K, A, lda, B, ldb, beta, C, ldc);
  }

  // ---- the addon's pointwise kernels (on the products' instruction set)

  addBias(rows: number, N: number, X: Vec, ldx: number, bias: Vec): void {
    if (applied !== this.setting) this.apply();
    this.addon.addBias(rows, N, X, ldx, bias);
  }
  sumRows(rows: number, N: number, dX: Vec, ldx: number, dbias: Vec): void {
    if (applied !== this.setting) this.apply();
    this.addon.sumRows(rows, N, dX, ldx, dbias);
  }
  rnnForward(g: RnnActivation, n: number, H: number, pre: Vec, h: Vec): void {
    if (applied !== this.setting) this.apply();
    this.addon.rnnForward(g === 'relu' ? 1 : 0, n, H, pre, h);
  }
  rnnBackward(g: RnnActivation, n: number, H: number, h: Vec, dh: Vec, dPre: Vec): void {
    if (applied !== this.setting) this.apply();
    this.addon.rnnBackward(g === 'relu' ? 1 : 0, n, H, h, dh, dPre);
  }
  lstmForward(n: number, H: number, gates: Vec, cPrev: Vec, c: Vec, h: Vec, tanhC: Vec): void {
    if (applied !== this.setting) this.apply();
    this.addon.lstmForward(n, H, gates, cPrev, c, h, tanhC);
  }
  lstmBackward(n: number, H: number, gates: Vec, cPrev: Vec, tanhC: Vec, dh: Vec, dc: Vec, dGates: Vec): void {
    if (applied !== this.setting) this.apply();
    this.addon.lstmBackward(n, H, gates, cPrev, tanhC, dh, dc, dGates);
  }
  gruResetForward(n: number, H: number, gates: Vec, hPrev: Vec, rh: Vec): void {
    if (applied !== this.setting) this.apply();
    this.addon.gruResetForward(n, H, gates, hPrev, rh);
  }
  gruOutForward(
    n: number, H: number, G: number, uOffset: number, cOffset: number, sigmoidU: boolean, gates: Vec, hPrev: Vec, h: Vec,
  ): void {
    if (applied !== this.setting) this.apply();
    this.addon.gruOutForward(n, H, G, uOffset, cOffset, sigmoidU, gates, hPrev, h);
  }
  gruOutBackward(
    n: number, H: number, G: number, uOffset: number, cOffset: number, gates: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dhPrev: Vec,
  ): void {
    if (applied !== this.setting) this.apply();
    this.addon.gruOutBackward(n, H, G, uOffset, cOffset, gates, hPrev, dh, dGates, dhPrev);
  }
  gruResetBackward(n: number, H: number, gates: Vec, hPrev: Vec, dRh: Vec, dGates: Vec, dhPrev: Vec): void {
    if (applied !== this.setting) this.apply();
    this.addon.gruResetBackward(n, H, gates, hPrev, dRh, dGates, dhPrev);
  }
  gruTorchForward(n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, h: Vec): void {
    if (applied !== this.setting) this.apply();
    this.addon.gruTorchForward(n, H, gates, hw, hPrev, h);
  }
  gruTorchBackward(
    n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dHw: Vec, dhPrev: Vec,
  ): void {
    if (applied !== this.setting) this.apply();
    this.addon.gruTorchBackward(n, H, gates, hw, hPrev, dh, dGates, dHw, dhPrev);
  }
  softmaxXent(rows: number, V: number, logits: Vec, targets: Int32Array, dLogits: Vec | null, scale: number): number {
    if (applied !== this.setting) this.apply();
    return this.addon.softmaxXent(rows, V, logits, targets, dLogits, scale);
  }
  adam(n: number, p: Vec, g: Vec, m: Vec, v: Vec, lr: number, b1: number, b2: number, eps: number, lrWd: number): void {
    if (applied !== this.setting) this.apply();
    this.addon.adam(n, p, g, m, v, lr, b1, b2, eps, lrWd);
  }

  lstmSweepForward(B: number, T: number, H: number, gates: Vec, Whh: Vec, Hs: Vec, Cs: Vec, TC: Vec): boolean {
    if (!this.sweep) return false;
    if (applied !== this.setting) this.apply();
    return this.addon.lstmSweepForward(B, T, H, gates, Whh, Hs, Cs, TC);
  }
  lstmSweepBackward(B: number, T: number, H: number, gates: Vec, Whh: Vec, Cs: Vec, TC: Vec, dHs: Vec, dC: Vec, dGates: Vec): boolean {
    if (!this.sweep) return false;
    if (applied !== this.setting) this.apply();
    return this.addon.lstmSweepBackward(B, T, H, gates, Whh, Cs, TC, dHs, dC, dGates);
  }

  stepper(net: StepNet, tuning: StepTuning = {}): Stepper {
    this.apply();
    return new NativeStepper(this.addon, net, this.arena(), () => {
      if (applied !== this.setting) this.apply();
    }, tuning);
  }

  // ---- everything else: the WebAssembly kernels on the same memory

  gatherRows(rows: number, E: number, ids: Int32Array, table: Vec, out: Vec): void {
    this.w.gatherRows(rows, E, ids, table, out);
  }
  scatterAddRows(rows: number, E: number, ids: Int32Array, dOut: Vec, dtable: Vec): void {
    this.w.scatterAddRows(rows, E, ids, dOut, dtable);
  }
  sumSquares(n: number, x: Vec): number {
    return this.w.sumSquares(n, x);
  }
  scale(n: number, x: Vec, s: number): void {
    this.w.scale(n, x, s);
  }
  rmsprop(n: number, p: Vec, g: Vec, v: Vec, lr: number, alpha: number, eps: number): void {
    this.w.rmsprop(n, p, g, v, lr, alpha, eps);
  }
  sgd(n: number, p: Vec, g: Vec, m: Vec, lr: number, mu: number): void {
    this.w.sgd(n, p, g, m, lr, mu);
  }
}

let defaultSplit = -1;
/** The addon's own threshold, read before anything changed it. */
function defaultSplitFlops(addon: NativeAddon): number {
  if (defaultSplit < 0) defaultSplit = addon.info().splitFlops;
  return defaultSplit;
}

/** The native kernels, or null when the addon is not available (loadNative() says why). */
export function createNativeKernels(opts: NativeKernelOptions = {}): NativeKernels | null {
  const { addon } = loadNative();
  if (!addon) return null;
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  // the wasm part runs only pointwise and row kernels: no workers of its own, and the plain
  // SIMD128 module (the two builds differ only in the GEMM, which is the addon's here), so
  // that a native process never turns on V8's relaxed-SIMD flag or loads node:v8
  return new NativeBackend(
    addon, createWasmKernels({ threads: 1, variant: 'simd' }), threads, opts.isa ?? 'auto', opts.splitFlops, opts.sweep ?? true,
  );
}
