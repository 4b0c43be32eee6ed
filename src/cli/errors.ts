// The one error handler: typed errors become one line on stderr and their exit code;
// anything unexpected is reported as an internal error (stack only with RNN_DEBUG=1).
import { RnnError, EXIT, TooLittleDataError } from '../util/errors.js';

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
    stderr.write(`rnn: ${inFlags(e)}\n`);
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

/** A library error's message in the words of the command line, where it names settings the flags set. */
function inFlags(e: RnnError): string {
  if (e instanceof TooLittleDataError) {
    return `${e.label} has ${e.length} character${e.length === 1 ? '' : 's'}, but --batch ${e.batch} × --seq ${e.seq} needs at least ${e.needed}; use a smaller --batch or --seq, or more text`;
  }
  return e.message;
}
