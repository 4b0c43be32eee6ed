// A tiny trained checkpoint for the sampling/scoring CLI tests: one `rnn train` run of a
// few dozen steps on a small repetitive corpus, in a temp folder the caller removes.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';

export const CORPUS = 'the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n'.repeat(40);

export interface TinyModel {
  dir: string;
  /** Absolute path of the best checkpoint. */
  checkpoint: string;
  cleanup: () => void;
}

export async function trainTinyModel(): Promise<TinyModel> {
  const tmp = tempDir('rnn-sample-test-');
  writeFileSync(join(tmp.dir, 'corpus.txt'), CORPUS);
  const r = await runCli(
    ['train', 'corpus.txt', '--layers', '1', '--hidden', '32', '--embed', '16', '--batch', '8', '--seq', '16',
      '--steps', '60', '--eval-every', '30', '--quiet'],
    { cwd: tmp.dir },
  );
  if (r.code !== 0) throw new Error(`training the test model failed (${r.code}): ${r.stderr}`);
  const best = readdirSync(join(tmp.dir, 'checkpoints')).find((f) => f.endsWith('-best.safetensors'));
  if (!best) throw new Error('training the test model wrote no best checkpoint');
  return { dir: tmp.dir, checkpoint: join(tmp.dir, 'checkpoints', best), cleanup: tmp.cleanup };
}
