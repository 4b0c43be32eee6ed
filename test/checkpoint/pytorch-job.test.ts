// The PyTorch job of `rnn export --pytorch`: a run moves from rnn to train.py (torchrun,
// DDP over 2 CPU processes with gloo) and back, and goes on exactly: train.py's per-step
// losses equal rnn's on the same steps, its checkpoints load in rnn with the logits PyTorch
// computes, sample, and resume in `rnn train` with the loss continuing; 1 and 2 processes
// train the same model. Skipped, with the reason printed, where `import torch` fails. The
// job folder itself (files, refusals) is tested without torch.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/store.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { torchMissing } from '../helpers/torch.js';

const INTEROP = fileURLToPath(new URL('../fixtures/torch_interop.py', import.meta.url));
const CORPUS = 'the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n'.repeat(40);
const SMALL = ['--cell', 'lstm', '--hidden', '16', '--layers', '2', '--embed', '8', '--batch', '4', '--seq', '12',
  '--eval-every', '4', '--backend', 'reference', '-q'];

const missing = torchMissing({ modules: 'torch, torch.distributed', torchrun: true });
const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));
if (missing) console.warn(`skipping PyTorch job tests: ${missing}`);

interface StepEvent { type: string; step: number; loss?: number; val?: number | null }

function events(stdout: string): StepEvent[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as StepEvent);
}

const stepLosses = (evs: StepEvent[]) => new Map(evs.filter((e) => e.type === 'step').map((e) => [e.step, e.loss!]));

function trainPy(job: string, args: string[], procs = 1): StepEvent[] {
  const cmd = procs === 1 ? 'python3' : 'torchrun';
  const pre = procs === 1 ? [] : ['--nproc_per_node', String(procs), '--master_port', String(29500 + Math.floor(Math.random() * 2000))];
  const r = spawnSync(cmd, [...pre, join(job, 'train.py'), ...args, '--json', '--json-every', '1', '-q'], {
    encoding: 'utf8', timeout: 180_000, env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  if (r.status !== 0) throw new Error(`train.py ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return events(r.stdout);
}

describe('rnn export --pytorch: the job folder', () => {
  it('writes train.py, README.md, job.json and the starting checkpoint, and refuses cells torch.nn lacks', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFileSync(join(dir, 'text.txt'), CORPUS);
    expect((await runCli(['train', 'text.txt', ...SMALL, '--steps', '4', '--out', 'ck'], { cwd: dir })).code).toBe(0);
    const last = join(dir, 'ck', readdirSync(join(dir, 'ck')).find((f) => f.endsWith('-last.safetensors'))!);
    const r = await runCli(['export', '--pytorch', 'job', '-c', last], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    for (const f of ['train.py', 'README.md', 'job.json', 'start.safetensors']) expect(existsSync(join(dir, 'job', f))).toBe(true);
    expect(readFileSync(join(dir, 'job', 'start.safetensors'))).toEqual(readFileSync(last));
    const job = JSON.parse(readFileSync(join(dir, 'job', 'job.json'), 'utf8'));
    expect(job).toMatchObject({ format: 'rnn-pytorch-job', version: 1, start: 'start.safetensors', model: { cell: 'lstm', hidden: 16, layers: 2, embed: 8 } });
    expect(job.run).toMatch(/^text-\d{8}-\d{6}-[0-9a-f]{4}$/);

    const again = await runCli(['export', '--pytorch', 'job', '-c', last], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toEqual([expect.stringMatching(/already holds a job.*--force/)]);
    expect((await runCli(['export', '--pytorch', 'job', '-c', last, '--force'], { cwd: dir })).code).toBe(0);

    for (const cell of ['gru', 'gru-min', 'lstm-peep']) {
      const d = join(dir, cell);
      expect((await runCli(['train', 'text.txt', ...SMALL, '--cell', cell, '--steps', '1', '--out', d], { cwd: dir })).code).toBe(0);
      const ck = join(d, readdirSync(d).find((f) => f.endsWith('-last.safetensors'))!);
      const bad = await runCli(['export', '--pytorch', join(dir, `job-${cell}`), '-c', ck], { cwd: dir });
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`cell ${cell} has no PyTorch module.*lstm, gru-torch, rnn, rnn-relu`))]);
      expect(existsSync(join(dir, `job-${cell}`))).toBe(false);
    }
    const mixed = await runCli(['export', '--onnx', 'x.onnx', '-c', last, '--hidden', '8'], { cwd: dir });
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/^rnn: --hidden describes a new model for --pytorch DIR without --checkpoint/);
  }, 120_000);
});

describe.skipIf(missing !== null)('a new model exported as a PyTorch job', () => {
  it('is initialised and trained by train.py, and its checkpoint resumes in rnn', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFileSync(join(dir, 'text.txt'), CORPUS);
    const r = await runCli(['export', '--pytorch', 'job', '--cell', 'gru-torch', '--hidden', '12', '--layers', '1', '--batch', '4', '--seq', '10'], { cwd: dir });
    expect(r.code).toBe(0);
    const job = JSON.parse(readFileSync(join(dir, 'job', 'job.json'), 'utf8'));
    expect(job).toMatchObject({ start: null, run: null, model: { cell: 'gru-torch', hidden: 12, layers: 1 }, train: { batch: 4, seq: 10, task: 'lm' } });
    const evs = trainPy(join(dir, 'job'), ['--data', join(dir, 'text.txt'), '--steps', '6', '--eval-every', '3']);
    const end = evs.find((e) => e.type === 'end')!;
    expect(end.step).toBe(6);
    const out = join(dir, 'job', 'out');
    const last = join(out, readdirSync(out).find((f) => f.endsWith('-last.safetensors'))!);
    const back = await runCli(['train', 'text.txt', '--resume', last, '--steps', '8', '--json', '--backend', 'reference', '-q'], { cwd: dir });
    expect(back.code, back.stderr).toBe(0);
    expect(events(back.stdout).find((e) => e.type === 'end')!.step).toBe(8);
  }, 120_000);
});

describe.skipIf(missing !== null)('a checkpoint whose model is the average of the weights (--ema)', () => {
  it('goes on in train.py from its trained weights, as rnn goes on from it', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dir = t.dir;
    writeFileSync(join(dir, 'text.txt'), CORPUS);
    // at this rate the average scores better at step 4, so the file's model is the average
    const first = await runCli(['train', 'text.txt', ...SMALL, '--lr', '0.1', '--schedule', 'constant', '--ema', '0.5', '--steps', '4', '--out', 'ck'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const start = join(dir, 'ck', readdirSync(join(dir, 'ck')).find((f) => f.endsWith('-last.safetensors'))!);
    expect((await readCheckpoint(start)).state!.model).toBe('average');
    expect((await runCli(['export', '--pytorch', 'job', '-c', start], { cwd: dir })).code).toBe(0);
    writeFileSync(join(dir, 'copy-last.safetensors'), readFileSync(start));
    const ours = await runCli(['train', 'text.txt', '--resume', 'copy-last.safetensors', '--steps', '8', '--json', '--json-every', '1', '--backend', 'reference', '-q'], { cwd: dir });
    expect(ours.code).toBe(0);
    const rnnLoss = stepLosses(events(ours.stdout));
    const theirs = stepLosses(trainPy(join(dir, 'job'), ['--data', join(dir, 'text.txt'), '--steps', '8', '--out', join(dir, 'out')]));
    expect([...rnnLoss.keys()]).toEqual([5, 6, 7, 8]);
    for (const [step, loss] of rnnLoss) expect(Math.abs(theirs.get(step)! - loss) / loss).toBeLessThan(1e-4);
  }, 120_000);
});

describe.skipIf(missing !== null)('the PyTorch job: rnn → train.py (torchrun, 2 processes) → rnn', () => {
  let dir = '';
  let start = '';
  beforeAll(async () => {
    const t = tempDir();
    dir = t.dir;
    cleanups.push(t.cleanup);
    writeFileSync(join(dir, 'text.txt'), CORPUS);
    expect((await runCli(['train', 'text.txt', ...SMALL, '--steps', '8', '--out', 'ck'], { cwd: dir })).code).toBe(0);
    start = join(dir, 'ck', readdirSync(join(dir, 'ck')).find((f) => f.endsWith('-last.safetensors'))!);
    expect((await runCli(['export', '--pytorch', 'job', '-c', start], { cwd: dir })).code).toBe(0);
  }, 120_000);

  it('continues the run exactly: train.py\'s losses equal rnn\'s own continuation, with 1 and 2 processes', async () => {
    // rnn's own continuation from the same checkpoint, steps 9..14 (a copy, so the original stays at step 8)
    writeFileSync(join(dir, 'copy-last.safetensors'), readFileSync(start));
    const ours = await runCli(['train', 'text.txt', '--resume', 'copy-last.safetensors', '--steps', '14', '--json', '--json-every', '1',
      '--backend', 'reference', '-q'], { cwd: dir });
    expect(ours.code).toBe(0);
    const rnnLoss = stepLosses(events(ours.stdout));
    const one = stepLosses(trainPy(join(dir, 'job'), ['--data', join(dir, 'text.txt'), '--steps', '14', '--out', join(dir, 'out1')]));
    const two = stepLosses(trainPy(join(dir, 'job'), ['--data', join(dir, 'text.txt'), '--steps', '14', '--out', join(dir, 'out2')], 2));
    expect([...rnnLoss.keys()]).toEqual([9, 10, 11, 12, 13, 14]);
    for (const [step, loss] of rnnLoss) {
      expect(Math.abs(one.get(step)! - loss) / loss).toBeLessThan(1e-4);
      expect(Math.abs(two.get(step)! - loss) / loss).toBeLessThan(1e-4);
    }
    // the job keeps the run's name, and writes both files of the pair
    const run = JSON.parse(readFileSync(join(dir, 'job', 'job.json'), 'utf8')).run as string;
    expect(readdirSync(join(dir, 'out2')).sort()).toEqual([`${run}-best.safetensors`, `${run}-last.safetensors`]);
  }, 240_000);

  it('writes checkpoints rnn reads: the same logits as PyTorch, samples, info, and a resume that goes on from train.py\'s loss', async () => {
    const run = JSON.parse(readFileSync(join(dir, 'job', 'job.json'), 'utf8')).run as string;
    const last = join(dir, 'out2', `${run}-last.safetensors`);
    const ckpt = await readCheckpoint(last);
    expect(ckpt.progress!.step).toBe(14);
    expect(ckpt.progress!.history.map((h) => h.step)).toEqual([4, 8, 12, 14]);

    // logits: PyTorch (torch_interop.py forward) against rnn's float64 reference forward
    const ids = [[1, 2, 3], [4, 5, 6], [7, 8, 0]];
    const r = spawnSync('python3', [INTEROP, 'forward', JSON.stringify(ids), last, '--double'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const torchLogits = (JSON.parse(r.stdout) as { logits: number[][] }).logits[0]!;
    const { modelFromCheckpoint } = await import('../../src/checkpoint/store.js');
    const { ReferenceKernels } = await import('../../src/kernels/reference.js');
    const model = modelFromCheckpoint(new ReferenceKernels('f64'), ckpt);
    const ws = model.workspace(3, 3, false);
    ws.ids.set(ids.flat());
    ws.forward();
    for (let i = 0; i < torchLogits.length; i++) expect(Math.abs(ws.logits[i]! - torchLogits[i]!)).toBeLessThan(1e-5);

    const sample = await runCli(['sample', '-c', last, '-n', '40', '--seed', '2'], { cwd: dir });
    expect(sample.code).toBe(0);
    expect([...sample.stdout].length).toBe(40);
    const info = await runCli(['info', last, '--json'], { cwd: dir });
    expect(info.code).toBe(0);

    // train.py's next steps from its own checkpoint, and rnn's resume of the same file
    const theirs = stepLosses(trainPy(join(dir, 'job'), ['--data', join(dir, 'text.txt'), '--steps', '17', '--resume', last, '--out', join(dir, 'out3')]));
    const back = await runCli(['train', 'text.txt', '--resume', last, '--steps', '17', '--json', '--json-every', '1', '--backend', 'reference', '-q'], { cwd: dir });
    expect(back.code).toBe(0);
    const resumed = stepLosses(events(back.stdout));
    expect([...resumed.keys()]).toEqual([15, 16, 17]);
    for (const [step, loss] of resumed) expect(Math.abs(theirs.get(step)! - loss) / loss).toBeLessThan(1e-4);
  }, 240_000);
});
