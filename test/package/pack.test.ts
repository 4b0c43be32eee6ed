// The package as a user meets it: `npm pack`, the tarball installed into an empty project
// (its dependencies from the local npm cache, no network), a TypeScript program that imports
// it type-checked against the shipped declarations and run: it trains a tiny model, resumes
// it, evaluates, samples, scores and exports; and the installed `rnn` command runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tmp = tempDir('rnn-pack-');
afterAll(() => tmp.cleanup());

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, RNN_NATIVE: '0', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });

describe('the packed package', () => {
  it('installs from its tarball, imports with types, trains, resumes, samples, and its rnn command runs', () => {
    if (!existsSync(join(ROOT, 'dist/index.js')) || !existsSync(join(ROOT, 'dist/index.d.ts'))) {
      throw new Error('dist/ is missing: run npm run build (npm test does it)');
    }
    // the build has run (npm test builds first): pack what is there
    const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp.dir], ROOT)) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('bin/rnn.js');
    expect(files.some((f) => f.startsWith('test/'))).toBe(false);

    // the app depends on the tarball; its lock file pins the package's dependencies to the
    // versions of ours (the non-dev entries), so `npm ci --offline` takes them from the
    // local cache that installing this repository filled
    const app = join(tmp.dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    const tarball = `file:../${packed[0]!.filename}`;
    const ours = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; version?: string; dependencies?: Record<string, string> }> };
    const self = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
    const packages: Record<string, unknown> = {
      '': { name: 'app', version: '1.0.0', dependencies: { 'rnn-charlm': tarball } },
      'node_modules/rnn-charlm': { version: self.version, resolved: tarball, dependencies: self.dependencies, bin: { rnn: 'bin/rnn.js' }, hasInstallScript: true },
    };
    for (const [path, entry] of Object.entries(ours.packages)) if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module', dependencies: { 'rnn-charlm': tarball } }));
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
    npm(['ci', '--offline'], app); // RNN_NATIVE=0: the package's native build is tested elsewhere

    // the package's own metadata as Node resolves it: the exports map, ESM
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/rnn-charlm/package.json'), 'utf8')) as { exports: Record<string, unknown>; type: string };
    expect(pkg.type).toBe('module');
    expect(Object.keys(pkg.exports)).toContain('.');

    // type-check the consumer against the installed declarations, then run it
    copyFileSync(fileURLToPath(new URL('./consumer.ts', import.meta.url)), join(app, 'consumer.ts'));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const types = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
      '--skipLibCheck', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), 'consumer.ts'], { cwd: app, encoding: 'utf8' });
    expect(types.stdout + types.stderr, 'the consumer type-checks against dist/*.d.ts').toBe('');
    expect(types.status).toBe(0);
    const esbuild = join(ROOT, 'node_modules/.bin/esbuild');
    execFileSync(esbuild, ['consumer.ts', '--outfile=consumer.mjs', '--format=esm', '--platform=node', '--log-level=warning'], { cwd: app });
    const run = spawnSync(process.execPath, ['consumer.mjs'], { cwd: app, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const seen = JSON.parse(run.stdout) as { steps: number; moreSteps: number; step: number; nats: number; bpc: number; sample: string; onnxBytes: number };
    expect(seen.steps).toBe(20);
    expect(seen.moreSteps).toBe(10);
    expect(seen.step).toBe(30);
    expect(seen.nats).toBeGreaterThan(0);
    expect(seen.nats).toBeLessThan(Math.log(15)); // it learnt something: below a uniform guess over the vocabulary
    expect(Number.isFinite(seen.bpc)).toBe(true);
    expect([...seen.sample].length).toBe(40);
    expect(seen.onnxBytes).toBeGreaterThan(1000);

    const bin = spawnSync(join(app, 'node_modules/.bin/rnn'), ['--version'], { encoding: 'utf8' });
    expect(bin.status, bin.stderr).toBe(0);
    expect(bin.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(readdirSync(join(app, 'node_modules')).sort()).toEqual(expect.arrayContaining(['chalk', 'commander', 'rnn-charlm']));
  }, 120_000);
});
