// The one error handler: typed errors become one line on stderr and their exit code;
// anything unexpected is reported as an internal error (stack only with RNN_DEBUG=1).
import { RnnError, EXIT } from '../util/errors.js';

interface CommanderLike {
  code: string;
  exitCode: number;
}

function isCommanderError(e: unknown): e is Error & CommanderLike {
  return e instanceof Error && typeof (e as Partial<CommanderLike>).code === 'string' && (e as Partial<CommanderLike>).code!.startsWith('commander.');
}

export function handleError(e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (isCommanderError(e)) {
    // commander has already printed its message (help, version, or the usage error)
    // help asked for is status 0; help shown because no command was given ('commander.help',
    // on stderr) is a usage error
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
    return EXIT.usage;
  }
  if (e instanceof RnnError) {
    stderr.write(`rnn: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  if ((err as NodeJS.ErrnoException)?.code === 'ENOSPC') {
    stderr.write('rnn: the disk is full; free some space and try again\n');
    return EXIT.failure;
  }
  stderr.write(`rnn: internal error: ${err?.message ?? String(e)} (this is a bug; rerun with RNN_DEBUG=1 for details)\n`);
  if (process.env.RNN_DEBUG) stderr.write(`${err?.stack ?? ''}\n`);
  return EXIT.failure;
}
