// The encoder-decoder through the built CLI, as a user runs it: train on a TSV of pairs,
// translate from stdin (greedy, beam with n-best, JSON, the length cap), eval on held-out
// pairs, info, resume, and the refusal of the wrong task's checkpoints.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

const LM_FIXTURE = fileURLToPath(new URL('../fixtures/checkpoints/v1-lstm-train.safetensors', import.meta.url));
const TINY = ['--task', 'seq2seq', '--cell', 'gru', '--layers', '1', '--hidden', '32', '--embed', '8', '--batch', '16', '--lr', '0.01'];

function reversals(n: number, seed: number): string {
  let x = seed;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    let s = '';
    const len = 2 + (i % 4);
    for (let j = 0; j < len; j++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      s += 'abcde'[(x >> 16) % 5];
    }
    lines.push(`${s}\t${[...s].reverse().join('')}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

describe('rnn train --task seq2seq, translate, eval, info', () => {
  const tmp = tempDir();
  let best = '';
  let last = '';
  beforeAll(async () => {
    writeFileSync(join(tmp.dir, 'pairs.tsv'), reversals(600, 1));
    writeFileSync(join(tmp.dir, 'test.tsv'), reversals(60, 99));
    const r = await runCli(['train', 'pairs.tsv', ...TINY, '--steps', '300', '--eval-every', '100', '--out', 'ck'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/sequence-to-sequence model/);
    expect(r.stderr).toMatch(/val exact \d+\.\d% · CER \d\.\d{3} · loss/);
    const files = readdirSync(join(tmp.dir, 'ck'));
    best = join(tmp.dir, 'ck', files.find((f) => f.endsWith('-best.safetensors'))!);
    last = join(tmp.dir, 'ck', files.find((f) => f.endsWith('-last.safetensors'))!);
    expect(existsSync(best)).toBe(true);
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it('translate: one line out per line in, streamed from stdin; reversal learned', async () => {
    const r = await runCli(['translate', '-c', best], { input: 'abc\r\nedcb\n\naab\n' });
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.split('\n');
    expect(out.length).toBe(5); // four lines and the final newline
    expect(out[2]).toBe('');
    const right = [out[0] === 'cba', out[1] === 'bcde', out[3] === 'baa'].filter(Boolean).length;
    expect(right).toBeGreaterThanOrEqual(2);
  });

  it('translate --beam --nbest --json: the k best with log-probabilities, best first', async () => {
    const r = await runCli(['translate', '-', '-c', best, '--beam', '4', '--nbest', '3', '--json'], { input: 'abc\ndea\n' });
    expect(r.code, r.stderr).toBe(0);
    const objs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(objs.map((o) => o.source)).toEqual(['abc', 'dea']);
    for (const o of objs) {
      expect(o.outputs.length).toBe(3);
      for (const out of o.outputs) expect(out.logprob).toBeLessThan(0);
      expect(o.outputs[0].score).toBeGreaterThanOrEqual(o.outputs[1].score);
    }
    const plain = await runCli(['translate', '-c', best, '--beam', '4', '--nbest', '2'], { input: 'abc\n' });
    expect(plain.stdout).toMatch(/^-\d+\.\d{4}\t\w*\n-\d+\.\d{4}\t\w*\n\n$/);
  });

  it('translate --max-len: a clear note when an output is cut; --temp samples with a seed', async () => {
    const r = await runCli(['translate', '-c', best, '--max-len', '1'], { input: 'abcde\n' });
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().length).toBeLessThanOrEqual(1);
    expect(r.stderr).toMatch(/line 1: output cut at --max-len 1 before the model ended it/);
    const a = await runCli(['translate', '-c', best, '--temp', '1', '--seed', '3'], { input: 'abcd\nbcde\n' });
    const b = await runCli(['translate', '-c', best, '--temp', '1', '--seed', '3'], { input: 'abcd\nbcde\n' });
    expect(a.stdout).toBe(b.stdout);
  });

  it('translate notes characters the training sources never had', async () => {
    const r = await runCli(['translate', '-c', best], { input: 'abz\n' });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/line 1: "z" never seen in the training sources/);
  });

  it('eval: exact match, CER and loss on held-out pairs (TSV lines, JSON, beam)', async () => {
    const r = await runCli(['eval', 'test.tsv', '-c', best], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    const kv = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('\t')));
    expect(Object.keys(kv)).toEqual(['exact', 'cer', 'loss', 'pairs', 'decoding', 'truncated']);
    expect(Number(kv.pairs)).toBe(60);
    expect(Number(kv.exact)).toBeGreaterThan(0.5);
    expect(Number(kv.cer)).toBeLessThan(0.3);
    const j = await runCli(['eval', '-', '-c', best, '--json', '--beam', '3'], { input: reversals(60, 99) });
    const o = JSON.parse(j.stdout);
    expect(o.decoding).toBe('beam 3');
    expect(o.loss).toBeCloseTo(Number(kv.loss), 5); // the teacher-forced loss does not depend on decoding
  });

  it('info shows the task, both vocabularies and the best validation metrics', async () => {
    const r = await runCli(['info', best, '--no-chart']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/task\s+sequence-to-sequence model \(use it with rnn translate\)/);
    expect(r.stdout).toMatch(/encoder 1×32 gru → decoder 1×32, attention dot/);
    expect(r.stdout).toMatch(/source 5 characters, target 5/);
    expect(r.stdout).toMatch(/best val\s+exact \d+\.\d%/);
    const j = JSON.parse((await runCli(['info', best, '--json'])).stdout);
    expect(j.task).toBe('seq2seq');
  });

  it('resume continues the run', async () => {
    const r = await runCli(['train', 'pairs.tsv', '--resume', last, '--steps', '340', '--eval-every', '0'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming at step 300/);
    expect(r.stderr).toMatch(/done \(step limit\) at step 340/);
  });

  it('the wrong task\'s checkpoints and options are refused with one line', async () => {
    const sample = await runCli(['sample', '-c', best, '-n', '5']);
    expect(sample.code).toBe(2);
    expect(sample.stdout).toBe('');
    expect(sample.stderr.trim().split('\n')).toHaveLength(1);
    expect(sample.stderr).toMatch(/holds a sequence-to-sequence model, not a language model( or a conditioned language model)?; use it with rnn translate/);
    const tr = await runCli(['translate', '-c', LM_FIXTURE], { input: 'abc\n' });
    expect(tr.code).toBe(2);
    expect(tr.stderr.trim().split('\n')).toHaveLength(1);
    expect(tr.stderr).toMatch(/holds a language model, not a sequence-to-sequence model; use it with rnn sample/);
    const opt = await runCli(['train', 'pairs.tsv', '--attention', 'dot', '--steps', '1'], { cwd: tmp.dir });
    expect(opt.code).toBe(2);
    expect(opt.stderr).toMatch(/--attention does not apply to a language model/);
    const beam = await runCli(['eval', 'pairs.tsv', '-c', LM_FIXTURE, '--beam', '2'], { cwd: tmp.dir });
    expect(beam.code).toBe(2);
    expect(beam.stderr).toMatch(/--beam applies to seq2seq checkpoints/);
  });

  it('a file without tabs is refused with the line number', async () => {
    writeFileSync(join(tmp.dir, 'bad.tsv'), 'ab\tba\njust text\n');
    const r = await runCli(['train', 'bad.tsv', ...TINY, '--steps', '1', '--out', 'ck-bad'], { cwd: tmp.dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bad\.tsv:2: no tab; each line of a seq2seq file is source<TAB>target/);
  });
});
