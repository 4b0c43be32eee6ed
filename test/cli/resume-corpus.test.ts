// A checkpoint records the fingerprint of the text it was trained on. Resuming on other
// text (whose characters happen to fit) is refused with one line naming --fine-tune; with
// --fine-tune it is a new run with a fresh best and the old files untouched. Given no text,
// a resume reads the recorded path while it still matches, and says so when it moved or
// changed. Files from before fingerprints resume as before, with one note. Every path
// printed after "best:" exists.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '../../src/checkpoint/crc32.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { BIN, runCli, tempDir } from '../helpers/cli.js';

const tmp = tempDir('rnn-resume-corpus-');
afterAll(() => tmp.cleanup());
const SMALL = ['--layers', '1', '--hidden', '8', '--embed', '4', '--batch', '2', '--seq', '8', '-q'];
const A = 'the ship sails at dawn and the crew sing of salt and wind.\n'.repeat(30);
const B = 'the crew sails at dawn and the ship sing of wind and salt.\n'.repeat(30);
let last = '';
const bytesOf = (f: string) => readFileSync(f);
const oneLine = (stderr: string) => expect(stderr.trimEnd().split('\n')).toHaveLength(1);

beforeAll(async () => {
  writeFileSync(join(tmp.dir, 'a.txt'), A);
  writeFileSync(join(tmp.dir, 'b.txt'), B);
  const r = await runCli(['train', 'a.txt', ...SMALL, '--steps', '4', '--out', 'run'], { cwd: tmp.dir });
  expect(r.code, r.stderr).toBe(0);
  last = join(tmp.dir, 'run', readdirSync(join(tmp.dir, 'run')).find((f) => f.endsWith('-last.safetensors'))!);
});

/** A copy of the run's -last checkpoint with its metadata edited. */
function edited(name: string, edit: (meta: Record<string, string>) => void): string {
  const { metadata, tensors } = decodeSafetensors(new Uint8Array(readFileSync(last)), 'last');
  edit(metadata);
  mkdirSync(join(tmp.dir, 'copies'), { recursive: true });
  const file = join(tmp.dir, 'copies', name);
  writeFileSync(file, encodeSafetensors([...tensors].map(([n, t]) => ({ name: n, shape: t.shape, data: t.data })), metadata, { checksum: true }));
  return file;
}

describe('resuming on other text', () => {
  it('is refused with one line naming --fine-tune, before anything is written', async () => {
    const before = bytesOf(last);
    const r = await runCli(['train', 'b.txt', '--resume', last, '--steps', '8'], { cwd: tmp.dir });
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^rnn: b\.txt is not the text the run in .*-last\.safetensors was trained on \(.*a\.txt, 1,770 bytes\); give that text, or add --fine-tune/);
    expect(bytesOf(last).equals(before)).toBe(true);
  });

  it('is refused from stdin too', async () => {
    const r = await runCli(['train', '-', '--resume', last, '--steps', '8'], { cwd: tmp.dir, input: B });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rnn: stdin is not the text the run in/);
  });

  it('with --fine-tune is a new run with a fresh best; the old checkpoints stay as they were', async () => {
    const before = bytesOf(last);
    const best = last.replace(/-last\.safetensors$/, '-best.safetensors');
    const bestBefore = bytesOf(best);
    const r = await runCli(['train', 'b.txt', '--resume', last, '--fine-tune', '--steps', '8', '--json'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const start = events.find((e) => e.type === 'start')!;
    expect(start.fineTuned).toBe(true);
    const evals = events.filter((e) => e.type === 'eval');
    expect(evals[0]!.best).toBe(true); // the first evaluation on the new text is the new best, whatever the old one was
    const paths = start.checkpoints as { best: string; last: string };
    expect(paths.last).toMatch(/[/\\]b-\d{8}-\d{6}-[0-9a-f]{4}-last\.safetensors$/);
    expect(existsSync(paths.best) && existsSync(paths.last)).toBe(true);
    expect(bytesOf(last).equals(before)).toBe(true);
    expect(bytesOf(best).equals(bestBefore)).toBe(true);
    // the new run records the new text: resuming it on b.txt needs no flag
    const again = await runCli(['train', 'b.txt', '--resume', paths.last, '--steps', '10', ...SMALL], { cwd: tmp.dir });
    expect(again.code, again.stderr).toBe(0);
  });

  it('is refused for a classifier the same way (the check is in the shared resume code)', async () => {
    const rows = (flip: boolean) => Array.from({ length: 40 }, (_, i) => `${(i % 2 === 0) !== flip ? 'even' : 'odd'}\tword ${'ab'.repeat(1 + (i % 4))}`).join('\n');
    writeFileSync(join(tmp.dir, 'c1.tsv'), rows(false));
    writeFileSync(join(tmp.dir, 'c2.tsv'), rows(true));
    const first = await runCli(['train', 'c1.tsv', '--task', 'classify', '--layers', '1', '--hidden', '8', '--embed', '4', '-q', '--steps', '2', '--out', 'cls'], { cwd: tmp.dir });
    expect(first.code, first.stderr).toBe(0);
    const ckpt = join(tmp.dir, 'cls', readdirSync(join(tmp.dir, 'cls')).find((f) => f.endsWith('-last.safetensors'))!);
    const r = await runCli(['train', 'c2.tsv', '--resume', ckpt, '--steps', '4'], { cwd: tmp.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rnn: c2\.tsv is not the text the run in .* was trained on .*--fine-tune/);
  });
});

describe('resuming without a corpus argument', () => {
  it('continues on the recorded text while it matches', async () => {
    const r = await runCli(['train', '--resume', edited('same-last.safetensors', () => {}), '--steps', '6', '--no-color'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^rnn train: .*a\.txt · language model/);
    expect(r.stderr).toMatch(/resuming at step 4/);
  });

  it('says so in one line when the recorded text changed, or moved', async () => {
    const moved = edited('moved-last.safetensors', (m) => {
      const c = JSON.parse(m.corpus!) as { path: string };
      m.corpus = JSON.stringify({ ...c, path: join(tmp.dir, 'gone.txt') });
    });
    const gone = await runCli(['train', '--resume', moved, '--steps', '9'], { cwd: tmp.dir });
    expect(gone.code).toBe(2);
    oneLine(gone.stderr);
    expect(gone.stderr).toMatch(/^rnn: .*moved-last\.safetensors was trained on .*gone\.txt, which is no longer there; give the text: rnn train CORPUS --resume/);

    const changed = edited('changed-last.safetensors', (m) => {
      const c = JSON.parse(m.corpus!) as { path: string };
      writeFileSync(join(tmp.dir, 'edited.txt'), `${A}one more line\n`);
      m.corpus = JSON.stringify({ ...c, path: join(tmp.dir, 'edited.txt') });
    });
    const r = await runCli(['train', '--resume', changed, '--steps', '9'], { cwd: tmp.dir });
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^rnn: .*edited\.txt has changed since the run in .* was trained on it \(1,770 bytes then, 1,784 bytes now\); give the original text, or add --fine-tune/);
  });

  it('without --resume is a usage error', async () => {
    const r = await runCli(['train'], { cwd: tmp.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rnn: give the corpus to train on: rnn train FILE\|FOLDER\|-/);
  });
});

describe('a corpus read once', () => {
  it.skipIf(process.platform === 'win32')('a pipe (<(cmd)) is fingerprinted from the bytes the run trained on, and the run resumes on the same text as a file', async () => {
    // the fingerprint used to read the corpus a second time, after the reader: a pipe then
    // gave it nothing (0 bytes recorded), and resuming on the same text was refused
    const pairs = Array.from({ length: 40 }, (_, i) => `${i} plus one\t${i + 1}`).join('\n') + '\n';
    writeFileSync(join(tmp.dir, 'pairs.tsv'), pairs);
    const args = ['train', '<(cat pairs.tsv)', '--task', 'seq2seq', '--layers', '1', '--hidden', '8', '--embed', '4', '--steps', '2', '-q', '--out', 'piped'];
    const r = spawnSync('bash', ['-c', `exec "${process.execPath}" "${BIN}" ${args.join(' ')}`], { cwd: tmp.dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const ckpt = join(tmp.dir, 'piped', readdirSync(join(tmp.dir, 'piped')).find((f) => f.endsWith('-last.safetensors'))!);
    const corpus = JSON.parse(decodeSafetensors(new Uint8Array(readFileSync(ckpt)), 'piped').metadata.corpus!) as { bytes: number; crc32: number };
    expect(corpus.bytes).toBe(Buffer.byteLength(pairs));
    expect(corpus.crc32).toBe(crc32(new TextEncoder().encode(pairs)));
    const resumed = await runCli(['train', 'pairs.tsv', '--resume', ckpt, '--steps', '3', '-q'], { cwd: tmp.dir });
    expect(resumed.code, resumed.stderr).toBe(0);
  });
});

describe('a checkpoint from before fingerprints', () => {
  it('resumes on the text given, with one note, and asks for the text when none is given', async () => {
    const old = edited('old-last.safetensors', (m) => delete m.corpus);
    const r = await runCli(['train', 'a.txt', '--resume', old, '--steps', '6', '--no-color'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/note: .*does not record the text it was trained on/g)).toHaveLength(1);
    const none = await runCli(['train', '--resume', edited('old2-last.safetensors', (m) => delete m.corpus), '--steps', '6'], { cwd: tmp.dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^rnn: .*old2-last\.safetensors does not record the text it was trained on \(an older rnn wrote it\); give it: rnn train CORPUS --resume/);
  });
});

describe('the paths a resumed run prints', () => {
  it('never name a -best file that is not there', async () => {
    // a copy of -last in a folder of its own, whose best cannot be beaten: no -best is written
    mkdirSync(join(tmp.dir, 'alone'), { recursive: true });
    const copy = join(tmp.dir, 'alone', 'solo-last.safetensors');
    copyFileSync(edited('unbeatable-last.safetensors', (m) => {
      const p = JSON.parse(m.progress!) as Record<string, unknown>;
      m.progress = JSON.stringify({ ...p, bestVal: 1e-9, bestMetrics: { loss: 1e-9 } });
    }), copy);
    const r = await runCli(['train', 'a.txt', '--resume', copy, '--steps', '6', '--no-color'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(tmp.dir, 'alone', 'solo-best.safetensors'))).toBe(false);
    expect(r.stderr).not.toMatch(/^best: /m);
    expect(r.stderr).toMatch(/sample with: rnn sample --checkpoint .*solo-last\.safetensors/);
    for (const m of r.stderr.matchAll(/^(?:best|last): (.*)$/gm)) expect(existsSync(m[1]!)).toBe(true);
  });
});

describe('renaming the text keeps the fingerprint', () => {
  it('a resume given the same bytes under another name goes on', async () => {
    copyFileSync(join(tmp.dir, 'a.txt'), join(tmp.dir, 'a-copy.txt'));
    const r = await runCli(['train', 'a-copy.txt', '--resume', last, '--steps', '5', ...SMALL], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    renameSync(join(tmp.dir, 'a-copy.txt'), join(tmp.dir, 'a-renamed.txt'));
  });
});
