// `rnn export` end to end: ONNX to a file and to stdout, weights-only safetensors, and
// one-line errors for what cannot be exported.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/store.js';
import { BIN, runCli, tempDir } from '../helpers/cli.js';

type Ort = typeof import('onnxruntime-web');
let ort: Ort | null = null;
try {
  ort = (await import('../helpers/ort.js')).ort;
} catch {
  console.warn('onnxruntime-web is not available: exported models are written but not run');
}

const CORPUS = 'a stitch in time saves nine; a rolling stone gathers no moss.\n'.repeat(30);

describe('rnn export', () => {
  const tmp = tempDir('rnn-export-');
  const ckpt: Record<string, string> = {};
  afterAll(() => tmp.cleanup());
  beforeAll(async () => {
    writeFileSync(join(tmp.dir, 'corpus.txt'), CORPUS);
    await Promise.all(['lstm', 'lstm-peep'].map(async (cell) => {
      const r = await runCli(['train', 'corpus.txt', '--cell', cell, '--layers', '2', '--hidden', '8', '--embed', '4', '--batch', '2',
        '--seq', '8', '--steps', '3', '--eval-every', '0', '--out', cell, '--backend', 'reference', '-q'], { cwd: tmp.dir });
      expect(r.code).toBe(0);
      ckpt[cell] = join(tmp.dir, cell, readdirSync(join(tmp.dir, cell)).find((f) => f.endsWith('-best.safetensors'))!);
    }));
  });

  it('--onnx writes a model, the same bytes to a file and to stdout', async () => {
    const r = await runCli(['export', '-c', ckpt.lstm!, '--onnx', 'model.onnx'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^wrote model\.onnx: ONNX \(opset 17\)/);
    expect(r.stderr).toContain('inputs: ids [T,B] int64, h0, c0 [2,B,8] float32');
    const file = readFileSync(join(tmp.dir, 'model.onnx'));

    const piped = await new Promise<Buffer>((resolve, reject) => {
      import('node:child_process').then(({ spawn }) => {
        const child = spawn(process.execPath, [BIN, 'export', '-c', ckpt.lstm!, '--onnx', '-', '-q']);
        const chunks: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => chunks.push(d));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`exit ${code}`))));
      }, reject);
    });
    expect(piped.equals(file)).toBe(true);

    if (ort) {
      const session = await ort.InferenceSession.create(new Uint8Array(file));
      expect(session.inputNames).toEqual(['ids', 'h0', 'c0']);
      const B = 2;
      const zeros = () => new ort!.Tensor('float32', new Float32Array(2 * B * 8), [2, B, 8]);
      const out = await session.run({ ids: new ort.Tensor('int64', BigInt64Array.from([0n, 1n, 2n, 3n, 4n, 5n]), [3, B]), h0: zeros(), c0: zeros() });
      const V = (await readCheckpoint(ckpt.lstm!)).model.vocab;
      expect(out.logits!.dims).toEqual([3, B, V]);
    }
  });

  it('--no-state-inputs gives a graph that takes ids only', async () => {
    const r = await runCli(['export', '-c', ckpt.lstm!, '--onnx', 'ids-only.onnx', '--no-state-inputs', '-q'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    if (ort) expect((await ort.InferenceSession.create(new Uint8Array(readFileSync(join(tmp.dir, 'ids-only.onnx'))))).inputNames).toEqual(['ids']);
  });

  it('--safetensors-weights writes the weights only, which load and sample', async () => {
    const r = await runCli(['export', '-c', ckpt.lstm!, '--safetensors-weights', 'weights.safetensors', '-q'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    const full = await readCheckpoint(ckpt.lstm!);
    const weights = await readCheckpoint(join(tmp.dir, 'weights.safetensors'));
    expect(weights.train).toBeNull();
    expect(weights.state).toBeNull(); // no optimizer moments, no run state
    expect(weights.params).toEqual(full.params);
    expect(weights.vocab.toJSON()).toEqual(full.vocab.toJSON());
    const s = await runCli(['sample', '-c', 'weights.safetensors', '-n', '20', '--seed', '1'], { cwd: tmp.dir });
    expect(s.code).toBe(0);
    expect([...s.stdout]).toHaveLength(20);
  });

  it('a cell ONNX cannot express is refused with one line and exit 1', async () => {
    const r = await runCli(['export', '-c', ckpt['lstm-peep']!, '--onnx', 'peep.onnx'], { cwd: tmp.dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^rnn: cell lstm-peep cannot be exported to ONNX: .*--cell lstm/);
    expect(readdirSync(tmp.dir)).not.toContain('peep.onnx');
  });

  it('usage errors exit 2', async () => {
    const none = await runCli(['export', '-c', ckpt.lstm!], { cwd: tmp.dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^rnn: nothing to export; pass --onnx FILE/);
    const missing = await runCli(['export', '-c', 'nope.safetensors', '--onnx', 'x.onnx'], { cwd: tmp.dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^rnn: nope\.safetensors: no such file/);
  });
});
