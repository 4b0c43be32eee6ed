// Builds the two things the package ships:
//  - the CLI, bin/rnn.js (ESM), so that `npx rnn` starts fast: minified, and split at the
//    dynamic imports (one chunk per command, the progress bar and spinner apart) into
//    bin/chunks/, so a command loads only the code it runs. commander and cli-progress are
//    CommonJS and call require(); the banner gives every ESM output file a require() of
//    its own.
//  - the library, dist/index.js (ESM, one file, readable) with its type declarations
//    dist/**/*.d.ts (tsc, tsconfig.build.json), the package's "exports" entry.
// `node scripts/build.mjs --cli` builds the CLI only (the tests' quick rebuild).
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

rmSync('bin/chunks', { recursive: true, force: true });
await build({
  entryPoints: { rnn: 'src/cli/main.ts' },
  outdir: 'bin',
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  minify: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: false,
  legalComments: 'none',
  define: { __RNN_VERSION__: JSON.stringify(pkg.version) },
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __rnnCreateRequire } from 'node:module';",
      'const require = __rnnCreateRequire(import.meta.url);',
    ].join('\n'),
  },
  logLevel: 'warning',
});
chmodSync('bin/rnn.js', 0o755);

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
