// Classification as a user meets it, through the built CLI: for each data layout, train,
// classify from stdin and from a file, eval with the confusion matrix, info, resume; the
// generated corpus learned to within a few points of its Bayes accuracy; the task only a
// bidirectional model solves; Ctrl-C; and the bad inputs, each one line with its exit code.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/store.js';
import { BIN, assertBuilt, runCli, tempDir } from '../helpers/cli.js';

const tmp = tempDir('rnn-classify-cli-');
afterAll(() => tmp.cleanup());
const CORPORA = join(import.meta.dirname, '..', '..', 'corpora', 'classes');
const SMALL = ['--layers', '1', '--hidden', '16', '--embed', '8', '--batch', '8', '--lr', '0.02'];

/** Words whose class is decided by their letters; labels with a space and a non-ASCII letter. */
const CLASSES: Record<string, string[]> = {
  'sea salt': ['wave', 'tide', 'wake', 'swell', 'brine', 'wade', 'wet'],
  'höhe': ['hill', 'peak', 'ridge', 'cliff', 'crag', 'pike', 'tor'],
};

function oneLine(r: { code: number | null; stdout: string; stderr: string }, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^rnn: /);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

function newest(dir: string, suffix: string): string {
  return join(dir, readdirSync(dir).filter((f) => f.endsWith(suffix)).sort().at(-1)!);
}

/** The same examples in the three layouts. */
function layouts(): Record<string, string> {
  const base = join(tmp.dir, 'data');
  const tsv = join(base, 'words.tsv');
  const files = join(base, 'files');
  const folders = join(base, 'folders');
  mkdirSync(files, { recursive: true });
  const rows: string[] = [];
  for (const [label, words] of Object.entries(CLASSES)) {
    const examples = words.flatMap((w) => [w, `${w}s`, `${w} ${w}`]);
    rows.push(...examples.map((e) => `${label}\t${e}`));
    writeFileSync(join(files, `${label}.txt`), `${examples.join('\r\n')}\r\n`);
    mkdirSync(join(folders, label), { recursive: true });
    examples.forEach((e, i) => writeFileSync(join(folders, label, `${i}.txt`), `${e}\n`));
  }
  writeFileSync(tsv, `\uFEFF${rows.join('\n')}\n`);
  return { table: tsv, files, folders };
}

describe('each layout end to end', () => {
  const data = layouts();
  for (const [layout, path] of Object.entries(data)) {
    // every layout: train, classify, eval; the table layout also info, --json and resume
    const full = layout === 'table';
    it(`${layout}: train, classify stdin${full ? ' and a file, eval, info, resume' : ', eval'}`, async () => {
      const out = join(tmp.dir, `out-${layout}`);
      const train = await runCli(['train', path, '--task', 'classify', ...SMALL, '--steps', '40', '--eval-every', '20', '--val-frac', '0.2', '--out', out]);
      expect(train.stdout).toBe('');
      expect(train.code).toBe(0);
      expect(train.stderr).toMatch(layout === 'table' ? /data: label<TAB>text lines of / : layout === 'files' ? /data: one class per file of / : /data: one class per folder of /);
      expect(train.stderr).toMatch(/classes: 2 \(höhe \d+, sea salt \d+\) · majority-class baseline \d+\.\d%/);
      expect(train.stderr).toMatch(/step 20\/40: train loss [\d.]+ · val accuracy [\d.]+% \(majority [\d.]+%\) · macro-F1 [\d.]+ · loss [\d.]+/);
      expect(train.stderr).toMatch(/use it with: rnn classify --checkpoint .*-best\.safetensors/);
      const best = newest(out, '-best.safetensors');

      const stdin = await runCli(['classify', '-c', best], { input: 'waves\nridges\n\n' });
      expect(stdin.stderr).toBe('');
      expect(stdin.code).toBe(0);
      const rows = stdin.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
      expect(rows.map((r) => r[2])).toEqual(['waves', 'ridges']);
      for (const r of rows) {
        expect(['sea salt', 'höhe']).toContain(r[0]);
        expect(Number(r[1])).toBeGreaterThanOrEqual(0.5);
      }

      const ev = await runCli(['eval', path, '-c', best]);
      expect(ev.code).toBe(0);
      const lines = ev.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^accuracy\t[01]\.\d{4}$/);
      expect(lines).toContain('examples\t42');
      expect(lines).toContain('class\tlabel\tprecision\trecall\tf1\tsupport');
      expect(lines).toContain('confusion\ttrue\\predicted\thöhe\tsea salt');
      const confusion = lines.filter((l) => /^confusion\t(höhe|sea salt)\t/.test(l)).map((l) => l.split('\t').slice(2).map(Number));
      expect(confusion.flat().reduce((a, b) => a + b, 0)).toBe(42);
      expect(confusion.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([21, 21]);
      if (!full) return;

      const list = join(tmp.dir, `list-${layout}.txt`);
      writeFileSync(list, 'tide\r\ncrag\r\n');
      const file = await runCli(['classify', list, '-c', best, '--top', '2', '--json']);
      expect(file.code).toBe(0);
      const objs = file.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(objs.map((o) => o.text)).toEqual(['tide', 'crag']);
      for (const o of objs) {
        expect(o.top).toHaveLength(2);
        expect(o.top[0].probability + o.top[1].probability).toBeCloseTo(1, 5);
        expect(o.label).toBe(o.top[0].label);
      }

      const info = await runCli(['info', best]);
      expect(info.code).toBe(0);
      expect(info.stdout).toMatch(/task\s+classifier \(use it with rnn classify\)/);
      expect(info.stdout).toMatch(/classes\s+höhe \d+, sea salt \d+/);
      expect(info.stdout).toMatch(/best val\s+accuracy [\d.]+% .* at step \d+/);
      expect(info.stdout).toMatch(/validation accuracy/);

      const last = newest(out, '-last.safetensors');
      const resumed = await runCli(['train', path, '--resume', last, '--steps', '45', '-q']);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect((await readCheckpoint(last)).progress!.step).toBe(45);
    });
  }
});

describe('learning', () => {
  it('the generated Markov classes: within a few points of the exact Bayes accuracy on the test file', async () => {
    const out = join(tmp.dir, 'markov');
    const train = await runCli(['train', join(CORPORA, 'markov-train.tsv'), '--task', 'classify', '--layers', '1', '--hidden', '32', '--embed', '16',
      '--epochs', '8', '--lr', '0.01', '--out', out, '-q']);
    expect(train.code).toBe(0);
    const ev = JSON.parse((await runCli(['eval', join(CORPORA, 'markov-test.tsv'), '-c', newest(out, '-best.safetensors'), '--json'])).stdout);
    // the generator's exact figure (and its check that the committed files are what it makes)
    const summary = JSON.parse(execFileSync(process.execPath, [join(CORPORA, '..', 'generate.mjs'), '--check', '--json'], { encoding: 'utf8' }));
    const bayes = summary['classes/markov-test'].bayes as number;
    expect(bayes).toBeCloseTo(0.8445, 3); // what corpora/README.md states
    expect(ev.examples).toBe(1000);
    expect(ev.majority).toBe(0.25);
    expect(ev.accuracy).toBeGreaterThan(bayes - 0.05);
    expect(ev.accuracy).toBeLessThan(bayes + 0.04); // no classifier beats Bayes by more than the noise of 1,000 lines
  }, 120_000);

  it('the label is the first letter of a long line: a bidirectional model learns it, a unidirectional one pooling its last state does not (yet)', async () => {
    const accuracy = async (extra: string[], name: string) => {
      const out = join(tmp.dir, name);
      const r = await runCli(['train', join(CORPORA, 'first-train.tsv'), '--task', 'classify', '--cell', 'gru', '--layers', '1', '--hidden', '24',
        '--embed', '8', '--epochs', '4', '--lr', '0.01', '--out', out, '-q', ...extra]);
      expect(r.code).toBe(0);
      return JSON.parse((await runCli(['eval', join(CORPORA, 'first-test.tsv'), '-c', newest(out, '-best.safetensors'), '--json'])).stdout).accuracy as number;
    };
    const bi = await accuracy(['--bidirectional'], 'first-bi');
    const uni = await accuracy([], 'first-uni');
    expect(bi).toBeGreaterThan(0.97);
    expect(uni).toBeLessThan(0.6);
  }, 120_000);
});

describe('Ctrl-C', () => {
  it('saves the last checkpoint, exits 130, and the run resumes', async () => {
    assertBuilt();
    const out = join(tmp.dir, 'sigint');
    const data = layouts().table;
    const child = spawn(process.execPath, [BIN, 'train', data, '--task', 'classify', ...SMALL, '--epochs', '100000', '--json', '--out', out],
      { env: { ...process.env, NO_COLOR: '1', CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (!sent && /"type":"step","step":30/.test(stdout)) {
          sent = true; // once: a second Ctrl-C quits at once
          child.kill('SIGINT');
        }
      });
      child.on('close', (c) => resolve(c));
    });
    expect(code).toBe(130);
    expect(stderr).toMatch(/stopped \(interrupted\) at step \d+/);
    const last = newest(out, '-last.safetensors');
    const step = (await readCheckpoint(last)).progress!.step;
    expect(step).toBeGreaterThanOrEqual(30);
    const resumed = await runCli(['train', data, '--resume', last, '--steps', String(step + 5), '-q']);
    expect(resumed.code).toBe(0);
    expect((await readCheckpoint(last)).progress!.step).toBe(step + 5);
  });
});

describe('bad input', () => {
  const data = layouts();

  it('a file with no label column, one class only, an empty class folder: one line, exit 1', async () => {
    const plain = join(tmp.dir, 'plain.txt');
    writeFileSync(plain, 'just some text\nand more\n');
    oneLine(await runCli(['train', plain, '--task', 'classify']), 1, /plain\.txt:1: no label column .* the layouts are: /);
    const one = join(tmp.dir, 'one.tsv');
    writeFileSync(one, 'cat\tmeow\ncat\tpurr\n');
    oneLine(await runCli(['train', one, '--task', 'classify']), 1, /only one class \("cat"\)/);
    const empty = join(tmp.dir, 'empty-class');
    mkdirSync(join(empty, 'a'), { recursive: true });
    mkdirSync(join(empty, 'b'), { recursive: true });
    writeFileSync(join(empty, 'a', '1.txt'), 'x');
    oneLine(await runCli(['train', empty, '--task', 'classify']), 1, /empty-class\/b: class "b" has no examples/);
  });

  it('options of another task are refused: exit 2', async () => {
    oneLine(await runCli(['train', data.table, '--task', 'classify', '--seq', '10']), 2, /--seq does not apply to a classifier/);
    oneLine(await runCli(['train', join(CORPORA, '..', 'log.txt'), '--bidirectional']), 2, /--bidirectional does not apply to a language model/);
    oneLine(await runCli(['train', data.table, '--task', 'classify', '--pool', 'median']), 2, /--pool must be one of last, mean, max/);
  });

  it('the wrong task\'s checkpoint, and labelled lines given to rnn classify', async () => {
    const lm = join(import.meta.dirname, '..', 'fixtures', 'checkpoints', 'v1-lstm-train.safetensors');
    oneLine(await runCli(['classify', '-c', lm], { input: 'hello\n' }), 2, /holds a language model, not a classifier; use it with rnn sample/);
    const out = join(tmp.dir, 'out-bad');
    expect((await runCli(['train', data.table, '--task', 'classify', ...SMALL, '--steps', '4', '--out', out, '-q'])).code).toBe(0);
    const best = newest(out, '-best.safetensors');
    oneLine(await runCli(['sample', '-c', best, '-n', '5']), 2, /holds a classifier, not a language model( or a conditioned language model)?; use it with rnn classify/);
    oneLine(await runCli(['score', '-c', best], { input: 'x\n' }), 2, /holds a classifier/);
    oneLine(await runCli(['classify', '-c', best], { input: readFileSync(data.table) }), 2, /looks like labelled data .* rnn eval/);
    const unknown = await runCli(['classify', '-c', best], { input: 'wave\nQQQ\n' });
    expect(unknown.code).toBe(0);
    expect(unknown.stdout.split('\n')[0]).toMatch(/\twave$/);
    expect(unknown.stderr).toMatch(/^rnn: warning: skipped 3 characters not in the vocabulary: "Q"\nrnn: warning: 1 example had no character/);
    const wrongLabels = join(tmp.dir, 'other-labels.tsv');
    writeFileSync(wrongLabels, 'sky\twave\n');
    oneLine(await runCli(['eval', wrongLabels, '-c', best]), 1, /label "sky" is not a class of the model/);
  });
});
