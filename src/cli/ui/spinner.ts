// A spinner (ora, loaded only on a live terminal) around slow preparation such as
// reading and encoding a large corpus. Off a terminal it shows nothing.
import type { TermInfo } from './term.js';

export async function withSpinner<T>(term: TermInfo, enabled: boolean, text: string, work: () => Promise<T>): Promise<T> {
  if (!enabled || !term.live) return work();
  const { default: ora } = await import('ora');
  // discardStdin: false — the corpus may come from stdin, and Ctrl-C must stay a signal
  const spinner = ora({ text, stream: process.stderr, discardStdin: false, color: term.color.level > 0 ? 'cyan' : false as never }).start();
  try {
    const result = await work();
    spinner.stop();
    return result;
  } catch (e) {
    spinner.stop();
    throw e;
  }
}
