// `rnn sample`: load a checkpoint, warm it on the prime, stream characters to stdout.
import { randomInt } from 'node:crypto';
import { Command, Option } from 'commander';
import { newestFile } from '../checkpoint/atomic.js';
import { modelFromCheckpoint, readCheckpoint } from '../checkpoint/store.js';
import { createKernels, type BackendName } from '../kernels/index.js';
import { Sampler } from '../sample/sampler.js';
import { RnnError, UsageError } from '../util/errors.js';
import { floatOption, intOption, choiceOption } from './options.js';
import { DataOut } from './output.js';

interface SampleFlags {
  checkpoint?: string;
  length: number;
  temp: number;
  topK: number;
  topP: number;
  prime?: string;
  seed?: number;
  backend: BackendName;
}

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('generate text from a checkpoint to stdout')
    .addOption(new Option('-c, --checkpoint <path>', 'checkpoint to sample from (default: the newest best one in checkpoints/)'))
    .addOption(new Option('-n, --length <n>', 'characters to generate').default(1000).argParser(intOption('--length', 0)))
    .addOption(new Option('-t, --temp <x>', 'temperature; 0 always picks the most likely character').default(0.8).argParser(floatOption('--temp', 0, 100)))
    .addOption(new Option('--top-k <k>', 'sample only among the k most likely characters (0: all)').default(0).argParser(intOption('--top-k', 0)))
    .addOption(new Option('--top-p <p>', 'sample only among the most likely characters that make up probability p').default(1).argParser(floatOption('--top-p', 0, 1, { minExclusive: true })))
    .addOption(new Option('-p, --prime <text>', 'text to start from (echoed first)'))
    .addOption(new Option('--seed <n>', 'random seed (same seed, same text; default: random)').argParser(intOption('--seed', 0, 2 ** 32 - 1)))
    .addOption(new Option('--backend <name>', 'compute backend: wasm or reference').default('wasm').argParser(choiceOption('--backend', ['wasm', 'reference'] as const)))
    .action(async (flags: SampleFlags) => {
      process.exitCode = await runSample(flags);
    });
}

/** The checkpoint to use: --checkpoint, else the newest best (then any) checkpoint in checkpoints/. */
export async function findCheckpoint(given: string | undefined, dir = 'checkpoints'): Promise<string> {
  if (given) return given;
  const found = (await newestFile(dir, '-best.safetensors')) ?? (await newestFile(dir, '.safetensors'));
  if (!found) throw new RnnError(`no checkpoint found in ${dir}/; train one first (rnn train FILE) or pass --checkpoint PATH`);
  return found;
}

async function runSample(flags: SampleFlags): Promise<number> {
  const file = await findCheckpoint(flags.checkpoint);
  const ckpt = await readCheckpoint(file);
  const kernels = createKernels({ backend: flags.backend, threads: 1 });
  const model = modelFromCheckpoint(kernels, ckpt);
  const seed = flags.seed ?? randomInt(2 ** 32 - 1);
  const sampler = new Sampler(model, ckpt.vocab, { temp: flags.temp, topK: flags.topK, topP: flags.topP, seed });
  const out = new DataOut();

  if (flags.prime !== undefined && flags.prime.length > 0) {
    const { ids, unknown } = ckpt.vocab.encodeLenient(flags.prime);
    if (unknown.size > 0) {
      process.stderr.write(`rnn: warning: skipped prime characters not in the vocabulary: ${[...unknown.keys()].map((ch) => JSON.stringify(ch)).join(' ')}\n`);
    }
    if (ids.length === 0) throw new UsageError('--prime has no character the model knows; use text like the training corpus');
    sampler.feed(ids);
    await out.write(flags.prime);
  }
  let written = 0;
  if (flags.prime === undefined || flags.prime.length === 0) {
    // without a newline in the vocabulary, start() picks a first character, which counts
    const first = sampler.start();
    if (first && flags.length > 0) {
      await out.write(first);
      written++;
    }
  }
  for (let i = written; i < flags.length && !out.isClosed; i++) {
    await out.write(sampler.next());
  }
  await out.end();
  return 0;
}
