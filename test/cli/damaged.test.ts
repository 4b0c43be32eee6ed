// Checkpoints that are damaged or are not files, through the commands that read them:
// one line naming the checkpoint, exit 1, nothing on stdout; never a hang, a crash or a
// result made of NaN.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { expectOneLineError, runCli, tempDir } from '../helpers/cli.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/checkpoints/v1-lstm-train.safetensors', import.meta.url));
const tmp = tempDir('rnn-damaged-');
afterAll(() => tmp.cleanup());
writeFileSync(join(tmp.dir, 'text.txt'), 'the cat sat on the mat\nthe dog sat on the log\n'.repeat(4));

async function expectRefused(args: string[], pattern: RegExp, code = 1) {
  expectOneLineError(await runCli(args, { cwd: tmp.dir, timeoutMs: 20_000 }), code, pattern);
}

/** The three commands that read a checkpoint's model. */
const readers = (file: string): string[][] => [
  ['sample', '-c', file, '-n', '10'],
  ['info', file],
  ['eval', 'text.txt', '-c', file],
];

/** A copy of the v1 fixture (no checksum) with one tensor value or metadata entry changed. */
function edited(name: string, edit: (m: Record<string, string>, t: Map<string, Float32Array>) => void): string {
  const { metadata, tensors } = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)), 'fixture');
  const data = new Map([...tensors].map(([n, t]) => [n, t.data as Float32Array]));
  edit(metadata, data);
  writeFileSync(join(tmp.dir, name), encodeSafetensors([...tensors].map(([n, t]) => ({ name: n, shape: t.shape, data: data.get(n)! })), metadata));
  return name;
}

describe('a checkpoint that is not a regular file', () => {
  beforeAll(() => execFileSync('mkfifo', [join(tmp.dir, 'fifo.safetensors')]));
  for (const args of readers('fifo.safetensors')) {
    it(`${args[0]} refuses a FIFO at once`, () => expectRefused(args, /fifo\.safetensors: is not a regular file/));
  }
});

describe('a damaged format_version is damage, not a reason to upgrade', () => {
  for (const bad of [undefined, 'null', '0', '-1', '1.5', 'one', '']) {
    it(`format_version ${JSON.stringify(bad)}`, async () => {
      const file = edited('version.safetensors', (m) => {
        if (bad === undefined) delete m.format_version;
        else m.format_version = bad;
      });
      await expectRefused(['info', file], /version\.safetensors: metadata format_version is .* the file is damaged/);
      const r = await runCli(['info', file], { cwd: tmp.dir });
      expect(r.stderr).not.toMatch(/upgrade/);
    });
  }
});

describe('damaged numbers', () => {
  let trained: string;
  beforeAll(async () => {
    const r = await runCli(['train', 'text.txt', '--steps', '2', '--layers', '1', '--hidden', '8', '--batch', '2', '--seq', '8', '--out', 'run', '-q'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    trained = join('run', readdirSync(join(tmp.dir, 'run')).find((f) => f.endsWith('-best.safetensors'))!);
  });

  it('a checkpoint written by rnn carries a CRC-32 of its tensor data and of its weights; one flipped bit in the weights is found by every reader', async () => {
    const bytes = new Uint8Array(readFileSync(join(tmp.dir, trained)));
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))).__metadata__;
    expect(meta.data_crc32).toMatch(/^[0-9a-f]{8}$/);
    expect(meta.data_crc32_head).toMatch(/^\d+:[0-9a-f]{8}$/);
    // a low mantissa bit of the first weight: the weights stay finite and small, only the checksum can tell
    bytes[8 + headerLength] ^= 0x01;
    writeFileSync(join(tmp.dir, 'flipped.safetensors'), bytes);
    for (const args of readers('flipped.safetensors')) await expectRefused(args, /flipped\.safetensors: the tensor data does not match the checksum.*damaged/);
  });

  it('one flipped bit in the optimizer moments or run state: resume and info refuse the file, sample and eval (which read only the checked weights) use it', async () => {
    const bytes = new Uint8Array(readFileSync(join(tmp.dir, trained)));
    bytes[bytes.length - 8] ^= 0x01;
    writeFileSync(join(tmp.dir, 'flipped-state.safetensors'), bytes);
    const damaged = /flipped-state\.safetensors: the tensor data does not match the checksum.*damaged/;
    await expectRefused(['info', 'flipped-state.safetensors'], damaged);
    await expectRefused(['train', 'text.txt', '--resume', 'flipped-state.safetensors', '--steps', '4', '--out', 'run-resumed', '-q'], damaged);
    const sample = await runCli(['sample', '-c', 'flipped-state.safetensors', '-n', '10', '--seed', '1'], { cwd: tmp.dir });
    const intact = await runCli(['sample', '-c', trained, '-n', '10', '--seed', '1'], { cwd: tmp.dir });
    expect(sample.code, sample.stderr).toBe(0);
    expect(sample.stdout).toBe(intact.stdout);
    const evaluated = await runCli(['eval', 'text.txt', '-c', 'flipped-state.safetensors'], { cwd: tmp.dir });
    expect(evaluated.code, evaluated.stderr).toBe(0);
  });

  it('an older file without a checksum, with a weight of 3e38, is refused as damaged', async () => {
    const file = edited('huge.safetensors', (_m, t) => {
      t.get('head.weight')![0] = 3e38;
    });
    for (const args of readers(file)) await expectRefused(args, /huge\.safetensors: tensor head\.weight holds a weight of 3\.0e\+38.*damaged/);
  });

  it('eval refuses a loss beyond any trained model (perplexity past the float range) instead of printing Infinity', async () => {
    const file = edited('loud.safetensors', (_m, t) => {
      const b = t.get('head.bias')!;
      for (let i = 0; i < b.length; i++) b[i] = i % 2 ? 5e7 : -5e7;
    });
    await expectRefused(['eval', 'text.txt', '-c', file], /loud\.safetensors: the model's loss is .* nats\/char, beyond any trained model: the file is damaged/);
  });

  it('files without a checksum keep loading (the frozen fixture samples)', async () => {
    copyFileSync(FIXTURE, join(tmp.dir, 'old.safetensors'));
    const r = await runCli(['sample', '-c', 'old.safetensors', '-n', '5', '--seed', '1'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('rnn info on unusual histories', () => {
  it('a history of 100,000 evaluations and values of ±1e308 give a chart, status 0', async () => {
    const file = edited('history.safetensors', (m) => {
      const progress = JSON.parse(m.progress!) as { history: { step: number; train: number; val: number | null }[] };
      progress.history = Array.from({ length: 100_000 }, (_, i) => ({ step: i + 1, train: 2 + 1 / (i + 1), val: i % 7 === 0 ? 1e308 : i % 11 === 0 ? -1e308 : 2.1 }));
      m.progress = JSON.stringify(progress);
    });
    const r = await runCli(['info', file], { cwd: tmp.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/loss \(nats\/char\) by step/);
    expect(r.stdout).toMatch(/┤/);
  });
});

describe('a classifier or encoder-decoder whose finite weights compute NaN', () => {
  // a ReLU RNN whose recurrent weights are 1e7 (finite, under the load limit) multiplies its
  // state by about 1e8 a step: past float32 within a few characters, then ∞ − ∞ = NaN
  const rows = Array.from({ length: 40 }, (_, i) => `${i % 2 ? 'odd' : 'even'}\tword ${'ab'.repeat(3 + (i % 4))}`).join('\n');
  const pairs = Array.from({ length: 40 }, (_, i) => `abcabcab${i}\t${i}bacba`).join('\n');
  const SMALL = ['--cell', 'rnn-relu', '--layers', '1', '--hidden', '8', '--embed', '4', '--steps', '2', '-q'];

  /** Trains a tiny model of `task` and returns a copy of its checkpoint with loud recurrent weights. */
  async function loud(task: string, data: string, name: string): Promise<string> {
    writeFileSync(join(tmp.dir, `${name}.tsv`), data);
    const r = await runCli(['train', `${name}.tsv`, '--task', task, ...SMALL, '--out', name], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    const source = join(tmp.dir, name, readdirSync(join(tmp.dir, name)).find((f) => f.endsWith('-best.safetensors'))!);
    const { metadata, tensors } = decodeSafetensors(new Uint8Array(readFileSync(source)), 'source');
    const out = encodeSafetensors([...tensors].map(([n, t]) => {
      const data = (t.data as Float32Array).slice();
      if (/weight_hh/.test(n)) data.fill(1e7);
      return { name: n, shape: t.shape, data };
    }), metadata, { checksum: true });
    writeFileSync(join(tmp.dir, `${name}-loud.safetensors`), out);
    return `${name}-loud.safetensors`;
  }

  it('rnn classify and rnn eval refuse it, naming the checkpoint', async () => {
    const file = await loud('classify', rows, 'cls');
    writeFileSync(join(tmp.dir, 'lines.txt'), 'word ababababab\nword abab abab abab\n');
    const damaged = /cls-loud\.safetensors: the model computes NaN or infinite outputs: the file is damaged/;
    await expectRefused(['classify', '-c', file, 'lines.txt'], damaged);
    await expectRefused(['eval', 'cls.tsv', '-c', file], damaged);
  });

  it('rnn translate refuses it, naming the checkpoint', async () => {
    const file = await loud('seq2seq', pairs, 'pairs');
    writeFileSync(join(tmp.dir, 'sources.txt'), 'abcabcab7\n');
    const damaged = /pairs-loud\.safetensors: the model computes NaN or infinite outputs: the file is damaged/;
    await expectRefused(['translate', '-c', file, 'sources.txt'], damaged);
    await expectRefused(['translate', '-c', file, 'sources.txt', '--beam', '3'], damaged);
  });
});
