// `rnn info [checkpoint]`: what a checkpoint holds — model, vocabulary, training
// configuration and progress, best validation loss — and a chart of the loss history.
// Data, so it goes to stdout; --json for scripts.
import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { newestFile } from '../checkpoint/atomic.js';
import { readCheckpoint, FORMAT_VERSION, type Checkpoint } from '../checkpoint/store.js';
import { TASKS } from '../tasks/registry.js';
import { averages, describeAverage } from '../train/average.js';
import { RnnError } from '../util/errors.js';
import { formatDuration } from './options.js';
import { DataOut, jsonOption } from './common.js';
import { lineChart } from './ui/chart.js';

interface InfoFlags {
  json: boolean;
  chart: boolean;
  system: boolean;
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show what a checkpoint holds: model, training, best validation loss, and a loss chart')
    .argument('[checkpoint]', 'checkpoint file (default: the newest in checkpoints/)')
    .addOption(jsonOption('one JSON object on stdout'))
    .option('--no-chart', 'leave out the loss chart')
    .option('--system', 'show the compute backend instead: which one --backend auto uses, the CPU and its vector features', false)
    .action(async (file: string | undefined, flags: InfoFlags) => {
      process.exitCode = flags.system ? await runSystemInfo(flags) : await runInfo(file, flags);
    });
}

const bpc = (nats: number) => nats / Math.LN2;
const n = (x: number) => x.toLocaleString('en-US');

/** The machine-readable summary of a checkpoint (the --json output). */
export function checkpointSummary(ckpt: Checkpoint) {
  const parameters = [...ckpt.params.values()].reduce((s, p) => s + p.length, 0);
  const p = ckpt.progress;
  const last = p?.history.at(-1);
  return {
    file: ckpt.file,
    formatVersion: FORMAT_VERSION,
    task: ckpt.task,
    model: ckpt.model,
    vocabSize: ckpt.vocab.size,
    parameters,
    ...(ckpt.task === 'classify' ? { classes: ckpt.meta.classes.map((label, k) => ({ label, count: ckpt.meta.counts[k]! })), maxLen: ckpt.meta.maxLen } : {}),
    train: ckpt.train,
    /** Which weights the file's model is: the trained ones, or their moving average (src/train/average.ts). */
    weights: ckpt.state?.model === 'average' ? 'average' : 'trained',
    corpus: ckpt.corpus,
    progress: p && {
      step: p.step,
      elapsedMs: p.elapsedMs,
      bestVal: p.bestVal,
      bestBpc: p.bestVal === null || ckpt.task !== 'lm' ? null : bpc(p.bestVal),
      bestMetrics: p.bestMetrics ?? null,
      bestStep: p.bestStep,
      lastMetrics: last?.metrics ?? null,
      lastVal: last?.val ?? null,
      lastTrain: last?.train ?? null,
      rollbacks: p.rollbacks ?? 0,
      lrScale: p.lrScale ?? 1,
    },
    history: p?.history ?? [],
  };
}

/** `rnn info --system`: the backend `auto` picks, the CPU, and the instruction set in use. */
async function runSystemInfo(flags: InfoFlags): Promise<number> {
  const { backendReport } = await import('../kernels/index.js');
  const r = backendReport();
  const cpu = r.cpu;
  const summary = {
    backend: r.auto, cpu, cores: availableParallelism(), arch: process.arch, node: process.version,
    native: r.native, nativeMissing: r.nativeMissing,
  };
  const out = new DataOut();
  if (flags.json) out.write(`${JSON.stringify(summary)}\n`);
  else {
    const lines = [
      `backend     ${r.auto}${r.native ? ` (products, cell steps, softmax head and Adam on ${r.native.isa}; embedding lookups and the rest on wasm SIMD)` : ' (WebAssembly SIMD)'}`,
      `cpu         ${cpu} · ${summary.cores} cores · ${process.arch} · Node ${process.version}`,
      r.native ? `features    ${r.native.features.join(' ') || 'none'} (the native backend picked ${r.native.isa})`
        : `native      not used: ${r.nativeMissing}`,
    ];
    out.write(`${lines.join('\n')}\n`);
  }
  await out.end();
  return 0;
}

async function runInfo(given: string | undefined, flags: InfoFlags): Promise<number> {
  const file = given ?? (await newestFile('checkpoints', '.safetensors'));
  if (!file) throw new RnnError('no checkpoint found in checkpoints/; pass a checkpoint file: rnn info FILE');
  const ckpt = await readCheckpoint(file);
  const s = checkpointSummary(ckpt);
  const out = new DataOut();
  if (flags.json) {
    out.write(`${JSON.stringify(s)}\n`);
    await out.end();
    return 0;
  }
  const m = ckpt.model;
  const t = ckpt.train;
  const p = s.progress;
  const lines: string[] = [];
  const loss = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(4)} nats/char (${bpc(x).toFixed(3)} bpc)`);
  lines.push(`checkpoint  ${file}`);
  lines.push(`task        ${TASKS[ckpt.task].title} (use it with ${TASKS[ckpt.task].command})`);
  const task = TASKS[ckpt.task];
  if (ckpt.task === 'seq2seq') {
    const sm = ckpt.meta.model;
    lines.push(`model       encoder ${sm.layers}×${sm.hidden} ${sm.cell}${sm.bidirectional ? ' bidirectional' : ''} → decoder ${sm.layers}×${sm.hidden}, attention ${sm.attention}, embed ${sm.embed}, ${n(s.parameters)} parameters`);
    lines.push(`vocab       source ${ckpt.vocab.size} characters, target ${ckpt.meta.tgtVocab.size}; outputs up to ${ckpt.meta.longestTarget} characters in training`);
  } else {
    const shape = ckpt.task === 'classify' ? `${ckpt.model.bidirectional ? ' bidirectional' : ''}, pool ${ckpt.model.pool}, ${ckpt.model.classes} classes` : '';
    lines.push(`model       ${m.layers}×${m.hidden} ${m.cell}${shape}, embed ${m.embed}, vocab ${ckpt.vocab.size}, ${n(s.parameters)} parameters`);
  }
  if (ckpt.task === 'classify') {
    const { classes, counts } = ckpt.meta;
    const listed = classes.slice(0, 30).map((c, k) => `${c} ${n(counts[k]!)}`).join(', ');
    lines.push(`classes     ${listed}${classes.length > 30 ? `, … ${classes.length - 30} more` : ''} (training examples)`);
  }
  if (t && p) {
    const sched = t.schedule === 'cosine' ? `cosine (warm-up ${t.warmup})` : t.schedule === 'step' ? `step (×${t.decay} every ${t.decayEvery})` : t.schedule;
    const batch = ckpt.task === 'classify' ? `batch ${t.batch} · max-len ${ckpt.meta.maxLen}` : `batch ${t.batch}${ckpt.task === 'lm' ? ` × seq ${t.seq}` : ''}`;
    lines.push(`training    ${batch} · ${t.optim} lr ${t.lr} ${sched} ${t.weightDecay ? ` · weight decay ${t.weightDecay}` : ''} · clip ${t.clip} · dropout ${t.dropout ?? 0}${t.embedDropout ? ` · embed dropout ${t.embedDropout}` : ''}${t.recurrentDropout ? ` · recurrent dropout ${t.recurrentDropout}` : ''} · seed ${t.seed}`);
    if (averages(t)) {
      lines.push(`weights     ${ckpt.state?.model === 'average' ? `the ${describeAverage(t)}, which scored better than the trained weights` : `the trained weights (the run also keeps their ${describeAverage(t)})`}`);
    }
    if (ckpt.corpus) lines.push(`corpus      ${ckpt.corpus.path === '-' ? 'stdin' : ckpt.corpus.path} (${n(ckpt.corpus.bytes)} bytes, CRC-32 ${ckpt.corpus.crc32.toString(16).padStart(8, '0')})`);
    const limits = [t.steps ? `${n(t.steps)} steps` : '', t.epochs ? `${t.epochs} epochs` : '', t.timeMs ? formatDuration(t.timeMs) : '', t.patience ? `patience ${t.patience}` : '']
      .filter(Boolean).join(', ');
    lines.push(`progress    step ${n(p.step)}${limits ? ` (limits: ${limits})` : ''} · ${formatDuration(p.elapsedMs)} of training` +
      `${p.rollbacks > 0 ? ` · ${p.rollbacks} divergence rollback(s), lr ×${p.lrScale}` : ''}`);
    if (ckpt.task === 'lm') {
      lines.push(`best val    ${loss(p.bestVal)}${p.bestVal === null ? '' : ` at step ${n(p.bestStep)}`}`);
      if (p.lastVal !== null || p.lastTrain !== null) lines.push(`last eval   train ${loss(p.lastTrain)} · val ${loss(p.lastVal)}`);
    } else {
      const shown = (m: Record<string, number> | null) => (m ? task.formatMetrics(m) : 'n/a');
      lines.push(`best val    ${p.bestVal === null ? 'n/a' : `${shown(p.bestMetrics)} at step ${n(p.bestStep)}`}`);
      if (p.lastTrain !== null) lines.push(`last eval   train loss ${p.lastTrain.toFixed(4)} · val ${shown(p.lastMetrics)}`);
    }
  } else {
    lines.push('training    none recorded (weights only: can be sampled, not resumed)');
  }
  const history = s.history.filter((h) => Number.isFinite(h.train) || (h.val !== null && Number.isFinite(h.val)));
  if (flags.chart && history.length >= 2) {
    const width = Math.max(20, Math.min(72, (process.stdout.columns ?? 80) - 12));
    lines.push('', `loss (${ckpt.task === 'lm' ? 'nats/char' : 'nats'}) by step    · train   ● val`);
    lines.push(...lineChart([
      { mark: '·', points: history.filter((h) => Number.isFinite(h.train)).map((h) => ({ x: h.step, y: h.train })) },
      { mark: '●', points: history.filter((h) => h.val !== null && Number.isFinite(h.val)).map((h) => ({ x: h.step, y: h.val! })) },
    ], { width, height: 10 }));
    const accuracy = history.filter((h) => h.metrics && Number.isFinite(h.metrics.accuracy));
    if (accuracy.length >= 2) {
      lines.push('', 'validation accuracy (%) by step    ● accuracy   · majority-class baseline');
      lines.push(...lineChart([
        { mark: '·', points: accuracy.map((h) => ({ x: h.step, y: 100 * (h.metrics!.majority ?? 0) })) },
        { mark: '●', points: accuracy.map((h) => ({ x: h.step, y: 100 * h.metrics!.accuracy! })) },
      ], { width, height: 8 }));
    }
  }
  out.write(`${lines.join('\n')}\n`);
  await out.end();
  return 0;
}
