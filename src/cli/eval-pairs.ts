// `rnn eval pairs.tsv -c seq2seq.safetensors`: exact match, character error rate and
// teacher-forced loss of an encoder-decoder on source<TAB>target pairs.
import type { TaskCheckpoint } from '../checkpoint/store.js';
import { createKernels } from '../kernels/index.js';
import { defaultMaxLen, evaluatePairs, pairsForEval, seq2seqFromCheckpoint } from '../tasks/seq2seq.js';
import { DataOut, plural, type BackendFlags } from './common.js';

export interface PairEvalFlags extends BackendFlags {
  json: boolean;
  beam?: number;
  lengthPenalty: number;
  maxLen?: number;
}

export async function runPairEval(text: string, name: string, ckpt: TaskCheckpoint<'seq2seq'>, flags: PairEvalFlags): Promise<number> {
  const { pairs, unknownTarget } = pairsForEval(text, name, ckpt.meta);
  if (unknownTarget > 0) {
    process.stderr.write(`rnn: warning: ${plural(unknownTarget, 'target character')} the model cannot write (not in its target vocabulary); those pairs cannot match exactly\n`);
  }
  const model = seq2seqFromCheckpoint(createKernels({ backend: flags.backend, threads: flags.threads }), ckpt);
  const maxLen = flags.maxLen ?? defaultMaxLen(ckpt.meta.longestTarget);
  const r = evaluatePairs(model, pairs, ckpt.meta.tgtVocab, 32, maxLen, { beam: flags.beam, lengthPenalty: flags.lengthPenalty });
  if (r.truncated > 0) process.stderr.write(`rnn: note: ${plural(r.truncated, 'output')} cut at --max-len ${maxLen} before the model ended it\n`);
  const decoding = flags.beam ? `beam ${flags.beam}` : 'greedy';
  const out = new DataOut();
  if (flags.json) {
    await out.write(`${JSON.stringify({ exact: r.exact, cer: r.cer, loss: r.loss, pairs: r.count, decoding, truncated: r.truncated, checkpoint: ckpt.file })}\n`);
  } else {
    await out.write(`exact\t${r.exact.toFixed(6)}\ncer\t${r.cer.toFixed(6)}\nloss\t${r.loss.toFixed(6)}\npairs\t${r.count}\ndecoding\t${decoding}\ntruncated\t${r.truncated}\n`);
  }
  await out.end();
  return 0;
}
