// The benchmark scripts' command lines: --help prints the usage and a misspelt option stops
// at once with exit 2, instead of starting the whole default benchmark (hours of timed runs)
// without it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BENCH = join(import.meta.dirname, '..', '..', 'bench');
const run = (script: string, args: string[]) => spawnSync(process.execPath, [join(BENCH, script), ...args], { encoding: 'utf8', timeout: 30_000 });

describe.each([
  ['quality.mjs', 'bench:quality', /^Quality benchmark/, '--seed'],
  ['run.mjs', 'bench', /^End-to-end benchmark/, '--seconds'],
])('bench/%s', (script, name, usage, valued) => {
  it.each([['--help'], ['-h']])('%s prints the usage on stdout and exits 0', (h) => {
    const r = run(script, [h]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(usage);
    expect(r.stderr).toBe('');
  });
  it('an unknown option is one line on stderr, exit 2, nothing run', () => {
    const r = run(script, ['--budget', '1m']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${name}: unknown option --budget (--help lists them)\n`);
  });
  it('an option missing its value is one line, exit 2', () => {
    const r = run(script, ['--no-torch', valued]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${name}: ${valued} needs a value (--help lists them)\n`);
  });
});

// The kernel and encoder-decoder benchmarks (no npm script: their messages name the file).
describe.each([
  ['kernels.mjs', /^Kernel micro-benchmark/, [] as string[]],
  ['native.mjs', /^Native kernel benchmark/, ['--isa']],
  ['seq2seq.mjs', /^The encoder-decoder figures/, ['--tasks', '--attention', '--beam']],
])('bench/%s', (script, usage, valued) => {
  it('--help prints the usage on stdout and exits 0', () => {
    const r = run(script, ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(usage);
    expect(r.stderr).toBe('');
  });
  it('an unknown option is one line on stderr, exit 2, nothing run', () => {
    const r = run(script, ['--quik']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`bench/${script}: unknown option --quik (--help lists them)\n`);
  });
  it.each(valued.map((v) => [v]))('%s without its value is one line, exit 2', (v) => {
    const r = run(script, [v]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`bench/${script}: ${v} needs a value (--help lists them)\n`);
  });
});
