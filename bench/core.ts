// One benchmark run of one config, in its own process (so peak RSS is this config's):
// warm-up, timed training (forward + loss + backward + clip + Adam, the Trainer's own
// step), then batch-1 temperature sampling. Bundled and driven by bench/run.mjs.
//
//   node core.mjs --cell lstm --layers 2 --hidden 256 --emb 64 --batch 32 --seq 64
//                 --seconds 10 --threads 2 --corpus FILE [--save CKPT] [--profile]
// Prints one JSON line on stdout; with --profile, a per-kernel table on stderr.
import { createKernels, type BackendName } from '../src/kernels/index.js';
import type { Kernels } from '../src/kernels/types.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { prepareRun } from '../src/train/run.js';
import type { LmSession } from '../src/tasks/lm.js';
import { Sampler } from '../src/sample/sampler.js';
import { saveCheckpoint } from '../src/checkpoint/store.js';
import type { CellKind } from '../src/nn/layer.js';

const argv = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const num = (name: string, def: number) => Number(arg(name, String(def)));

const cell = arg('cell', 'lstm') as CellKind;
const layers = num('layers', 1);
const hidden = num('hidden', 128);
const embed = num('emb', 64);
const batch = num('batch', 32);
const seq = num('seq', 64);
const seconds = num('seconds', 10);
const threads = num('threads', 0);
const warmupSteps = num('warmup', 5);
const minSteps = num('min-steps', 20);
const sampleChars = num('sample-chars', 2000);
const profile = argv.includes('--profile');
const save = arg('save', '');
const backend = arg('backend', 'auto') as BackendName;

const corpus = arg('corpus', '');

const splitW = num('split-weights', 0); // A/B measurement of the batch-1 split
const base = splitW > 0 ? createWasmKernels({ threads: threads > 0 ? threads : undefined, splitWeights: splitW })
  : createKernels({ backend, ...(threads > 0 ? { threads } : {}) });
const stats = new Map<string, { calls: number; ms: number; flops: number }>();
const k: Kernels = profile ? profiled(base, stats) : base;

// the same start as rnn train: defaults and checks from the library (src/train/run.ts)
const run = await prepareRun({
  kernels: k,
  input: { path: corpus },
  options: {
    cell, layers, hidden, embed, batch, seq, lr: 2e-3, schedule: 'constant', warmup: 0, seed: 1234, valFrac: 0.1,
    evalEvery: 0, evalWindows: 0,
  },
});
const { trainer } = run;
const session = run.session as LmSession;
const vocab = session.data.vocab;
if (argv.includes('--no-fold')) session.ws.foldEmbedding = false; // A/B measurement of the embedding fold
for (let i = 0; i < warmupSteps; i++) trainer.step();
stats.clear();
let steps = 0;
let loss = NaN;
const t0 = performance.now();
let dt = 0;
for (;;) {
  loss = trainer.step().loss;
  steps++;
  dt = (performance.now() - t0) / 1000;
  if (steps >= minSteps && dt >= seconds) break;
}
const trainCps = (batch * seq * steps) / dt;
if (profile) report(stats, steps, dt);
if (save) await saveCheckpoint(save, run.header, trainer.state());

// sampling: like torch_bench, 20 warm-up characters then sampleChars timed, temperature 0.8
const sampler = new Sampler(session.net, vocab, { seed: 1, temp: 0.8, topK: 0, topP: 1 });
sampler.start();
for (let i = 0; i < 20; i++) sampler.nextCharId();
stats.clear();
const s0 = performance.now();
let sample = '';
for (let i = 0; i < sampleChars; i++) {
  const ch = sampler.next();
  if (sample.length < 80) sample += ch;
}
const sdt = (performance.now() - s0) / 1000;
if (profile) {
  process.stderr.write('sampling, per character:\n');
  report(stats, sampleChars, sdt);
}

process.stdout.write(`${JSON.stringify({
  system: 'rnn', backend: base.name, isa: (base as { isa?: string }).isa ?? null, threads: (base as { threads?: number }).threads ?? 1, cell, layers, hidden,
  emb: embed, batch, seq, params: trainer.net.parameterCount, vocab: vocab.size, train_steps: steps,
  train_wall_s: +dt.toFixed(3), train_chars_per_s: +trainCps.toFixed(1), step_ms: +((1000 * dt) / steps).toFixed(2),
  last_loss: +loss.toFixed(4), sample_chars: sampleChars, sample_wall_s: +sdt.toFixed(3),
  sample_chars_per_s: +(sampleChars / sdt).toFixed(1), peak_rss_mib: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
  sample_text: sample,
})}\n`);
process.exit(0);

/** Wraps every kernel call with a timer; gemm is keyed by its shape. */
function profiled(inner: Kernels, into: typeof stats): Kernels {
  const add = (key: string, ms: number, flops: number) => {
    const s = into.get(key) ?? { calls: 0, ms: 0, flops: 0 };
    s.calls++;
    s.ms += ms;
    s.flops += flops;
    into.set(key, s);
  };
  return new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function' || prop === 'arena') return typeof v === 'function' ? v.bind(target) : v;
      return (...a: unknown[]) => {
        const t = performance.now();
        const r = (v as (...x: unknown[]) => unknown).apply(target, a);
        const ms = performance.now() - t;
        if (prop === 'gemm') {
          const [ta, tb, M, N, K] = a as [boolean, boolean, number, number, number];
          add(`gemm ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} ${M}x${N}x${K}`, ms, 2 * M * N * K);
        } else if (prop === 'lstmSweepForward' || prop === 'lstmSweepBackward') {
          // the per-step recurrent products of a window: T × 2·B·4H·H
          const [B, T, H] = a as [number, number, number];
          add(`${String(prop)} ${B}x${4 * H}x${H} x${T}`, ms, 2 * B * T * 4 * H * H);
        } else if (prop === 'gruTorchSweepForward' || prop === 'gruTorchSweepBackward') {
          const [B, T, H] = a as [number, number, number];
          add(`${String(prop)} ${B}x${3 * H}x${H} x${T}`, ms, 2 * B * T * 3 * H * H);
        } else add(String(prop), ms, 0);
        return r;
      };
    },
  });
}

function report(s: typeof stats, n: number, sec: number): void {
  const total = sec * 1000;
  let inK = 0;
  for (const v of s.values()) inK += v.ms;
  const rows = [...s.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const lines = [`profile: ${n} steps, ${(total / n).toFixed(2)} ms/step; kernels ${(100 * inK / total).toFixed(1)}% of the time`];
  lines.push('kernel (shape MxNxK)                calls/step   ms/step  share  GFLOP/s');
  for (const [key, v] of rows) {
    const gf = v.flops > 0 ? (v.flops / (v.ms / 1000) / 1e9).toFixed(1) : '';
    lines.push(`${key.padEnd(36)} ${(v.calls / n).toFixed(0).padStart(10)} ${(v.ms / n).toFixed(3).padStart(9)} ${(100 * v.ms / total).toFixed(1).padStart(5)}% ${gf.padStart(8)}`);
  }
  lines.push(`(outside kernels) ${((total - inK) / n).toFixed(3)} ms/step`);
  process.stderr.write(`${lines.join('\n')}\n`);
}
