// --resume trusts nothing it reads: a checkpoint whose training metadata was damaged or
// edited (lr -1 or null, step -1, an unknown optimizer) or that lacks a carried-state
// tensor is refused with one line naming the file, status 1, before any training; the
// file is left as it was.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { runCli, tempDir } from '../helpers/cli.js';

const tmp = tempDir('rnn-resume-checks-');
afterAll(() => tmp.cleanup());
writeFileSync(join(tmp.dir, 'corpus.txt'), 'the ship sails at dawn and the crew sing of salt and wind.\n'.repeat(40));
const SMALL = ['--layers', '1', '--hidden', '8', '--embed', '4', '--batch', '2', '--seq', '8'];
let last = '';

beforeAll(async () => {
  const r = await runCli(['train', 'corpus.txt', ...SMALL, '--steps', '4', '--out', 'run', '-q'], { cwd: tmp.dir });
  expect(r.code, r.stderr).toBe(0);
  last = join(tmp.dir, 'run', readdirSync(join(tmp.dir, 'run')).find((f) => f.endsWith('-last.safetensors'))!);
});

/** A copy of the run's -last checkpoint with its metadata or tensors edited. */
function damaged(name: string, edit: (meta: Record<string, string>, names: Set<string>) => void): string {
  const { metadata, tensors } = decodeSafetensors(new Uint8Array(readFileSync(last)), 'last');
  const keep = new Set(tensors.keys());
  edit(metadata, keep);
  const file = join(tmp.dir, 'run', name);
  writeFileSync(file, encodeSafetensors([...tensors].filter(([n]) => keep.has(n)).map(([n, t]) => ({ name: n, shape: t.shape, data: t.data })), metadata, { checksum: true }));
  return file;
}

const editJson = (key: string, change: (v: Record<string, unknown>) => void) => (meta: Record<string, string>) => {
  const value = JSON.parse(meta[key]!) as Record<string, unknown>;
  change(value);
  meta[key] = JSON.stringify(value);
};

const CASES: [string, (meta: Record<string, string>, names: Set<string>) => void, RegExp][] = [
  ['lr -1', editJson('train', (t) => (t.lr = -1)), /metadata "train": lr is -1, not a number > 0 and ≤ 10/],
  ['lr null', editJson('train', (t) => (t.lr = null)), /metadata "train": lr is null/],
  ['hidden 0', editJson('train', (t) => (t.hidden = 0)), /metadata "train": hidden is 0, not a whole number from 1 to 8,192/],
  ['an unknown optimizer', editJson('train', (t) => (t.optim = 'lion')), /metadata "train": optim is "lion", not one of adam/],
  ['step -1', editJson('progress', (p) => (p.step = -1)), /metadata "progress": step is -1, not a whole number ≥ 0/],
  ['lrScale 7', editJson('progress', (p) => (p.lrScale = 7)), /metadata "progress": lrScale is 7/],
  ['a missing state tensor', (_m, names) => names.delete('state.h_l0'), /tensor state\.h_l0 is missing/],
];

describe('resume refuses damaged training metadata', () => {
  for (const [what, edit, pattern] of CASES) {
    it(what, async () => {
      const file = damaged(`bad-${what.replace(/\W+/g, '_')}-last.safetensors`, edit);
      const before = readFileSync(file);
      const r = await runCli(['train', 'corpus.txt', '--resume', file, '--steps', '8'], { cwd: tmp.dir });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^rnn: .*bad-.*-last\.safetensors: /);
      expect(lines[0]).toMatch(pattern);
      expect(readFileSync(file).equals(before), 'the checkpoint is left as it was').toBe(true);
    });
  }
  it('an intact checkpoint still resumes', async () => {
    const r = await runCli(['train', 'corpus.txt', '--resume', last, '--steps', '6', '-q'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
  });
});
