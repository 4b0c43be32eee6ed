// `rnn sample`: load a checkpoint, warm it on the prime, stream characters to stdout.
import { promises as fsp } from 'node:fs';
import { Command, Option } from 'commander';
import { readCheckpoint, type Checkpoint, type TaskCheckpoint } from '../checkpoint/store.js';
import { requireTask } from '../tasks/registry.js';
import { Generation, type StopRules } from '../sample/generate.js';
import { lmBeamSearch } from '../sample/lm-beam.js';
import { NO_TAG, parseTagSpec } from '../tasks/cond.js';
import { Sampler } from '../sample/sampler.js';
import { decodeCorpus } from '../text/corpus.js';
import { nodeCrypto } from '../util/builtins.js';
import { CorpusError, RnnError, UsageError } from '../util/errors.js';
import { backendOption, checkpointOption, DataOut, findCheckpoint, loadModel, nameChars, readStdin, threadsOption, usingModel, type BackendFlags } from './common.js';
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
  beam?: number;
  nbest?: number;
  lengthPenalty: number;
  json?: boolean;
  tag?: string;
  listTags?: boolean;
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
    .addOption(new Option('--beam <n>', 'beam search: the most likely continuation among n hypotheses kept per step, instead of sampling').argParser(intOption('--beam', 1, 256)))
    .addOption(new Option('--nbest <k>', 'with --beam: print the k best continuations (k ≤ n), best first').argParser(intOption('--nbest', 1, 256)))
    .addOption(new Option('--length-penalty <alpha>', 'with --beam: rank by log p / ((5 + length) / 6)^alpha (0: by log p alone)').default(0.6).argParser(floatOption('--length-penalty', 0, 10)))
    .addOption(new Option('--json', 'one JSON object per sample on stdout ({"sample","seed","text"}; with --beam {"rank","text","logprob","score","chars","end"})'))
    .addOption(new Option('--tag <spec>', `conditioned models: generate in the style of a tag, a blend (a=0.7,b=0.3), or ${NO_TAG} (default)`))
    .addOption(new Option('--list-tags', 'conditioned models: print the tags the checkpoint knows with their share of the training text (tag<TAB>share<TAB>chars), and exit'))
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
  rnn sample --count 5 --lines 1 --separator ''   five one-line samples
  rnn sample --prime 'the ' --beam 8 -n 40        the most likely 40 characters after "the "
  rnn sample --beam 8 --nbest 3 --stop '.' --json the 3 most likely sentences, with log p
  rnn sample --tag haiku -n 300                   a conditioned model, in the style of one tag
  rnn sample --tag haiku=0.7,limerick=0.3         a blend of two tags

Beam search (--beam N) replaces sampling: it keeps the N most likely partial continuations
at every step and prints the best finished one (--nbest K: the K best, best first, each
with its natural-log probability on stderr, or in the JSON). A continuation ends at the
stop rules above; --length (≥ 1) is the longest it can get. Continuations of different
lengths (stop strings, --lines) are ranked by log p / ((5 + length) / 6)^α, α =
--length-penalty (GNMT's length normalisation; 0 favours short ones). --beam 1 is the
same as --temp 0.`)
    .action(async (flags: SampleFlags, cmd: Command) => {
      if (flags.listTags) {
        process.exitCode = await listTags(flags);
        return;
      }
      process.exitCode = flags.beam !== undefined || flags.nbest !== undefined ? await runBeam(flags, cmd) : await runSample(flags);
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
      bytes = await fsp.readFile(flags.primeFile);
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

/** The tag weighting of --tag for a conditioned checkpoint (default: untagged); null for a plain language model. */
function tagWeights(ckpt: TaskCheckpoint<'lm'> | TaskCheckpoint<'cond'>, spec: string | undefined): Float64Array | null {
  if (ckpt.task !== 'cond') {
    if (spec !== undefined) throw new UsageError(`${ckpt.file} is a language model without tags; --tag needs a conditioned model (rnn train DATA --condition)`);
    return null;
  }
  return parseTagSpec(spec ?? NO_TAG, ckpt.meta.tags).weights;
}

/** --list-tags: tag<TAB>share<TAB>chars lines (TSV), or one JSON object per tag with --json. */
async function listTags(flags: SampleFlags): Promise<number> {
  const ckpt = requireTask(await readCheckpoint(await findCheckpoint(flags.checkpoint), { weightsOnly: true }), 'cond');
  const { tags, tagChars } = ckpt.meta;
  const total = tagChars.reduce((s, x) => s + x, 0) || 1;
  const out = new DataOut();
  for (let i = 0; i < tags.length && !out.isClosed; i++) {
    const share = tagChars[i] / total;
    await out.write(flags.json ? `${JSON.stringify({ tag: tags[i], share, chars: tagChars[i] })}\n` : `${tags[i]}\t${share.toFixed(4)}\t${tagChars[i]}\n`);
  }
  await out.end();
  return 0;
}

/** The prime as ids, with the warning (or, with --strict, the error) for unknown characters. */
function encodePrime(ckpt: { vocab: Checkpoint['vocab'] }, prime: string, strict: boolean): Int32Array {
  const { ids, unknown } = ckpt.vocab.encodeLenient(prime);
  if (unknown.size > 0) {
    if (strict) {
      throw new RnnError(`the prime holds characters the model does not know: ${nameChars(unknown.keys())}; remove them, or drop --strict to skip them`);
    }
    process.stderr.write(`rnn: warning: skipped prime characters not in the vocabulary: ${nameChars(unknown.keys())}\n`);
  }
  return Int32Array.from(ids);
}

function readStops(flags: SampleFlags): string[] {
  const stops = (flags.stop ?? []).map(unescapeFlag);
  if (stops.some((s) => s.length === 0)) throw new UsageError('--stop needs a non-empty string');
  return stops;
}

async function runSample(flags: SampleFlags): Promise<number> {
  const stops = readStops(flags);
  const separator = unescapeFlag(flags.separator);
  if (flags.json && (flags.forever || flags.length === 0) && flags.lines === 0) {
    throw new UsageError('--json writes each sample when it ends: give --length n ≥ 1 or --lines n (a stop string alone may never come)');
  }
  const prime = await readPrime(flags);
  const { ckpt, model } = await loadModel(flags.checkpoint, flags, 'lm', 'cond');
  const tagMix = tagWeights(ckpt, flags.tag);
  const primeIds = encodePrime(ckpt, prime, flags.strict ?? false);

  const seed = flags.seed ?? nodeCrypto().randomInt(2 ** 32 - 1);
  const sampler = new Sampler(model, ckpt.vocab, { temp: flags.temp, topK: flags.topK, topP: flags.topP, seed });
  if (tagMix) sampler.setTagMix(tagMix);
  const rules: StopRules = { length: flags.forever ? 0 : flags.length, lines: flags.lines, stops, keepStop: flags.keepStop ?? false };
  const out = new DataOut();
  await usingModel(ckpt.file, () => generate(flags, sampler, seed, primeIds, prime, rules, separator, out));
  await out.end();
  return 0;
}

async function generate(flags: SampleFlags, sampler: Sampler, seed: number, primeIds: Int32Array, prime: string, rules: StopRules, separator: string, out: DataOut): Promise<void> {
  for (let s = 0; s < flags.count && !out.isClosed; s++) {
    if (s > 0 && !flags.json) await out.write(separator);
    sampler.reset();
    let first = '';
    if (primeIds.length > 0) sampler.feed(primeIds);
    else first = sampler.start();
    const echo = flags.echo && prime.length > 0 ? prime : '';
    const gen = new Generation(sampler, rules, first);
    if (flags.json) {
      // one object per sample, written when it is complete
      let text = '';
      while (!gen.done && !out.isClosed) text += gen.take(CHUNK);
      await out.write(`${JSON.stringify({ sample: s + 1, seed, text: echo + text })}\n`);
      continue;
    }
    if (echo) await out.write(echo);
    while (!gen.done && !out.isClosed) {
      // a chunk of characters synchronously, then one write; the turn of the event loop
      // lets a closed pipe (EPIPE) be noticed even when every write succeeds at once
      const text = gen.take(CHUNK);
      if (text.length > 0) await out.write(text);
      await nextTurn();
    }
  }
}

/** Options that choose how sampling draws; beam search has no use for them. */
const SAMPLING_ONLY = [['temp', '--temp'], ['topK', '--top-k'], ['topP', '--top-p'], ['seed', '--seed'], ['count', '--count'], ['forever', '--forever']] as const;

async function runBeam(flags: SampleFlags, cmd: Command): Promise<number> {
  if (flags.beam === undefined) throw new UsageError('--nbest needs --beam N (the number of hypotheses kept per step, N ≥ K)');
  const width = flags.beam;
  const nbest = flags.nbest ?? 1;
  if (nbest > width) throw new UsageError(`--nbest ${nbest} needs a beam at least as wide (--beam ${nbest} or more)`);
  for (const [key, flag] of SAMPLING_ONLY) {
    const source = cmd.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') {
      throw new UsageError(`${flag} chooses how sampling draws; beam search does not draw (drop ${flag}, or drop --beam to sample)`);
    }
  }
  if (flags.length === 0) throw new UsageError('beam search needs a longest continuation: give --length n ≥ 1');
  const stops = readStops(flags);
  const separator = unescapeFlag(flags.separator);
  const prime = await readPrime(flags);
  const { ckpt, model } = await loadModel(flags.checkpoint, flags, 'lm', 'cond');
  const tagMix = tagWeights(ckpt, flags.tag);
  const primeIds = encodePrime(ckpt, prime, flags.strict ?? false);
  if (primeIds.length === 0 && ckpt.vocab.id('\n') < 0) {
    throw new UsageError('this model has never seen a newline to start from; give a prime (--prime TEXT)');
  }
  const results = await usingModel(ckpt.file, async () => lmBeamSearch(model, ckpt.vocab, primeIds, {
    width, nbest, alpha: flags.lengthPenalty, length: flags.length, lines: flags.lines, stops, keepStop: flags.keepStop ?? false,
  }, tagMix));
  const echo = flags.echo && prime.length > 0 ? prime : '';
  const out = new DataOut();
  for (let i = 0; i < results.length && !out.isClosed; i++) {
    const r = results[i];
    if (flags.json) {
      await out.write(`${JSON.stringify({ rank: i + 1, text: echo + r.text, logprob: r.logProb, score: r.score, chars: r.chars, end: r.reason })}\n`);
    } else {
      if (i > 0) await out.write(separator);
      process.stderr.write(`rnn: beam ${i + 1}/${results.length}: log p ${r.logProb.toFixed(3)} (score ${r.score.toFixed(3)}), ${r.chars} characters, ended by ${r.reason}\n`);
      await out.write(echo + r.text);
    }
  }
  await out.end();
  return 0;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
