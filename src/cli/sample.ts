// `rnn sample`: load a checkpoint, warm it on the prime, stream characters to stdout.
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { Generation, type StopRules } from '../sample/generate.js';
import { Sampler } from '../sample/sampler.js';
import { decodeCorpus } from '../text/corpus.js';
import { CorpusError, RnnError, UsageError } from '../util/errors.js';
import { backendOption, checkpointOption, DataOut, loadModel, nameChars, readStdin, threadsOption, type BackendFlags } from './common.js';
import { floatOption, intOption } from './options.js';

interface SampleFlags extends BackendFlags {
  checkpoint?: string;
  length: number;
  forever?: boolean;
  temp: number;
  topK: number;
  topP: number;
  prime?: string;
  primeFile?: string;
  echo: boolean;
  strict?: boolean;
  stop?: string[];
  keepStop?: boolean;
  lines: number;
  count: number;
  separator: string;
  seed?: number;
}

/** Characters generated per synchronous chunk (a chunk also ends after a newline). */
const CHUNK = 256;

export const DEFAULT_SEPARATOR = '\\n\\n';

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('generate text from a checkpoint, streamed to stdout')
    .addOption(checkpointOption('sample from'))
    .addOption(new Option('-n, --length <n>', 'characters to generate per sample, not counting the prime (0: until the reader closes the pipe)').default(1000).argParser(intOption('--length', 0)))
    .addOption(new Option('--forever', 'generate until the reader closes the pipe (same as --length 0)'))
    .addOption(new Option('-p, --prime <text>', 'text to start from; - reads it from stdin'))
    .addOption(new Option('--prime-file <file>', 'read the text to start from from a file (- for stdin)'))
    .addOption(new Option('--no-echo', 'do not print the prime before the generated text'))
    .addOption(new Option('--strict', 'reject a prime with characters not in the vocabulary (default: skip them with a warning)'))
    .addOption(new Option('--stop <string>', 'end the sample at this string (repeatable; \\n, \\t, \\\\ escapes); it is not printed').argParser(collect))
    .addOption(new Option('--keep-stop', 'print the stop string that ended the sample'))
    .addOption(new Option('--lines <n>', 'end the sample after n generated lines (0: no limit)').default(0).argParser(intOption('--lines', 0)))
    .addOption(new Option('-t, --temp <x>', 'temperature; 0 always picks the most likely character').default(0.8).argParser(floatOption('--temp', 0, 100)))
    .addOption(new Option('--top-k <k>', 'sample only among the k most likely characters (0: all)').default(0).argParser(intOption('--top-k', 0)))
    .addOption(new Option('--top-p <p>', 'sample only among the most likely characters that make up probability p (1: all)').default(1).argParser(floatOption('--top-p', 0, 1, { minExclusive: true })))
    .addOption(new Option('--seed <n>', 'random seed: same seed and options, same text (default: random)').argParser(intOption('--seed', 0, 2 ** 32 - 1)))
    .addOption(new Option('--count <n>', 'independent samples, each from the prime').default(1).argParser(intOption('--count', 1)))
    .addOption(new Option('--separator <s>', 'written between samples (\\n, \\t, \\0, \\\\ escapes)').default(DEFAULT_SEPARATOR))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addHelpText('after', `
Stop rules end each sample at whichever comes first: --length characters, --lines
newlines, or a --stop string. They count and match generated text only, never the prime.
Without a prime the model starts as after a line break (nothing is printed for it).
Characters of the prime that the model does not know are skipped with one warning (with
--strict: exit 1). --count samples are independent (each restarts from the prime) and
separated by --separator (default "\\n\\n"; use '\\0' for NUL-separated output).

Examples:
  rnn sample -n 500 --temp 0.7                   500 characters from the newest checkpoint
  rnn sample --forever | head -c 10000           until head has enough
  rnn sample --prime 'ROMEO:' --stop '\\n\\n'       one speech
  echo 'Dear' | rnn sample --prime - --lines 3    a prime from stdin (its newline included)
  rnn sample --count 5 --lines 1 --separator ''   five one-line samples`)
    .action(async (flags: SampleFlags) => {
      process.exitCode = await runSample(flags);
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Interprets \n \t \r \0 and \\ in a flag value; any other backslash stays as it is. */
export function unescapeFlag(text: string): string {
  return text.replace(/\\([ntr0\\])/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\' })[c]!);
}

async function readPrime(flags: SampleFlags): Promise<string> {
  if (flags.prime !== undefined && flags.primeFile !== undefined) {
    throw new UsageError('give the prime with --prime or with --prime-file, not both');
  }
  let bytes: Uint8Array;
  let name: string;
  if (flags.prime === '-' || flags.primeFile === '-') {
    bytes = await readStdin('the prime');
    name = 'stdin';
  } else if (flags.primeFile !== undefined) {
    name = flags.primeFile;
    try {
      bytes = await readFile(flags.primeFile);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : code === 'EACCES' ? 'permission denied' : `cannot be read (${code})`;
      throw new CorpusError(`${name}: ${why}; give a text file to --prime-file`);
    }
  } else {
    return flags.prime ?? '';
  }
  return bytes.length === 0 ? '' : decodeCorpus(bytes, name);
}

async function runSample(flags: SampleFlags): Promise<number> {
  const stops = (flags.stop ?? []).map(unescapeFlag);
  if (stops.some((s) => s.length === 0)) throw new UsageError('--stop needs a non-empty string');
  const separator = unescapeFlag(flags.separator);
  const prime = await readPrime(flags);
  const { ckpt, model } = await loadModel(flags.checkpoint, flags);

  const { ids: primeIds, unknown } = ckpt.vocab.encodeLenient(prime);
  if (unknown.size > 0) {
    if (flags.strict) {
      throw new RnnError(`the prime holds characters the model does not know: ${nameChars(unknown.keys())}; remove them, or drop --strict to skip them`);
    }
    process.stderr.write(`rnn: warning: skipped prime characters not in the vocabulary: ${nameChars(unknown.keys())}\n`);
  }

  const seed = flags.seed ?? randomInt(2 ** 32 - 1);
  const sampler = new Sampler(model, ckpt.vocab, { temp: flags.temp, topK: flags.topK, topP: flags.topP, seed });
  const rules: StopRules = { length: flags.forever ? 0 : flags.length, lines: flags.lines, stops, keepStop: flags.keepStop ?? false };
  const out = new DataOut();

  for (let s = 0; s < flags.count && !out.isClosed; s++) {
    if (s > 0) await out.write(separator);
    sampler.reset();
    let first = '';
    if (primeIds.length > 0) sampler.feed(primeIds);
    else first = sampler.start();
    if (flags.echo && prime.length > 0) await out.write(prime);
    const gen = new Generation(sampler, rules, first);
    while (!gen.done && !out.isClosed) {
      // a chunk of characters synchronously, then one write; the turn of the event loop
      // lets a closed pipe (EPIPE) be noticed even when every write succeeds at once
      const text = gen.take(CHUNK);
      if (text.length > 0) await out.write(text);
      await nextTurn();
    }
  }
  await out.end();
  return 0;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
