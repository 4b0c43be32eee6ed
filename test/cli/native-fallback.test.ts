// The machine without the native addon: training and sampling run on WebAssembly when the
// addon does not load (simulated with RNN_NATIVE=0, the loader's off switch), `--backend`
// picks a backend by name, `rnn info --system` says which one runs; and the install step
// on a machine without a C compiler (simulated with a PATH that holds only node) exits 0
// and prints exactly one line saying the portable backend will be used.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/kernels/native/index.js';
import { runCli, tempDir } from '../helpers/cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CORPUS = 'the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n'.repeat(30);
const SMALL = ['--layers', '1', '--hidden', '24', '--embed', '8', '--batch', '4', '--seq', '12', '--eval-every', '10', '--steps', '10'];
const haveNative = loadNative().addon !== null;

describe('without the native addon', () => {
  const tmp = tempDir();
  beforeAll(() => writeFileSync(join(tmp.dir, 'corpus.txt'), CORPUS));
  afterAll(() => tmp.cleanup());
  const off = { RNN_NATIVE: '0' };

  it('trains and samples on wasm; the header names the backend', async () => {
    const t = await runCli(['train', 'corpus.txt', ...SMALL, '--out', 'wasm'], { cwd: tmp.dir, env: off });
    expect(t.code).toBe(0);
    expect(t.stderr).toMatch(/· wasm-(simd|fma), \d+ threads?/);
    expect(t.stderr).not.toMatch(/native/);
    const ckpt = join('wasm', readdirSync(join(tmp.dir, 'wasm')).find((f) => f.endsWith('-best.safetensors'))!);
    const s = await runCli(['sample', '-n', '50', '--seed', '3', '--checkpoint', ckpt], { cwd: tmp.dir, env: off });
    expect(s.code).toBe(0);
    expect([...s.stdout].length).toBe(50);
    expect(s.stderr).toBe('');
  });

  it('--backend native says in one line that it is not available', async () => {
    const r = await runCli(['train', 'corpus.txt', ...SMALL, '--backend', 'native'], { cwd: tmp.dir, env: off });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/native backend is not available \(disabled by RNN_NATIVE=0\); use --backend wasm/);
  });

  it('rnn info --system reports wasm and why', async () => {
    const r = await runCli(['info', '--system', '--json'], { env: off });
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.backend).toBe('wasm');
    expect(info.nativeMissing).toBe('disabled by RNN_NATIVE=0');
    expect(typeof info.cpu).toBe('string');
  });

  it.skipIf(!haveNative)('with the addon, auto is native and --backend wasm still works; same seed, close losses', async () => {
    const info = JSON.parse((await runCli(['info', '--system', '--json'])).stdout);
    expect(info.backend).toBe('native');
    expect(info.native.features.length).toBeGreaterThan(0);
    const n = await runCli(['train', 'corpus.txt', ...SMALL, '--out', 'n', '--json'], { cwd: tmp.dir });
    const w = await runCli(['train', 'corpus.txt', ...SMALL, '--out', 'w', '--json', '--backend', 'wasm'], { cwd: tmp.dir });
    expect(n.code).toBe(0);
    expect(w.code).toBe(0);
    expect(n.stderr).toMatch(new RegExp(`· native ${info.native.isa}, \\d+ threads?`));
    // the validation losses after 10 steps (eval every 10): same seed, float32 on both
    const evals = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'eval');
    const [en] = evals(n.stdout), [ew] = evals(w.stdout);
    expect(en.step).toBe(10);
    expect(Math.abs(en.val - ew.val)).toBeLessThan(1e-4);
    expect(Math.abs(en.train - ew.train)).toBeLessThan(1e-4);
  });
});

describe('install without a C compiler', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('exits 0 and prints one line: the portable backend will be used', () => {
    // a copy of what the install step needs, so the real build/ stays as it is
    const pkg = join(tmp.dir, 'pkg');
    mkdirSync(join(pkg, 'scripts'), { recursive: true });
    mkdirSync(join(pkg, 'src', 'kernels'), { recursive: true });
    cpSync(join(root, 'binding.gyp'), join(pkg, 'binding.gyp'));
    cpSync(join(root, 'scripts', 'install-native.mjs'), join(pkg, 'scripts', 'install-native.mjs'));
    cpSync(join(root, 'src', 'kernels', 'native'), join(pkg, 'src', 'kernels', 'native'), { recursive: true });
    const bin = join(tmp.dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const env: Record<string, string> = { PATH: bin, HOME: tmp.dir };
    const r = spawnSync(join(bin, 'node'), [join(pkg, 'scripts', 'install-native.mjs')], { env, encoding: 'utf8', cwd: pkg });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^rnn: native backend not built \(.+\); the portable WebAssembly backend will be used$/);
  });
});
