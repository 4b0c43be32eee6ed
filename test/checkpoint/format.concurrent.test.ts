// Concurrent writers: two `rnn train` runs pointed at one --out folder at the same moment.
// Each run names its files <corpus>-<yyyymmdd-hhmmss>-<4 hex>-{best,last}.safetensors, and
// every save goes through a uniquely named temp file and an atomic rename, so the runs
// never write the same file: both pairs must be there, complete and loadable.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/store.js';
import { runCli, tempDir } from '../helpers/cli.js';

const CORPUS = 'she sells sea shells by the sea shore; the shells she sells are sea shells.\n'.repeat(30);
const NAME = /^corpus-\d{8}-\d{6}-[0-9a-f]{4}-(best|last)\.safetensors$/;

describe('two rnn train runs into one folder', () => {
  const tmp = tempDir('rnn-concurrent-');
  afterAll(() => tmp.cleanup());

  it('write two complete, loadable checkpoint pairs', async () => {
    writeFileSync(join(tmp.dir, 'corpus.txt'), CORPUS);
    const args = (seed: string) => ['train', 'corpus.txt', '--layers', '1', '--hidden', '16', '--embed', '8', '--batch', '4',
      '--seq', '8', '--steps', '30', '--eval-every', '5', '--seed', seed, '--out', 'shared', '--backend', 'reference', '-q'];
    const runs = await Promise.all([runCli(args('1'), { cwd: tmp.dir }), runCli(args('2'), { cwd: tmp.dir })]);
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const files = readdirSync(join(tmp.dir, 'shared')).sort();
    expect(files).toHaveLength(4); // no temp files left behind, nothing overwritten
    for (const f of files) expect(f).toMatch(NAME);
    const runIds = new Set(files.map((f) => f.replace(/-(best|last)\.safetensors$/, '')));
    expect(runIds.size).toBe(2);
    const seeds = new Set<number>();
    for (const f of files) {
      const ckpt = await readCheckpoint(join(tmp.dir, 'shared', f));
      expect(ckpt.progress!.step).toBeGreaterThan(0);
      seeds.add(ckpt.train!.seed);
    }
    expect([...seeds].sort()).toEqual([1, 2]); // each run's pair is its own
    for (const id of runIds) {
      const [best, last] = await Promise.all(['best', 'last'].map((k) => readCheckpoint(join(tmp.dir, 'shared', `${id}-${k}.safetensors`))));
      expect(best!.train!.seed).toBe(last!.train!.seed);
    }
  });
});
