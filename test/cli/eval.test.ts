// `rnn eval`: the numbers equal the training loss computation (Workspace.forward + loss)
// on the same text, read as one stream; unknown characters are counted, not fatal.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFromCheckpoint, readCheckpoint } from '../../src/checkpoint/store.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { runCli } from '../helpers/cli.js';
import { trainTinyModel, type TinyModel } from '../sample/fixture.js';

const TEXT = 'a dog sat on a log. the cat met the dog on the mat.\nthe log sat on a cat.\n'.repeat(6);

/** Mean loss of predicting ids[1..] from ids[..n-1] in one window of the training code. */
async function directNats(checkpoint: string, text: string): Promise<{ nats: number; chars: number }> {
  const ckpt = await readCheckpoint(checkpoint);
  const model = modelFromCheckpoint(new ReferenceKernels('f32'), ckpt);
  const ids = ckpt.vocab.encodeLenient(text).ids;
  const n = ids.length - 1;
  const ws = model.workspace(1, n, false);
  ws.ids.set(ids.subarray(0, n));
  ws.targets.set(ids.subarray(1));
  ws.forward();
  return { nats: ws.loss(), chars: n };
}

describe('rnn eval', () => {
  let m: TinyModel;
  beforeAll(async () => {
    m = await trainTinyModel();
    writeFileSync(join(m.dir, 'held.txt'), TEXT);
    writeFileSync(join(m.dir, 'odd.txt'), `QQ${TEXT}ß`);
  });
  afterAll(() => m?.cleanup());

  it('equals the training loss computation on the same text (one stream, state carried)', async () => {
    const want = await directNats(m.checkpoint, TEXT);
    const ref = await runCli(['eval', 'held.txt', '--json', '--backend', 'reference'], { cwd: m.dir });
    expect(ref.stderr).toBe('');
    expect(ref.code).toBe(0);
    const got = JSON.parse(ref.stdout);
    expect(got.chars).toBe(want.chars);
    expect(Math.abs(got.nats - want.nats) / want.nats).toBeLessThan(1e-6);
    expect(got.bpc).toBeCloseTo(want.nats / Math.LN2, 10);
    expect(got.perplexity).toBeCloseTo(Math.exp(want.nats), 10);
    expect(got.unknown).toBe(0);

    // the default (WebAssembly) backend agrees to float32 rounding
    const wasm = JSON.parse((await runCli(['eval', 'held.txt', '--json'], { cwd: m.dir })).stdout);
    expect(Math.abs(wasm.nats - want.nats) / want.nats).toBeLessThan(1e-4);
  });

  it('prints key<TAB>value lines, reads stdin, and only data goes to stdout', async () => {
    const file = await runCli(['eval', 'held.txt', '--backend', 'reference'], { cwd: m.dir });
    expect(file.code).toBe(0);
    expect(file.stderr).toBe('');
    const rows = file.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
    expect(rows.map((r) => r[0])).toEqual(['nats', 'bpc', 'perplexity', 'chars', 'unknown']);
    for (const r of rows) expect(Number.isFinite(Number(r[1]))).toBe(true);
    const stdin = await runCli(['eval', '-', '--backend', 'reference'], { cwd: m.dir, input: TEXT });
    expect(stdin.stdout).toBe(file.stdout);
    const implicit = await runCli(['eval', '--backend', 'reference'], { cwd: m.dir, input: TEXT });
    expect(implicit.stdout).toBe(file.stdout);
  });

  it('counts and names characters outside the vocabulary, and scores the rest', async () => {
    const r = await runCli(['eval', 'odd.txt', '--json', '--backend', 'reference'], { cwd: m.dir });
    expect(r.code).toBe(0);
    const got = JSON.parse(r.stdout);
    expect(got.unknown).toBe(3);
    expect(got.unknownChars).toEqual({ Q: 2, ß: 1 });
    expect(r.stderr).toMatch(/^rnn: warning: 3 characters .*"Q" "ß"\n$/);
    const want = await directNats(m.checkpoint, TEXT);
    expect(Math.abs(got.nats - want.nats) / want.nats).toBeLessThan(1e-6);
  });

  it('too little text, a missing file and an empty stdin are one-line errors', async () => {
    const short = await runCli(['eval', '-'], { cwd: m.dir, input: 'a' });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/^rnn: stdin: fewer than 2 characters.*\n$/);
    const missing = await runCli(['eval', 'nope.txt'], { cwd: m.dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr.split('\n')).toHaveLength(2);
    const empty = await runCli(['eval', '-'], { cwd: m.dir, input: '' });
    expect(empty.code).toBe(1);
    expect(empty.stdout).toBe('');
  });
});
