// `rnn score [file|-]`: how surprising each line is to the model, streamed: one output
// line per input line, `<bpc>\t<line>` (or JSON lines), so
//   cat app.log | rnn score | sort -rn | head
// finds the most surprising lines. `--chars` gives per-character surprisal instead: TSV
// rows, or, when stdout is a terminal that shows colour, the text as a heat map.
import { createReadStream, promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ChalkInstance } from 'chalk';
import { Command } from 'commander';
import { LineScorer } from '../sample/score.js';
import { CorpusError, UsageError } from '../util/errors.js';
import { TextStreamDecoder } from '../text/corpus.js';
import { backendOption, checkpointOption, DataOut, jsonOption, loadModel, nameChars, noColorOption, plural, threadsOption, usingModel, type BackendFlags } from './common.js';
import { colorFor } from './ui/term.js';

interface ScoreFlags extends BackendFlags {
  checkpoint?: string;
  chars?: boolean;
  json: boolean;
  heatmap?: boolean;
  color: boolean;
}

export function registerScore(program: Command): void {
  program
    .command('score')
    .description('surprise of each line (bits/char), streamed: <bpc>\\t<line> per input line')
    .argument('[file]', 'text file, or - for stdin', '-')
    .addOption(checkpointOption('score with'))
    .option('--chars', 'per-character surprisal: TSV rows line, column, char, bits (a colour heat map when stdout is a terminal)')
    .addOption(jsonOption('JSON lines: {"line","bpc","chars","unknown","text"} (with --chars: {"line","col","char","bits"})'))
    .option('--heatmap', 'with --chars: draw the heat map even when stdout is not a terminal (for less -R)')
    .addOption(noColorOption('no colour (so --chars on a terminal prints TSV); NO_COLOR does the same'))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addHelpText('after', `
Each line is scored on its own: from a fresh state that has seen one line break, the model
predicts the line's characters and the line break that ends it, so a line's score does not
depend on the lines around it and sorting by score is meaningful. bpc is the mean surprisal
in bits per predicted character (4 decimals; "nan" if nothing could be predicted).
Characters the model does not know are skipped (not fed, not scored) and named once on
stderr at the end. Output is written as input arrives; line ends are "\\n" and a "\\r"
before it stays part of the line.

--chars TSV columns: line number, column (1-based, in characters), the character (\\t \\n
\\r \\\\ escaped), surprisal in bits (empty where not scored). The line break is the
row after the last character. The heat map runs from dim (expected) to bright red (as
surprising as a uniform guess over the vocabulary, or more).

Examples:
  cat app.log | rnn score | sort -rn | head       the ten most surprising lines
  rnn score notes.txt --json | jq 'select(.bpc > 4)'
  echo 'the cat sat' | rnn score --chars           heat map on a terminal, TSV in a pipe`)
    .action(async (file: string, flags: ScoreFlags) => {
      process.exitCode = await runScore(file, flags);
    });
}

/** The input as a byte stream: stdin or a file (checked first, for a clear error). */
async function openInput(file: string): Promise<Readable> {
  if (file === '-') {
    if (process.stdin.isTTY) throw new UsageError('reading lines from stdin, but stdin is a terminal; pipe text in (cat FILE | rnn score) or give a file');
    return process.stdin;
  }
  const info = await fsp.stat(file).catch((e: NodeJS.ErrnoException) => {
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : `cannot be read (${e.code})`;
    throw new CorpusError(`${file}: ${why}; give a text file or - for stdin`);
  });
  if (info.isDirectory()) throw new CorpusError(`${file}: is a folder; give a text file, or cat the files into rnn score -`);
  return createReadStream(file);
}

function formatBits(x: number): string {
  return Number.isNaN(x) ? 'nan' : x.toFixed(4);
}

function escapeTsv(ch: string): string {
  return ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : ch === '\r' ? '\\r' : ch === '\\' ? '\\\\' : ch;
}

/** One character coloured by its surprisal relative to a uniform guess over V (`full` bits). */
function heat(c: ChalkInstance, ch: string, bits: number, full: number): string {
  if (ch === '\n') return ch;
  if (Number.isNaN(bits)) return c.underline(ch);
  const t = Math.min(1, Math.max(0, bits / full));
  if (c.level >= 2) {
    // grey → amber → red, brighter as surprise grows
    const [r, g, b] = t < 0.5
      ? [lerp(90, 255, t * 2), lerp(90, 190, t * 2), lerp(90, 40, t * 2)]
      : [255, lerp(190, 40, t * 2 - 1), lerp(40, 40, t * 2 - 1)];
    const coloured = c.rgb(r, g, b)(ch);
    return t >= 0.75 ? c.bold(coloured) : coloured;
  }
  if (t < 0.25) return c.gray(ch);
  if (t < 0.5) return ch;
  if (t < 0.75) return c.yellow(ch);
  return c.red.bold(ch);
}

function lerp(a: number, b: number, t: number): number {
  return Math.round(a + (b - a) * t);
}

async function runScore(file: string, flags: ScoreFlags): Promise<number> {
  const input = await openInput(file);
  const { ckpt, model } = await loadModel(flags.checkpoint, flags);
  const scorer = new LineScorer(model, ckpt.vocab);
  const color = colorFor(process.stdout, { color: flags.color, force: flags.heatmap });
  const heatmap = flags.chars && !flags.json && color.level > 0 && (Boolean(process.stdout.isTTY) || flags.heatmap);
  const fullBits = Math.log2(ckpt.vocab.size);
  const hasNewline = ckpt.vocab.id('\n') >= 0;
  const out = new DataOut();
  let lineNo = 0;

  // --chars: rows of one line, from column `col` on (1-based)
  const charRows = (symbols: string[], bits: Float64Array, col: number): string => {
    let text = '';
    for (let i = 0; i < symbols.length; i++) {
      const ch = symbols[i]!;
      const b = bits[i]!;
      if (heatmap) text += heat(color, ch, b, fullBits);
      else if (flags.json) text += `${JSON.stringify({ line: lineNo, col: col + i, char: ch, bits: Number.isNaN(b) ? null : b })}\n`;
      else text += `${lineNo}\t${col + i}\t${escapeTsv(ch)}\t${Number.isNaN(b) ? '' : b.toFixed(4)}\n`;
    }
    return text;
  };
  // --chars streams: a line's rows are written as its characters arrive, so memory stays
  // bounded however long the line; the line break's row follows when the line ends
  let inLine = false;
  let col = 1;
  const charsPart = (part: string): string => {
    if (!inLine) {
      scorer.begin();
      lineNo++;
      col = 1;
      inLine = true;
    }
    if (part.length === 0) return '';
    const s = scorer.push(part, true)!;
    const text = charRows(s.symbols, s.bits, col);
    col += s.symbols.length;
    return text;
  };
  const charsEnd = (): string => {
    const { endBits } = scorer.end();
    inLine = false;
    if (hasNewline) return charRows(['\n'], Float64Array.of(endBits), col);
    return heatmap ? '\n' : '';
  };
  // plain and --json: one row per line (its text is part of the row, so it is held whole)
  const lineRow = (line: string): string => {
    lineNo++;
    const s = scorer.score(line);
    if (flags.json) return `${JSON.stringify({ line: lineNo, bpc: Number.isNaN(s.bpc) ? null : s.bpc, chars: s.chars, unknown: s.unknown, text: line })}\n`;
    return `${formatBits(s.bpc)}\t${line}\n`;
  };

  // the same reader rules as train, eval and --prime-file (UTF-8, no binary), applied as
  // bytes arrive; everything a chunk of input completes is written before waiting for more
  const decoder = new TextStreamDecoder(file === '-' ? 'stdin' : file);
  let rest = '';
  await usingModel(ckpt.file, async () => {
    for await (const chunk of input) {
      if (out.isClosed) break;
      const piece = decoder.decode(chunk as Uint8Array);
      let text = '';
      let start = 0;
      for (let nl = piece.indexOf('\n'); nl >= 0; nl = piece.indexOf('\n', start)) {
        if (flags.chars) text += charsPart(piece.slice(start, nl)) + charsEnd();
        else {
          text += lineRow(rest + piece.slice(start, nl));
          rest = '';
        }
        start = nl + 1;
      }
      if (flags.chars) {
        if (start < piece.length) text += charsPart(piece.slice(start));
      } else {
        rest += piece.slice(start);
      }
      if (text.length > 0) await out.write(text);
    }
    const last = decoder.end();
    if (!out.isClosed) {
      if (flags.chars) {
        if (last.length > 0) await out.write(charsPart(last));
        if (inLine) await out.write(charsEnd());
      } else if (rest.length + last.length > 0) {
        await out.write(lineRow(rest + last));
      }
    }
  }).finally(() => {
    if (input !== process.stdin) input.destroy();
  });
  await out.end();

  const unknownCount = [...scorer.unknown.values()].reduce((a, b) => a + b, 0);
  if (unknownCount > 0 && !out.isClosed) {
    process.stderr.write(`rnn: warning: ${plural(unknownCount, 'character')} not in the vocabulary skipped: ${nameChars(scorer.unknown.keys())}\n`);
  }
  return 0;
}
