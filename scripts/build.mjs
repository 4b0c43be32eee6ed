// Bundles the CLI into bin/rnn.js (ESM, one file) so that `npx rnn` starts fast.
// commander and cli-progress are CommonJS and call require(); the banner gives the
// ESM bundle a require() of its own.
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'bin/rnn.js',
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
