// `rnn export`: a checkpoint as an ONNX model (--onnx), as a weights-only safetensors file
// for PyTorch (--safetensors-weights; '-' writes either to stdout), or as a PyTorch
// training job folder (--pytorch DIR, src/checkpoint/pytorch-job.ts).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { writeFileAtomic } from '../checkpoint/atomic.js';
import { encodeWeightsOnly } from '../checkpoint/interop.js';
import { exportOnnx } from '../checkpoint/onnx.js';
import { classifierToOnnx } from '../checkpoint/onnx-classifier.js';
import { TORCH_CELLS, writePytorchJob } from '../checkpoint/pytorch-job.js';
import { readCheckpoint, type Checkpoint } from '../checkpoint/store.js';
import type { CellKind } from '../nn/layer.js';
import { requireTask, TASKS } from '../tasks/registry.js';
import { TRAIN_DEFAULTS } from '../train/config.js';
import { flagName, freshConfig } from '../train/run.js';
import { UsageError } from '../util/errors.js';
import { runOfCheckpoint } from './train.js';
import { checkpointOption, findCheckpoint, quietOption, stdoutClosed, VERSION, writeStdout } from './common.js';
import { choiceOption, floatOption, intOption } from './options.js';

interface ExportFlags {
  checkpoint?: string;
  onnx?: string;
  safetensorsWeights?: string;
  pytorch?: string;
  force: boolean;
  cell?: CellKind;
  layers?: number;
  hidden?: number;
  embed?: number;
  batch?: number;
  seq?: number;
  lr?: number;
  dropout?: number;
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
    .addOption(new Option('--cell <kind>', 'with --pytorch and no checkpoint: a new model\'s cell (lstm, gru-torch, rnn, rnn-relu)').argParser(choiceOption('--cell', TORCH_CELLS)))
    .addOption(new Option('--layers <n>', `with --pytorch and no checkpoint: layers (default ${TRAIN_DEFAULTS.layers})`).argParser(intOption('--layers', 1, 64)))
    .addOption(new Option('--hidden <n>', `with --pytorch and no checkpoint: hidden units (default ${TRAIN_DEFAULTS.hidden})`).argParser(intOption('--hidden', 1, 65536)))
    .addOption(new Option('--embed <n>', `with --pytorch and no checkpoint: embedding size (default ${TRAIN_DEFAULTS.embed})`).argParser(intOption('--embed', 1, 65536)))
    .addOption(new Option('--batch <n>', `with --pytorch and no checkpoint: streams per step, split over the processes (default ${TRAIN_DEFAULTS.batch})`).argParser(intOption('--batch', 1, 1 << 20)))
    .addOption(new Option('--seq <n>', `with --pytorch and no checkpoint: window length (default ${TRAIN_DEFAULTS.seq})`).argParser(intOption('--seq', 1, 100000)))
    .addOption(new Option('--lr <x>', `with --pytorch and no checkpoint: learning rate (default ${TRAIN_DEFAULTS.lr})`).argParser(floatOption('--lr', 0, 10, { minExclusive: true })))
    .addOption(new Option('--dropout <p>', `with --pytorch and no checkpoint: dropout (default ${TRAIN_DEFAULTS.dropout})`).argParser(floatOption('--dropout', 0, 0.9)))
    .option('--no-state-inputs', 'ONNX graph without the h0/c0 inputs (it starts from zero states)')
    .addOption(quietOption())
    .addHelpText('after', `
Examples:
  rnn export --onnx model.onnx                          newest best checkpoint → ONNX
  rnn export -c run-best.safetensors --safetensors-weights weights.safetensors
  rnn export --pytorch job/ -c run-last.safetensors    then: torchrun --nproc_per_node 8 job/train.py --data book.txt
  rnn export --pytorch job/ --cell lstm --hidden 1024 --layers 3     a new model, initialised by train.py

The ONNX model takes ids [T,B] int64 (time-major) and h0 [L,B,H] (and c0 for LSTM; zeros
to start) and returns logits [T,B,V], h_n and c_n. Its metadata "vocab" maps ids to
characters. Cells lstm-peep and gru-min have no ONNX operator and are refused.
A classifier's ONNX model takes ids [T,B] int64 (padded with 0) and lengths [B] int64 and
returns logits and probs [B,K]; its metadata "classes" names the classes.
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
  const shape = (['cell', 'layers', 'hidden', 'embed', 'batch', 'seq', 'lr', 'dropout'] as const).filter((k) => flags[k] !== undefined);
  if (shape.length > 0 && (!flags.pytorch || flags.checkpoint || flags.onnx || flags.safetensorsWeights)) {
    throw new UsageError(`${shape.map(flagName).join(', ')} ${shape.length === 1 ? 'describes' : 'describe'} a new model for --pytorch DIR without --checkpoint; a checkpoint's model is exported as it is`);
  }
  if (flags.pytorch && shape.length > 0) return exportFreshJob(flags);
  const file = await findCheckpoint(flags.checkpoint);
  const any = requireTask(await readCheckpoint(file), 'lm', 'cond', 'classify');
  if (any.task === 'cond' && flags.pytorch) throw new UsageError(`${file} is a conditioned language model; the PyTorch job trains plain language models only (export --onnx or --safetensors-weights instead)`);
  // nothing to report when a reader of stdout went away before taking it all
  const say = (line: string) => {
    if (!flags.quiet && !stdoutClosed()) process.stderr.write(`${line}\n`);
  };
  if (any.task === 'classify') return exportClassifier(flags, file, any, say);
  const ckpt = any;
  const { cell, layers, hidden, embed, vocab } = ckpt.model;
  const what = `${layers}×${hidden} ${cell}, embed ${embed}, vocab ${vocab}`;
  if (flags.onnx) {
    const bytes = exportOnnx(
      { model: ckpt.model, params: ckpt.params, chars: ckpt.vocab.toJSON(), tags: ckpt.task === 'cond' ? ckpt.meta.tags : undefined },
      { stateInputs: flags.stateInputs, producerVersion: VERSION },
    );
    await writeOut(flags.onnx, bytes);
    const states = cell === 'lstm' ? 'h0, c0' : 'h0';
    say(`wrote ${flags.onnx === '-' ? 'stdout' : flags.onnx}: ONNX (opset 17) of ${file} (${what}), ${bytes.length.toLocaleString('en-US')} bytes`);
    say(`  inputs: ids [T,B] int64${ckpt.task === 'cond' ? `, tag [T,B,${ckpt.model.tags}] float32 (row 0 untagged, then ${ckpt.meta.tags.length} tags)` : ''}${flags.stateInputs ? `, ${states} [${layers},B,${hidden}] float32` : ''} · outputs: logits [T,B,${vocab}], ${cell === 'lstm' ? 'h_n, c_n' : 'h_n'}`);
  }
  if (flags.safetensorsWeights) {
    const bytes = encodeWeightsOnly(ckpt);
    await writeOut(flags.safetensorsWeights, bytes);
    say(`wrote ${flags.safetensorsWeights === '-' ? 'stdout' : flags.safetensorsWeights}: weights only of ${file} (${what}), ${bytes.length.toLocaleString('en-US')} bytes`);
  }
  if (flags.pytorch) {
    const { cell } = ckpt.model;
    const noTorch = (['embedDropout', 'recurrentDropout'] as const).filter((k) => (ckpt.train?.[k] ?? 0) > 0);
    if (noTorch.length > 0) {
      throw new UsageError(`${file} was trained with ${noTorch.map(flagName).join(' and ')}, which the PyTorch job does not have (torch.nn's recurrent modules drop only between layers); go on training it with rnn, or export --onnx or --safetensors-weights`);
    }
    await writePytorchJob(flags.pytorch, {
      model: { cell, embed, hidden, layers },
      train: { ...(ckpt.train ?? freshConfig(TASKS.lm, { cell, embed, hidden, layers })) },
      start: await fsp.readFile(file),
      run: ckpt.progress ? runOfCheckpoint(file) : null,
    }, { force: flags.force });
    say(`wrote ${flags.pytorch}: a PyTorch job for ${file} (${what}; ${ckpt.progress ? `continues at step ${ckpt.progress.step}` : 'starts from its weights'})`);
    say(`  run: torchrun --nproc_per_node N ${join(flags.pytorch, 'train.py')} --data TEXT --time 2h   (see ${join(flags.pytorch, 'README.md')})`);
  }
  return 0;
}

/** A classifier checkpoint: ONNX only (ids [T,B] and lengths [B] → logits and probs [B,K]). */
async function exportClassifier(
  flags: ExportFlags, file: string, ckpt: Extract<Checkpoint, { task: 'classify' }>, say: (line: string) => void,
): Promise<number> {
  if (flags.safetensorsWeights || flags.pytorch) {
    throw new UsageError(`${file}: holds a classifier; ${flags.pytorch ? '--pytorch' : '--safetensors-weights'} exports language models only; use --onnx FILE`);
  }
  const { model, classes, vocab } = { model: ckpt.model, classes: ckpt.meta.classes, vocab: ckpt.vocab };
  const bytes = classifierToOnnx(model, ckpt.params, vocab.toJSON(), classes, { producerVersion: VERSION });
  await writeOut(flags.onnx!, bytes);
  const what = `${model.layers}×${model.hidden} ${model.bidirectional ? 'bidirectional ' : ''}${model.cell} classifier, ${model.pool} pooling, ${model.classes} classes`;
  say(`wrote ${flags.onnx === '-' ? 'stdout' : flags.onnx}: ONNX (opset 17) of ${file} (${what}), ${bytes.length.toLocaleString('en-US')} bytes`);
  say(`  inputs: ids [T,B] int64 (pad with 0), lengths [B] int64 · outputs: logits, probs [B,${model.classes}]`);
  return 0;
}

/** `--pytorch DIR` with model flags and no checkpoint: a new model that train.py initialises as rnn would. */
async function exportFreshJob(flags: ExportFlags): Promise<number> {
  const { cell = TRAIN_DEFAULTS.cell, layers, hidden, embed, batch, seq, lr, dropout } = flags;
  const train = freshConfig(TASKS.lm, { cell, layers, hidden, embed, batch, seq, lr, dropout });
  const dir = flags.pytorch!;
  await writePytorchJob(dir, {
    model: { cell: train.cell, embed: train.embed, hidden: train.hidden, layers: train.layers },
    train: { ...train },
    start: null,
    run: null,
  }, { force: flags.force });
  if (!flags.quiet) {
    process.stderr.write(`wrote ${dir}: a PyTorch job for a new ${train.layers}×${train.hidden} ${train.cell} (embed ${train.embed}, batch ${train.batch} × seq ${train.seq}); the vocabulary comes from the text it trains on\n`);
    process.stderr.write(`  run: torchrun --nproc_per_node N ${join(dir, 'train.py')} --data TEXT --time 2h   (see ${join(dir, 'README.md')})\n`);
  }
  return 0;
}
