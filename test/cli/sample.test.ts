// `rnn sample` as a pipeline citizen, through real processes: streaming until the reader
// goes away, stop rules, primes from flags/files/stdin, decoding options, --count.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, tempDir } from '../helpers/cli.js';
import { CORPUS, trainTinyModel, type TinyModel } from '../sample/fixture.js';

describe('rnn sample', () => {
  let m: TinyModel;
  beforeAll(async () => {
    m = await trainTinyModel();
  });
  afterAll(() => m?.cleanup());

  const sample = (args: string[], input?: string) => runCli(['sample', ...args], { cwd: m.dir, input });

  /** Runs sample and expects success with nothing on stderr; returns stdout. */
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await sample(args, input);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  };

  it('--forever | head -c 1000 exits 0 promptly with empty stderr', async () => {
    const started = Date.now();
    const shell = spawn('bash', ['-c', `"$0" "$1" sample --forever --seed 1 2>err.txt | head -c 1000 > out.txt; echo "\${PIPESTATUS[0]}"`, process.execPath, BIN], {
      cwd: m.dir, env: { ...process.env, NO_COLOR: '1' },
    });
    let status = '';
    shell.stdout.on('data', (d: Buffer) => (status += d.toString()));
    await new Promise<void>((resolve) => shell.on('close', () => resolve()));
    expect(status.trim()).toBe('0');
    expect(readFileSync(join(m.dir, 'err.txt'), 'utf8')).toBe('');
    expect(readFileSync(join(m.dir, 'out.txt')).length).toBe(1000);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('--length 0 ends quietly when the reader closes its end of the pipe', async () => {
    const child = spawn(process.execPath, [BIN, 'sample', '--length', '0', '--seed', '2'], { cwd: m.dir, env: { ...process.env, NO_COLOR: '1' } });
    let got = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 5000) child.stdout.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(got).toBeGreaterThanOrEqual(5000);
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  it('same seed and options give the same bytes; another seed other text', async () => {
    const args = ['-n', '300', '--temp', '1.1', '--top-p', '0.95', '--top-k', '20'];
    const a = await ok([...args, '--seed', '42']);
    const b = await ok([...args, '--seed', '42']);
    const c = await ok([...args, '--seed', '43']);
    expect([...a].length).toBe(300);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('--top-k 1 equals argmax (--temp 0) whatever the temperature and seed', async () => {
    const argmax = await ok(['-n', '200', '--temp', '0', '--prime', 'the ']);
    const k1 = await ok(['-n', '200', '--temp', '1.7', '--top-k', '1', '--seed', '9', '--prime', 'the ']);
    expect(k1).toBe(argmax);
  });

  it('--stop ends at the first stop string in the generated text, which is not printed unless --keep-stop', async () => {
    const args = ['-n', '2000', '--seed', '5', '--prime', 'a dog'];
    const full = await ok(args);
    const generated = full.slice('a dog'.length);
    const at = generated.indexOf('at');
    expect(at).toBeGreaterThanOrEqual(0);
    // the prime holds no "at"; the stop is searched in generated text only
    expect(await ok([...args, '--stop', 'at'])).toBe('a dog' + generated.slice(0, at));
    expect(await ok([...args, '--stop', 'at', '--keep-stop'])).toBe('a dog' + generated.slice(0, at + 2));
    // several stops: the earliest wins; escapes are understood
    const nl = generated.indexOf('\n');
    const first = Math.min(...[at, nl].filter((i) => i >= 0));
    expect(await ok([...args, '--stop', 'zzz', '--stop', 'at', '--stop', '\\n'])).toBe('a dog' + generated.slice(0, first));
  });

  it('a stop string inside the prime does not stop generation', async () => {
    const out = await ok(['-n', '30', '--seed', '3', '--prime', 'the cat sat', '--stop', 'cat s']);
    expect(out.startsWith('the cat sat')).toBe(true);
    expect([...out].length).toBeGreaterThan('the cat sat'.length);
  });

  it('--lines N ends after the N-th generated newline', async () => {
    const args = ['-n', '3000', '--seed', '8', '--prime', 'the cat\n'];
    const full = await ok(args);
    const generated = full.slice('the cat\n'.length);
    let end = -1;
    for (let i = 0; i < 2; i++) end = generated.indexOf('\n', end + 1);
    expect(end).toBeGreaterThan(0);
    const two = await ok([...args, '--lines', '2']);
    expect(two).toBe('the cat\n' + generated.slice(0, end + 1));
    expect(two.split('\n').length - 1).toBe(3); // the prime's newline + two generated
  });

  it('--prime - reads stdin, --prime-file a file; both echo first, and --no-echo leaves the prime out', async () => {
    const flag = await ok(['-n', '40', '--seed', '4', '--prime', 'the dog sat']);
    expect(flag.startsWith('the dog sat')).toBe(true);
    expect(await ok(['-n', '40', '--seed', '4', '--prime', '-'], 'the dog sat')).toBe(flag);
    writeFileSync(join(m.dir, 'prime.txt'), 'the dog sat');
    expect(await ok(['-n', '40', '--seed', '4', '--prime-file', 'prime.txt'])).toBe(flag);
    expect(await ok(['-n', '40', '--seed', '4', '--prime-file', '-'], 'the dog sat')).toBe(flag);
    expect(await ok(['-n', '40', '--seed', '4', '--prime', 'the dog sat', '--no-echo'])).toBe(flag.slice('the dog sat'.length));
  });

  it('unknown prime characters are skipped with one warning naming them; --strict rejects them (exit 1)', async () => {
    const r = await sample(['-n', '20', '--seed', '1', '--prime', 'the Zcat Ωsat Z']);
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^rnn: warning: .*"Z".*"Ω"/);
    expect(r.stdout.startsWith('the Zcat Ωsat Z')).toBe(true); // echoed as given
    // the model saw the prime without them
    const clean = await ok(['-n', '20', '--seed', '1', '--prime', 'the cat sat ', '--no-echo']);
    expect(r.stdout.slice('the Zcat Ωsat Z'.length)).toBe(clean);

    const strict = await sample(['-n', '20', '--prime', 'the Zcat', '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toBe('');
    expect(strict.stderr).toMatch(/^rnn: .*"Z".*--strict.*\n$/);
    expect(strict.stderr.split('\n')).toHaveLength(2);

    const onlyUnknown = await sample(['-n', '10', '--seed', '1', '--prime', 'ZZZ']);
    expect(onlyUnknown.code).toBe(0);
    expect([...onlyUnknown.stdout].length).toBe(13);
  });

  it('--count N writes N independent samples between separators', async () => {
    const one = await ok(['-n', '50', '--seed', '6', '--prime', 'a ']);
    const three = await ok(['-n', '50', '--seed', '6', '--prime', 'a ', '--count', '3', '--separator', '|']);
    const parts = three.split('|');
    expect(parts).toHaveLength(3);
    expect(parts[0]).toBe(one);
    for (const p of parts) {
      expect(p.startsWith('a ')).toBe(true);
      expect([...p].length).toBe(52);
    }
    expect(new Set(parts).size).toBe(3);
    const dflt = await ok(['-n', '50', '--seed', '6', '--prime', 'a ', '--count', '2']);
    expect(dflt).toBe(`${parts[0]}\n\n${parts[1]}`);
  });

  it('--temp 0 is deterministic without a seed, and text only uses the vocabulary', async () => {
    const a = await ok(['-n', '100', '--temp', '0']);
    const b = await ok(['-n', '100', '--temp', '0']);
    expect(a).toBe(b);
    for (const ch of a) expect(CORPUS.includes(ch)).toBe(true);
  });

  it('a missing checkpoint is one line with the fix, exit 1', async () => {
    const empty = tempDir();
    try {
      const r = await runCli(['sample'], { cwd: empty.dir });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('rnn: no checkpoint found in checkpoints/; train one first (rnn train FILE) or pass --checkpoint PATH\n');
      const given = await runCli(['sample', '--checkpoint', m.checkpoint, '-n', '5', '--seed', '1'], { cwd: empty.dir });
      expect(given.code).toBe(0);
      expect([...given.stdout].length).toBe(5);
    } finally {
      empty.cleanup();
    }
  });

  it('bad flag values are usage errors (exit 2)', async () => {
    for (const args of [['--top-p', '0'], ['--count', '0'], ['--stop', ''], ['--prime', 'a', '--prime-file', 'x'], ['--lines', '-1']]) {
      const r = await sample(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(2);
    }
  });

  it('--beam 1 prints what --temp 0 prints; its log p goes to stderr', async () => {
    const argmax = await ok(['-n', '120', '--temp', '0', '--prime', 'the d']);
    const r = await sample(['-n', '120', '--beam', '1', '--prime', 'the d']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(argmax);
    expect(r.stderr).toMatch(/^rnn: beam 1\/1: log p -?\d+\.\d+ \(score -?\d+\.\d+\), 120 characters, ended by length\n$/);
  });

  it('--beam 8 --nbest 3 --json: three distinct continuations, best first, with their log-probabilities', async () => {
    const out = await ok(['--beam', '8', '--nbest', '3', '--json', '--prime', 'a ', '--stop', '.', '-n', '60']);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { rank: number; text: string; logprob: number; score: number; chars: number; end: string });
    expect(lines.map((l) => l.rank)).toEqual([1, 2, 3]);
    expect(new Set(lines.map((l) => l.text)).size).toBe(3);
    for (let i = 0; i < 3; i++) {
      expect(lines[i].text.startsWith('a ')).toBe(true);
      expect(lines[i].text.slice(2)).not.toContain('.');
      expect(lines[i].logprob).toBeLessThan(0);
      if (i > 0) expect(lines[i].score).toBeLessThanOrEqual(lines[i - 1].score);
      if (lines[i].end === 'stop') expect(lines[i].chars).toBe([...lines[i].text].length - 2 + 1);
    }
    // the best beam continuation is at least as likely as the greedy one
    const greedy = JSON.parse(await ok(['--beam', '1', '--json', '--prime', 'a ', '--stop', '.', '-n', '60', '--length-penalty', '0'])) as { logprob: number };
    const wide = JSON.parse(await ok(['--beam', '8', '--json', '--prime', 'a ', '--stop', '.', '-n', '60', '--length-penalty', '0'])) as { logprob: number };
    expect(wide.logprob).toBeGreaterThanOrEqual(greedy.logprob - 1e-9);
  });

  it('--json without --beam: one object per sample', async () => {
    const out = await ok(['--json', '--count', '2', '-n', '30', '--seed', '4', '--prime', 'the']);
    const objs = out.trim().split('\n').map((l) => JSON.parse(l) as { sample: number; seed: number; text: string });
    expect(objs.map((o) => o.sample)).toEqual([1, 2]);
    for (const o of objs) expect([...o.text].length).toBe(33);
    const plain = await ok(['--count', '2', '-n', '30', '--seed', '4', '--prime', 'the', '--separator', '']);
    expect(objs.map((o) => o.text).join('')).toBe(plain);
  });

  it('beam options that do not fit are usage errors (exit 2, one line)', async () => {
    for (const args of [['--beam', '2', '--temp', '0.5'], ['--beam', '2', '--seed', '3'], ['--beam', '2', '--nbest', '3'], ['--nbest', '2'],
      ['--beam', '2', '--forever'], ['--beam', '2', '-n', '0'], ['--beam', '0'], ['--json', '-n', '0']]) {
      const r = await sample(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n'), args.join(' ')).toHaveLength(2);
    }
  });
});
