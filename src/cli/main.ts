// Entry point of bin/rnn.js: the commands, and one error handler around them.
//
// Each command lives in its own module, imported only when it runs: `rnn sample` never
// runs the trainer's, the progress bar's or the ONNX writer's module code. The CLI is one
// CommonJS bundle that bin/rnn.js starts from V8's code cache (./code-cache.ts), so what
// a command compiles is mostly already compiled. `rnn --version` answers before commander
// is loaded.
import type { Command } from 'commander';
import { UsageError } from '../util/errors.js';
import { handleError } from './errors.js';
import { stdoutFailed, VERSION, watchStdout } from './process.js';

type Register = (program: Command) => void;

const COMMANDS: Record<string, () => Promise<Register>> = {
  train: async () => (await import('./train.js')).registerTrain,
  sample: async () => (await import('./sample.js')).registerSample,
  info: async () => (await import('./info.js')).registerInfo,
  eval: async () => (await import('./eval.js')).registerEval,
  score: async () => (await import('./score.js')).registerScore,
  export: async () => (await import('./export.js')).registerExport,
  translate: async () => (await import('./translate.js')).registerTranslate,
  classify: async () => (await import('./classify.js')).registerClassify,
};

/**
 * The program with the commands it needs: only `command` when it names one (its options
 * and help are all that parsing needs), every command otherwise (top-level help, an
 * unknown command and its suggestions).
 */
export async function buildProgram(command?: string): Promise<Command> {
  const { Command } = await import('commander');
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
  const names = command !== undefined && command in COMMANDS ? [command] : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((n) => COMMANDS[n]()))) register(program);
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
  rnn train pairs.tsv --task seq2seq --bidirectional   an encoder-decoder on source<TAB>target lines
  echo 2024-03-05 | rnn translate                   one output line per input line

Exit status: 0 ok, 1 failure, 2 usage error; training stopped by a signal saves first:
130 Ctrl-C (SIGINT), 143 SIGTERM, 129 SIGHUP.`);
  return program;
}

async function main(): Promise<void> {
  // a reader that goes away early (`rnn sample --help | head`) is not an error, any other
  // failed write is; commands that stream data notice either through stdoutClosed()
  watchStdout();
  try {
    const args = process.argv.slice(2);
    if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
      process.stdout.write(`${VERSION}\n`);
      return;
    }
    const [command, topic] = args;
    if (command === 'help' && topic !== undefined && !(topic in COMMANDS)) {
      throw new UsageError(`unknown command '${topic}' (see rnn --help)`);
    }
    const program = await buildProgram(command);
    await program.parseAsync(process.argv);
  } catch (e) {
    process.exitCode = handleError(e);
  }
  if (stdoutFailed()) process.exitCode = 1;
}

void main();
