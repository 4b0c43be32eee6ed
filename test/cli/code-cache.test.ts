// bin/rnn.js starts the CLI bundle from V8's code cache (src/cli/code-cache.ts): the build
// writes a cache V8 accepts; a cache of another build is never used; a missing or refused
// cache only costs time, the CLI behaves the same.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BUNDLE, CLI_CACHE, compileCli } from '../../src/cli/code-cache.js';
import { assertBuilt, tempDir } from '../helpers/cli.js';

const BIN = fileURLToPath(new URL('../../bin/', import.meta.url));
const tmp = tempDir('rnn-code-cache-');
afterAll(() => tmp.cleanup());

// each check in a fresh process: V8 keeps what it compiled in memory, so a second compile
// of the same source in one process would never look at the cache
const HELPER = join(tmp.dir, 'code-cache.cjs');
buildSync({ entryPoints: [fileURLToPath(new URL('../../src/cli/code-cache.ts', import.meta.url))], outfile: HELPER, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });

/** Compiles and runs the bundle of `dir` in a fresh process: what it printed, and then whether V8 refused its cache. */
function start(dir: string): string {
  const code = `const c = require(${JSON.stringify(HELPER)}).compileCli(${JSON.stringify(dir)}); c.run(); process.stdout.write(' ' + c.rejected);`;
  return spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' }).stdout;
}

/** A bundle in a fresh folder that prints `value`. */
function bundle(name: string, id: string, value: string): string {
  const dir = join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, CLI_BUNDLE), `// rnn-cli build ${id}\n"use strict";process.stdout.write(${JSON.stringify(value)});\n`);
  return dir;
}

describe('the code cache', () => {
  it('is used when it was made from this bundle, ignored when from another build, refused (and compiled) when it does not fit', () => {
    const dir = bundle('a', '00000000000000aa', 'first');
    expect(start(dir)).toBe('first undefined'); // no cache yet
    const made = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(HELPER)}).writeCodeCache(${JSON.stringify(dir)}, [])`], { encoding: 'utf8' });
    expect(made.stdout).toBe('first');
    expect(start(dir)).toBe('first false');

    // another build of the same length: V8 alone would take the old bytecode; the key keeps it out
    const cache = readFileSync(join(dir, CLI_CACHE));
    const other = bundle('b', '00000000000000bb', 'other');
    writeFileSync(join(other, CLI_CACHE), cache);
    expect(start(other)).toBe('other undefined');

    // the right key, but V8's own check fails (as with a cache of another Node): compiled from source
    const foreign = Buffer.from(cache);
    const key = cache.indexOf(10) + 1;
    for (let i = key; i < key + 16; i++) foreign[i]! ^= 0xff;
    writeFileSync(join(dir, CLI_CACHE), foreign);
    expect(start(dir)).toBe('first true');
  });

  it('the build writes a cache of bin/rnn-cli.js that V8 accepts', () => {
    assertBuilt();
    expect(compileCli(BIN).key).toMatch(/^\/\/ rnn-cli build [0-9a-f]{16}\n$/);
    const code = `process.stdout.write(String(require(${JSON.stringify(HELPER)}).compileCli(${JSON.stringify(BIN)}).rejected))`;
    expect(spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' }).stdout).toBe('false');
  });

  it('without its cache, or with the cache of another build, the CLI runs the same', () => {
    assertBuilt();
    const run = (dir: string, args: string[]) => spawnSync(process.execPath, [join(dir, 'rnn.js'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const bare = join(tmp.dir, 'bin');
    mkdirSync(bare, { recursive: true });
    for (const f of ['rnn.js', CLI_BUNDLE, 'package.json']) copyFileSync(join(BIN, f), join(bare, f));
    const withCache = run(BIN, ['--version']);
    const without = run(bare, ['--version']);
    expect(without.status).toBe(0);
    expect(without.stdout).toBe(withCache.stdout);
    const help = run(bare, ['sample', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toBe(run(BIN, ['sample', '--help']).stdout);
    // a cache whose key is not this bundle's
    const cache = readFileSync(join(BIN, CLI_CACHE));
    writeFileSync(join(bare, CLI_CACHE), Buffer.concat([Buffer.from('// rnn-cli build ffffffffffffffff\n'), cache.subarray(cache.indexOf(10) + 1)]));
    expect(run(bare, ['sample', '--help']).stdout).toBe(help.stdout);
    // and one V8 refuses
    const foreign = Buffer.from(cache);
    for (let i = cache.indexOf(10) + 1, end = i + 16; i < end; i++) foreign[i]! ^= 0xff;
    writeFileSync(join(bare, CLI_CACHE), foreign);
    expect(run(bare, ['sample', '--help']).stdout).toBe(help.stdout);
    const usage = run(bare, ['sample', '--top-k', 'x']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toBe(run(BIN, ['sample', '--top-k', 'x']).stderr);
  });
});
