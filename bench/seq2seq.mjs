#!/usr/bin/env node
// The encoder-decoder figures of the README: for each generated task of corpora/pairs/,
// train with each attention mode, then score the held-out test file greedy and with beam
// search. One JSON line per (task, attention) on stdout; progress on stderr.
//
//   node bench/seq2seq.mjs [--tasks reverse,dates] [--attention none,dot,additive] [--beam 5]
//                          [-- extra rnn train options]
//
// Timing: run it under the project's timing lock (flock /tmp/rnn-timing.lock node bench/seq2seq.mjs …);
// the training time reported is the trainer's own (the `end` event's elapsedMs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOptions } from './options.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'rnn.js');

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash < 0 ? argv : argv.slice(0, dash);
const extra = dash < 0 ? [] : argv.slice(dash + 1);
checkOptions('bench/seq2seq.mjs', import.meta.url, own, ['tasks', 'attention', 'beam'], []);
const opt = (name, def) => {
  const i = own.indexOf(name);
  return i < 0 ? def : own[i + 1];
};
const tasks = opt('--tasks', 'reverse,dates,numbers,arith').split(',');
const modes = opt('--attention', 'none,dot,additive').split(',');
const beam = opt('--beam', '5');
const MODEL = ['--cell', 'gru', '--layers', '1', '--hidden', '128', '--embed', '32', '--batch', '32', '--bidirectional',
  '--epochs', '20', '--eval-every', '0', '--val-frac', '0.05'];

function rnn(args) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`rnn ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').at(-1)}`);
  return r.stdout;
}

for (const task of tasks) {
  for (const attention of modes) {
    const out = mkdtempSync(join(tmpdir(), 'rnn-s2s-bench-'));
    const train = join(ROOT, 'corpora', 'pairs', `${task}-train.tsv`);
    const test = join(ROOT, 'corpora', 'pairs', `${task}-test.tsv`);
    process.stderr.write(`${task} · attention ${attention}: training…\n`);
    const events = rnn(['train', train, '--task', 'seq2seq', '--attention', attention, ...MODEL, ...extra, '--out', out, '--json', '--json-every', '1000000'])
      .trim().split('\n').map((l) => JSON.parse(l));
    const end = events.find((e) => e.type === 'end');
    const ckpt = join(out, readdirSync(out).find((f) => f.endsWith('-last.safetensors')));
    const greedy = JSON.parse(rnn(['eval', test, '-c', ckpt, '--json']));
    const beamed = JSON.parse(rnn(['eval', test, '-c', ckpt, '--json', '--beam', beam]));
    const row = {
      task, attention, steps: end.step, trainSeconds: +(end.elapsedMs / 1000).toFixed(1), testPairs: greedy.pairs,
      greedy: { exact: +greedy.exact.toFixed(4), cer: +greedy.cer.toFixed(4) },
      beam: { width: Number(beam), exact: +beamed.exact.toFixed(4), cer: +beamed.cer.toFixed(4) },
      testLoss: +greedy.loss.toFixed(4), args: [...MODEL, ...extra].join(' '),
    };
    process.stdout.write(`${JSON.stringify(row)}\n`);
    rmSync(out, { recursive: true, force: true });
  }
}
