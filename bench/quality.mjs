// Quality benchmark (`npm run bench:quality`; not a test): the best validation loss a
// time budget buys with `rnn train --time` at its defaults, against PyTorch's plain recipe
// (../shared/bench/torch_bench.py --mode valrun: 2×256 LSTM, batch 32 × seq 64, Adam 2e-3
// constant, no dropout) on the same text and the same split (the last 10% held out), or
// against rnn's previous defaults (--recipe old).
//
//   npm run bench:quality -- [--budgets 1m,5m,15m] [--corpora shakespeare,fortunes,js,markov]
//                            [--layout side-by-side|sequential] [--rnn-args "--hidden 256"]
//                            [--no-torch] [--deadline 17:50] [--seed 1]
//                            [--recipe new|old] [--old-speed shakespeare=66:1256,...]
//                            [--jobs N] [--rnn bin/rnn.js] [--out bench/results/quality.jsonl]
//                            [--keep bench/results/checkpoints | --no-keep] [--cache DIR]
//
// --layout side-by-side (the default) runs both at once with one core each (rnn --threads 1,
// torch --threads 1); sequential runs rnn on both cores, then PyTorch on both cores. With
// --no-torch, side by side runs two rnn jobs at once, one core each, in the order budget by
// budget, corpus by corpus (so --budgets 15m --corpora fortunes,js,shakespeare,markov runs
// fortunes ‖ js, then shakespeare ‖ markov). --deadline HH:MM (UTC) skips the jobs that
// could not end before it.
// --recipe old trains the defaults rnn had when issue 12 was filed (TRAIN_DEFAULTS at
// dc1e4bf: 2×128 LSTM, embed 64, batch 50 × seq 50, Adam 2e-3, cosine to a tenth with 100
// warm-up steps, clip 5, no dropout) for the steps its measured speed buys in each budget:
// --old-speed gives, per corpus, the step time and the time of one evaluation with its
// saves (ms, measured on this machine, same threads); the run validates k times, as many
// as fit in 4% of the budget (1 to 10, as the defaults' clock does), and gets
// steps = (budget − k · evaluation) / step time. Step-bounded runs do not depend on the
// load: run them under a background wrapper, several at once (--jobs N).
// Every rnn run's best checkpoint is also scored by `rnn eval` on the held-out text as one
// stream (batch 1, all of it): exactVal, the same figure whatever batch and window the run
// validated with. That checkpoint is kept (--keep DIR, default bench/results/checkpoints;
// --no-keep deletes it) and its path, size, CRC-32 and step go with exactVal in the JSON line,
// so every exact figure can be traced to its file and scored again.
// Corpora: names (shakespeare = ../shared/corpora/tinyshakespeare.txt; fortunes = the
// fortune-cookie files of Debian's `fortunes` package, concatenated; js = the JavaScript in
// node_modules, concatenated, 3 MB; markov = corpora/markov.txt, entropy 1.134 nats/char)
// or paths. Generated corpora go to a cache folder outside the repo (--cache DIR; default
// rnn-quality-corpora in the temp folder) and are never committed.
// A table goes to stdout; one JSON line per run and system to the --out file. Timed runs
// (--recipe new) must run alone on the machine: they measure time.
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOptions } from './options.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const flag = (name) => argv.includes(`--${name}`);
checkOptions('bench:quality', import.meta.url, argv,
  ['budgets', 'corpora', 'layout', 'rnn-args', 'deadline', 'seed', 'recipe', 'old-speed', 'jobs', 'rnn', 'out', 'keep', 'cache'],
  ['no-torch', 'no-keep']);
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
const recipe = opt('recipe', 'new');
if (!['new', 'old'].includes(recipe)) throw new Error('--recipe is new (rnn\'s defaults, --time) or old (issue 12\'s starting defaults, --steps)');
const withTorch = !flag('no-torch') && recipe === 'new';
const deadline = opt('deadline', null);
const jobs = Number(opt('jobs', layout === 'side-by-side' && !withTorch ? '2' : '1'));
/** rnn's defaults when issue 12 was filed (src/train/config.ts TRAIN_DEFAULTS at dc1e4bf); the shape flags also turn sizing off. */
const OLD_RECIPE = ['--cell', 'lstm', '--layers', '2', '--hidden', '128', '--embed', '64', '--batch', '50', '--seq', '50', '--lr', '2e-3',
  '--clip', '5', '--optim', 'adam', '--schedule', 'cosine', '--warmup', '100', '--dropout', '0'];
const oldSpeed = Object.fromEntries(opt('old-speed', '').split(',').filter(Boolean).map((e) => {
  const m = /^([^=]+)=(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(e.trim());
  if (!m) throw new Error(`--old-speed ${e}: give corpus=stepMs:evalMs`);
  return [m[1], { stepMs: Number(m[2]), evalMs: Number(m[3]) }];
}));
const out = resolve(opt('out', join(root, 'bench', 'results', 'quality.jsonl')));
const torchBench = resolve(root, '..', 'shared', 'bench', 'torch_bench.py');
const TORCH_RECIPE = ['--layers', '2', '--hidden', '256', '--emb', '64', '--batch', '32', '--seq', '64', '--lr', '2e-3'];
const cache = resolve(opt('cache', join(tmpdir(), 'rnn-quality-corpora')));
/** The rnn CLI to run (default this checkout's; e.g. a frozen copy for long background runs). */
const rnnBin = resolve(opt('rnn', join(root, 'bin', 'rnn.js')));
/** Where each run's best checkpoint (the one exactVal scores) is kept; null: deleted with the run's folder. */
const keepDir = flag('no-keep') ? null : resolve(opt('keep', join(root, 'bench', 'results', 'checkpoints')));

/** CRC-32 (IEEE, as zip and PNG use it) of a buffer, as 8 hex digits. */
function crc32(buf) {
  let c = ~0;
  for (let i = 0; i < buf.length; i++) {
    c ^= buf[i];
    for (let b = 0; b < 8; b++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ((~c) >>> 0).toString(16).padStart(8, '0');
}

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

/** The held-out text of a corpus as rnn splits it: the last ⌊N · 0.1⌋ characters. */
function heldOutPath(name, corpus) {
  const p = join(cache, `${name.replace(/[^\w.-]/g, '_')}.val.txt`);
  if (!existsSync(p)) {
    const chars = Array.from(readFileSync(corpus, 'utf8'));
    writeFileSync(p, chars.slice(chars.length - Math.floor(chars.length * 0.1)).join(''));
  }
  return p;
}

/** The old recipe's steps and evaluations for a budget (see the header). */
function oldPlan(name, seconds) {
  const sp = oldSpeed[name];
  if (!sp) throw new Error(`--recipe old needs --old-speed ${name}=stepMs:evalMs`);
  const k = Math.max(1, Math.min(10, Math.floor((0.04 * seconds * 1000) / sp.evalMs)));
  const steps = Math.floor((seconds * 1000 - k * sp.evalMs) / sp.stepMs);
  return { steps, evals: k, evalEvery: Math.ceil(steps / k), ...sp };
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

async function runRnn(name, corpus, seconds, threads) {
  const ckdir = mkdtempSync(join(tmpdir(), 'rnn-quality-'));
  const plan = recipe === 'old' ? oldPlan(name, seconds) : null;
  const limit = plan ? ['--steps', String(plan.steps), '--eval-every', String(plan.evalEvery), ...OLD_RECIPE] : ['--time', `${seconds}s`];
  const args = [rnnBin, 'train', corpus, ...limit, '--val-frac', '0.1', '--seed', seed,
    '--threads', String(threads), '--out', ckdir, '--json', '--json-every', '10', '--quiet', ...rnnExtra];
  let start = null;
  let end = null;
  let best = null; // the last best-checkpoint event: { path, step, val }
  let checkpoint = null;
  const rates = [];
  const evals = [];
  const rollbacks = [];
  const t0 = Date.now();
  let exactVal = null;
  try {
    await lines('node', args, (e) => {
      if (e.type === 'start') start = e;
      else if (e.type === 'eval') {
        // a run that averages its weights: which of the two scored, and both losses
        const both = e.valAverage === null || e.valAverage === undefined ? {} : { weights: e.weights, valTrained: e.valTrained, valAverage: e.valAverage };
        evals.push({ step: e.step, elapsedS: e.elapsedMs / 1000, train: e.train, val: e.val, ...both });
      }
      else if (e.type === 'step') rates.push([e.elapsedMs, e.charsPerSec]);
      else if (e.type === 'rollback') rollbacks.push({ step: e.step, to: e.to, cause: e.cause, loss: e.loss, lrScale: e.lrScale });
      else if (e.type === 'checkpoint' && e.kind === 'best') best = { path: e.path, step: e.step, val: e.val };
      else if (e.type === 'end') end = e;
    });
    if (best) {
      // the file must be this run's best: in the run's own folder, saved at the run's best step
      if (dirname(best.path) !== ckdir || best.step !== end.bestStep) {
        throw new Error(`best checkpoint ${best.path} (step ${best.step}) is not the run's best (step ${end.bestStep} in ${ckdir})`);
      }
      const bytes = readFileSync(best.path);
      checkpoint = { path: best.path, bytes: bytes.length, crc32: crc32(bytes), step: best.step, val: best.val };
      await lines('node', [rnnBin, 'eval', heldOutPath(name, corpus), '-c', best.path, '--json', '--threads', String(threads)], (e) => {
        if (typeof e.nats === 'number') exactVal = e.nats;
      });
      if (crc32(readFileSync(best.path)) !== checkpoint.crc32) throw new Error(`${best.path} changed while it was scored`);
      if (keepDir) {
        mkdirSync(keepDir, { recursive: true });
        const kept = join(keepDir, `${new Date().toISOString().replace(/[:.]/g, '')}-${name.replace(/[^\w.-]/g, '_')}-${seconds}s-${recipe}-best.safetensors`);
        copyFileSync(best.path, kept);
        checkpoint.path = kept;
      } else checkpoint.path = null;
    }
  } finally {
    rmSync(ckdir, { recursive: true, force: true });
  }
  const c = start?.config ?? {};
  const chosen = start?.sizing?.candidates?.find((x) => x.rejected === null) ?? null;
  // the training speed over the run: median of the step events' recent chars/s after its first tenth
  const later = rates.filter(([ms]) => ms > 0.1 * end.elapsedMs).map(([, r]) => r).sort((a, b) => a - b);
  return {
    system: 'rnn', recipe, threads, wallS: (Date.now() - t0) / 1000, bestVal: end.bestVal, exactVal, checkpoint, bestStep: end.bestStep, steps: end.step,
    model: `${c.layers}x${c.hidden} ${c.cell} e${c.embed} B${c.batch} T${c.seq} lr${c.lr} dropout ${c.dropout}`,
    sizing: start?.sizing?.reasons ?? null, parameters: start?.parameters, plan,
    // the sizing probe's speed for the chosen model against the run's (training and validation)
    probeCharsPerSec: chosen?.charsPerSec ?? null,
    runCharsPerSec: later.length > 0 ? Math.round(later[Math.floor(later.length / 2)]) : null,
    command: ['rnn', ...args.slice(1)].join(' '), evals, rollbacks,
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
// the jobs: corpus by corpus (each against PyTorch), or budget by budget when rnn jobs run
// in parallel (side by side: fortunes ‖ js, then shakespeare ‖ markov)
const todo = [];
if (jobs > 1) for (const seconds of budgets) for (const name of corpusNames) todo.push({ name, seconds });
else for (const name of corpusNames) for (const seconds of budgets) todo.push({ name, seconds });
const threadsEach = layout === 'side-by-side' ? 1 : 2;
const deadlineMs = deadline === null ? Infinity : (() => {
  const m = /^(\d\d):(\d\d)$/.exec(deadline);
  if (!m) throw new Error('--deadline is HH:MM (UTC)');
  const d = new Date();
  d.setUTCHours(Number(m[1]), Number(m[2]), 0, 0);
  return d.getTime();
})();
async function one({ name, seconds }) {
  const corpus = corpusPath(name);
  log(`${name} · ${seconds}s · ${recipe} …`);
  let rnn;
  let torch = null;
  if (layout === 'side-by-side') {
    [rnn, torch] = await Promise.all([runRnn(name, corpus, seconds, 1), withTorch ? runTorch(corpus, seconds, 1) : null]);
  } else {
    rnn = await runRnn(name, corpus, seconds, threadsEach);
    if (withTorch) torch = await runTorch(corpus, seconds, 2);
  }
  const when = new Date().toISOString();
  for (const r of [rnn, torch]) {
    if (!r) continue;
    appendFileSync(out, `${JSON.stringify({ when, corpus: name, corpusPath: relative(root, corpus), budgetS: seconds, layout, jobs, cpu, ...r })}\n`);
  }
  rows.push({ name, seconds, rnn, torch });
  log(`  ${name} ${seconds}s: rnn ${nats(rnn.bestVal)} (exact ${nats(rnn.exactVal)}${rnn.checkpoint ? ` from ${rnn.checkpoint.path ?? "a deleted checkpoint"}, CRC-32 ${rnn.checkpoint.crc32}` : ""}; ${rnn.model}, ${rnn.steps} steps)${torch ? ` · torch ${nats(torch.bestVal)}` : ''}`);
}
for (let i = 0; i < todo.length; i += jobs) {
  const group = todo.slice(i, i + jobs);
  const longest = Math.max(...group.map((j) => j.seconds));
  if (recipe === 'new' && Date.now() + (longest + 45) * 1000 > deadlineMs) {
    log(`skipped (would end after ${deadline}): ${group.map((j) => `${j.name} ${j.seconds}s`).join(', ')}`);
    continue;
  }
  await Promise.all(group.map(one));
}

console.log(`| corpus | budget | rnn (${recipe}) best val (nats) | bpc | exact val | rnn model | steps | PyTorch best val | bpc | steps | rnn − PyTorch |`);
console.log(`|---|---|---|---|---|---|---|---|---|---|---|`);
for (const { name, seconds, rnn, torch } of rows) {
  const diff = torch && rnn.bestVal !== null && torch.bestVal !== null ? (rnn.bestVal - torch.bestVal).toFixed(3) : 'n/a';
  console.log(`| ${name} | ${seconds >= 60 ? `${seconds / 60} min` : `${seconds} s`} | ${nats(rnn.bestVal)} | ${bpc(rnn.bestVal)} | ${nats(rnn.exactVal)} | ${rnn.model} | ${rnn.steps} | ` +
    `${torch ? nats(torch.bestVal) : 'n/a'} | ${torch ? bpc(torch.bestVal) : 'n/a'} | ${torch ? torch.steps : 'n/a'} | ${diff} |`);
}
log(`results appended to ${relative(process.cwd(), out) || out}`);
