// Bundles bench/classifier.ts on the fly and runs it (arguments passed through): the
// classifier's training chars/s against the language model of the same size.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rnn-bench-cls-'));
try {
  const out = join(dir, 'classifier.mjs');
  await build({
    entryPoints: [join(root, 'bench', 'classifier.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20',
    outfile: out, logLevel: 'warning',
    banner: { js: "import { createRequire as __rnnCreateRequire } from 'node:module'; const require = __rnnCreateRequire(import.meta.url);" },
  });
  const r = spawnSync(process.execPath, [out, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
