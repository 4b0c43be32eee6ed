// `rnn export`: a checkpoint as an ONNX model (--onnx), as a weights-only safetensors file
// for PyTorch (--safetensors-weights; '-' writes either to stdout), or as a PyTorch
// training job folder (--pytorch DIR, src/checkpoint/pytorch-job.ts).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { writeFileAtomic } from '../checkpoint/atomic.js';
import { encodeWeightsOnly } from '../checkpoint/interop.js';
import { exportOnnx } from '../checkpoint/onnx.js';
import { writePytorchJob } from '../checkpoint/pytorch-job.js';
import { readCheckpoint } from '../checkpoint/store.js';
import { requireTask } from '../tasks/registry.js';
import { UsageError } from '../util/errors.js';
import { runOfCheckpoint } from './train.js';
import { checkpointOption, findCheckpoint, quietOption, stdoutClosed, VERSION, writeStdout } from './common.js';

interface ExportFlags {
  checkpoint?: string;
  onnx?: string;
  safetensorsWeights?: string;
  pytorch?: string;
  force: boolean;
  stateInputs: boolean;
  quiet: boolean;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a checkpoint as an ONNX model or as a weights-only safetensors file for PyTorch')
    .addOption(checkpointOption('export'))
    .addOption(new Option('--onnx <file>', 'write an ONNX model (opset 17): ids [T,B] int64 → logits [T,B,V] and final states; - for stdout'))
    .addOption(new Option('--safetensors-weights <file>', 'write the model weights only (PyTorch names, no optimizer state); - for stdout'))
    .addOption(new Option('--pytorch <dir>', 'write a PyTorch training job (train.py for torchrun/DDP, README, the checkpoint to start from) into this folder'))
    .option('--force', 'with --pytorch: replace a job already in the folder (its out/ is kept)', false)
    .option('--no-state-inputs', 'ONNX graph without the h0/c0 inputs (it starts from zero states)')
    .addOption(quietOption())
    .addHelpText('after', `
Examples:
  rnn export --onnx model.onnx                          newest best checkpoint → ONNX
  rnn export -c run-best.safetensors --safetensors-weights weights.safetensors
  rnn export --pytorch job/ -c run-last.safetensors    then: torchrun --nproc_per_node 8 job/train.py --data book.txt

The ONNX model takes ids [T,B] int64 (time-major) and h0 [L,B,H] (and c0 for LSTM; zeros
to start) and returns logits [T,B,V], h_n and c_n. Its metadata "vocab" maps ids to
characters. Cells lstm-peep and gru-min have no ONNX operator and are refused.
A PyTorch job trains lstm, gru-torch, rnn and rnn-relu models (torch.nn has no twin of the
others) and writes rnn checkpoints that rnn samples from and resumes.`)
    .action(async (flags: ExportFlags) => {
      process.exitCode = await runExport(flags);
    });
}

async function writeOut(path: string, bytes: Uint8Array): Promise<void> {
  if (path === '-') {
    if (process.stdout.isTTY) throw new UsageError('refusing to write a binary file to the terminal; give a file name or pipe stdout');
    await writeStdout(bytes);
  } else {
    await writeFileAtomic(path, bytes);
  }
}

async function runExport(flags: ExportFlags): Promise<number> {
  if (!flags.onnx && !flags.safetensorsWeights && !flags.pytorch) {
    throw new UsageError('nothing to export; pass --onnx FILE, --safetensors-weights FILE or --pytorch DIR');
  }
  if (flags.onnx === '-' && flags.safetensorsWeights === '-') {
    throw new UsageError('only one of --onnx and --safetensors-weights can write to stdout');
  }
  const file = await findCheckpoint(flags.checkpoint);
  const ckpt = requireTask(await readCheckpoint(file), 'lm');
  // nothing to report when a reader of stdout went away before taking it all
  const say = (line: string) => {
    if (!flags.quiet && !stdoutClosed()) process.stderr.write(`${line}\n`);
  };
  const { cell, layers, hidden, embed, vocab } = ckpt.model;
  const what = `${layers}×${hidden} ${cell}, embed ${embed}, vocab ${vocab}`;
  if (flags.onnx) {
    const bytes = exportOnnx(
      { model: ckpt.model, params: ckpt.params, chars: ckpt.vocab.toJSON() },
      { stateInputs: flags.stateInputs, producerVersion: VERSION },
    );
    await writeOut(flags.onnx, bytes);
    const states = cell === 'lstm' ? 'h0, c0' : 'h0';
    say(`wrote ${flags.onnx === '-' ? 'stdout' : flags.onnx}: ONNX (opset 17) of ${file} (${what}), ${bytes.length.toLocaleString('en-US')} bytes`);
    say(`  inputs: ids [T,B] int64${flags.stateInputs ? `, ${states} [${layers},B,${hidden}] float32` : ''} · outputs: logits [T,B,${vocab}], ${cell === 'lstm' ? 'h_n, c_n' : 'h_n'}`);
  }
  if (flags.safetensorsWeights) {
    const bytes = encodeWeightsOnly(ckpt);
    await writeOut(flags.safetensorsWeights, bytes);
    say(`wrote ${flags.safetensorsWeights === '-' ? 'stdout' : flags.safetensorsWeights}: weights only of ${file} (${what}), ${bytes.length.toLocaleString('en-US')} bytes`);
  }
  if (flags.pytorch) {
    const { cell } = ckpt.model;
    await writePytorchJob(flags.pytorch, {
      model: { cell, embed, hidden, layers },
      train: ckpt.train ? { ...ckpt.train } : { cell, embed, hidden, layers },
      start: await readFile(file),
      run: ckpt.progress ? runOfCheckpoint(file) : null,
    }, { force: flags.force });
    say(`wrote ${flags.pytorch}: a PyTorch job for ${file} (${what}; ${ckpt.progress ? `continues at step ${ckpt.progress.step}` : 'starts from its weights'})`);
    say(`  run: torchrun --nproc_per_node N ${join(flags.pytorch, 'train.py')} --data TEXT --time 2h   (see ${join(flags.pytorch, 'README.md')})`);
  }
  return 0;
}
