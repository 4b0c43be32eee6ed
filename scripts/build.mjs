// Builds the two things the package ships:
//  - the CLI: bin/rnn-cli.js, src/cli/main.ts and everything it uses (commander, chalk, ora,
//    cli-progress included) as one minified CommonJS bundle; bin/rnn.js, the command, which
//    starts it from V8's code cache (src/cli/code-cache.ts); bin/rnn-cli.cache, that cache,
//    written by running the new bundle once (`rnn sample` on a tiny model trained here); and
//    bin/package.json, which makes bin/*.js CommonJS so Node never starts its ES module loader.
//    The commands' modules are imported dynamically by main.ts, so a command runs the code of
//    the modules it uses only; the code cache is what spares it the compiling.
//  - the library, dist/index.js (ESM, one file, readable) with its type declarations
//    dist/**/*.d.ts (tsc, tsconfig.build.json), the package's "exports" entry.
// `node scripts/build.mjs --cli` builds the CLI only (the tests' quick rebuild).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { build } from 'esbuild';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const bin = resolve('bin');

// what older builds left: the ES module chunks, and a cache that must never meet a new bundle
rmSync('bin/chunks', { recursive: true, force: true });
rmSync('bin/rnn-cli.cache', { force: true });
const cjs = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', charset: 'ascii', legalComments: 'none', logLevel: 'warning' };
// commander requires node:child_process at load for one thing, running a subcommand that is
// an executable of its own, which rnn has none of; loading it (with dgram and the child
// process internals) is about 2 ms of every start, so in the bundle commander gets an
// object that loads it on first use
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (/[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "let loaded; module.exports = new Proxy({}, { get: (_, key) => (loaded ??= require('node:child_process'))[key] });",
      loader: 'js',
    }));
  },
};
await build({
  ...cjs,
  plugins: [lazyChildProcess],
  entryPoints: ['src/cli/main.ts'],
  outfile: 'bin/rnn-cli.js',
  minify: true,
  // the bundle's first line is the key of its code cache (src/cli/code-cache.ts); the
  // modules' import.meta.url is the bundle's own URL (the native addon is found from it)
  banner: { js: `// rnn-cli build ${randomBytes(8).toString('hex')}\n"use strict";var __rnnModuleUrl=require("node:url").pathToFileURL(__filename).href;` },
  define: { __RNN_VERSION__: JSON.stringify(pkg.version), 'import.meta.url': '__rnnModuleUrl' },
});
// bin/rnn.js reads the bundle as latin1 (src/cli/code-cache.ts): it must be ASCII
if (/[^\x00-\x7f]/.test(readFileSync('bin/rnn-cli.js', 'latin1'))) throw new Error('bin/rnn-cli.js is not ASCII: bin/rnn.js would misread it');
await build({ ...cjs, entryPoints: ['src/cli/start.ts'], outfile: 'bin/rnn.js', minify: true, banner: { js: '#!/usr/bin/env node' } });
writeFileSync('bin/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
chmodSync('bin/rnn.js', 0o755);
await writeCodeCache();

if (!process.argv.includes('--cli')) {
  rmSync('dist', { recursive: true, force: true });
  await build({
    entryPoints: { index: 'src/index.ts' },
    outdir: 'dist',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    legalComments: 'none',
    define: { __RNN_VERSION__: JSON.stringify(pkg.version) },
    logLevel: 'warning',
  });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}

/**
 * bin/rnn-cli.cache: the code cache of one `rnn sample` run of the new bundle, on a model of
 * one 16-unit layer trained here for two steps. Kept only if V8 accepts it in a fresh process:
 * a run that set a V8 flag (the WebAssembly backend may turn on relaxed SIMD) produces a
 * cache V8 refuses with the default flags, so the plain TypeScript backend is tried next.
 * Without a cache the CLI compiles from source, as any script does.
 */
async function writeCodeCache() {
  const tmp = mkdtempSync(join(tmpdir(), 'rnn-build-'));
  try {
    const helper = join(tmp, 'code-cache.cjs');
    await build({ ...cjs, entryPoints: ['src/cli/code-cache.ts'], outfile: helper });
    const node = (args) => spawnSync(process.execPath, args, { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    const text = join(tmp, 'text.txt');
    writeFileSync(text, 'the quick brown fox jumps over the lazy dog\n'.repeat(40));
    const trained = node([join(bin, 'rnn.js'), 'train', text, '--steps', '2', '--layers', '1', '--hidden', '16', '--batch', '4', '--seq', '16', '--out', tmp, '--quiet']);
    const ckpt = readdirSync(tmp).find((f) => f.endsWith('-best.safetensors'));
    if (trained.status !== 0 || !ckpt) throw new Error(`the code cache's model did not train: ${trained.stderr}`);
    for (const backend of ['auto', 'reference']) {
      const args = ['sample', '--checkpoint', join(tmp, ckpt), '-n', '100', '--seed', '1', '--backend', backend];
      const wrote = node(['-e', `require(${JSON.stringify(helper)}).writeCodeCache(${JSON.stringify(bin)}, ${JSON.stringify(args)})`]);
      if (wrote.status !== 0) throw new Error(`the code cache's run failed: ${wrote.stderr}`);
      const check = spawnSync(process.execPath, ['-e', `process.stdout.write(String(require(${JSON.stringify(helper)}).compileCli(${JSON.stringify(bin)}).rejected))`], { encoding: 'utf8' });
      if (check.stdout === 'false') return;
    }
    rmSync('bin/rnn-cli.cache', { force: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
