// `npm run test:cross`: the native addon's C kernels checked without Node, on this machine
// and on arm64 under user-mode emulation (test/native-cross/harness.c says what is checked).
//
// For each architecture the C files are the ones binding.gyp compiles there (its `sources`
// plus the `target_arch` conditions, evaluated here as node-gyp would), with binding.gyp's
// cflags and defines; the Node-API files (those that include node_api.h: addon.c, ops.c,
// step.c) are only compiled, against this Node's headers, since the harness calls the
// kernels directly.
//
//   host:   cc (or $CC), run natively: every instruction set this CPU has
//   arm64:  aarch64-linux-gnu-gcc (or $RNN_CROSS_CC, e.g. "clang-14 --target=aarch64-linux-gnu"),
//           linked statically, run with qemu-aarch64 (or $RNN_CROSS_RUN): NEON and generic
// Without the cross compiler or qemu the arm64 part is skipped with one line saying what to
// install; `--arm64-only` / `--host-only` run one part. Exit 0 when everything that ran passed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'build', 'cross');
const args = new Set(process.argv.slice(2));
// CPU seconds one harness run may use (ulimit -t). A full run took 41 s of CPU under
// qemu-aarch64 and under 12 s natively on a Zen 3 core; the limit leaves room for a slower
// machine and only stops a run that is stuck.
const CPU_LIMIT_S = 600;
const say = (line) => process.stdout.write(`test:cross: ${line}\n`);

const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8'));
const target = gyp.targets.find((t) => t.target_name === 'rnn_native');

/** A gyp condition of the forms binding.gyp uses: `target_arch=="x"` / `!=`, joined by `or` / `and`. */
function holds(cond, arch) {
  const term = (t) => {
    const m = /^\s*target_arch\s*(==|!=)\s*"([^"]+)"\s*$/.exec(t);
    if (!m) throw new Error(`test-cross: cannot evaluate the binding.gyp condition '${t}'; extend holds() in scripts/test-cross.mjs`);
    return (m[2] === arch) === (m[1] === '==');
  };
  return cond.split(/\s+or\s+/).some((alt) => alt.split(/\s+and\s+/).every(term));
}

/** The C files binding.gyp compiles for `arch` (node-gyp's target_arch: process.arch). */
function sourcesFor(arch) {
  const files = [...target.sources];
  for (const [cond, then, otherwise] of target.conditions ?? []) {
    const branch = holds(cond, arch) ? then : otherwise;
    if (branch?.sources) files.push(...branch.sources);
  }
  return files;
}

const cflags = [...(target.cflags ?? []), ...(target.defines ?? []).map((d) => `-D${d}`)];
// the Node-API files (addon.c, ops.c, step.c, ...): those that include node_api.h
const usesNodeApi = (f) => /#include\s*<node_api\.h>/.test(readFileSync(join(root, f), 'utf8'));
const nodeInclude = [join(dirname(process.execPath), '..', 'include', 'node'), process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node')]
  .find((d) => d && existsSync(join(d, 'node_api.h')));

const works = (cmd) => {
  const [exe, ...rest] = cmd;
  const r = spawnSync(exe, [...rest, '--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
};
const splitCmd = (s) => s.trim().split(/\s+/);

function run(cmd, what) {
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error || r.status !== 0) {
    process.stdout.write(`${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}\n`);
    say(`${what} failed (${cmd.join(' ')})`);
    process.exit(1);
  }
  return r;
}

/** Compile binding.gyp's files for `arch` with `cc`, link the harness, run it with `runner`. */
function part(name, arch, cc, extraLink, runner) {
  mkdirSync(out, { recursive: true });
  const files = sourcesFor(arch);
  const exe = join(out, `harness-${name}`);
  const t0 = Date.now();
  if (nodeInclude) {
    for (const f of files.filter(usesNodeApi)) run([...cc, ...cflags, `-I${nodeInclude}`, '-fsyntax-only', f], `${name}: compiling ${f}`);
  }
  // the harness's own float reference must not be contracted into fused multiply-adds
  // (clang would by default); the kernel files get exactly binding.gyp's flags
  const objs = [];
  for (const f of files.filter((f) => !usesNodeApi(f))) {
    const o = join(out, `${name}-${f.replace(/.*\//, '').replace(/\.c$/, '.o')}`);
    run([...cc, ...cflags, '-c', f, '-o', o], `${name}: compiling ${f}`);
    objs.push(o);
  }
  run([...cc, ...cflags, '-ffp-contract=off', '-pthread', '-o', exe, 'test/native-cross/harness.c', ...objs, ...extraLink, '-lm'],
    `${name}: linking the harness`);
  say(`${name}: ${files.length} files from binding.gyp (target_arch ${arch}): ${files.map((f) => f.replace(/.*\//, '')).join(' ')}${nodeInclude ? '' : ' (the Node-API files not compiled: no Node headers found)'}`);
  // The limit is on CPU time, not the clock: a run at low priority (nice 19, or paused
  // with SIGSTOP while something else has the machine) can wait far longer than it runs,
  // and a clock limit killed a healthy run that way. A stuck run still burns CPU (the
  // pool's caller spins until every part is done), so it meets this limit.
  const r = spawnSync('sh', ['-c', `ulimit -t ${CPU_LIMIT_S} && exec "$@"`, 'sh', ...runner, exe],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  process.stdout.write((r.stdout ?? '').replace(/^/gm, `  ${name}: `).replace(/  \w+: $/, ''));
  process.stdout.write(r.stderr ?? '');
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message
      : r.signal === 'SIGXCPU' ? `stopped after ${CPU_LIMIT_S} s of CPU time: stuck?`
      : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    say(`${name}: FAILED (${why})`);
    process.exit(1);
  }
  say(`${name}: passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

if (!args.has('--arm64-only')) {
  const cc = splitCmd(process.env.CC ?? 'cc');
  if (!works(cc)) {
    say(`host: skipped (no C compiler '${cc.join(' ')}')`);
  } else {
    part('host', process.arch, cc, [], ['env']);
  }
}

if (!args.has('--host-only') && process.arch !== 'arm64') {
  const cc = splitCmd(process.env.RNN_CROSS_CC ?? 'aarch64-linux-gnu-gcc');
  const runner = splitCmd(process.env.RNN_CROSS_RUN ?? 'qemu-aarch64');
  const missing = [!works(cc) && cc[0], !works(runner) && runner[0]].filter(Boolean);
  if (missing.length) {
    say(`arm64: skipped (${missing.join(' and ')} not found; on Debian or Ubuntu: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)`);
  } else {
    part('arm64', 'arm64', cc, ['-static'], runner);
  }
}
