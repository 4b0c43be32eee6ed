// Training throughput of the classifier network against the language model of the same
// size (same cell, E, H, L, B, T): forward + loss + backward + clip + Adam per step,
// synthetic ids, no data pipeline, jobs interleaved round by round; medians.
// chars/s = characters of real (unpadded) input per second. Bundled and run by
// bench/classifier.mjs:
//
//   node bench/classifier.mjs [--cell lstm] [--layers 2] [--hidden 256] [--emb 64]
//        [--batch 32] [--seq 64] [--seconds 4] [--rounds 3] [--only 'cls bi, all len T']
import { createKernels } from '../src/kernels/index.js';
import { Model } from '../src/nn/model.js';
import { ClassifierModel } from '../src/nn/classifier.js';
import { Optimizer, DEFAULT_OPTIM } from '../src/nn/optim.js';
import { clipGlobalNorm } from '../src/nn/clip.js';
import { Rng } from '../src/util/rng.js';
import type { CellKind } from '../src/nn/layer.js';

const argv = process.argv.slice(2);
const arg = (n: string, d: string) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1]! : d;
};
const cell = arg('cell', 'lstm') as CellKind;
const L = Number(arg('layers', '2')); const H = Number(arg('hidden', '256')); const E = Number(arg('emb', '64'));
const B = Number(arg('batch', '32')); const T = Number(arg('seq', '64')); const V = 65;
const seconds = Number(arg('seconds', '4')); const rounds = Number(arg('rounds', '3'));
const k = createKernels({});
const rng = new Rng(1);

type Job = { name: string; step: () => void; chars: number };
function lmJob(): Job {
  const m = new Model(k, { cell, vocab: V, embed: E, hidden: H, layers: L });
  m.init(rng);
  const ws = m.workspace(B, T, true);
  for (let i = 0; i < ws.ids.length; i++) { ws.ids[i] = rng.int(V); ws.targets[i] = rng.int(V); }
  const opt = new Optimizer(k, DEFAULT_OPTIM.adam, m.params.length, m.arena);
  return { name: 'lm', chars: B * T, step: () => { m.grads.fill(0); ws.forward(); ws.loss(); ws.backward(); clipGlobalNorm(k, m.grads, 5); opt.step(m.params, m.grads, 1e-3); } };
}
function clsJob(name: string, bidirectional: boolean, lens: (b: number) => number, pool: 'last' | 'mean' = 'last'): Job {
  const m = new ClassifierModel(k, { cell, vocab: V, embed: E, hidden: H, layers: L, bidirectional, pool, classes: 10 });
  m.init(rng);
  const ws = m.workspace(B, T, true);
  let chars = 0;
  for (let b = 0; b < B; b++) { ws.lengths[b] = lens(b); chars += ws.lengths[b]!; ws.labels[b] = rng.int(10); }
  for (let i = 0; i < ws.ids.length; i++) ws.ids[i] = rng.int(V);
  ws.setSteps(Math.max(...ws.lengths));
  const opt = new Optimizer(k, DEFAULT_OPTIM.adam, m.params.length, m.arena);
  return { name, chars, step: () => { m.grads.fill(0); ws.forward(); ws.loss(); ws.backward(); clipGlobalNorm(k, m.grads, 5); opt.step(m.params, m.grads, 1e-3); } };
}
const jobs = [
  lmJob(),
  clsJob('cls uni, all len T', false, () => T),
  clsJob('cls uni, len T-8..T', false, () => T - 8 + rng.int(9)),
  clsJob('cls uni, len T/2..T', false, () => T / 2 + rng.int(T / 2 + 1)),
  clsJob('cls uni mean, all len T', false, () => T, 'mean'),
  clsJob('cls bi, all len T', true, () => T),
];
const only = arg('only', '');
if (only) jobs.splice(0, jobs.length, ...jobs.filter((j) => j.name === only || j.name === 'lm'));
const results = new Map<string, number[]>();
for (const j of jobs) for (let i = 0; i < 3; i++) j.step(); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const j of jobs) {
    let steps = 0; const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) { j.step(); steps++; }
    const cps = (steps * j.chars) / ((performance.now() - t0) / 1000);
    results.set(j.name, [...(results.get(j.name) ?? []), cps]);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const lm = med(results.get('lm')!);
console.log(`${cell} L=${L} H=${H} E=${E} B=${B} T=${T} backend=${k.name}, median of ${rounds} rounds of ${seconds}s`);
for (const j of jobs) {
  const m = med(results.get(j.name)!);
  console.log(`${j.name.padEnd(26)} ${Math.round(m).toString().padStart(8)} chars/s  ${(m / lm).toFixed(2)}x LM   (rounds: ${results.get(j.name)!.map((v) => Math.round(v)).join(', ')})`);
}
