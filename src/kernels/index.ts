// Backend selection. `auto` (the default) is the native backend when its addon was built
// and loads, else the WebAssembly SIMD backend; the reference backend serves float64
// (gradient checks) and `--backend reference`.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { ReferenceKernels } from './reference.js';
import type { Dtype, Kernels } from './types.js';
import { createNativeKernels, loadNative, type NativeInfo } from './native/index.js';
import { createWasmKernels } from './wasm/index.js';
import { RnnError } from '../util/errors.js';

export type { Arena, Dtype, Kernels, RnnActivation, Vec } from './types.js';
export { ReferenceKernels } from './reference.js';

export const BACKENDS = ['auto', 'native', 'wasm', 'reference'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface KernelOptions {
  backend?: BackendName;
  dtype?: Dtype;
  /** Compute threads of the native or WebAssembly backend (default: all cores). */
  threads?: number;
}

export function createKernels(opts: KernelOptions = {}): Kernels {
  const dtype = opts.dtype ?? 'f32';
  const backend = opts.backend ?? 'auto';
  if (backend === 'reference' || dtype === 'f64') return new ReferenceKernels(dtype);
  if (backend === 'native' || backend === 'auto') {
    const native = createNativeKernels({ threads: opts.threads });
    if (native) return native;
    if (backend === 'native') {
      const why = loadNative();
      throw new RnnError(`the native backend is not available (${why.addon ? 'unknown' : why.reason}); use --backend wasm or auto`);
    }
  }
  if (backend === 'wasm' || backend === 'auto') {
    try {
      return createWasmKernels({ threads: opts.threads });
    } catch (e) {
      if (backend === 'wasm') throw e;
      return new ReferenceKernels(dtype);
    }
  }
  const name: string = backend;
  throw new Error(`unknown backend ${name}`);
}

/** One line for humans: the backend, its instruction set and threads ("native avx2, 2 threads"). */
export function describeKernels(k: Kernels): string {
  const t = (k as { threads?: number }).threads;
  const isa = (k as { isa?: string }).isa;
  return `${k.name}${isa ? ` ${isa}` : ''}${t ? `, ${t} thread${t === 1 ? '' : 's'}` : ''}`;
}

/** What `auto` picks on this machine and why (for `rnn info --system` and the bench). */
export interface BackendReport {
  auto: 'native' | 'wasm';
  /** The CPU's model name (with family and model numbers where /proc/cpuinfo gives them). */
  cpu: string;
  native: NativeInfo | null;
  /** Why the native backend is not used (null when it is available). */
  nativeMissing: string | null;
}

export function backendReport(): BackendReport {
  const load = loadNative();
  const cpu = cpuModel();
  if (!load.addon) return { auto: 'wasm', cpu, native: null, nativeMissing: load.reason };
  return { auto: 'native', cpu, native: load.addon.info(), nativeMissing: null };
}

function cpuModel(): string {
  const name = cpus()[0]?.model?.trim() || 'unknown CPU';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const family = /^cpu family\s*:\s*(\d+)/m.exec(info)?.[1];
    const model = /^model\s*:\s*(\d+)/m.exec(info)?.[1];
    return family && model ? `${name} (family ${family}, model ${model})` : name;
  } catch {
    return name;
  }
}
