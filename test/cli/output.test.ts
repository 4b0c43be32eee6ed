// stdout as a pipeline citizen, for every command: a reader that goes away is quiet
// status 0; any other failed write (a full disk: /dev/full gives ENOSPC) is exactly one
// line on stderr and status 1, never a stack trace.
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCli, tempDir } from '../helpers/cli.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/checkpoints/v1-lstm-train.safetensors', import.meta.url));
const tmp = tempDir();
afterAll(() => tmp.cleanup());
copyFileSync(FIXTURE, join(tmp.dir, 'm.safetensors'));
writeFileSync(join(tmp.dir, 'text.txt'), 'the cat sat on the mat\nthe dog sat on the log\n');

const COMMANDS: [string, string[]][] = [
  ['sample', ['sample', '-c', 'm.safetensors', '-n', '10', '--seed', '1']],
  ['eval', ['eval', 'text.txt', '-c', 'm.safetensors']],
  ['score', ['score', 'text.txt', '-c', 'm.safetensors']],
  ['score --chars', ['score', 'text.txt', '--chars', '-c', 'm.safetensors']],
  ['info', ['info', 'm.safetensors']],
  ['info --json', ['info', 'm.safetensors', '--json']],
  ['export --onnx -', ['export', '-c', 'm.safetensors', '--onnx', '-']],
  ['export --safetensors-weights -', ['export', '-c', 'm.safetensors', '--safetensors-weights', '-']],
  ['--help', ['--help']],
  ['sample --help', ['sample', '--help']],
  ['--version', ['--version']],
  ['train --json', ['train', 'text.txt', '--json', '--steps', '2', '--layers', '1', '--hidden', '8', '--batch', '2', '--seq', '8', '--out', 'ck', '-q']],
];

describe.skipIf(!existsSync('/dev/full'))('a write error on stdout (ENOSPC) is one line and status 1', () => {
  for (const [name, args] of COMMANDS) {
    it(name, async () => {
      const fd = openSync('/dev/full', 'w');
      try {
        const r = await runCli(args, { cwd: tmp.dir, stdoutFd: fd });
        expect(r.code, r.stderr).toBe(1);
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(/^rnn: cannot write to stdout: .*ENOSPC/);
      } finally {
        closeSync(fd);
      }
    });
  }
});

/** Runs `rnn ARGS | head -c N` in bash: the status of rnn, and what it wrote on stderr. */
async function intoHead(args: string[], bytes: number): Promise<{ status: string; stderr: string }> {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  const shell = spawn('bash', ['-c', `"$0" "$1" ${quoted} 2>err.txt | head -c ${bytes} > /dev/null; echo "\${PIPESTATUS[0]}"; cat err.txt`, process.execPath, BIN], {
    cwd: tmp.dir, env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  shell.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve) => shell.on('close', () => resolve()));
  const [status, ...rest] = out.split('\n');
  return { status, stderr: rest.join('\n') };
}

describe('a reader that goes away is status 0 and silent', () => {
  it('export --onnx - | head -c 10 (a model larger than the pipe buffer)', async () => {
    // 2×96 LSTM: ~0.5 MB of ONNX, more than a pipe holds, so the write meets EPIPE
    const r = await runCli(['train', 'text.txt', '--steps', '1', '--layers', '2', '--hidden', '96', '--batch', '2', '--seq', '8', '--out', 'big', '-q'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    const best = join('big', readdirSync(join(tmp.dir, 'big')).find((f) => f.endsWith('-best.safetensors'))!);
    expect(await intoHead(['export', '-c', best, '--onnx', '-'], 10)).toEqual({ status: '0', stderr: '' });
    expect(await intoHead(['export', '-c', best, '--safetensors-weights', '-'], 10)).toEqual({ status: '0', stderr: '' });
  });
  it('--help | head -c 10', async () => {
    expect(await intoHead(['train', '--help'], 10)).toEqual({ status: '0', stderr: '' });
  });
});
