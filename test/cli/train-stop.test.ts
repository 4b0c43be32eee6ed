// Where a run writes and how it stops: the checkpoint folder is checked before training
// (a folder that cannot be written is one line, status 2, no hang); SIGTERM and SIGHUP
// stop a run like Ctrl-C (finish the step, save -last, say so, 143 / 129); temporary
// files left by an interrupted save are removed when the run starts again.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/store.js';
import { BIN, runCli, tempDir } from '../helpers/cli.js';

const tmp = tempDir('rnn-stop-');
afterAll(() => tmp.cleanup());
const TEXT = 'the ship sails at dawn and the crew sing of salt and wind.\n'.repeat(60);
writeFileSync(join(tmp.dir, 'corpus.txt'), TEXT);
const SMALL = ['--layers', '1', '--hidden', '16', '--embed', '8', '--batch', '4', '--seq', '16'];

async function expectUsage(args: string[], pattern: RegExp) {
  const r = await runCli(args, { cwd: tmp.dir, timeoutMs: 20_000 });
  expect(r.signal, 'it must not hang').toBeNull();
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('the checkpoint folder is checked before training', () => {
  it('--out /proc/newdir is refused at once instead of spinning', () =>
    expectUsage(['train', 'corpus.txt', ...SMALL, '--steps', '5', '--out', '/proc/rnn-newdir'], /^rnn: cannot write checkpoints to \/proc\/rnn-newdir: does not take new files or folders; pass --out DIR/));
  it('--out under a file is refused', () =>
    expectUsage(['train', 'corpus.txt', ...SMALL, '--steps', '5', '--out', 'corpus.txt/sub'], /^rnn: cannot write checkpoints to .*corpus\.txt\/sub: a part of the path is not a folder; pass --out DIR/));
  it('missing parent folders are created', async () => {
    const r = await runCli(['train', 'corpus.txt', ...SMALL, '--steps', '1', '--out', 'a/b/c', '-q'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(tmp.dir, 'a/b/c')).filter((f) => f.endsWith('.safetensors'))).toHaveLength(2);
  });
});

for (const [signal, code, word] of [['SIGTERM', 143, 'terminated'], ['SIGHUP', 129, 'hung up']] as const) {
  describe(`${signal} during training`, () => {
    it(`finishes the step, saves -last, says so, exits ${code}`, async () => {
      const out = `sig-${signal}`;
      const child = spawn(process.execPath, [BIN, 'train', 'corpus.txt', ...SMALL, '--time', '10m', '--eval-every', '0', '--json', '--json-every', '1', '--out', out],
        { cwd: tmp.dir, env: { ...process.env, NO_COLOR: '1', CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('"type":"step"') && !child.killed) child.kill(signal);
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const status = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      expect(status, stderr).toBe(code);
      expect(stderr).toContain(`${word} (${signal}): finishing this step and saving`);
      expect(stderr).toMatch(new RegExp(`stopped \\(${signal}\\) at step \\d+`));
      const last = readdirSync(join(tmp.dir, out)).find((f) => f.endsWith('-last.safetensors'));
      expect(last).toBeDefined();
      expect(stderr).toContain(`last: ${join(tmp.dir, out, last!)}`);
      const ckpt = await readCheckpoint(join(tmp.dir, out, last!));
      expect(ckpt.progress!.step).toBeGreaterThan(0);
    });
  });
}

describe('temporary files of interrupted saves', () => {
  it('resuming a run removes its temporaries and old ones of other runs, and keeps recent ones of other runs', async () => {
    const r = await runCli(['train', 'corpus.txt', ...SMALL, '--steps', '2', '--out', 'tmps', '-q'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    const dir = join(tmp.dir, 'tmps');
    const last = readdirSync(dir).find((f) => f.endsWith('-last.safetensors'))!;
    const ours = `.${last}.0123456789abcdef.tmp`;
    const oldOther = '.other-20200101-000000-abcd-best.safetensors.fedcba9876543210.tmp';
    const newOther = '.other-20200101-000000-abcd-last.safetensors.00112233445566ff.tmp';
    for (const f of [ours, oldOther, newOther]) writeFileSync(join(dir, f), 'partial');
    const hoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(join(dir, oldOther), hoursAgo, hoursAgo);
    const again = await runCli(['train', 'corpus.txt', '--resume', join('tmps', last), '--steps', '3'], { cwd: tmp.dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/removed 2 temporary files left in .* by an interrupted save/);
    expect(existsSync(join(dir, ours))).toBe(false);
    expect(existsSync(join(dir, oldOther))).toBe(false);
    expect(existsSync(join(dir, newOther))).toBe(true);
  });
});
