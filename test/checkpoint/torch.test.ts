// PyTorch round trip. A checkpoint written by `rnn train` loads by name into
// torch.nn.Embedding + torch.nn.LSTM (GRU for gru-torch, RNN for rnn) + torch.nn.Linear and
// gives the same logits; a model trained in PyTorch and saved in that layout (weights-only
// safetensors with the rnn metadata) samples in `rnn` and gives the same logits here.
// Skipped, with the reason printed, where `python3 -c "import torch"` fails.
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { modelFromCheckpoint, readCheckpoint } from '../../src/checkpoint/store.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { Rng } from '../../src/util/rng.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { torchMissing } from '../helpers/torch.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/torch_interop.py', import.meta.url));

const missing = torchMissing();
if (missing) console.warn(`skipping PyTorch interop tests: ${missing}`);

function python(args: string[]): unknown {
  const r = spawnSync('python3', [SCRIPT, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`torch_interop.py ${args[0]} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const CORPUS = 'the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n'.repeat(30);

/** rnn's own logits [T,B,V] for ids [T][B], in float64 (the reference oracle). */
async function rnnLogits(file: string, ids: number[][]): Promise<Float64Array> {
  const ckpt = await readCheckpoint(file);
  const model = modelFromCheckpoint(new ReferenceKernels('f64'), ckpt);
  const T = ids.length;
  const B = ids[0]!.length;
  const ws = model.workspace(B, T, false);
  ws.ids.set(ids.flat());
  ws.forward();
  return Float64Array.from(ws.logits);
}

function randomIds(V: number, T: number, B: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: T }, () => Array.from({ length: B }, () => rng.int(V)));
}

function worstRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 0.1 * scale));
  return worst;
}

describe.skipIf(missing !== null)('PyTorch interop', () => {
  const tmp = tempDir('rnn-torch-');
  afterAll(() => tmp.cleanup());
  writeFileSync(join(tmp.dir, 'corpus.txt'), CORPUS);

  it('rnn checkpoints (lstm, gru-torch, rnn) load into torch.nn by name and give the same logits', async () => {
    const cells = ['lstm', 'gru-torch', 'rnn'] as const;
    const files = await Promise.all(cells.map(async (cell) => {
      const out = join(tmp.dir, `ck-${cell}`);
      const r = await runCli(['train', 'corpus.txt', '--cell', cell, '--layers', '2', '--hidden', '12', '--embed', '6',
        '--batch', '4', '--seq', '8', '--steps', '4', '--eval-every', '0', '--out', out, '--backend', 'reference', '-q'], { cwd: tmp.dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return join(out, readdirSync(out).find((f) => f.endsWith('-last.safetensors'))!);
    }));
    const first = await readCheckpoint(files[0]!);
    expect(Object.keys(first.state!.moments).length).toBeGreaterThan(0); // full training checkpoints: the script must skip optim.* and state.*
    const ids = randomIds(first.model.vocab, 9, 3, 5);
    const torch = python(['forward', JSON.stringify(ids), ...files, '--double']) as { logits: number[][] };
    for (let i = 0; i < files.length; i++) {
      const ours = await rnnLogits(files[i]!, ids);
      expect(torch.logits[i]!.length, cells[i]).toBe(ours.length);
      expect(worstRelative(torch.logits[i]!, ours), cells[i]).toBeLessThan(1e-6);
    }
  });

  it('a model trained in PyTorch samples in rnn, with the same logits', async () => {
    const file = join(tmp.dir, 'from-torch.safetensors');
    const ids = randomIds(12, 7, 2, 9); // the corpus has 19 distinct characters; ids below 12 are valid
    const made = python(['make', file, join(tmp.dir, 'corpus.txt'), '--cell', 'lstm', '--layers', '2', '--hidden', '24',
      '--embed', '8', '--steps', '50', '--ids', JSON.stringify(ids)]) as { vocab: string[]; logits: number[]; loss: number };
    expect(made.loss).toBeLessThan(2.5); // it did learn something

    const ckpt = await readCheckpoint(file);
    expect(ckpt.vocab.toJSON()).toEqual(made.vocab);
    expect(ckpt.train).toBeNull(); // weights only
    expect(worstRelative(made.logits, await rnnLogits(file, ids))).toBeLessThan(1e-5);

    const s = await runCli(['sample', '--checkpoint', file, '-n', '80', '--seed', '3', '--backend', 'reference']);
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    expect([...s.stdout].length).toBe(80);
    for (const ch of s.stdout) expect(made.vocab).toContain(ch);

    // and it goes on to ONNX like any checkpoint
    const e = await runCli(['export', '--checkpoint', file, '--onnx', join(tmp.dir, 'from-torch.onnx'), '-q']);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
  });
});
