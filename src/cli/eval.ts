// `rnn eval [file|-]`: the loss of a model on a text, in nats/char, bits/char and
// perplexity, as key<TAB>value lines (or one JSON object with --json).
import { Command, Option } from 'commander';
import { readCheckpoint, type TaskCheckpoint } from '../checkpoint/store.js';
import { evaluateText } from '../sample/score.js';
import { TASKS } from '../tasks/registry.js';
import { decodeCorpus, readCorpusPath } from '../text/corpus.js';
import { CheckpointError, RnnError, UsageError } from '../util/errors.js';
import { runCondEval } from './eval-cond.js';
import { backendOption, checkpointOption, DataOut, findCheckpoint, jsonOption, loadModel, nameChars, plural, readStdin, threadsOption, usingModel, type BackendFlags } from './common.js';
import { runPairEval } from './eval-pairs.js';
import { floatOption, intOption } from './options.js';

interface EvalFlags extends BackendFlags {
  checkpoint?: string;
  json: boolean;
  beam?: number;
  lengthPenalty?: number;
  maxLen?: number;
  condition?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('loss of a model on a text (nats/char, bpc, perplexity); a classifier on labelled data (accuracy, macro-F1, confusion matrix); a seq2seq model on pairs (exact match, CER)')
    .argument('[file]', 'text file, folder of text files, or - for stdin (a classifier: labelled data in any layout rnn train takes)', '-')
    .addOption(checkpointOption('evaluate'))
    .addOption(jsonOption('one JSON object instead of key<TAB>value lines'))
    .addOption(new Option('--beam <n>', 'seq2seq: decode with beam search of n hypotheses (default greedy)').argParser(intOption('--beam', 1, 256)))
    .addOption(new Option('--length-penalty <alpha>', 'seq2seq with --beam: GNMT length normalisation (default 0.6)').argParser(floatOption('--length-penalty', 0, 10)))
    .addOption(new Option('--max-len <n>', 'seq2seq: longest output (default: twice the longest training target, plus 10)').argParser(intOption('--max-len', 1, 100000)))
    .addOption(new Option('--condition', 'the data is labelled (tag<TAB>text lines, a folder per tag …) and the model conditioned: loss per tag, with the true tag and untagged (a conditioned checkpoint implies it)'))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addHelpText('after', `
The text is read as one stream from a zero state, with the state carried across windows
(batch 1), so each character is predicted from everything before it: the exact mean
per-character loss, computed with the same forward pass and loss as training. The first
character is context only. Characters the model does not know are left out and counted
(stdout "unknown", and a warning on stderr naming them).

Output (key<TAB>value): nats (per char), bpc, perplexity, chars (predicted), unknown.

With a seq2seq checkpoint (rnn train --task seq2seq) the file holds source<TAB>target
lines; the output is exact (share of outputs equal to their target), cer (character
error rate: edit distance over reference length, over all pairs), loss (teacher-forced
nats per target symbol), pairs, decoding and truncated.

With a classifier checkpoint, the file holds labelled examples (label<TAB>text lines, a
folder of files or a folder of folders, as for rnn train --task classify); the output is
accuracy, macro-F1, loss, the majority-class baseline, per-class precision/recall/F1 and
the confusion matrix: a table on a terminal, TSV rows (accuracy, macro_f1, loss, examples,
majority, then "class" and "confusion" rows) in a pipe, or one JSON object with --json.

A conditioned model (rnn train DATA --condition) reads labelled data the way training
does and prints, per tag, the characters scored, the loss with the true tag, untagged
(--tag none), and the gain (untagged − tagged; TSV with a header line, then "all"). Its
documents are scored as one stream in a fixed shuffled order, each position told the tag
of the character it predicts.

Examples:
  rnn eval held-out.txt
  rnn eval held-out.txt --json | jq .bpc
  rnn eval held-out/ --condition              a conditioned model: loss per tag, with and without it
  cat notes/*.md | rnn eval - -c checkpoints/notes-best.safetensors`)
    .action(async (file: string, flags: EvalFlags) => {
      process.exitCode = await runEval(file, flags);
    });
}

async function runEval(file: string, flags: EvalFlags): Promise<number> {
  const path = await findCheckpoint(flags.checkpoint);
  const any = await readCheckpoint(path, { weightsOnly: true });
  if (any.task === 'cond') {
    const { ckpt, model } = await loadModel(path, flags, 'cond');
    return runCondEval(file, ckpt as TaskCheckpoint<'cond'>, model, flags.json);
  }
  if (flags.condition) throw new UsageError(`${path} holds a ${TASKS[any.task].title}, not a conditioned language model; --condition needs one (rnn train DATA --condition)`);
  if (any.task !== 'seq2seq') {
    for (const [flag, v] of [['--beam', flags.beam], ['--length-penalty', flags.lengthPenalty], ['--max-len', flags.maxLen]] as const) {
      if (v !== undefined) throw new UsageError(`${flag} applies to seq2seq checkpoints; ${path} holds a ${TASKS[any.task].title}`);
    }
  }
  // a classifier reads labelled data in its own layouts (before anything reads stdin)
  if (any.task === 'classify') return usingModel(path, async () => (await import('./classify.js')).evalClassifier(file, any, flags));
  const text = file === '-' ? decodeCorpus(await readStdin('the text'), 'stdin') : (await readCorpusPath(file)).text;
  if (any.task === 'seq2seq') {
    return usingModel(path, () => runPairEval(text, file === '-' ? 'stdin' : file, any, { ...flags, lengthPenalty: flags.lengthPenalty ?? 0.6 }));
  }
  const { ckpt, model } = await loadModel(path, flags);
  const result = await usingModel(ckpt.file, async () => evaluateText(model, ckpt.vocab, text));
  const unknownCount = [...result.unknown.values()].reduce((a, b) => a + b, 0);
  const name = file === '-' ? 'stdin' : file;
  if (unknownCount > 0) {
    process.stderr.write(`rnn: warning: ${plural(unknownCount, 'character')} not in the vocabulary left out: ${nameChars(result.unknown.keys())}\n`);
  }
  if (result.chars === 0) {
    throw new RnnError(`${name}: fewer than 2 characters the model knows, so there is nothing to predict; give a longer text`);
  }
  const bpc = result.nats / Math.LN2;
  const perplexity = Math.exp(result.nats);
  if (!Number.isFinite(perplexity)) {
    // more than 709 nats/char: p < 1e-308 per character, which no trained model gives
    throw new CheckpointError(ckpt.file, `the model's loss is ${result.nats.toExponential(2)} nats/char, beyond any trained model: the file is damaged; use another checkpoint of the run`);
  }
  const out = new DataOut();
  if (flags.json) {
    await out.write(`${JSON.stringify({
      nats: result.nats, bpc, perplexity, chars: result.chars, unknown: unknownCount,
      unknownChars: Object.fromEntries(result.unknown), checkpoint: ckpt.file,
    })}\n`);
  } else {
    await out.write(`nats\t${result.nats.toFixed(6)}\nbpc\t${bpc.toFixed(6)}\nperplexity\t${perplexity.toFixed(4)}\nchars\t${result.chars}\nunknown\t${unknownCount}\n`);
  }
  await out.end();
  return 0;
}
