// End-to-end benchmark (`npm run bench`): trains configs S, M, L, G of issue 3 and V (a
// large vocabulary: a generated corpus of 5,000 symbols, bench/large-vocab.mjs) with the
// library (bench/core.ts, bundled on the fly), interleaved round by round with
// ../shared/bench/torch_bench.py on the same configs when PyTorch is importable, and
// reports medians: train chars/s, batch-1 sampling chars/s (temperature 0.8), peak RSS,
// and the cold start of `node bin/rnn.js sample -n 100` on a saved M checkpoint.
//
//   npm run bench -- [--configs S,M,L,G,V] [--seconds 10] [--rounds 3] [--corpus FILE]
//                    [--no-torch] [--torch-threads1] [--threads N] [--cold-runs 20]
//                    [--cold-only]  (only the cold start: --version and sample -n 100)
//                    [--backend auto|native|wasm|reference, or a list: native,wasm]
//                    [--min-steps N] [--warmup N]   (timed steps at least, default 20, and
//                                     warm-up steps, default 5: fewer on a slow or busy machine)
//                    [--baseline DIR]  (also run DIR's bench/core.ts, a checkout of another
//                                       commit, in the same rounds, and give the ratios)
//                    [--profile]   (per-kernel time table of each config, no timing run)
//
// With a list of backends each round runs every one of them, interleaved with PyTorch; the
// first one is the main row of the table, the others get a row of their own.
//
// Table on stdout; JSON lines appended to bench/results/bench.jsonl. Run it alone on the
// machine: timings of concurrent jobs are meaningless.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOptions } from './options.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const flag = (name) => argv.includes(`--${name}`);
checkOptions('bench', import.meta.url, argv,
  ['configs', 'seconds', 'rounds', 'corpus', 'threads', 'cold-runs', 'backend', 'min-steps', 'warmup', 'baseline'],
  ['no-torch', 'torch-threads1', 'cold-only', 'profile']);

const CONFIGS = {
  S: { cell: 'lstm', layers: 1, hidden: 128, emb: 64, batch: 32, seq: 64 },
  M: { cell: 'lstm', layers: 2, hidden: 256, emb: 64, batch: 32, seq: 64 },
  L: { cell: 'lstm', layers: 1, hidden: 512, emb: 64, batch: 64, seq: 100 },
  G: { cell: 'gru', layers: 2, hidden: 256, emb: 64, batch: 32, seq: 64 },
  V: { cell: 'lstm', layers: 1, hidden: 256, emb: 64, batch: 32, seq: 64, largeVocab: true },
};
const names = opt('configs', 'S,M,L,G,V').split(',').map((s) => s.trim().toUpperCase());
for (const n of names) if (!CONFIGS[n]) throw new Error(`unknown config ${n} (S, M, L, G, V)`);
const seconds = Number(opt('seconds', '10'));
const rounds = Number(opt('rounds', '3'));
const threads = Number(opt('threads', '0'));
const coldRuns = Number(opt('cold-runs', '20'));
const coldOnly = flag('cold-only');
const corpus = resolve(opt('corpus', join(root, '..', 'shared', 'corpora', 'tinyshakespeare.txt')));
const torchBench = resolve(root, '..', 'shared', 'bench', 'torch_bench.py');
const profile = flag('profile');
const minSteps = opt('min-steps', '');
const warmup = opt('warmup', '');
const baselineDir = opt('baseline', '');
const backends = opt('backend', 'auto').split(',').map((s) => s.trim());
for (const b of backends) if (!['auto', 'native', 'wasm', 'reference'].includes(b)) throw new Error(`unknown backend ${b}`);
if (!existsSync(corpus)) throw new Error(`corpus ${corpus} not found (give one with --corpus)`);

// under build/, so that the native addon's loader finds build/Release next to the bundle
mkdirSync(join(root, 'build'), { recursive: true });
const dir = mkdtempSync(join(root, 'build', 'bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const bundleCore = async (tree, outfile) => {
  await build({
    entryPoints: [join(tree, 'bench', 'core.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20',
    outfile, logLevel: 'warning',
    banner: { js: "import { createRequire as __rnnCreateRequire } from 'node:module'; const require = __rnnCreateRequire(import.meta.url);" },
  });
  return outfile;
};
const core = await bundleCore(root, join(dir, 'core.mjs'));
const baseCore = baselineDir ? await bundleCore(resolve(baselineDir), join(dir, 'baseline-core.mjs')) : null;
// config V's corpus: about 5,000 symbols, generated (not committed)
let vocabCorpus = null;
if (names.some((n) => CONFIGS[n].largeVocab)) {
  const { largeVocabText } = await import('./large-vocab.mjs');
  vocabCorpus = join(dir, 'large-vocab.txt');
  writeFileSync(vocabCorpus, largeVocabText());
}
const corpusOf = (c) => (c.largeVocab ? vocabCorpus : corpus);

const log = (s) => process.stderr.write(`${s}\n`);
// our configs map onto our cell names (torch_bench's 'gru' is PyTorch's nn.GRU = 'gru-torch')
const ourCell = (c) => (c === 'gru' ? 'gru-torch' : c);
const cfgArgs = (c, cellName) => ['--cell', cellName, '--layers', c.layers, '--hidden', c.hidden, '--emb', c.emb,
  '--batch', c.batch, '--seq', c.seq].map(String);

function runJson(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, cwd: root });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  if (r.stderr.trim() && profile) process.stderr.write(r.stderr);
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return JSON.parse(line);
}

const ours = (c, extra = [], backend = backends[0], bundle = core) => runJson(process.execPath, [bundle, ...cfgArgs(c, ourCell(c.cell)),
  '--seconds', String(seconds), '--corpus', corpusOf(c), '--backend', backend, ...(threads > 0 ? ['--threads', String(threads)] : []),
  ...(minSteps ? ['--min-steps', minSteps] : []), ...(warmup ? ['--warmup', warmup] : []), ...extra]);
const torch = (c, t) => runJson('python3', [torchBench, ...cfgArgs(c, c.cell), '--seconds', String(seconds),
  '--corpus', corpusOf(c), ...(t ? ['--threads', String(t)] : [])]);

if (profile) {
  for (const n of names) {
    log(`== ${n}`);
    runJson(process.execPath, [core, ...cfgArgs(CONFIGS[n], ourCell(CONFIGS[n].cell)), '--seconds', String(seconds),
      '--corpus', corpusOf(CONFIGS[n]), '--sample-chars', '200', '--profile', '--backend', backends[0], ...(threads > 0 ? ['--threads', String(threads)] : [])]);
  }
  process.exit(0);
}

const haveTorch = !flag('no-torch') && spawnSync('python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
  && existsSync(torchBench);
const torch1 = haveTorch && flag('torch-threads1');
const results = {}; // name -> { ours: [], torch: [], torch1: [] }
for (let r = 0; r < (coldOnly ? 0 : rounds); r++) {
  for (const n of names) {
    const c = CONFIGS[n];
    const slot = (results[n] ??= { ours: [], base: [], others: backends.slice(1).map(() => []), torch: [], torch1: [] });
    // with a baseline, alternate which of the two runs first from round to round
    const runBase = () => {
      const b = ours(c, [], backends[0], baseCore);
      slot.base.push(b);
      log(`round ${r + 1}/${rounds} ${n}: baseline ${b.backend} ${b.train_chars_per_s} chars/s, sample ${b.sample_chars_per_s}`);
    };
    if (baseCore && r % 2 === 0) runBase();
    const o = ours(c);
    slot.ours.push(o);
    log(`round ${r + 1}/${rounds} ${n}: rnn ${o.backend} ${o.train_chars_per_s} chars/s, sample ${o.sample_chars_per_s}`);
    if (baseCore && r % 2 === 1) runBase();
    backends.slice(1).forEach((b, i) => {
      const x = ours(c, [], b);
      slot.others[i].push(x);
      log(`round ${r + 1}/${rounds} ${n}: rnn ${x.backend} ${x.train_chars_per_s} chars/s, sample ${x.sample_chars_per_s}`);
    });
    if (haveTorch) {
      const t = torch(c, 0);
      slot.torch.push(t);
      log(`round ${r + 1}/${rounds} ${n}: pytorch(${t.threads} threads) ${t.train_chars_per_s} chars/s, sample ${t.sample_chars_per_s}`);
      if (torch1) slot.torch1.push(torch(c, 1));
    }
  }
}

// cold start: whole processes, paired and interleaved with an empty Node process
// (node -e 0, ours, node -e 0, ours, …) so that a drift in the machine's speed moves both
// sides of a pair; the ratio is the median of the per-pair ratios. `rnn --version` and
// `rnn sample -n 100` on a saved M checkpoint, --cold-runs pairs each after 2 warm-ups.
let cold = null;
if (coldRuns > 0) {
  const ckpt = join(dir, 'm.safetensors');
  ours(CONFIGS.M, ['--save', ckpt, '--seconds', '0', '--min-steps', '3', '--sample-chars', '10']);
  const bin = join(root, 'bin', 'rnn.js');
  if (!existsSync(bin)) spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  const timed = (args) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr}`);
    return ms;
  };
  const paired = (args) => {
    const pairs = [];
    for (let i = 0; i < coldRuns + 2; i++) {
      const empty = timed(['-e', '0']);
      const ms = timed(args);
      if (i >= 2) pairs.push({ empty, ms, ratio: ms / empty });
    }
    const mid = (key) => median(pairs.map((x) => x[key]));
    return { ms: mid('ms'), node_empty_ms: mid('empty'), ratio: mid('ratio'), runs: pairs.length };
  };
  const version = paired([bin, '--version']);
  const sample = paired([bin, 'sample', '-n', '100', '--checkpoint', ckpt, '--seed', '1']);
  cold = { version, sample, rnn_ms: sample.ms, node_empty_ms: sample.node_empty_ms, runs: sample.runs };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const med = (arr, key) => (arr.length ? median(arr.map((x) => x[key])) : null);
const fmt = (x) => (x === null ? '—' : Math.round(x).toLocaleString('en-US'));
const ratio = (a, b) => (a === null || b === null ? '—' : `${(a / b).toFixed(2)}x`);

const stamp = new Date().toISOString();
const machine = { nproc: cpus().length, cpu: cpus()[0]?.model, node: process.version };
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const out = join(root, 'bench', 'results', 'bench.jsonl');
const lines = [];
const baseLines = baseCore ? [`against the baseline ${resolve(baselineDir)} (same rounds, alternating order)`,
  '| config | backend | rnn train chars/s | baseline | ratio | rnn sample chars/s | baseline | ratio |', '|---|---|---|---|---|---|---|---|'] : [];
const hdr = '| config | rnn train chars/s | PyTorch chars/s | ratio | rnn sample chars/s | PyTorch sample | ratio | rnn RSS MiB | PyTorch RSS MiB |';
lines.push(hdr, '|---|---|---|---|---|---|---|---|---|');
for (const n of coldOnly ? [] : names) {
  const s = results[n];
  const row = {
    config: n, ...CONFIGS[n], seconds, rounds,
    rnn_train: med(s.ours, 'train_chars_per_s'), rnn_sample: med(s.ours, 'sample_chars_per_s'), rnn_rss: med(s.ours, 'peak_rss_mib'),
    rnn_threads: s.ours[0]?.threads, rnn_backend: s.ours[0]?.backend, rnn_isa: s.ours[0]?.isa ?? null,
    torch_train: med(s.torch, 'train_chars_per_s'), torch_sample: med(s.torch, 'sample_chars_per_s'), torch_rss: med(s.torch, 'peak_rss_mib'),
    torch_threads: s.torch[0]?.threads ?? null, torch_version: s.torch[0]?.system ?? null,
    torch1_train: med(s.torch1, 'train_chars_per_s'), torch1_sample: med(s.torch1, 'sample_chars_per_s'),
    base_train: med(s.base, 'train_chars_per_s'), base_sample: med(s.base, 'sample_chars_per_s'),
  };
  appendFileSync(out, `${JSON.stringify({ time: stamp, machine, ...row })}\n`);
  lines.push(`| ${n} | ${fmt(row.rnn_train)} | ${fmt(row.torch_train)} | ${ratio(row.rnn_train, row.torch_train)} | ${fmt(row.rnn_sample)} | ${fmt(row.torch_sample)} | ${ratio(row.rnn_sample, row.torch_sample)} | ${fmt(row.rnn_rss)} | ${fmt(row.torch_rss)} |`);
  backends.slice(1).forEach((b, i) => {
    const o = s.others[i];
    const extra = { config: n, backend: o[0]?.backend, train: med(o, 'train_chars_per_s'), sample: med(o, 'sample_chars_per_s'), rss: med(o, 'peak_rss_mib') };
    appendFileSync(out, `${JSON.stringify({ time: stamp, machine, extra_backend: extra })}\n`);
    lines.push(`|   (rnn ${extra.backend}) | ${fmt(extra.train)} | | ${ratio(extra.train, row.torch_train)} | ${fmt(extra.sample)} | | ${ratio(extra.sample, row.torch_sample)} | ${fmt(extra.rss)} | |`);
  });
  if (baseCore) {
    baseLines.push(`| ${n} | ${row.rnn_backend} | ${fmt(row.rnn_train)} | ${fmt(row.base_train)} | ${ratio(row.rnn_train, row.base_train)} | ${fmt(row.rnn_sample)} | ${fmt(row.base_sample)} | ${ratio(row.rnn_sample, row.base_sample)} |`);
  }
  if (torch1) lines.push(`|   (PyTorch 1 thread) | | ${fmt(row.torch1_train)} | ${ratio(row.rnn_train, row.torch1_train)} | | ${fmt(row.torch1_sample)} | ${ratio(row.rnn_sample, row.torch1_sample)} | | |`);
}
if (baseCore) lines.push('', ...baseLines);
if (cold) {
  appendFileSync(out, `${JSON.stringify({ time: stamp, machine, cold_start: cold })}\n`);
  const c = (what, x) => `${what}: median ${x.ms.toFixed(0)} ms, ${x.ratio.toFixed(2)}x node -e 0 (${x.node_empty_ms.toFixed(0)} ms), ${x.runs} paired runs`;
  lines.push('', `cold start, whole process: ${c('`rnn --version`', cold.version)}; ${c('`rnn sample -n 100` (M checkpoint)', cold.sample)}`);
}
lines.push(`machine: ${machine.nproc} cpus, ${machine.cpu}, Node ${machine.node}; rnn backend ${results[names[0]]?.ours[0]?.backend ?? '?'}` +
  `${results[names[0]]?.ours[0]?.isa ? ` (${results[names[0]].ours[0].isa})` : ''}; ${rounds} rounds of ${seconds} s, medians`);
process.stdout.write(`${lines.join('\n')}\n`);
