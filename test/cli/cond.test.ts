// The conditioned language model end to end through the built CLI, on the generated tagged
// corpus (corpora/tagged: one order-1 Markov source per tag, its conditional entropy known):
// training gets close to the conditional entropy, samples drawn with --tag k are the
// source k's by the sources' own likelihoods, blends and the untagged mode work, eval
// --condition shows the tag helping, resume, the data layouts, and the refusals.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const TRAIN = join(root, 'corpora/tagged/train.tsv');
const TEST = join(root, 'corpora/tagged/test.tsv');
const SOURCES = JSON.parse(readFileSync(join(root, 'corpora/tagged/sources.json'), 'utf8')) as {
  alphabet: string; total: number; tags: string[]; conditionalTrain: number; untaggedBayesTest: number;
  sources: Record<string, number[][]>;
};

/** ln p(text | source), the text following a newline. */
function logLikelihood(tag: string, text: string): number {
  const w = SOURCES.sources[tag]!;
  let prev = SOURCES.alphabet.indexOf('\n');
  let lp = 0;
  for (const ch of text) {
    const c = SOURCES.alphabet.indexOf(ch);
    lp += Math.log(w[prev]![c]! / SOURCES.total);
    prev = c;
  }
  return lp;
}

describe('rnn train --condition / sample --tag / eval --condition', () => {
  let tmp: { dir: string; cleanup: () => void };
  let best: string;
  let last: string;
  let trainOut: string;
  const MODEL = ['--layers', '1', '--hidden', '32', '--embed', '8', '--tag-embed', '8', '--batch', '16', '--seq', '32', '--lr', '0.01', '--warmup', '20'];

  beforeAll(async () => {
    tmp = tempDir('rnn-cond-test-');
    const r = await runCli(['train', TRAIN, '--condition', ...MODEL, '--steps', '800', '--eval-every', '400', '--json'], { cwd: tmp.dir });
    if (r.code !== 0) throw new Error(`training failed (${r.code}): ${r.stderr}`);
    trainOut = r.stdout;
    const files = readdirSync(join(tmp.dir, 'checkpoints'));
    best = join(tmp.dir, 'checkpoints', files.find((f) => f.endsWith('-best.safetensors'))!);
    last = join(tmp.dir, 'checkpoints', files.find((f) => f.endsWith('-last.safetensors'))!);
  }, 120_000);
  afterAll(() => tmp?.cleanup());

  const cli = (args: string[], input?: string) => runCli(args, { cwd: tmp.dir, input });

  it('the validation loss approaches the conditional entropy of the sources, and the tag helps', () => {
    const evals = trainOut.trim().split('\n').map((l) => JSON.parse(l) as { type: string; metrics?: { loss: number; untagged: number } }).filter((e) => e.type === 'eval');
    const final = evals.at(-1)!.metrics!;
    expect(final.loss).toBeGreaterThan(SOURCES.conditionalTrain - 0.05);
    expect(final.loss).toBeLessThan(SOURCES.conditionalTrain + 0.08);
    expect(final.untagged).toBeGreaterThan(final.loss + 0.02);
  });

  it('samples drawn with --tag k (default temperature) are source k\'s by the sources\' likelihoods in ≥ 95% of cases', async () => {
    let right = 0;
    let total = 0;
    for (const [k, tag] of SOURCES.tags.entries()) {
      const r = await cli(['sample', '-c', best, '--tag', tag, '-n', '60', '--count', '20', '--json', '--seed', String(10 + k)]);
      expect(r.code, r.stderr).toBe(0);
      for (const line of r.stdout.trim().split('\n')) {
        const { text } = JSON.parse(line) as { text: string };
        const scores = SOURCES.tags.map((t) => logLikelihood(t, text));
        if (scores.indexOf(Math.max(...scores)) === k) right++;
        total++;
      }
    }
    expect(total).toBe(60);
    expect(right / total).toBeGreaterThanOrEqual(0.95);
  });

  it('--list-tags, blends, --tag none, and the options of rnn sample with --tag', async () => {
    const list = await cli(['sample', '-c', best, '--list-tags']);
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.map((r) => r[0])).toEqual(SOURCES.tags);
    expect(rows.reduce((s, r) => s + Number(r[1]), 0)).toBeCloseTo(1, 3);
    for (const spec of ['amber=0.7,jade=0.3', 'none']) {
      const r = await cli(['sample', '-c', best, '--tag', spec, '-n', '80', '--seed', '1']);
      expect(r.code, r.stderr).toBe(0);
      expect([...r.stdout].length).toBe(80);
      for (const ch of r.stdout) expect(SOURCES.alphabet).toContain(ch);
    }
    // prime, stop, top-k and seeds work with a tag; the same seed gives the same text
    const args = ['sample', '-c', best, '--tag', 'cobalt', '--prime', 'io', '--stop', '\\n', '--top-k', '4', '--seed', '7', '-n', '200'];
    const a = await cli(args);
    const b = await cli(args);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout.startsWith('io')).toBe(true);
    expect(a.stdout).not.toContain('\n');
    // beam search reads the tag too: different tags, different most likely lines
    const beams = await Promise.all(['amber', 'jade'].map((t) => cli(['sample', '-c', best, '--tag', t, '--beam', '4', '-n', '30', '--json'])));
    const texts = beams.map((r) => (JSON.parse(r.stdout) as { text: string }).text);
    expect(texts[0]).not.toBe(texts[1]);
  });

  it('eval --condition: per-tag loss with the true tag below the untagged loss', async () => {
    const r = await cli(['eval', TEST, '-c', best, '--condition']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(lines[0]).toEqual(['tag', 'chars', 'nats', 'untagged', 'gain']);
    expect(lines.slice(1).map((l) => l[0])).toEqual([...SOURCES.tags, 'all']);
    for (const l of lines.slice(1)) expect(Number(l[3])).toBeGreaterThan(Number(l[2]));
    const json = JSON.parse((await cli(['eval', TEST, '-c', best, '--json'])).stdout) as { nats: number; untagged: number };
    expect(json.nats).toBeCloseTo(Number(lines.at(-1)![2]), 3);
    expect(json.nats).toBeLessThan(SOURCES.conditionalTrain + 0.1);
  });

  it('resume continues the run; a wrong tag is one line listing the known tags (exit 2); wrong checkpoints are refused', async () => {
    const resumed = await cli(['train', TRAIN, '--resume', last, '--steps', '850', '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const onnx = await cli(['export', '-c', best, '--onnx', 'cond.onnx']);
    expect(onnx.code, onnx.stderr).toBe(0);
    expect(onnx.stderr).toMatch(/inputs: ids \[T,B\] int64, tag \[T,B,4\] float32 \(row 0 untagged, then 3 tags\)/);
    const job = await cli(['export', '-c', best, '--pytorch', 'job']);
    expect(job.code).toBe(2);
    expect(job.stderr.trim().split('\n')).toHaveLength(1);
    const wrong = await cli(['sample', '-c', best, '--tag', 'ochre']);
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toBe('rnn: unknown tag "ochre"; this model knows none, "amber", "cobalt", "jade" (rnn sample --list-tags)\n');
    const score = await cli(['score', '-c', best], 'abc\n');
    expect(score.code).toBe(2);
    expect(score.stderr.trim().split('\n')).toHaveLength(1);
    expect(score.stderr).toMatch(/holds a conditioned language model/);
    // a plain language model has no tags
    writeFileSync(join(tmp.dir, 'plain.txt'), 'the cat sat on the mat\n'.repeat(40));
    const lm = await cli(['train', 'plain.txt', '--layers', '1', '--hidden', '8', '--embed', '4', '--batch', '4', '--seq', '8', '--steps', '5', '--out', 'lm', '--quiet']);
    expect(lm.code, lm.stderr).toBe(0);
    const lmFile = join(tmp.dir, 'lm', readdirSync(join(tmp.dir, 'lm')).find((f) => f.endsWith('-best.safetensors'))!);
    for (const args of [['sample', '-c', lmFile, '--tag', 'amber'], ['sample', '-c', lmFile, '--list-tags'], ['eval', TEST, '-c', lmFile, '--condition']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('a folder with one file per tag and a folder with one folder per tag train too', async () => {
    const lines = readFileSync(TRAIN, 'utf8').trim().split('\n').slice(0, 600).map((l) => l.split('\t') as [string, string]);
    mkdirSync(join(tmp.dir, 'per-file'));
    for (const tag of SOURCES.tags) writeFileSync(join(tmp.dir, 'per-file', `${tag}.txt`), lines.filter(([t]) => t === tag).map(([, x]) => x).join('\n') + '\n');
    for (const tag of SOURCES.tags) {
      mkdirSync(join(tmp.dir, 'per-folder', tag), { recursive: true });
      lines.filter(([t]) => t === tag).forEach(([, x], i) => writeFileSync(join(tmp.dir, 'per-folder', tag, `${i}.txt`), `${x}\n`));
    }
    for (const [dir, layout] of [['per-file', /one tag per file/], ['per-folder', /one class per folder/]] as const) {
      const r = await cli(['train', dir, '--condition', ...MODEL, '--steps', '20', '--out', `ck-${dir}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(layout);
      expect(r.stderr).toMatch(/3 tags \(amber 3\d%, cobalt 3\d%, jade 3\d%\)/);
    }
  });
});
