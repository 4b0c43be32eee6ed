// Quality benchmark (`npm run bench:quality`; not a test): the best validation loss a
// time budget buys with `rnn train --time` at its defaults, against PyTorch's plain recipe
// (../shared/bench/torch_bench.py --mode valrun: 2×256 LSTM, batch 32 × seq 64, Adam 2e-3
// constant, no dropout) on the same text and the same split (the last 10% held out).
//
//   npm run bench:quality -- [--budgets 1m,5m,15m] [--corpora shakespeare,fortunes,js,markov]
//                            [--layout side-by-side|sequential] [--rnn-args "--hidden 256"]
//                            [--no-torch] [--seed 1] [--out bench/results/quality.jsonl]
//
// --layout side-by-side (the default) runs both at once with one core each (rnn --threads 1,
// torch --threads 1); sequential runs rnn on both cores, then PyTorch on both cores.
// Corpora: names (shakespeare = ../shared/corpora/tinyshakespeare.txt; fortunes = the
// fortune-cookie files of Debian's `fortunes` package, concatenated; js = the JavaScript in
// node_modules, concatenated, 3 MB; markov = corpora/markov.txt, entropy 1.134 nats/char)
// or paths. Generated corpora go to a cache folder outside the repo and are never committed.
// A table goes to stdout; one JSON line per run and system to the --out file. Run it alone
// (under flock /tmp/rnn-timing.lock when the machine is shared): it measures time.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const flag = (name) => argv.includes(`--${name}`);
const log = (s) => process.stderr.write(`${s}\n`);

function parseDuration(s) {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`bad budget ${s} (e.g. 30s, 1m, 15m)`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] ?? 'm'];
}
const budgets = opt('budgets', '1m,5m,15m').split(',').map(parseDuration);
const corpusNames = opt('corpora', 'shakespeare,fortunes,js,markov').split(',').map((s) => s.trim());
const layout = opt('layout', 'side-by-side');
if (!['side-by-side', 'sequential'].includes(layout)) throw new Error('--layout is side-by-side or sequential');
const rnnExtra = opt('rnn-args', '').split(/\s+/).filter(Boolean);
const seed = opt('seed', '1');
const withTorch = !flag('no-torch');
const out = resolve(opt('out', join(root, 'bench', 'results', 'quality.jsonl')));
const torchBench = resolve(root, '..', 'shared', 'bench', 'torch_bench.py');
const TORCH_RECIPE = ['--layers', '2', '--hidden', '256', '--emb', '64', '--batch', '32', '--seq', '64', '--lr', '2e-3'];
const cache = resolve(opt('cache', join(tmpdir(), 'rnn-quality-corpora')));

// ---- corpora ----
function concatFiles(files, limit) {
  const parts = [];
  let size = 0;
  for (const f of files) {
    if (size >= limit) break;
    const text = readFileSync(f, 'utf8');
    if (text.includes('\u0000') || text.includes('\uFFFD')) continue; // binary or not UTF-8
    parts.push(text.endsWith('\n') ? text : `${text}\n`);
    size += text.length;
  }
  const all = parts.join('');
  return all.slice(0, all.lastIndexOf('\n', limit) + 1);
}
function walk(dir, keep) {
  const found = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) found.push(...walk(p, keep));
    else if (e.isFile() && keep(p)) found.push(p);
  }
  return found;
}
function corpusPath(name) {
  mkdirSync(cache, { recursive: true });
  if (name === 'shakespeare') return resolve(root, '..', 'shared', 'corpora', 'tinyshakespeare.txt');
  if (name === 'markov') return join(root, 'corpora', 'markov.txt');
  if (name === 'fortunes') {
    const p = join(cache, 'fortunes.txt');
    const dir = '/usr/share/games/fortunes';
    if (!existsSync(p)) {
      if (!existsSync(dir)) throw new Error(`${dir} not found: apt-get install fortunes (or pass a path)`);
      writeFileSync(p, concatFiles(walk(dir, (f) => !/\.(dat|u8)$/.test(f)), 1e8));
    }
    return p;
  }
  if (name === 'js') {
    const p = join(cache, 'js.txt');
    if (!existsSync(p)) {
      const files = walk(join(root, 'node_modules'), (f) => f.endsWith('.js') && !f.endsWith('.min.js') && statSync(f).size > 2_000 && statSync(f).size < 200_000);
      writeFileSync(p, concatFiles(files, 3_000_000));
    }
    return p;
  }
  if (!existsSync(name)) throw new Error(`corpus ${name}: not a known name (shakespeare, fortunes, js, markov) nor a file`);
  return resolve(name);
}

// ---- runs ----
function lines(cmd, args, onLine) {
  return new Promise((resolveRun, reject) => {
    const p = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let err = '';
    p.stdout.on('data', (d) => {
      buf += d;
      for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
        try {
          onLine(JSON.parse(buf.slice(0, i)));
        } catch { /* not JSON */ }
      }
    });
    p.stderr.on('data', (d) => { err = (err + d).slice(-2000); });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolveRun() : reject(new Error(`${cmd} exited ${code}: ${err.trim().split('\n').pop()}`))));
  });
}

async function runRnn(corpus, seconds, threads) {
  const ckdir = mkdtempSync(join(tmpdir(), 'rnn-quality-'));
  const args = [join(root, 'bin', 'rnn.js'), 'train', corpus, '--time', `${seconds}s`, '--val-frac', '0.1', '--seed', seed,
    '--threads', String(threads), '--out', ckdir, '--json', '--json-every', '100000', '--quiet', ...rnnExtra];
  let start = null;
  let end = null;
  const evals = [];
  const t0 = Date.now();
  try {
    await lines('node', args, (e) => {
      if (e.type === 'start') start = e;
      else if (e.type === 'eval') evals.push({ step: e.step, elapsedS: e.elapsedMs / 1000, train: e.train, val: e.val });
      else if (e.type === 'end') end = e;
    });
  } finally {
    rmSync(ckdir, { recursive: true, force: true });
  }
  const c = start?.config ?? {};
  return {
    system: 'rnn', threads, wallS: (Date.now() - t0) / 1000, bestVal: end.bestVal, bestStep: end.bestStep, steps: end.step,
    model: `${c.layers}x${c.hidden} ${c.cell} e${c.embed} B${c.batch} T${c.seq} lr${c.lr} dropout ${c.dropout}`,
    sizing: start?.sizing?.reasons ?? null, parameters: start?.parameters, evals,
  };
}

async function runTorch(corpus, seconds, threads) {
  const evals = [];
  const t0 = Date.now();
  let meta = null;
  const every = Math.max(5, Math.round(seconds / 10));
  await lines('python3', [torchBench, '--mode', 'valrun', '--corpus', corpus, '--train-seconds', String(seconds),
    '--eval-every', String(every), '--threads', String(threads), ...TORCH_RECIPE], (e) => {
    if (e.mode !== 'valrun') return;
    meta = e;
    evals.push({ step: e.steps, elapsedS: e.train_wall_s, train: e.train_loss_recent, val: e.val_loss_nats });
  });
  const best = evals.reduce((b, e) => (b === null || e.val < b.val ? e : b), null);
  return {
    system: meta?.system ?? 'pytorch', threads, wallS: (Date.now() - t0) / 1000, bestVal: best?.val ?? null, bestStep: best?.step ?? 0,
    steps: evals.at(-1)?.step ?? 0, model: '2x256 lstm e64 B32 T64 lr0.002 constant', parameters: meta?.params, evals,
  };
}

// ---- main ----
const cpu = cpus()[0]?.model ?? 'unknown CPU';
log(`bench:quality · ${cpu} · ${cpus().length} cores · layout ${layout} · budgets ${budgets.map((b) => `${b}s`).join(', ')}`);
mkdirSync(dirname(out), { recursive: true });
const rows = [];
const bpc = (x) => (x === null ? 'n/a' : (x / Math.LN2).toFixed(3));
const nats = (x) => (x === null ? 'n/a' : x.toFixed(3));
for (const name of corpusNames) {
  const corpus = corpusPath(name);
  for (const seconds of budgets) {
    log(`${name} · ${seconds}s …`);
    let rnn;
    let torch = null;
    if (layout === 'side-by-side') {
      [rnn, torch] = await Promise.all([runRnn(corpus, seconds, 1), withTorch ? runTorch(corpus, seconds, 1) : null]);
    } else {
      rnn = await runRnn(corpus, seconds, 2);
      if (withTorch) torch = await runTorch(corpus, seconds, 2);
    }
    const when = new Date().toISOString();
    for (const r of [rnn, torch]) {
      if (!r) continue;
      appendFileSync(out, `${JSON.stringify({ when, corpus: name, corpusPath: relative(root, corpus), budgetS: seconds, layout, cpu, ...r })}\n`);
    }
    rows.push({ name, seconds, rnn, torch });
    log(`  rnn ${nats(rnn.bestVal)} (${rnn.model})${torch ? ` · torch ${nats(torch.bestVal)}` : ''}`);
  }
}

console.log(`| corpus | budget | rnn best val (nats) | bpc | rnn model | steps | PyTorch best val | bpc | steps | rnn − PyTorch |`);
console.log(`|---|---|---|---|---|---|---|---|---|---|`);
for (const { name, seconds, rnn, torch } of rows) {
  const diff = torch && rnn.bestVal !== null && torch.bestVal !== null ? (rnn.bestVal - torch.bestVal).toFixed(3) : 'n/a';
  console.log(`| ${name} | ${seconds >= 60 ? `${seconds / 60} min` : `${seconds} s`} | ${nats(rnn.bestVal)} | ${bpc(rnn.bestVal)} | ${rnn.model} | ${rnn.steps} | ` +
    `${torch ? nats(torch.bestVal) : 'n/a'} | ${torch ? bpc(torch.bestVal) : 'n/a'} | ${torch ? torch.steps : 'n/a'} | ${diff} |`);
}
log(`results appended to ${relative(process.cwd(), out) || out}`);
