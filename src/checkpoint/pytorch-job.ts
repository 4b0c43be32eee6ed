// A PyTorch training job: the folder `rnn export --pytorch DIR` writes, to train the same
// model on GPUs or many machines with PyTorch's DistributedDataParallel and bring the
// checkpoints back.
//
//   DIR/train.py            standalone trainer (PyTorch only): src/checkpoint/pytorch-job/train.py
//   DIR/README.md           how to run it (one process, torchrun on GPUs or nodes) and come back
//   DIR/job.json            { format: "rnn-pytorch-job", version: 1, model, train, start, run }
//   DIR/start.safetensors   the checkpoint the job starts from, when exported from one
//
// train.py reads the same text into the same code-point vocabulary, B contiguous streams
// and carried state, trains with the same loss, clipping, optimizer and schedule, and
// writes rnn checkpoints (format rnn-charlm, version 1), so a run moves between the two
// engines in either direction and goes on exactly. Only cells whose formulation
// torch.nn has can go: lstm, gru-torch (torch.nn.GRU), rnn and rnn-relu (torch.nn.RNN).
import { existsSync, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CellKind } from '../nn/layer.js';
import { UsageError } from '../util/errors.js';
import { writeFileAtomic } from './atomic.js';

export const JOB_FORMAT = 'rnn-pytorch-job';
export const JOB_VERSION = 1;
/** The cells torch.nn has with rnn's exact formulation. */
export const TORCH_CELLS: readonly CellKind[] = ['lstm', 'gru-torch', 'rnn', 'rnn-relu'];

export interface JobModel {
  cell: CellKind;
  embed: number;
  hidden: number;
  layers: number;
}

export interface PytorchJob {
  model: JobModel;
  /** The training configuration train.py runs with (a TrainConfig as JSON). */
  train: Record<string, unknown>;
  /** The checkpoint to start from (its bytes, written as start.safetensors), or null to initialise. */
  start: Uint8Array | null;
  /** Run name the job's checkpoints carry when it continues a run (null: a new name). */
  run: string | null;
}

/** Refuses cells torch.nn cannot express, naming those that work. */
export function checkTorchCell(cell: CellKind): void {
  if (!TORCH_CELLS.includes(cell)) {
    const why = cell === 'gru' ? 'the classic GRU applies the reset gate before the recurrent product; torch.nn.GRU after it'
      : cell === 'gru-min' ? 'torch.nn has no GRU without a reset gate'
        : 'torch.nn.LSTM has no peephole connections';
    throw new UsageError(`cell ${cell} has no PyTorch module (${why}); a PyTorch job can train ${TORCH_CELLS.join(', ')}`);
  }
}

/** The folder of train.py in this installation (the repository or an installed package). */
async function assetDir(): Promise<string> {
  // the code runs from src/checkpoint (tests), bin/ or bin/chunks/ (the bundle), or dist/:
  // walk up to the package root, which ships src/
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'src', 'checkpoint', 'pytorch-job');
    if (existsSync(join(candidate, 'train.py'))) return candidate;
    if (existsSync(join(dir, 'pytorch-job', 'train.py'))) return join(dir, 'pytorch-job');
    dir = dirname(dir);
  }
  throw new Error('train.py is missing from this installation of rnn (src/checkpoint/pytorch-job/train.py)');
}

/** The job's README: what it trains and the commands that run it. */
export function jobReadme(job: PytorchJob): string {
  const { model: m, train: t } = job;
  const from = job.start ? 'from `start.safetensors` (exported from an rnn checkpoint; a training checkpoint continues exactly where it stopped)'
    : 'from a fresh initialisation (rnn\'s: N(0,1) embedding, uniform ±1/√H elsewhere, LSTM forget bias 1)';
  return `# A PyTorch job for an rnn model

Written by \`rnn export --pytorch\`. It trains a ${m.layers}×${m.hidden} ${m.cell} character model
(embedding ${m.embed}, batch ${String(t.batch)} × seq ${String(t.seq)}, ${String(t.optim)} lr ${String(t.lr)}, ${String(t.schedule)} schedule)
${from}, with nothing but PyTorch (no rnn needed here), and writes rnn checkpoints.

## Run it

\`\`\`sh
python3 train.py --data book.txt --steps 2000                       # one process: a GPU if there is one, else the CPU
torchrun --nproc_per_node 8 train.py --data book.txt --time 2h      # 8 GPUs on this machine (DistributedDataParallel)
torchrun --nnodes 4 --nproc_per_node 8 --rdzv_backend c10d \\
         --rdzv_endpoint HOST:29500 train.py --data book.txt --time 2h  # 4 machines (run this on each)
\`\`\`

- \`--data\`: the same text the model is meant for (a UTF-8 file or a folder of text files). A job
  exported from a checkpoint keeps its vocabulary: the text must not hold characters it lacks.
- Stopping: \`--steps\`, \`--epochs\`, \`--time\` (\`90s\`, \`15m\`, \`2h\`), counting the whole run; \`--patience\`,
  \`--eval-every\`, \`--eval-windows\` as in \`rnn train\`. \`--out DIR\` (default \`out/\` here).
- CUDA is used when available, with bf16 autocast; the CPU otherwise (gloo between processes).
  \`--compile\` runs \`torch.compile\` where it works. \`--json\` writes the events \`rnn train --json\` writes.
- The batch's B streams are split evenly over the processes (B must be a multiple of their number), and
  DDP averages the gradients, so 1 process and 8 train the same model on the same data.
- Ctrl-C (or SIGTERM) finishes the step, saves \`-last\` and exits; \`--resume FILE\` goes on from any checkpoint.

## Come back

\`\`\`sh
rnn sample -c out/<run>-best.safetensors
rnn info out/<run>-best.safetensors                                  # the loss curve of the run
rnn train book.txt --resume out/<run>-last.safetensors               # go on training with rnn
\`\`\`
`;
}

/**
 * Writes the job folder. Refuses a folder that already holds a job unless `force`; never
 * touches what a job there has written (out/).
 *
 * @returns the files written
 */
export async function writePytorchJob(dir: string, job: PytorchJob, opts: { force?: boolean } = {}): Promise<string[]> {
  checkTorchCell(job.model.cell);
  const info = await fsp.stat(dir).catch(() => null);
  if (info && !info.isDirectory()) throw new UsageError(`${dir} is a file; give a folder for the job`);
  if (existsSync(join(dir, 'job.json')) && !opts.force) {
    throw new UsageError(`${dir} already holds a job (job.json); give another folder, or --force to replace the job (its out/ is kept)`);
  }
  await fsp.mkdir(dir, { recursive: true });
  const assets = await assetDir();
  const files: string[] = [];
  const put = async (name: string, data: Uint8Array | string) => {
    await writeFileAtomic(join(dir, name), typeof data === 'string' ? new TextEncoder().encode(data) : data);
    files.push(join(dir, name));
  };
  await put('train.py', await fsp.readFile(join(assets, 'train.py')));
  if (job.start) await put('start.safetensors', job.start);
  await put('job.json', `${JSON.stringify({
    format: JOB_FORMAT, version: JOB_VERSION, model: job.model, train: job.train,
    start: job.start ? 'start.safetensors' : null, run: job.run,
  }, null, 2)}\n`);
  await put('README.md', jobReadme(job));
  return files;
}
