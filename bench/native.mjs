// Native kernel benchmark: the single-core FMA peak of this CPU (bench/peak.c, compiled
// here), then GFLOP/s of the native GEMM on the shapes an RNN needs, at 1 and 2 threads,
// as a share of that peak, next to the WebAssembly GEMM on one thread; then the cost of
// handing a product to the second thread (the per-step recurrent product inside an LSTM
// time loop, split and not split), which sets where the addon splits.
//
//   node bench/native.mjs [--quick] [--isa avx2]
//
// Table on stdout; JSON lines appended to bench/results/native.jsonl. Run it alone
// (flock /tmp/rnn-timing.lock node bench/native.mjs): timings of concurrent jobs are noise.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkOptions } from './options.mjs';

checkOptions('bench/native.mjs', import.meta.url, process.argv.slice(2), ['isa'], ['quick']);

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const isaArg = argv.includes('--isa') ? argv[argv.indexOf('--isa') + 1] : 'auto';
const minTime = quick ? 0.15 : 0.4;

// the bundle goes under build/ so that the addon loader finds build/Release next to it
mkdirSync(join(root, 'build'), { recursive: true });
const dir = mkdtempSync(join(root, 'build', 'bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const out = join(dir, 'k.mjs');
await build({
  stdin: {
    contents: `export { createNativeKernels, loadNative } from './src/kernels/native/index.ts';
export { createWasmKernels } from './src/kernels/wasm/index.ts';`,
    resolveDir: root, loader: 'ts',
  },
  bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'warning',
});
const { createNativeKernels, loadNative, createWasmKernels } = await import(pathToFileURL(out).href).catch(() => ({}));
const load = loadNative ? loadNative() : { addon: null, reason: 'bundle failed' };

const cpuModel = (() => {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const get = (k) => info.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm'))?.[1];
    return `${get('model name') ?? cpus()[0]?.model} (family ${get('cpu family')}, model ${get('model')})`;
  } catch {
    return cpus()[0]?.model ?? '?';
  }
})();
console.log(`node ${process.version}, ${cpuModel}, ${cpus().length} cpus, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const jsonl = join(root, 'bench', 'results', 'native.jsonl');
const stamp = new Date().toISOString();
const record = (o) => appendFileSync(jsonl, `${JSON.stringify({ bench: 'native', at: stamp, cpu: cpuModel, ...o })}\n`);

// 1. the peak: independent FMA chains, one core
const peaks = {};
const exe = join(dir, 'peak');
const cc = spawnSync(process.env.CC ?? 'cc', ['-O2', '-o', exe, join(root, 'bench', 'peak.c')], { encoding: 'utf8' });
if (cc.status === 0) {
  for (const line of spawnSync(exe, [], { encoding: 'utf8' }).stdout.trim().split('\n')) {
    const p = JSON.parse(line);
    peaks[p.isa] = p.gflops;
  }
  console.log(`single-core FMA peak: ${Object.entries(peaks).map(([k, v]) => `${k} ${v.toFixed(1)} GFLOP/s`).join(', ')}`);
  record({ kernel: 'peak', peaks });
} else console.log('no C compiler: peak probe skipped');

if (!load.addon) {
  console.log(`native addon not available (${load.reason}): nothing more to measure`);
  process.exit(0);
}

function fill(a, seed) {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296 - 0.5) * 2;
  }
  return a;
}

/** Interleaved rounds of the functions; returns the median seconds per call of each. */
function race(fns, rounds = quick ? 5 : 9) {
  for (const fn of fns) for (let i = 0; i < 3; i++) fn();
  const reps = fns.map((fn) => {
    let r = 1;
    for (;;) {
      const t0 = performance.now();
      for (let i = 0; i < r; i++) fn();
      if ((performance.now() - t0) / 1000 > minTime / rounds) return r;
      r *= 2;
    }
  });
  const runs = fns.map(() => []);
  for (let round = 0; round < rounds; round++) {
    fns.forEach((fn, f) => {
      const t0 = performance.now();
      for (let i = 0; i < reps[f]; i++) fn();
      runs[f].push((performance.now() - t0) / 1000 / reps[f]);
    });
  }
  return runs.map((r) => r.sort((a, b) => a - b)[r.length >> 1]);
}

const n1 = createNativeKernels({ threads: 1, isa: isaArg });
const n2 = createNativeKernels({ threads: 2, isa: isaArg });
const w1 = createWasmKernels({ threads: 1 });
const isa = n1.isa;
const peak = peaks[isa];
console.log(`native instruction set: ${isa}${peak ? ` (peak ${peak.toFixed(1)} GFLOP/s per core)` : ''}`);

const shapes = [
  // name, transA, transB, M, N, K
  ['input proj X·Wihᵀ  L1 of M', false, true, 2048, 1024, 256],
  ['dWhh = dGᵀ·Hprev', true, false, 1024, 256, 2048],
  ['dX = dG·Wih', false, false, 2048, 256, 1024],
  ['square 1024', false, false, 1024, 1024, 1024],
  ['recurrent h·Whhᵀ (per step)', false, true, 32, 1024, 256],
  ['bwd dh = dG·Whh (per step)', false, false, 32, 256, 1024],
  ['L: h·Whhᵀ (per step)', false, true, 64, 2048, 512],
  ['L: dh = dG·Whh (per step)', false, false, 64, 512, 2048],
  ['S: h·Whhᵀ (per step)', false, true, 32, 512, 128],
  ['logits H·Woutᵀ', false, true, 2048, 65, 256],
  ['dWout = dLᵀ·H', true, false, 65, 256, 2048],
  ['sampling h·Whhᵀ (batch 1)', false, true, 1, 1024, 256],
];
console.log('\nGEMM GFLOP/s (median of interleaved rounds), beta 1; % = share of the one-core peak');
console.log('shape'.padEnd(30) + 'M'.padStart(6) + 'N'.padStart(6) + 'K'.padStart(6) + '  native 1t'.padStart(13) + '  native 2t'.padStart(11) + '   wasm 1t');
for (const [name, ta, tb, M, N, K] of shapes) {
  const fns = [n1, n2, w1].map((k) => {
    const a = k.arena();
    const A = fill(a.floats(M * K), 1), B = fill(a.floats(K * N), 2), C = a.floats(M * N);
    return () => k.gemm(ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, 1, C, N);
  });
  const g = race(fns).map((s) => (2 * M * N * K) / s / 1e9);
  const pct = (x) => (peak ? ` ${((100 * x) / peak).toFixed(0)}%` : '');
  console.log(name.padEnd(30) + String(M).padStart(6) + String(N).padStart(6) + String(K).padStart(6) +
    `${g[0].toFixed(1)}${pct(g[0])}`.padStart(13) + g[1].toFixed(1).padStart(11) + g[2].toFixed(1).padStart(10));
  record({ kernel: 'gemm', isa, shape: name, transA: ta, transB: tb, M, N, K, peak: peak ?? null,
    native1: +g[0].toFixed(2), native2: +g[1].toFixed(2), wasm1: +g[2].toFixed(2) });
}

// 2. the hand-off: the LSTM time loop (per-step product + the wasm pointwise step), one
// thread against two threads splitting every product
console.log('\nLSTM forward time loop, T=64: h·W_hhᵀ [B,H]x[H,4H] + lstmForward per step, µs per step (median)');
console.log('B,H'.padEnd(10) + 'MFLOP'.padStart(8) + '  1 thread'.padStart(11) + '  2, split'.padStart(11) + '  default');
const nSplit = createNativeKernels({ threads: 2, isa: isaArg, splitFlops: 0 });
for (const [B, H] of [[1, 256], [8, 128], [32, 64], [32, 128], [16, 256], [32, 256], [64, 512]]) {
  const G = 4 * H, T = 64;
  const fns = [n1, nSplit, n2].map((k) => {
    const a = k.arena();
    const W = fill(a.floats(G * H), 3);
    for (let i = 0; i < W.length; i++) W[i] *= 0.05;
    const gates = a.floats(T * B * G), h = a.floats((T + 1) * B * H), c = a.floats((T + 1) * B * H), tc = a.floats(T * B * H);
    return () => {
      for (let t = 0; t < T; t++) {
        const g = gates.subarray(t * B * G, (t + 1) * B * G);
        k.gemm(false, true, B, G, H, h.subarray(t * B * H), H, W, H, 0, g, G);
        k.lstmForward(B, H, g, c.subarray(t * B * H), c.subarray((t + 1) * B * H), h.subarray((t + 1) * B * H), tc.subarray(t * B * H));
      }
    };
  });
  const r = race(fns).map((s) => (s / 64) * 1e6);
  const flops = 2 * B * H * G;
  console.log(`${B},${H}`.padEnd(10) + (flops / 1e6).toFixed(2).padStart(8) + r[0].toFixed(1).padStart(11) + r[1].toFixed(1).padStart(11) +
    r[2].toFixed(1).padStart(9) + (flops >= n2.info().splitFlops ? ' (split)' : ' (1 thread)'));
  record({ kernel: 'lstm-time-loop', isa, B, H, micros1: +r[0].toFixed(1), micros2split: +r[1].toFixed(1), microsDefault: +r[2].toFixed(1) });
}
console.log(`\nJSON lines appended to ${jsonl}`);
process.exit(0);
