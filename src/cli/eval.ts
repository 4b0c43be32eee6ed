// `rnn eval [file|-]`: the loss of a model on a text, in nats/char, bits/char and
// perplexity, as key<TAB>value lines (or one JSON object with --json).
import { Command } from 'commander';
import { evaluateText } from '../sample/score.js';
import { decodeCorpus, readCorpusPath } from '../text/corpus.js';
import { CheckpointError, RnnError } from '../util/errors.js';
import { backendOption, checkpointOption, DataOut, jsonOption, loadModel, nameChars, plural, readStdin, threadsOption, usingModel, type BackendFlags } from './common.js';

interface EvalFlags extends BackendFlags {
  checkpoint?: string;
  json: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('loss of a model on a text: nats/char, bits/char (bpc) and perplexity')
    .argument('[file]', 'text file, folder of text files, or - for stdin', '-')
    .addOption(checkpointOption('evaluate'))
    .addOption(jsonOption('one JSON object instead of key<TAB>value lines'))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addHelpText('after', `
The text is read as one stream from a zero state, with the state carried across windows
(batch 1), so each character is predicted from everything before it: the exact mean
per-character loss, computed with the same forward pass and loss as training. The first
character is context only. Characters the model does not know are left out and counted
(stdout "unknown", and a warning on stderr naming them).

Output (key<TAB>value): nats (per char), bpc, perplexity, chars (predicted), unknown.

Examples:
  rnn eval held-out.txt
  rnn eval held-out.txt --json | jq .bpc
  cat notes/*.md | rnn eval - -c checkpoints/notes-best.safetensors`)
    .action(async (file: string, flags: EvalFlags) => {
      process.exitCode = await runEval(file, flags);
    });
}

async function runEval(file: string, flags: EvalFlags): Promise<number> {
  const text = file === '-' ? decodeCorpus(await readStdin('the text'), 'stdin') : (await readCorpusPath(file)).text;
  const { ckpt, model } = await loadModel(flags.checkpoint, flags);
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
