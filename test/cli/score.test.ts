// `rnn score`: one output line per input line, streamed; per-line scores independent of
// the neighbours; --json, --chars TSV, and the colour heat map.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFromCheckpoint, readCheckpoint } from '../../src/checkpoint/store.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { BIN, runCli } from '../helpers/cli.js';
import { CORPUS, trainTinyModel, type TinyModel } from '../sample/fixture.js';

const LINES = ['the cat sat on the mat.', 'xq zzkv bbq jjj', '', 'a dog met a cat on a log.', 'the dog sat on the log.'];
const INPUT = `${LINES.join('\n')}\n`;

/** bpc of one line the way score defines it: from "\n", predict the line and its line end. */
async function directBpc(checkpoint: string, line: string): Promise<number> {
  const ckpt = await readCheckpoint(checkpoint);
  const model = modelFromCheckpoint(new ReferenceKernels('f32'), ckpt);
  const ids = ckpt.vocab.encodeLenient(`\n${line}\n`).ids;
  const n = ids.length - 1;
  const ws = model.workspace(1, n, false);
  ws.ids.set(ids.subarray(0, n));
  ws.targets.set(ids.subarray(1));
  ws.forward();
  return ws.loss() / Math.LN2;
}

describe('rnn score', () => {
  let m: TinyModel;
  beforeAll(async () => {
    m = await trainTinyModel();
    writeFileSync(join(m.dir, 'lines.txt'), INPUT);
  });
  afterAll(() => m?.cleanup());

  const score = (args: string[], input?: string, env?: Record<string, string | undefined>) =>
    runCli(['score', ...args], { cwd: m.dir, input, env });

  it('writes <bpc>\\t<line> for every input line, equal to scoring the line alone', async () => {
    const r = await score(['lines.txt', '--backend', 'reference']);
    expect(r.code).toBe(0);
    const out = r.stdout.split('\n');
    expect(out.pop()).toBe('');
    expect(out).toHaveLength(LINES.length);
    const unknown = new Set([...INPUT].filter((ch) => !CORPUS.includes(ch)));
    expect(unknown.size).toBeGreaterThan(0);
    for (let i = 0; i < LINES.length; i++) {
      const [bpc, text] = [out[i].slice(0, out[i].indexOf('\t')), out[i].slice(out[i].indexOf('\t') + 1)];
      expect(text).toBe(LINES[i]);
      expect(bpc).toMatch(/^\d+\.\d{4}$/);
      const want = await directBpc(m.checkpoint, [...LINES[i]].filter((ch) => !unknown.has(ch)).join(''));
      expect(Math.abs(Number(bpc) - want)).toBeLessThanOrEqual(6e-5);
      // independent of the neighbours: the line alone gives the same score
      const alone = await score(['-', '--backend', 'reference'], `${LINES[i]}\n`);
      expect(alone.stdout).toBe(`${out[i]}\n`);
    }
    expect(r.stderr).toMatch(/^rnn: warning: \d+ characters? not in the vocabulary skipped: /);
  });

  it('stdin works with | sort -rn | head, and the last line needs no newline', async () => {
    const r = await runCli(['score'], { cwd: m.dir, input: INPUT.trimEnd() });
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(LINES.length);
    const shell = spawn('bash', ['-c', `"$0" "$1" score lines.txt 2>/dev/null | sort -rn | head -n 1`, process.execPath, BIN], { cwd: m.dir });
    let top = '';
    shell.stdout.on('data', (d: Buffer) => (top += d.toString()));
    await new Promise((resolve) => shell.on('close', resolve));
    expect(top.trimEnd().split('\t')[1]).toBe(LINES[1]); // the gibberish line is the most surprising
  });

  it('--json writes one object per line', async () => {
    const r = await score(['lines.txt', '--json']);
    const rows = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((o) => o.text)).toEqual(LINES);
    expect(rows.map((o) => o.line)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0].chars).toBe(LINES[0].length + 1);
    expect(rows[2].chars).toBe(1); // an empty line still predicts its line end
    expect(rows[1].unknown).toBeGreaterThan(0);
  });

  it('--chars writes TSV rows line, column, char, bits whose mean is the line bpc', async () => {
    const plain = (await score(['lines.txt'])).stdout.trimEnd().split('\n').map((l) => Number(l.split('\t')[0]));
    const r = await score(['lines.txt', '--chars']);
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
    expect(rows).toHaveLength(LINES.reduce((n, l) => n + l.length + 1, 0));
    for (const row of rows) expect(row).toHaveLength(4);
    for (let i = 0; i < LINES.length; i++) {
      const mine = rows.filter((row) => row[0] === String(i + 1));
      expect(mine.map((row) => row[2]).join('')).toBe(`${LINES[i]}\\n`);
      expect(mine.map((row) => Number(row[1]))).toEqual(mine.map((_, j) => j + 1));
      const bits = mine.filter((row) => row[3] !== '').map((row) => Number(row[3]));
      expect(bits.reduce((a, b) => a + b, 0) / bits.length).toBeCloseTo(plain[i], 3);
    }
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  it('the heat map is coloured text, and NO_COLOR or --no-color turn it back into TSV', async () => {
    const colour = { NO_COLOR: undefined, FORCE_COLOR: '1' };
    const heat = await score(['--chars', '--heatmap'], 'the cat\nzzz\n', colour);
    expect(heat.code).toBe(0);
    expect(heat.stdout).toMatch(/\x1b\[/);
    expect(heat.stdout.replace(/\x1b\[[0-9;]*m/g, '')).toBe('the cat\nzzz\n');
    const noColor = await score(['--chars', '--heatmap'], 'the cat\n', { FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(noColor.stdout.split('\n')[0]).toBe('1\t1\tt\t' + noColor.stdout.split('\n')[0].split('\t')[3]);
    const flag = await score(['--chars', '--heatmap', '--no-color'], 'the cat\n', colour);
    expect(flag.stdout).toBe(noColor.stdout);
  });

  it('streams: a line is scored before the input ends', async () => {
    const child = spawn(process.execPath, [BIN, 'score'], { cwd: m.dir, env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    const firstLine = new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve();
      });
    });
    child.stdin.write('the cat sat\n');
    await firstLine; // stdin is still open here
    expect(out).toMatch(/^\d+\.\d{4}\tthe cat sat\n$/);
    child.stdin.end('the dog\n');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out.split('\n')).toHaveLength(3);
  });

  it('a missing file or a folder is a one-line error', async () => {
    for (const arg of ['nope.txt', 'checkpoints']) {
      const r = await score([arg]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^rnn: ${arg}: .*\\n$`));
    }
  });
});
