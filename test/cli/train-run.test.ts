// `rnn train` as a long-running tool: --json events, no escape codes off a terminal or
// with NO_COLOR, Ctrl-C saves and exits 130, kill -9 never leaves a broken checkpoint,
// resume continues the same run bitwise, and `rnn info` reads what was written.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/store.js';
import { BIN, assertBuilt, runCli, tempDir, wordCorpus } from '../helpers/cli.js';

// a text with some structure, long enough for a few hundred windows
const WORDS = ['the', 'ship', 'sails', 'at', 'dawn', 'and', 'crew', 'sing', 'of', 'salt', 'wind', 'rope', 'sea'];
const corpus = (chars: number) => wordCorpus(WORDS, chars, { seed: 12345, shift: 8, lineEvery: 7, lineEnd: '.\n' });

const SMALL = ['--layers', '1', '--hidden', '24', '--embed', '8', '--batch', '8', '--seq', '16'];
const ESC = '\x1b';

function start(args: string[], cwd: string, env: Record<string, string> = {}): { child: ChildProcess; stderr: () => string; stdout: () => string; done: Promise<{ code: number | null; signal: string | null }> } {
  assertBuilt();
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, stderr: () => err, stdout: () => out, done };
}

async function until(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const files = (dir: string, suffix: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(suffix)) : []);

describe('rnn train as a long-running tool', () => {
  const tmp = tempDir();
  beforeAll(() => writeFileSync(join(tmp.dir, 'ship.txt'), corpus(40_000)));
  afterAll(() => tmp.cleanup());

  it('--json: one parseable object per line on stdout with the documented fields', async () => {
    const r = await runCli(['train', 'ship.txt', ...SMALL, '--steps', '30', '--eval-every', '10', '--json', '--json-every', '5', '--out', 'ck-json'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('start');
    expect(types.at(-1)).toBe('end');
    expect(types.filter((t) => t === 'step').length).toBe(6);
    expect(types.filter((t) => t === 'eval').length).toBe(3);
    const byType = (t: string) => events.find((e) => e.type === t);
    expect(Object.keys(byType('start')).sort()).toEqual(
      ['type', 'task', 'step', 'totalSteps', 'timeMs', 'parameters', 'vocab', 'unit', 'train', 'val', 'valScored', 'trainChars', 'valChars', 'valCharsScored', 'windowsPerEpoch', 'run', 'config', 'checkpoints', 'resumed', 'fineTuned', 'sizing'].sort(),
    );
    expect(Object.keys(byType('step')).sort()).toEqual(['type', 'step', 'loss', 'bpc', 'gradNorm', 'lr', 'epoch', 'charsPerSec', 'elapsedMs'].sort());
    expect(Object.keys(byType('eval')).sort()).toEqual(['type', 'step', 'train', 'trainBpc', 'val', 'valBpc', 'metrics', 'best', 'bestVal', 'elapsedMs', 'weights', 'valTrained', 'valAverage'].sort());
    expect(Object.keys(byType('checkpoint')).sort()).toEqual(['type', 'step', 'kind', 'path', 'val'].sort());
    expect(Object.keys(byType('end')).sort()).toEqual(['type', 'step', 'reason', 'bestVal', 'bestBpc', 'bestStep', 'bestMetrics', 'elapsedMs'].sort());
    const ev = byType('eval');
    expect(ev.valBpc).toBeCloseTo(ev.val / Math.LN2, 10);
    expect(byType('end')).toMatchObject({ step: 30, reason: 'steps' });
    expect(existsSync(byType('start').checkpoints.best)).toBe(true);
  });

  it('no escape codes on stderr off a terminal, even without NO_COLOR or with FORCE_COLOR and NO_COLOR', async () => {
    const plain = await runCli(['train', 'ship.txt', ...SMALL, '--steps', '20', '--eval-every', '10', '--out', 'ck-plain'], { cwd: tmp.dir, env: { NO_COLOR: undefined, CI: undefined, FORCE_COLOR: undefined } });
    expect(plain.code).toBe(0);
    expect(plain.stderr).not.toContain(ESC);
    // one plain line per evaluation, with nats and bpc
    expect(plain.stderr.match(/^step \d+\/20: train [\d.]+ \([\d.]+ bpc\) · val [\d.]+ \([\d.]+ bpc\) nats\/char/gm)?.length).toBe(2);
    expect(plain.stderr).toMatch(/^done \(step limit\) at step 20/m);
    const forced = await runCli(['train', 'ship.txt', ...SMALL, '--steps', '10', '--out', 'ck-plain'], { cwd: tmp.dir, env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    expect(forced.code).toBe(0);
    expect(forced.stderr).not.toContain(ESC);
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('on a terminal: a live bar, and no colour codes with NO_COLOR or --no-color', () => {
    for (const [env, flag] of [['NO_COLOR=1', ''], ['FORCE_COLOR=1', '--no-color']]) {
      const cmd = `stty cols 100; env -u CI ${env} ${process.execPath} ${BIN} train ship.txt ${SMALL.join(' ')} --steps 40 --eval-every 20 --out ck-tty ${flag}`;
      const r = spawnSync('script', ['-qfc', cmd, '/dev/null'], { cwd: tmp.dir, encoding: 'utf8', env: { ...process.env, CI: '', TERM: 'xterm' }, timeout: 60_000 });
      expect(r.stdout).toContain('training');
      expect(r.stdout).toMatch(/\d+\/40/);
      expect(r.stdout).toMatch(/done \(step limit\)/);
      expect(r.stdout).not.toMatch(/\x1b\[[0-9;]*m/);
    }
  });

  it('Ctrl-C: finishes the step, saves, says where, exits 130; the checkpoint loads and resumes into the same files', async () => {
    const out = join(tmp.dir, 'ck-int');
    const run = start(['train', 'ship.txt', ...SMALL, '--steps', '100000', '--eval-every', '5', '--out', out], tmp.dir);
    await until(() => /^step 5\//m.test(run.stderr()));
    run.child.kill('SIGINT');
    const { code } = await run.done;
    expect(code).toBe(130);
    expect(run.stderr()).toMatch(/interrupted: finishing this step and saving/);
    expect(run.stderr()).toMatch(/stopped \(interrupted\) at step \d+/);
    expect(run.stderr()).toMatch(/resume with: rnn train --resume .*-last\.safetensors/);
    const [last] = files(out, '-last.safetensors');
    const ckpt = await readCheckpoint(join(out, last));
    const step = ckpt.progress!.step;
    expect(step).toBeGreaterThanOrEqual(5);
    const resumed = await runCli(['train', 'ship.txt', '--resume', join(out, last), '--steps', String(step + 5)], { cwd: tmp.dir });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming at step ${step}`));
    expect(files(out, '.safetensors').sort()).toEqual([last.replace('-last', '-best'), last].sort());
    expect((await readCheckpoint(join(out, last))).progress!.step).toBe(step + 5);
    // asking a finished run for nothing more is a usage error
    const again = await runCli(['train', 'ship.txt', '--resume', join(out, last), '--steps', String(step + 5)], { cwd: tmp.dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already done \d+ of its \d+ steps; ask for more/);
  });

  it('kill -9 in the middle of a save loop leaves the last checkpoint loadable', async () => {
    const out = join(tmp.dir, 'ck-kill');
    for (const delay of [0, 37, 113]) {
      const run = start(['train', 'ship.txt', ...SMALL, '--steps', '100000', '--eval-every', '1', '--out', out], tmp.dir);
      await until(() => files(out, '-last.safetensors').length > 0 && /step/.test(run.stderr()));
      await new Promise((r) => setTimeout(r, delay));
      run.child.kill('SIGKILL');
      expect((await run.done).signal).toBe('SIGKILL');
      for (const f of files(out, '.safetensors')) {
        const ckpt = await readCheckpoint(join(out, f));
        expect(ckpt.progress!.step).toBeGreaterThan(0);
      }
      for (const f of readdirSync(out)) if (f.endsWith('.tmp')) expect(f.startsWith('.')).toBe(true); // leftovers stay hidden
    }
  });

  it('resume through the CLI is exact: 24 steps == 12 + resume 12 (bitwise weights)', async () => {
    const args = ['train', 'ship.txt', ...SMALL, '--layers', '2', '--dropout', '0.2', '--eval-every', '5', '--seed', '4'];
    // the first part must plan for the same schedule as the whole: a constant schedule here
    // (the cosine case, interrupted and resumed, is covered in test/train/run.test.ts)
    const constArgs = [...args, '--schedule', 'constant'];
    const a = await runCli([...constArgs, '--steps', '24', '--out', 'ck-a'], { cwd: tmp.dir });
    const b1 = await runCli([...constArgs, '--steps', '12', '--out', 'ck-b'], { cwd: tmp.dir });
    expect(a.code).toBe(0);
    expect(b1.code).toBe(0);
    const [bLast] = files(join(tmp.dir, 'ck-b'), '-last.safetensors');
    const b2 = await runCli(['train', 'ship.txt', '--resume', join(tmp.dir, 'ck-b', bLast), '--steps', '24', '--dropout', '0.5'], { cwd: tmp.dir });
    expect(b2.code).toBe(0);
    expect(b2.stderr).toMatch(/--dropout ignored: a resumed run keeps its saved configuration/);
    const [aLast] = files(join(tmp.dir, 'ck-a'), '-last.safetensors');
    const ca = await readCheckpoint(join(tmp.dir, 'ck-a', aLast));
    const cb = await readCheckpoint(join(tmp.dir, 'ck-b', bLast));
    expect(cb.progress!.step).toBe(24);
    for (const [name, v] of ca.params) expect(Array.from(cb.params.get(name)!), name).toEqual(Array.from(v));
    // the first part ended with a final evaluation at step 12 (which the straight run did not
    // make, and which restarted the mean training loss); the validation losses are identical
    const vals = (h: { step: number; val: number | null }[]) => h.filter((p) => p.step !== 12).map((p) => [p.step, p.val]);
    expect(vals(cb.progress!.history)).toEqual(vals(ca.progress!.history));
  });

  it('rnn info: config, vocab, parameters, steps, best val and a chart; --json', async () => {
    const [last] = files(join(tmp.dir, 'ck-json'), '-last.safetensors');
    const path = join(tmp.dir, 'ck-json', last);
    const r = await runCli(['info', path], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/model\s+1×24 lstm, embed 8, vocab \d+, [\d,]+ parameters/);
    expect(r.stdout).toMatch(/progress\s+step 30/);
    expect(r.stdout).toMatch(/best val\s+[\d.]+ nats\/char \([\d.]+ bpc\) at step \d+/);
    expect(r.stdout).toMatch(/┤.*●/);
    expect(r.stdout).not.toContain(ESC);
    expect(r.stdout).toMatch(/corpus\s+.*ship\.txt \([\d,]+ bytes, CRC-32 [0-9a-f]{8}\)/);
    const j = await runCli(['info', path, '--json'], { cwd: tmp.dir });
    const info = JSON.parse(j.stdout);
    expect(info).toMatchObject({ model: { cell: 'lstm', hidden: 24 }, progress: { step: 30 } });
    expect(info.vocabSize).toBeGreaterThan(10);
    expect(info.parameters).toBeGreaterThan(1000);
    expect(info.history.length).toBe(3);
    expect(info.corpus).toMatchObject({ path: join(tmp.dir, 'ship.txt'), bytes: readFileSync(join(tmp.dir, 'ship.txt')).length });
    const bad = await runCli(['info', 'nope.safetensors'], { cwd: tmp.dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^rnn: nope.safetensors: no such file/);
  });
});
