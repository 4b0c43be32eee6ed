// `rnn translate [files…|-]`: one output line per input line from an encoder-decoder
// checkpoint, streamed: each line is translated and written as soon as it is read.
import { randomInt } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { readCheckpoint } from '../checkpoint/store.js';
import { createKernels } from '../kernels/index.js';
import { beamDecode, decodeBatch, type Decoded } from '../sample/translate.js';
import { requireTask } from '../tasks/registry.js';
import { decodeTarget, defaultMaxLen, encodeSource, seq2seqFromCheckpoint } from '../tasks/seq2seq.js';
import { RnnError, UsageError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { backendOption, checkpointOption, DataOut, findCheckpoint, jsonOption, nameChars, stdoutClosed, threadsOption, usingModel, type BackendFlags } from './common.js';
import { floatOption, intOption } from './options.js';

interface TranslateFlags extends BackendFlags {
  checkpoint?: string;
  beam?: number;
  nbest?: number;
  lengthPenalty: number;
  temp: number;
  seed?: number;
  maxLen?: number;
  json: boolean;
}

export function registerTranslate(program: Command): void {
  program
    .command('translate')
    .description('turn each input line into an output line with an encoder-decoder (rnn train --task seq2seq)')
    .argument('[files...]', 'text files, or - for stdin (default), one source per line')
    .addOption(checkpointOption('translate with'))
    .addOption(new Option('--beam <n>', 'beam search with n hypotheses per step instead of greedy decoding').argParser(intOption('--beam', 1, 256)))
    .addOption(new Option('--nbest <k>', 'with --beam: the k best outputs per line (k ≤ n), best first, with their log-probabilities').argParser(intOption('--nbest', 1, 256)))
    .addOption(new Option('--length-penalty <alpha>', 'with --beam: rank by log p / ((5 + length) / 6)^alpha (0: by log p alone)').default(0.6).argParser(floatOption('--length-penalty', 0, 10)))
    .addOption(new Option('--temp <t>', 'sample each output at this temperature instead of greedy decoding (0: greedy)').default(0).argParser(floatOption('--temp', 0, 100)))
    .addOption(new Option('--seed <n>', 'with --temp: random seed (default: random)').argParser(intOption('--seed', 0, 2 ** 32 - 1)))
    .addOption(new Option('--max-len <n>', 'longest output in characters (default: twice the longest training target, plus 10)').argParser(intOption('--max-len', 1, 100000)))
    .addOption(jsonOption('one JSON object per input line: {"line","source","outputs":[{"text","logprob","score","truncated"}]}'))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addHelpText('after', `
Each input line is one source (CRLF and a BOM are handled). Greedy decoding by default:
the most likely next character at every step, until the end symbol. --beam N keeps the N
most likely partial outputs at every step and prints the best finished one, ranked with
GNMT's length normalisation (--length-penalty); --nbest K prints the K best as
logprob<TAB>text lines (natural log), a blank line after each source's list. --temp T
draws each character instead. An output that reaches --max-len before its end symbol is
cut there, with a note on stderr. Characters the training sources never had are noted
on stderr and read as an unknown symbol. An empty line gives an empty line.

Examples:
  echo 2024-03-05 | rnn translate -c dates-best.safetensors
  rnn translate words.txt --beam 8 --nbest 3 --json
  rnn eval test.tsv -c dates-best.safetensors          exact match, CER and loss on pairs`)
    .action(async (files: string[], flags: TranslateFlags) => {
      process.exitCode = await runTranslate(files, flags);
    });
}

async function* inputLines(files: string[]): AsyncGenerator<string> {
  const sources = files.length === 0 ? ['-'] : files;
  if (sources.filter((f) => f === '-').length > 1) throw new UsageError('- (stdin) can be given once');
  for (const file of sources) {
    if (file === '-' && process.stdin.isTTY) throw new UsageError('reading sources from stdin, but stdin is a terminal; pipe lines in or give a file');
    const stream = file === '-' ? process.stdin : createReadStream(file);
    const opened = new Promise<void>((resolve, reject) => {
      if (file === '-') resolve();
      stream.once('open', () => resolve());
      stream.once('error', (e: NodeJS.ErrnoException) => reject(new RnnError(`cannot read ${file} (${e.code ?? e.message}); check the path`)));
    });
    await opened;
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    let first = true;
    for await (const raw of rl) {
      const line = first ? raw.replace(/^\uFEFF/, '') : raw;
      first = false;
      yield line;
      if (stdoutClosed()) break;
    }
    rl.close();
  }
}

async function runTranslate(files: string[], flags: TranslateFlags): Promise<number> {
  if (flags.nbest !== undefined && flags.beam === undefined) throw new UsageError('--nbest needs --beam N (the number of hypotheses kept per step, N ≥ K)');
  if (flags.nbest !== undefined && flags.nbest > flags.beam!) throw new UsageError(`--nbest ${flags.nbest} is more than --beam ${flags.beam}; use --nbest ≤ --beam`);
  if (flags.beam !== undefined && flags.temp > 0) throw new UsageError('--beam and --temp do not go together: beam search keeps the most likely outputs, --temp samples');
  const file = await findCheckpoint(flags.checkpoint);
  const ckpt = requireTask(await readCheckpoint(file, { weightsOnly: true }), 'seq2seq');
  const k = createKernels({ backend: flags.backend, threads: flags.threads });
  const model = seq2seqFromCheckpoint(k, ckpt);
  const ws = model.workspace(false);
  const maxLen = flags.maxLen ?? defaultMaxLen(ckpt.meta.longestTarget);
  const rng = flags.temp > 0 ? new Rng(flags.seed ?? randomInt(2 ** 32 - 1)) : undefined;
  const nbest = flags.nbest ?? 1;
  const out = new DataOut();
  const unknownSeen = new Set<string>();
  let cut = 0;
  let lineNo = 0;
  for await (const line of inputLines(files)) {
    lineNo++;
    if (line.length === 0) {
      await out.write(flags.json ? `${JSON.stringify({ line: lineNo, source: '', outputs: [] })}\n` : '\n');
      continue;
    }
    const { ids, unknown } = encodeSource(ckpt.vocab, line);
    const fresh = unknown.filter((ch) => !unknownSeen.has(ch));
    if (fresh.length > 0) {
      for (const ch of fresh) unknownSeen.add(ch);
      process.stderr.write(`rnn: note: line ${lineNo}: ${nameChars(new Set(fresh))} never seen in the training sources; read as an unknown symbol\n`);
    }
    const outputs: (Decoded & { score?: number })[] = await usingModel(file, async () => (flags.beam !== undefined
      ? beamDecode(ws, ids, { width: flags.beam, nbest, maxLen, lengthPenalty: flags.lengthPenalty })
      : decodeBatch(ws, [ids], maxLen, { temp: flags.temp, rng })));
    if (outputs.some((o) => o.truncated)) {
      cut++;
      if (cut <= 5) process.stderr.write(`rnn: note: line ${lineNo}: output cut at --max-len ${maxLen} before the model ended it${cut === 5 ? ' (further notes of this kind left out)' : ''}\n`);
    }
    const texts = outputs.map((o) => decodeTarget(ckpt.meta.tgtVocab, o.ids));
    if (flags.json) {
      await out.write(`${JSON.stringify({
        line: lineNo, source: line,
        outputs: outputs.map((o, i) => ({ text: texts[i], logprob: o.logProb, score: o.score ?? o.logProb, truncated: o.truncated })),
      })}\n`);
    } else if (flags.nbest !== undefined) {
      await out.write(`${outputs.map((o, i) => `${o.logProb.toFixed(4)}\t${texts[i]}`).join('\n')}\n\n`);
    } else {
      await out.write(`${texts[0]}\n`);
    }
    if (stdoutClosed()) break;
  }
  if (cut > 5) process.stderr.write(`rnn: note: ${cut} outputs in all were cut at --max-len ${maxLen}\n`);
  await out.end();
  return 0;
}
