// Runs the built CLI (bin/rnn.js) as a user would: a real process, real files, real pipes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const BIN = fileURLToPath(new URL('../../bin/rnn.js', import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  input?: string | Uint8Array;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** A file descriptor to hand the child as its stdout (e.g. /dev/full) instead of a pipe. */
  stdoutFd?: number;
}

export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build (npm test does it)`);
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  assertBuilt();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, NO_COLOR: '1', CI: '1', ...opts.env },
      stdio: ['pipe', opts.stdoutFd ?? 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    const stdin = child.stdin!;
    stdin.on('error', () => {});
    if (opts.input !== undefined) stdin.end(opts.input);
    else stdin.end();
  });
}

/** A fresh temporary folder, removed by the returned cleanup function. */
export function tempDir(prefix = 'rnn-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * What a user must see for an error they caused: nothing on stdout, the exit code, and one
 * stderr line starting `rnn: ` that matches `pattern`, with no stack trace.
 */
export function expectOneLineError(r: RunResult, code: number, pattern: RegExp): void {
  expect(r.signal, 'it must not hang').toBeNull();
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^rnn: /);
  expect(lines[0]).toMatch(pattern);
}

/**
 * A text of at least `chars` characters for end-to-end runs: words drawn from `words` by a
 * linear congruential generator started at `seed`, each followed by a space or, when bits
 * `shift` and up of the draw are a multiple of `lineEvery`, by `lineEnd`.
 */
export function wordCorpus(
  words: readonly string[], chars: number, opts: { seed: number; shift: number; lineEvery: number; lineEnd: string },
): string {
  let s = '';
  let x = opts.seed;
  while (s.length < chars) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += words[x % words.length] + ((x >> opts.shift) % opts.lineEvery === 0 ? opts.lineEnd : ' ');
  }
  return s;
}
