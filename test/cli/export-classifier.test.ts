// `rnn export --onnx` of a classifier checkpoint trained through the CLI: onnxruntime runs
// the file to the probabilities `rnn classify --json` prints; the exports that serve
// language models only are refused with one line. ONNX part skipped (with the reason
// printed) where onnxruntime-node is not installed.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/store.js';
import { runCli, tempDir } from '../helpers/cli.js';

type Ort = typeof import('onnxruntime-web');
let ort: Ort | null = null;
try {
  ort = (await import('../helpers/ort.js')).ort;
} catch (e) {
  console.warn(`skipping the classifier ONNX CLI test: onnxruntime-web is not available (${(e as Error).message.split('\n')[0]})`);
}

const LINES = ['pos\tgood fine nice', 'neg\tbad awful poor', 'pos\tnice and good', 'neg\tpoor and bad', 'pos\tfine', 'neg\tawful'];

describe('rnn export of a classifier', () => {
  const tmp = tempDir('rnn-export-cls-');
  afterAll(() => tmp.cleanup());
  writeFileSync(join(tmp.dir, 'data.tsv'), `${Array.from({ length: 8 }, () => LINES.join('\n')).join('\n')}\n`);

  it.skipIf(!ort)('--onnx: a bidirectional classifier runs in onnxruntime to the probabilities rnn classify prints', async () => {
    const out = join(tmp.dir, 'run');
    const train = await runCli(['train', 'data.tsv', '--task', 'classify', '--bidirectional', '--pool', 'mean', '--layers', '2', '--hidden', '8',
      '--embed', '4', '--batch', '4', '--steps', '6', '--eval-every', '0', '--out', out, '-q'], { cwd: tmp.dir });
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    const ckptFile = join(out, readdirSync(out).find((f) => f.endsWith('-last.safetensors'))!);
    const onnxFile = join(tmp.dir, 'cls.onnx');
    const e = await runCli(['export', '-c', ckptFile, '--onnx', onnxFile]);
    expect(e.code).toBe(0);
    expect(e.stdout).toBe('');
    expect(e.stderr).toContain('bidirectional');

    const ckpt = await readCheckpoint(ckptFile);
    if (ckpt.task !== 'classify') throw new Error('not a classifier');
    const texts = ['good fine', 'awful and poor bad'];
    const cls = await runCli(['classify', '-c', ckptFile, '--json', '--top', '2', '--backend', 'reference'], { input: `${texts.join('\n')}\n` });
    expect(cls.code).toBe(0);
    const rows = cls.stdout.trim().split('\n').map((l) => JSON.parse(l) as { top: { label: string; probability: number }[] });
    const session = await ort!.InferenceSession.create(new Uint8Array(readFileSync(onnxFile)));
    const chars = ckpt.vocab.toJSON();
    const T = Math.max(...texts.map((t) => t.length));
    const ids = new BigInt64Array(T * texts.length);
    texts.forEach((t, b) => [...t].forEach((ch, i) => (ids[i * texts.length + b] = BigInt(chars.indexOf(ch)))));
    const res = await session.run({
      ids: new ort!.Tensor('int64', ids, [T, texts.length]),
      lengths: new ort!.Tensor('int64', BigInt64Array.from(texts, (t) => BigInt(t.length)), [texts.length]),
    });
    const probs = res.probs!.data as Float32Array;
    const K = ckpt.meta.classes.length;
    expect(rows).toHaveLength(texts.length);
    rows.forEach((row, b) => {
      expect(row.top).toHaveLength(2);
      for (const { label, probability } of row.top) {
        const k = ckpt.meta.classes.indexOf(label);
        expect(k).toBeGreaterThanOrEqual(0);
        expect(Math.abs(probs[b * K + k]! - probability)).toBeLessThan(1e-4);
      }
    });
  });

  it('--safetensors-weights and --pytorch are refused for a classifier with one line, exit 2', async () => {
    const out = join(tmp.dir, 'run2');
    const train = await runCli(['train', 'data.tsv', '--task', 'classify', '--layers', '1', '--hidden', '4', '--embed', '4', '--batch', '4',
      '--steps', '2', '--eval-every', '0', '--out', out, '-q'], { cwd: tmp.dir });
    expect(train.code).toBe(0);
    const ckptFile = join(out, readdirSync(out).find((f) => f.endsWith('-last.safetensors'))!);
    for (const args of [['--safetensors-weights', join(tmp.dir, 'w.safetensors')], ['--pytorch', join(tmp.dir, 'job')]]) {
      const r = await runCli(['export', '-c', ckptFile, ...args]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('use --onnx FILE');
    }
  });
});
