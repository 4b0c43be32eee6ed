// `rnn classify [files…|-]`: label each line (or, with --whole-file, each file) with a
// classifier checkpoint, streamed to stdout as label<TAB>probability<TAB>text (or JSON
// lines). Also `rnn eval` on labelled data for a classifier (evalClassifier): accuracy,
// macro-F1, per-class precision/recall and the confusion matrix.
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { readCheckpoint, type TaskCheckpoint } from '../checkpoint/store.js';
import { createKernels } from '../kernels/index.js';
import { ClassifierModel } from '../nn/classifier.js';
import { classificationReport } from '../tasks/classify-metrics.js';
import { argmaxRow, encodeExamples, Predictor } from '../tasks/classify.js';
import { requireTask } from '../tasks/registry.js';
import { decodeCorpus, readTextFile } from '../text/corpus.js';
import { readLabelled } from '../text/labelled.js';
import { RnnError, UsageError } from '../util/errors.js';
import {
  backendOption, checkpointOption, DataOut, findCheckpoint, jsonOption, nameChars, plural, readStdin, threadsOption, usingModel, type BackendFlags,
} from './common.js';
import { intOption } from './options.js';

interface ClassifyFlags extends BackendFlags {
  checkpoint?: string;
  wholeFile?: boolean;
  top: number;
  json: boolean;
}

/** Lines classified per batch (a batch also ends when the input pauses). */
const BATCH = 64;

export function registerClassify(program: Command): void {
  program
    .command('classify')
    .description('label text with a classifier: one example per line (or per file), label<TAB>probability<TAB>text to stdout')
    .argument('[files...]', 'text files, or - for stdin (default: stdin)')
    .addOption(checkpointOption('classify with'))
    .addOption(new Option('--whole-file', 'each file is one example (default: each line is one)'))
    .addOption(new Option('--top <k>', 'the k most likely classes for each example').default(1).argParser(intOption('--top', 1, 1000)))
    .addOption(jsonOption('one JSON object per example: {"text", "label", "probability", "top": [{"label", "probability"}…]}'))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addHelpText('after', `
Output: label<TAB>probability<TAB>text per example, in input order; with --top K the K most
likely label<TAB>probability pairs, then the text. With --whole-file the last column is the
file name. Empty lines are skipped. Characters the model never saw are left out, with one
warning on stderr naming them (as rnn sample does); examples longer than the model's
--max-len are cut to it, as in training.

Examples:
  echo "Dostoevsky" | rnn classify                    Russian<TAB>0.93<TAB>Dostoevsky
  rnn classify names.txt --top 3 --json               one JSON object per line, streamed
  rnn classify --whole-file mail/*.eml -c spam-best.safetensors`)
    .action(async (files: string[], flags: ClassifyFlags) => {
      process.exitCode = await runClassify(files, flags);
    });
}

/** Reads a classifier checkpoint (weights only) and builds its network; other tasks are refused. */
export async function loadClassifier(given: string | undefined, flags: BackendFlags): Promise<{ ckpt: TaskCheckpoint<'classify'>; model: ClassifierModel }> {
  const ckpt = requireTask(await readCheckpoint(await findCheckpoint(given), { weightsOnly: true }), 'classify');
  return { ckpt, model: classifierOf(ckpt, flags) };
}

export function classifierOf(ckpt: TaskCheckpoint<'classify'>, flags: BackendFlags): ClassifierModel {
  const model = new ClassifierModel(createKernels({ backend: flags.backend, threads: flags.threads }), ckpt.model);
  for (const [name, data] of ckpt.params) model.layout.view(model.params, name).set(data);
  return model;
}

interface Item {
  text: string;
  /** What the output shows in the text column / JSON (the line, or the file name). */
  shown: string;
}

async function runClassify(files: string[], flags: ClassifyFlags): Promise<number> {
  const { ckpt, model } = await loadClassifier(flags.checkpoint, flags);
  const { classes, vocab, maxLen } = ckpt.meta;
  const K = classes.length;
  const top = Math.min(flags.top, K);
  const predictor = new Predictor(model, BATCH);
  const out = new DataOut();
  const unknown = new Map<string, number>();
  let cut = 0;
  let nothingKnown = 0;
  let checkedLabels = false;

  const classifyBatch = async (items: Item[]): Promise<void> => {
    if (!checkedLabels && items.length > 0) {
      checkedLabels = true;
      refuseLabelled(items[0]!.text, classes);
    }
    const enc = encodeExamples(vocab, items.map((i) => i.text), maxLen);
    for (const [ch, c] of enc.unknown) unknown.set(ch, (unknown.get(ch) ?? 0) + c);
    cut += enc.truncated;
    const keep = items.map((_, i) => i).filter((i) => enc.ids[i]!.length > 0);
    nothingKnown += items.length - keep.length;
    const { probs } = await usingModel(ckpt.file, async () => predictor.run(keep.map((i) => enc.ids[i]!)));
    let text = '';
    keep.forEach((i, row) => {
      const ranked = Array.from({ length: K }, (_, k) => k).sort((a, b) => probs[row * K + b]! - probs[row * K + a]! || a - b).slice(0, top);
      const shown = items[i]!.shown;
      if (flags.json) {
        const list = ranked.map((k) => ({ label: classes[k]!, probability: probs[row * K + k]! }));
        text += `${JSON.stringify({ [flags.wholeFile ? 'file' : 'text']: shown, label: list[0]!.label, probability: list[0]!.probability, top: list })}\n`;
      } else {
        text += `${ranked.map((k) => `${classes[k]}\t${probs[row * K + k]!.toFixed(4)}`).join('\t')}\t${shown}\n`;
      }
    });
    if (text) await out.write(text);
  };

  if (flags.wholeFile) {
    if (files.length === 0 || files.includes('-')) {
      const text = decodeCorpus(await readStdin('the example'), 'stdin');
      await classifyBatch([{ text: text.replace(/\r\n/g, '\n').replace(/\n$/, ''), shown: 'stdin' }]);
    }
    let batch: Item[] = [];
    for (const f of files.filter((x) => x !== '-')) {
      const text = (await readTextFile(f, 'give its files, e.g. dir/*')).replace(/\r\n/g, '\n').replace(/\n$/, '');
      if (text.trim() === '') continue;
      batch.push({ text, shown: f });
      if (batch.length >= BATCH) {
        await classifyBatch(batch);
        batch = [];
      }
    }
    await classifyBatch(batch);
  } else {
    const inputs = files.length === 0 ? ['-'] : files;
    for (const f of inputs) {
      if (out.isClosed) break;
      if (f === '-') await streamLines(classifyBatch, () => out.isClosed);
      else {
        const lines = (await readTextFile(f, 'give its files, e.g. dir/*')).split(/\r?\n/).filter((l) => l.trim() !== '');
        for (let at = 0; at < lines.length && !out.isClosed; at += BATCH) {
          await classifyBatch(lines.slice(at, at + BATCH).map((l) => ({ text: l, shown: l })));
        }
      }
    }
  }
  await out.end();
  const unknownCount = [...unknown.values()].reduce((a, b) => a + b, 0);
  if (unknownCount > 0) process.stderr.write(`rnn: warning: skipped ${plural(unknownCount, 'character')} not in the vocabulary: ${nameChars(unknown.keys())}\n`);
  if (nothingKnown > 0) process.stderr.write(`rnn: warning: ${plural(nothingKnown, 'example')} had no character the model knows and ${nothingKnown === 1 ? 'was' : 'were'} not classified\n`);
  if (cut > 0) process.stderr.write(`rnn: note: ${plural(cut, 'example')} longer than the model's --max-len ${maxLen} cut to it\n`);
  return 0;
}

/** A first line that looks like label<TAB>text with a label the model knows: the user meant rnn eval. */
function refuseLabelled(first: string, classes: readonly string[]): void {
  const tab = first.indexOf('\t');
  if (tab > 0 && classes.includes(first.slice(0, tab).trim())) {
    throw new UsageError(`the input looks like labelled data (label<TAB>text, ${JSON.stringify(first.slice(0, tab))} is a class of the model); rnn classify takes text only: drop the labels (cut -f2-), or score labelled data with rnn eval`);
  }
}

/** Reads stdin line by line and classifies the lines that have arrived whenever the input pauses. */
async function streamLines(classify: (items: Item[]) => Promise<void>, stop: () => boolean): Promise<void> {
  if (process.stdin.isTTY) process.stderr.write('rnn: reading lines from the terminal; Ctrl-D ends\n');
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let pending: Item[] = [];
  let first = true;
  let busy: Promise<void> = Promise.resolve();
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const items = pending;
    pending = [];
    if (items.length === 0) return;
    rl.pause();
    busy = busy.then(() => classify(items)).then(() => {
      if (stop()) rl.close();
      else rl.resume();
    });
  };
  rl.on('line', (line) => {
    if (first) {
      first = false;
      line = line.replace(/^\uFEFF/, '');
    }
    if (line.trim() === '') return;
    pending.push({ text: line, shown: line });
    if (pending.length >= BATCH) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
  await new Promise<void>((resolve) => rl.on('close', () => resolve()));
  flush();
  await busy;
}

// ---- rnn eval for a classifier ----------------------------------------------------------

interface EvalFlags extends BackendFlags {
  json: boolean;
}

/** `rnn eval` of a classifier on labelled data in any of the training layouts. */
export async function evalClassifier(file: string, ckpt: TaskCheckpoint<'classify'>, flags: EvalFlags): Promise<number> {
  const set = await readLabelled(file, file === '-' ? await readStdin('the labelled examples') : undefined);
  const { classes, vocab, maxLen, counts } = ckpt.meta;
  const unknownLabels = set.labels.filter((l) => !classes.includes(l));
  if (unknownLabels.length > 0) {
    throw new RnnError(`${set.description}: label${unknownLabels.length === 1 ? '' : 's'} ${unknownLabels.slice(0, 5).map((l) => JSON.stringify(l)).join(', ')} ${unknownLabels.length === 1 ? 'is' : 'are'} not a class of the model (it knows ${classes.slice(0, 8).map((c) => JSON.stringify(c)).join(', ')}${classes.length > 8 ? ', …' : ''})`);
  }
  const model = classifierOf(ckpt, flags);
  const enc = encodeExamples(vocab, set.examples.map((e) => e.text), maxLen);
  const unknownCount = [...enc.unknown.values()].reduce((a, b) => a + b, 0);
  if (unknownCount > 0) process.stderr.write(`rnn: warning: ${plural(unknownCount, 'character')} not in the vocabulary left out: ${nameChars(enc.unknown.keys())}\n`);
  const keep = set.examples.map((_, i) => i).filter((i) => enc.ids[i]!.length > 0);
  if (keep.length < set.examples.length) process.stderr.write(`rnn: warning: ${plural(set.examples.length - keep.length, 'example')} with no character the model knows left out\n`);
  if (keep.length === 0) throw new RnnError(`${set.description}: no example has a character the model knows; is this the right checkpoint?`);
  const K = classes.length;
  const truth = keep.map((i) => classes.indexOf(set.examples[i]!.label));
  const { probs, lossSum } = new Predictor(model).run(keep.map((i) => enc.ids[i]!), truth);
  const predicted = truth.map((_, row) => argmaxRow(probs, row, K));
  const r = classificationReport(truth, predicted, K);
  const loss = lossSum / keep.length;
  const majorityClass = counts.reduce((best, c, k) => (c > counts[best]! ? k : best), 0);
  const majority = truth.filter((t) => t === majorityClass).length / truth.length;
  const out = new DataOut();
  if (flags.json) {
    await out.write(`${JSON.stringify({
      accuracy: r.accuracy, macroF1: r.macroF1, loss, examples: r.examples, majority, majorityClass: classes[majorityClass],
      classes: classes.map((label, k) => ({ label, ...r.perClass[k]! })),
      confusion: r.confusion, unknown: unknownCount, checkpoint: ckpt.file,
    })}\n`);
  } else if (process.stdout.isTTY) {
    await out.write(readableReport(r, classes, loss, majority, classes[majorityClass]!));
  } else {
    const f = (x: number) => x.toFixed(4);
    const lines = [
      `accuracy\t${f(r.accuracy)}`, `macro_f1\t${f(r.macroF1)}`, `loss\t${loss.toFixed(6)}`, `examples\t${r.examples}`, `majority\t${f(majority)}`,
      'class\tlabel\tprecision\trecall\tf1\tsupport',
      ...classes.map((c, k) => `class\t${c}\t${f(r.perClass[k]!.precision)}\t${f(r.perClass[k]!.recall)}\t${f(r.perClass[k]!.f1)}\t${r.perClass[k]!.support}`),
      `confusion\ttrue\\predicted\t${classes.join('\t')}`,
      ...classes.map((c, t) => `confusion\t${c}\t${r.confusion[t]!.join('\t')}`),
    ];
    await out.write(`${lines.join('\n')}\n`);
  }
  await out.end();
  return 0;
}

/** The report for a person at a terminal: aligned columns and the confusion matrix. */
function readableReport(r: ReturnType<typeof classificationReport>, classes: string[], loss: number, majority: number, majorityClass: string): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const width = (s: string) => [...s].length;
  const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - width(s)));
  const padL = (s: string, w: number) => ' '.repeat(Math.max(0, w - width(s))) + s;
  const shown = classes.map((c) => (width(c) > 24 ? `${[...c].slice(0, 23).join('')}…` : c));
  const lw = Math.max(5, ...shown.map(width));
  const lines = [
    `accuracy   ${pct(r.accuracy)}   (majority-class baseline ${pct(majority)}: always "${majorityClass}")`,
    `macro-F1   ${r.macroF1.toFixed(3)}`,
    `loss       ${loss.toFixed(4)} nats`,
    `examples   ${r.examples.toLocaleString('en-US')}`,
    '',
    `${pad('class', lw)}  precision  recall     F1  support`,
    ...shown.map((c, k) => {
      const p = r.perClass[k]!;
      return `${pad(c, lw)}  ${padL(p.precision.toFixed(3), 9)}  ${padL(p.recall.toFixed(3), 6)}  ${padL(p.f1.toFixed(3), 5)}  ${padL(String(p.support), 7)}`;
    }),
    '',
    'confusion matrix (rows: true class, columns: predicted)',
  ];
  if (classes.length <= 20) {
    const cw = Math.max(...shown.map(width), ...r.confusion.flat().map((x) => String(x).length)) + 1;
    lines.push(`${pad('', lw)} ${shown.map((c) => padL(c, cw)).join('')}`);
    shown.forEach((c, t) => lines.push(`${pad(c, lw)} ${r.confusion[t]!.map((x) => padL(String(x), cw)).join('')}`));
  } else {
    lines.push('(too many classes for a table: use --json or a pipe for the full matrix)');
  }
  return `${lines.join('\n')}\n`;
}
