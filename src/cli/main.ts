// Entry point of bin/rnn.js: the commands, and one error handler around them.
import { Command } from 'commander';
import { handleError } from './errors.js';
import { registerInfo } from './info.js';
import { registerEval } from './eval.js';
import { registerExport } from './export.js';
import { registerSample } from './sample.js';
import { registerScore } from './score.js';
import { registerTrain } from './train.js';

declare const __RNN_VERSION__: string;
const VERSION = typeof __RNN_VERSION__ === 'string' ? __RNN_VERSION__ : '0.0.0-dev';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('rnn')
    .description('Character-level RNN, GRU and LSTM language models: train on any text, sample into a pipe.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      writeOut: (s) => process.stdout.write(s),
      // commander's own usage errors, as one line in our voice
      outputError: (s, write) => write(`rnn: ${s.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')} (see rnn --help)\n`),
    });
  registerTrain(program);
  registerSample(program);
  registerInfo(program);
  registerEval(program);
  registerScore(program);
  registerExport(program);
  program.addHelpText('after', `
Examples:
  rnn train corpora/log.txt --steps 2000           train an LSTM, checkpoints go to checkpoints/
  rnn sample --temp 0.8 -n 500                      sample from the newest checkpoint
  rnn info checkpoints/run-best.safetensors         what a checkpoint holds, with a loss chart
  rnn sample --forever | head -c 10000              sample until the reader has enough
  rnn eval held-out.txt                             nats/char, bpc and perplexity on a text
  cat app.log | rnn score | sort -rn | head         the most surprising lines
  cat *.md | rnn train - --cell gru --time 10m      train on stdin for ten minutes
  rnn export --onnx model.onnx                      the newest best checkpoint as an ONNX model

Exit status: 0 ok, 1 failure, 2 usage error, 130 interrupted.`);
  return program;
}

async function main(): Promise<void> {
  // a reader that goes away early (`rnn sample --help | head`) is not an error; commands
  // that stream data notice it through DataOut and stop
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    process.exitCode = handleError(e);
  }
}

void main();
