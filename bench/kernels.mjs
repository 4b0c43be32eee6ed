// Kernel micro-benchmark: GFLOP/s of the WebAssembly GEMM on the shapes an RNN needs, the
// plain SIMD128 module against the relaxed-SIMD FMA one (1 thread each, and FMA on 2
// threads), and throughput of the pointwise kernels against the reference.
//
//   node bench/kernels.mjs            full table
//   node bench/kernels.mjs --quick    fewer repetitions
//
// The TypeScript sources are bundled on the fly with esbuild into a temporary file.
// Prints a table to stdout and appends JSON lines to bench/results/kernels.jsonl.
// Run it alone on the machine: timings of concurrent jobs are meaningless.
import { build } from 'esbuild';
import { mkdirSync, appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { checkOptions } from './options.mjs';

checkOptions('bench/kernels.mjs', import.meta.url, process.argv.slice(2), [], ['quick']);

const root = fileURLToPath(new URL('..', import.meta.url));
const quick = process.argv.includes('--quick');
const minTime = quick ? 0.1 : 0.3;

const dir = mkdtempSync(join(tmpdir(), 'rnn-bench-'));
const out = join(dir, 'kernels.mjs');
await build({
  stdin: {
    contents: `export { createWasmKernels, SPLIT_FLOPS } from './src/kernels/wasm/index.ts';
export { ReferenceKernels } from './src/kernels/reference.ts';`,
    resolveDir: root, loader: 'ts',
  },
  bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'warning',
});
const { createWasmKernels, SPLIT_FLOPS, ReferenceKernels } = await import(pathToFileURL(out).href);
rmSync(dir, { recursive: true, force: true });

/** Seconds per call: the median of 5 timed runs, each repeating until minTime/5 has passed. */
function time(fn) {
  for (let i = 0; i < 3; i++) fn(); // warm-up (and tier-up)
  const runs = [];
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    const dt = (performance.now() - t0) / 1000;
    if (dt > minTime / 5) {
      runs.push(dt / reps);
      break;
    }
    reps *= 2;
  }
  for (let r = 1; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    runs.push((performance.now() - t0) / 1000 / reps);
  }
  runs.sort((a, b) => a - b);
  return runs[2];
}

function fill(a, seed) {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296 - 0.5) * 2;
  }
  return a;
}

const shapes = [
  // name, transA, transB, M, N, K
  ['input proj X·Wihᵀ  [TB,E]x[E,G]', false, true, 2048, 1024, 64],
  ['input proj X·Wih   (W stored [E,G])', false, false, 2048, 1024, 64],
  ['recurrent h·Whhᵀ   [B,H]x[H,G]', false, true, 32, 1024, 256],
  ['recurrent h·Whh    (W stored [H,G])', false, false, 32, 1024, 256],
  ['bwd dh = dG·Whh    [B,G]x[G,H]', false, false, 32, 256, 1024],
  ['dWhh = dGᵀ·Hprev   [G,TB]x[TB,H]', true, false, 1024, 256, 2048],
  ['dWih = dGᵀ·X       [G,TB]x[TB,E]', true, false, 1024, 64, 2048],
  ['dX = dG·Wih        [TB,G]x[G,E]', false, false, 2048, 64, 1024],
  ['logits H·Woutᵀ     [TB,H]x[H,V]', false, true, 2048, 65, 256],
  ['dH = dL·Wout       [TB,V]x[V,H]', false, false, 2048, 256, 65],
  ['dWout = dLᵀ·H      [V,TB]x[TB,H]', true, false, 65, 256, 2048],
  ['V logits H·Woutᵀ   [TB,H]x[H,V]', false, true, 2048, 5000, 256],
  ['V dH = dL·Wout     [TB,V]x[V,H]', false, false, 2048, 256, 5000],
  ['V dWout = dLᵀ·H    [V,TB]x[TB,H]', true, false, 5000, 256, 2048],
  ['sample V logits    [1,H]x[H,V]', false, true, 1, 5000, 256],
  ['square 512 Aᵀ·Bᵀ', true, true, 512, 512, 512],
];

mkdirSync(join(root, 'bench/results'), { recursive: true });
const jsonl = join(root, 'bench/results/kernels.jsonl');
const stamp = new Date().toISOString();
const record = (o) => appendFileSync(jsonl, JSON.stringify({ bench: 'kernels', at: stamp, ...o }) + '\n');

console.log(`node ${process.version}, ${cpus()[0]?.model ?? '?'}, ${cpus().length} cpus, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const kPlain = createWasmKernels({ threads: 1, variant: 'simd' });
const k1 = createWasmKernels({ threads: 1 });
const k2 = createWasmKernels({ threads: 2 });
console.log(`default module: ${k1.name}`);
k2.startWorkers();

/** Interleaved rounds of fn1 and fn2 (each timed over ≥ minTime/rounds); returns [median, best] s per call. */
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
  return runs.map((r) => {
    r.sort((a, b) => a - b);
    return [r[r.length >> 1], r[0]];
  });
}

// warm-up: let V8 tier every kernel up (TurboFan compiles in the background) before timing
{
  const a = k1.arena();
  const A = fill(a.floats(512 * 512), 1), C = a.floats(512 * 512);
  const t0 = performance.now();
  while (performance.now() - t0 < 500) {
    for (const ta of [false, true]) for (const tb of [false, true]) for (const M of [16, 512]) k1.gemm(ta, tb, M, 512, 512, A, 512, A, 512, 1, C, 512);
  }
  const b = kPlain.arena();
  const P = fill(b.floats(512 * 512), 1), Q = b.floats(512 * 512);
  const t1 = performance.now();
  while (performance.now() - t1 < 500) {
    for (const ta of [false, true]) for (const tb of [false, true]) for (const M of [16, 512]) kPlain.gemm(ta, tb, M, 512, 512, P, 512, P, 512, 1, Q, 512);
  }
}

console.log('\nGEMM GFLOP/s, op(A)[M,K]·op(B)[K,N] beta 1: median / best of interleaved rounds');
console.log('shape'.padEnd(38) + 'M'.padStart(6) + 'N'.padStart(6) + 'K'.padStart(6)
  + '  SIMD128 1 thr'.padStart(14) + `${k1.variant} 1 thr`.padStart(14) + `${k2.variant} 2 thr`.padStart(14) + '  1-thr ratio');
for (const [name, ta, tb, M, N, K] of shapes) {
  const fns = [kPlain, k1, k2].map((k) => {
    const a = k.arena();
    const A = fill(a.floats(M * K), 1);
    const B = fill(a.floats(K * N), 2);
    const C = a.floats(M * N);
    const lda = ta ? M : K;
    const ldb = tb ? K : N;
    return () => k.gemm(ta, tb, M, N, K, A, lda, B, ldb, 1, C, N);
  });
  const g = race(fns).map(([med, best]) => [(2 * M * N * K) / med / 1e9, (2 * M * N * K) / best / 1e9]);
  const cell = ([m, b]) => `${m.toFixed(1)} / ${b.toFixed(1)}`.padStart(14);
  console.log(name.padEnd(38) + String(M).padStart(6) + String(N).padStart(6) + String(K).padStart(6) + cell(g[0]) + cell(g[1]) + cell(g[2])
    + `${(g[1][0] / g[0][0]).toFixed(2)}x`.padStart(10));
  record({ kernel: 'gemm', shape: name, transA: ta, transB: tb, M, N, K, variant: k1.variant,
    gflopsPlain1: +g[0][0].toFixed(2), gflopsPlain1Best: +g[0][1].toFixed(2),
    gflops1: +g[1][0].toFixed(2), gflops1Best: +g[1][1].toFixed(2), gflops2: +g[2][0].toFixed(2), gflops2Best: +g[2][1].toFixed(2) });
}

// The per-step recurrent product inside a time loop (with the LSTM pointwise step between
// products, as in training): does splitting it across threads pay?
console.log('\nLSTM forward time loop, T=64: h·W_hhᵀ [B,H]x[H,4H] + lstmForward per step, µs per step (median / best)');
console.log('B,H'.padEnd(12) + '    1 thread  2 thr, split');
const kSplit = createWasmKernels({ threads: 2, splitFlops: 0 }); // splits every product
kSplit.startWorkers();
for (const [B, H] of [[1, 256], [8, 128], [32, 64], [32, 128], [32, 256], [64, 512]]) {
  const G = 4 * H, T = 64;
  const fns = [k1, kSplit].map((k) => {
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
  const r = race(fns).map(([med, best]) => [med / 64 * 1e6, best / 64 * 1e6]);
  const cell = ([m, b]) => `${m.toFixed(0)} / ${b.toFixed(0)}`.padStart(13);
  const flops = 2 * B * H * G;
  console.log(`${B},${H}`.padEnd(12) + cell(r[0]) + cell(r[1]) +
    `   ${(flops / 1e6).toFixed(2)} MFLOP/step; default splits it: ${flops >= SPLIT_FLOPS ? 'yes' : 'no'}`);
  record({ kernel: 'lstm-time-loop', B, H, micros1: +r[0][0].toFixed(1), micros2: +r[1][0].toFixed(1),
    micros1Best: +r[0][1].toFixed(1), micros2Best: +r[1][1].toFixed(1) });
}
// The hand-off alone: a product too small to matter (8x16x8), split across both threads
// (publish the job, wake the worker, claim, wait for the last chunk) against the same call
// on one thread.
{
  const make = (k) => {
    const a = k.arena();
    const A = fill(a.floats(8 * 8), 1), B = fill(a.floats(8 * 16), 2), C = a.floats(8 * 16);
    return () => k.gemm(false, false, 8, 16, 8, A, 8, B, 16, 1, C, 16);
  };
  const [[one], [split]] = race([make(k1), make(kSplit)]);
  console.log(`hand-off: an 8x16x8 product on 1 thread ${(one * 1e6).toFixed(2)} µs, split over 2 threads ${(split * 1e6).toFixed(2)} µs`);
  record({ kernel: 'hand-off', micros1: +(one * 1e6).toFixed(2), micros2: +(split * 1e6).toFixed(2) });
}
kSplit.dispose();

console.log('\npointwise kernels (B=32, H=256 per step; softmax 2048x65; optimizers over 1M floats)');
console.log('kernel'.padEnd(28) + 'wasm µs'.padStart(10) + 'ref µs'.padStart(10) + 'speed-up'.padStart(10));
const ref = new ReferenceKernels('f32');
const n = 32, H = 256, rows = 2048, V = 65, P = 1 << 20;
function pointwise(name, make) {
  const a = k1.arena();
  const wasmBufs = make((len, seed) => fill(a.floats(len), seed), (len) => a.ints(len));
  const refBufs = make((len, seed) => fill(new Float32Array(len), seed), (len) => new Int32Array(len));
  const tw = time(() => wasmBufs(k1));
  const tr = time(() => refBufs(ref));
  console.log(name.padEnd(28) + (tw * 1e6).toFixed(1).padStart(10) + (tr * 1e6).toFixed(1).padStart(10) + (tr / tw).toFixed(1).padStart(9) + 'x');
  record({ kernel: name, wasmMicros: +(tw * 1e6).toFixed(2), refMicros: +(tr * 1e6).toFixed(2) });
}
pointwise('lstmForward', (f) => {
  const g0 = f(4 * n * H, 1), gates = f(4 * n * H, 0), cPrev = f(n * H, 2), c = f(n * H, 3), h = f(n * H, 4), tc = f(n * H, 5);
  return (k) => { gates.set(g0); k.lstmForward(n, H, gates, cPrev, c, h, tc); };
});
pointwise('lstmBackward', (f) => {
  const gates = f(4 * n * H, 1), cPrev = f(n * H, 2), tc = f(n * H, 3), dh = f(n * H, 4), dc = f(n * H, 5), dG = f(4 * n * H, 6);
  for (let i = 0; i < gates.length; i++) gates[i] = 0.5 + gates[i] / 2;
  return (k) => k.lstmBackward(n, H, gates, cPrev, tc, dh, dc, dG);
});
pointwise('gruTorchForward', (f) => {
  const g0 = f(3 * n * H, 1), gates = f(3 * n * H, 0), hw = f(3 * n * H, 2), hPrev = f(n * H, 3), h = f(n * H, 4);
  return (k) => { gates.set(g0); k.gruTorchForward(n, H, gates, hw, hPrev, h); };
});
pointwise('rnnForward tanh', (f) => {
  const pre = f(n * H, 1), h = f(n * H, 2);
  return (k) => k.rnnForward('tanh', n, H, pre, h);
});
pointwise('softmaxXent 2048x65 + grad', (f, ints) => {
  const logits = f(rows * V, 1), d = f(rows * V, 2), t = ints(rows);
  for (let i = 0; i < rows; i++) t[i] = (i * 7) % V;
  return (k) => k.softmaxXent(rows, V, logits, t, d, 1 / rows);
});
pointwise('softmaxXent 2048x5000 + grad', (f, ints) => {
  const V5 = 5000, logits = f(rows * V5, 1), d = f(rows * V5, 2), t = ints(rows);
  for (let i = 0; i < rows; i++) t[i] = (i * 7) % V5;
  return (k) => k.softmaxXent(rows, V5, logits, t, d, 1 / rows);
});
pointwise('adam 1M', (f) => {
  const p = f(P, 1), g = f(P, 2), m = f(P, 3), v = f(P, 4);
  for (let i = 0; i < P; i++) v[i] = Math.abs(v[i]);
  return (k) => k.adam(P, p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0);
});
pointwise('sumSquares 1M', (f) => {
  const x = f(P, 1);
  return (k) => k.sumSquares(P, x);
});
k2.dispose();
console.log(`\nJSON lines appended to ${jsonl}`);
