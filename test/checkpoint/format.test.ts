// Format versions: a small checkpoint of every released format version lives in
// test/fixtures/checkpoints (written once by test/fixtures/make_fixtures.mjs, then frozen).
// Each must keep loading, computing the same logits, sampling, and (training
// checkpoints) resuming; a version newer than this build knows gets the one-line
// "upgrade rnn" error.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { decodeCheckpoint, FORMAT_VERSION, modelFromCheckpoint, readCheckpoint, SUPPORTED_VERSIONS } from '../../src/checkpoint/store.js';
import { loadNative } from '../../src/kernels/native/index.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { ClassifierModel } from '../../src/nn/classifier.js';
import { requireTask } from '../../src/tasks/registry.js';
import { CheckpointError } from '../../src/util/errors.js';
import { runCli, tempDir } from '../helpers/cli.js';

const DIR = fileURLToPath(new URL('../fixtures/checkpoints/', import.meta.url));
const FIXTURES = readdirSync(DIR).filter((f) => f.endsWith('.safetensors')).sort();
/** The data a training fixture resumes on: the text of a language model, the labelled lines of a classifier. */
const DATA = (name: string) => join(DIR, name.includes('-classify-') ? 'classes.tsv' : 'corpus.txt');

/** Logits of a fixed id pattern, rounded so the snapshot does not depend on the last bits of Math.tanh. */
function logitsOf(file: string, ckpt: Awaited<ReturnType<typeof readCheckpoint>>): string[] {
  if (ckpt.task === 'classify') return classifierLogitsOf(file, requireTask(ckpt, 'classify'));
  const model = modelFromCheckpoint(new ReferenceKernels('f64'), ckpt);
  const T = 5;
  const B = 2;
  const ws = model.workspace(B, T, false);
  for (let i = 0; i < T * B; i++) ws.ids[i] = (i * 7 + 3) % ckpt.model.vocab;
  ws.forward();
  expect(ws.logits.every(Number.isFinite), file).toBe(true);
  return Array.from(ws.logits.subarray(0, 3 * ckpt.model.vocab), (x) => x.toPrecision(6));
}

/** A classifier's logits for two rows of different lengths, rounded as above. */
function classifierLogitsOf(file: string, ckpt: ReturnType<typeof requireTask<'classify', Awaited<ReturnType<typeof readCheckpoint>>>>): string[] {
  const model = new ClassifierModel(new ReferenceKernels('f64'), ckpt.model);
  for (const [name, data] of ckpt.params) model.layout.view(model.params, name).set(data);
  const ws = model.workspace(2, 5, false);
  for (let i = 0; i < 10; i++) ws.ids[i] = (i * 7 + 3) % ckpt.model.vocab;
  ws.lengths.set([5, 3]);
  ws.setSteps(5);
  ws.forward();
  expect(Array.from(ws.logits).every(Number.isFinite), file).toBe(true);
  return Array.from(ws.logits, (x) => x.toPrecision(6));
}

describe('checkpoint format versions', () => {
  const tmp = tempDir('rnn-format-');
  afterAll(() => tmp.cleanup());

  it('there is a fixture of every supported version', () => {
    for (const v of SUPPORTED_VERSIONS) expect(FIXTURES.some((f) => f.startsWith(`v${v}-`)), `fixture of format version ${v}`).toBe(true);
    expect(SUPPORTED_VERSIONS).toContain(FORMAT_VERSION);
  });

  for (const name of FIXTURES) {
    it(`${name} loads and computes the logits it always did`, async () => {
      const file = join(DIR, name);
      const ckpt = await readCheckpoint(file);
      expect(name.startsWith(`v${readMetadata(file).format_version}-`)).toBe(true);
      await expect(JSON.stringify({ model: pickModel(ckpt.model), vocab: ckpt.vocab.toJSON(), logits: logitsOf(name, ckpt) }, null, 1))
        .toMatchFileSnapshot(`../fixtures/checkpoints/__snapshots__/${name.replace('.safetensors', '.json')}`);
    });

    if (name.includes('-classify-')) {
      it(`${name} classifies through the CLI`, async () => {
        const r = await runCli(['classify', '--checkpoint', join(DIR, name)], { input: 'salt wave\ngreen hill\n' });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^(sea|land|sky café)\t[01]\.\d{4}\tsalt wave\n(sea|land|sky café)\t[01]\.\d{4}\tgreen hill\n$/);
      });
    } else {
      it(`${name} samples through the CLI`, async () => {
        const r = await runCli(['sample', '--checkpoint', join(DIR, name), '-n', '40', '--seed', '1']);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect([...r.stdout].length).toBe(40);
      });

      it(`${name} samples the text it always did, on every backend and thread count`, async () => {
        const want = readFileSync(join(DIR, '__snapshots__', name.replace('.safetensors', '.sample.txt')), 'utf8');
        const args = ['sample', '--checkpoint', join(DIR, name), '-n', '300', '--seed', '7', '--temp', '0.9'];
        const native = loadNative().addon ? [['--backend', 'native', '--threads', '1'], ['--backend', 'native', '--threads', '2']] : [];
        for (const backend of [...native, ['--backend', 'wasm'], ['--backend', 'reference']]) {
          const r = await runCli([...args, ...backend]);
          expect(r.code).toBe(0);
          expect(r.stdout, backend.join(' ')).toBe(want);
        }
      });
    }
  }

  for (const name of FIXTURES.filter((f) => f.includes('-train'))) {
    it(`${name} resumes training`, async () => {
      const ckpt = await readCheckpoint(join(DIR, name));
      const step = ckpt.progress!.step;
      const r = await runCli(['train', DATA(name), '--resume', join(DIR, name), '--steps', String(step + 2), '--out', join(tmp.dir, name),
        '--backend', 'reference', '-q']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = readdirSync(join(tmp.dir, name)).find((f) => f.endsWith('-last.safetensors'))!;
      expect((await readCheckpoint(join(tmp.dir, name, out))).progress!.step).toBe(step + 2);
    });
  }

  it('a newer format version is refused with one line that says to upgrade rnn', async () => {
    const file = join(DIR, FIXTURES[0]!);
    const future = String(FORMAT_VERSION + 1);
    const bytes = withMetadata(readFileSync(file), { format_version: future });
    let err: unknown;
    try {
      decodeCheckpoint(bytes, 'future.safetensors');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(new RegExp(`^future\\.safetensors: .*format version ${future}.*upgrade rnn`));

    const path = join(tmp.dir, 'future.safetensors');
    writeFileSync(path, bytes);
    const r = await runCli(['sample', '--checkpoint', path, '-n', '5']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^rnn: .*future\.safetensors: .*upgrade rnn/);
  });
});

function pickModel(m: { cell: string; vocab: number; embed: number; hidden: number; layers: number; bidirectional?: boolean; pool?: string; classes?: number }) {
  const { cell, vocab, embed, hidden, layers } = m;
  // a classifier's fields too (a language model's snapshot stays as it was)
  return 'classes' in m ? { cell, vocab, embed, hidden, layers, bidirectional: m.bidirectional, pool: m.pool, classes: m.classes } : { cell, vocab, embed, hidden, layers };
}

function readMetadata(file: string): Record<string, string> {
  return decodeSafetensors(readFileSync(file), file).metadata;
}

function withMetadata(bytes: Uint8Array, changes: Record<string, string>): Uint8Array {
  const { metadata, tensors } = decodeSafetensors(bytes, 'x');
  return encodeSafetensors([...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })), { ...metadata, ...changes });
}
