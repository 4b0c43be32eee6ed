// Whether the PyTorch interop tests can run here: they need python3 with torch importable
// (and, for the exported training job, torchrun on PATH). Returns why not, or null.
import { spawnSync } from 'node:child_process';

export function torchMissing(opts: { modules?: string; torchrun?: boolean } = {}): string | null {
  const r = spawnSync('python3', ['-c', `import ${opts.modules ?? 'torch'}`], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return `python3 cannot be run (${r.error.message})`;
  if (r.status !== 0) return `python3 -c "import torch" fails (${r.stderr.trim().split('\n').pop()})`;
  if (opts.torchrun) {
    const t = spawnSync('torchrun', ['--help'], { encoding: 'utf8', timeout: 60_000 });
    if (t.error || t.status !== 0) return 'torchrun is not on PATH';
  }
  return null;
}
