// A checkpoint folder on a read-only file system. The tests run as root, which file modes
// do not stop, so the folder is a read-only bind mount, made in a private mount namespace
// (unshare -m) that disappears with the process: nothing is left mounted on the machine.
// Training must refuse before reading the data or sizing a model (no time is lost), and a
// resume from such a folder must refuse without touching the files in it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, tempDir } from '../helpers/cli.js';

const tmp = tempDir('rnn-readonly-');
afterAll(() => tmp.cleanup());
const SMALL = ['--layers', '1', '--hidden', '8', '--embed', '4', '--batch', '2', '--seq', '8', '-q'];

/** Whether this machine lets us make a private read-only bind mount (root with CAP_SYS_ADMIN). */
const canMount = (() => {
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'd=$(mktemp -d) && mount --bind "$d" "$d" && mount -o remount,ro,bind "$d" && ! touch "$d/x" 2>/dev/null; s=$?; rm -rf "$d"; exit $s'], { encoding: 'utf8' });
  return r.status === 0;
})();

/** Runs rnn with `ro` (a folder in tmp) mounted read-only over itself, in a mount namespace of its own. */
function runReadOnly(ro: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `mount --bind '${ro}' '${ro}' && mount -o remount,ro,bind '${ro}' && exec ${quoted}`;
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { cwd: tmp.dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', CI: '1' }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));

describe.skipIf(!canMount)('a read-only checkpoint folder (a read-only bind mount)', () => {
  const ro = join(tmp.dir, 'ro');
  let last = '';
  beforeAll(async () => {
    writeFileSync(join(tmp.dir, 'corpus.txt'), 'the ship sails at dawn and the crew sing of salt and wind.\n'.repeat(40));
    mkdirSync(ro);
    const r = await runCli(['train', 'corpus.txt', ...SMALL, '--steps', '4', '--out', ro], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    last = join(ro, readdirSync(ro).find((f) => f.endsWith('-last.safetensors'))!);
  });

  it('a fresh run into it is refused at once, before the data is read or a model is sized', () => {
    // --time with no shape would size the model first (seconds of probing): the refusal comes before
    const r = runReadOnly(ro, ['train', 'corpus.txt', '--time', '10m', '--out', ro]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^rnn: cannot write checkpoints to .*ro: cannot write there \(read-only file system\); pass --out DIR with a folder you can write\n$/);
    // the folder is checked first: given text that does not exist, the folder is what is reported
    const first = runReadOnly(ro, ['train', 'no-such-text.txt', '--steps', '5', '--out', ro]);
    expect(first.code, first.stderr).toBe(2);
    expect(first.stderr).toMatch(/^rnn: cannot write checkpoints to /);
    const sub = runReadOnly(ro, ['train', 'corpus.txt', '--steps', '5', '--out', join(ro, 'new', 'deeper')]);
    expect(sub.code, sub.stderr).toBe(2);
    expect(sub.stderr).toMatch(/^rnn: cannot write checkpoints to .*ro[/\\]new: cannot write there \(read-only file system\)/);
  });

  it('a resume whose checkpoint is in it is refused and loses nothing; with --out elsewhere it goes on', () => {
    const before = snapshot(ro);
    const r = runReadOnly(ro, ['train', '--resume', last, '--steps', '8']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^rnn: cannot write checkpoints to .*ro: cannot write there \(read-only file system\); pass --out DIR/);
    expect(snapshot(ro)).toEqual(before);
    const elsewhere = join(tmp.dir, 'elsewhere');
    const ok = runReadOnly(ro, ['train', '--resume', last, '--steps', '8', '--out', elsewhere, '-q']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readdirSync(elsewhere).filter((f) => f.endsWith('-last.safetensors'))).toHaveLength(1);
    expect(snapshot(ro)).toEqual(before);
  });
});

describe('the check itself', () => {
  it('can run here (root with a mount namespace), so the tests above are not skipped', () => {
    // a visible failure rather than a quiet skip on the machines this suite is meant for
    if (process.getuid?.() === 0 && spawnSync('unshare', ['--help']).status === 0) expect(canMount).toBe(true);
  });
});
