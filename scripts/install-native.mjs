// npm's install step (`npm install`, `npm ci`): builds the native compute addon
// (binding.gyp, src/kernels/native) with the node-gyp that ships with npm and the Node
// headers installed on this machine. It never fails the install: without a C compiler,
// make, Python or the headers it prints one line and the portable WebAssembly backend is
// used. Nothing is downloaded: when no local headers are found it does not let node-gyp
// fetch them. The build's own output goes to build/native-build.log, not to the screen.
//
// RNN_NATIVE=0 at install skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = join(root, 'build', 'native-build.log');
const fallback = (why) => {
  process.stderr.write(`rnn: native backend not built (${why}); the portable WebAssembly backend will be used\n`);
  process.exit(0);
};

if (process.env.RNN_NATIVE === '0') fallback('RNN_NATIVE=0');

// node-gyp: npm passes its own in npm_config_node_gyp; else the one inside npm next to node
const nodeGyp = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].find((p) => p && existsSync(p));
if (!nodeGyp) fallback('node-gyp not found');

// the headers: npm's nodedir setting, the prefix node is installed in, or node-gyp's cache
const prefix = dirname(dirname(process.execPath));
const version = process.versions.node;
const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'node-gyp', version);
const nodedir = [process.env.npm_config_nodedir, prefix, cache]
  .find((d) => d && existsSync(join(d, 'include', 'node', 'node_api.h')));
if (!nodedir) fallback(`no Node ${version} headers on this machine`);

// a C compiler and make (node-gyp's generator on Linux and macOS; MSBuild on Windows)
const works = (cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore', shell: false }).status === 0;
const cc = process.env.CC ?? (process.platform === 'win32' ? null : ['cc', 'gcc', 'clang'].find(works));
if (cc !== null && (!cc || !works(cc))) fallback('no C compiler found');
if (process.platform !== 'win32' && !works(process.env.MAKE ?? 'make')) fallback('make not found');

const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`], {
  cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, npm_config_loglevel: 'warn' },
});
mkdirSync(join(root, 'build'), { recursive: true });
writeFileSync(log, `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`);
if (r.status !== 0 || !existsSync(join(root, 'build', 'Release', 'rnn_native.node'))) {
  fallback('the build failed; details in build/native-build.log');
}
