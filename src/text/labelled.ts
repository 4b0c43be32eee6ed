// Reading labelled text: examples with a label each, for the classifier (and the tags of
// the conditioned language model). Three layouts, told apart by what the path is:
//
//   table     a file: one example per line, label<TAB>text (.tsv, any other extension
//             whose lines all have a TAB, or stdin), or label,text with CSV quoting (.csv);
//             a first line "label<TAB>text" (or "label,text") is taken as a header
//   files     a folder of files: one class per file (the label is the file name without
//             its extension), one example per line
//   folders   a folder of folders: one class per sub-folder (its name), one example per
//             file (the file's whole text, found recursively)
//
// Text is decoded as a corpus is (strict UTF-8, BOM stripped; src/text/corpus.ts). Line
// ends may be LF or CRLF; empty lines (and lines of only spaces) are skipped; a label is
// trimmed of surrounding spaces and may hold spaces and any Unicode; in the folders layout a
// file's CRLF become LF and one final line break is dropped. Exact duplicates (same label,
// same text) are kept (they are part of the data's distribution) and counted. A folder holding both files and folders, an empty
// class, a line without a label column and a single class are one-line CorpusErrors that
// name the layouts there are.
import { promises as fsp } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { CorpusError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { decodeCorpus, readTextFile, type ReadAhead } from './corpus.js';

export type LabelledLayout = 'table' | 'files' | 'folders';

export interface Example {
  label: string;
  text: string;
}

export interface LabelledSet {
  layout: LabelledLayout;
  /** For the header: "label<TAB>text lines of reviews.tsv", "one class per file of names/". */
  description: string;
  /** In reading order. */
  examples: Example[];
  /** The labels, sorted by code point. */
  labels: string[];
  /** Examples that repeat an earlier one exactly (label and text). */
  duplicates: number;
  /** Texts that occur with more than one label. */
  conflicting: number;
  /** Empty lines skipped. */
  empty: number;
}

/** What the user can give, for the errors. */
export const LAYOUTS_HELP =
  'the layouts are: a .tsv/.csv file of label<TAB>text lines, a folder of files (one class per file, one example per line), ' +
  'or a folder of folders (one class per folder, one example per file)';

/**
 * Reads labelled examples from a path ('-': the given stdin bytes, as label<TAB>text lines);
 * a table file in `ahead` is not read again.
 * @throws CorpusError with one line naming the problem and the layouts there are
 */
export async function readLabelled(path: string, stdin?: Uint8Array, ahead?: ReadAhead): Promise<LabelledSet> {
  if (path === '-') return finish('table', 'label<TAB>text lines of stdin', parseTable(decodeCorpus(stdin ?? new Uint8Array(0), 'stdin'), 'stdin', 'tsv'));
  const info = await fsp.stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new CorpusError(`${path}: ${e.code === 'ENOENT' ? 'no such file or folder' : `cannot be read (${e.code})`}; check the path`);
  });
  if (info.isFile()) {
    const kind = extname(path).toLowerCase() === '.csv' ? 'csv' : 'tsv';
    const text = await readTextFile(path, undefined, ahead);
    return finish('table', `${kind === 'csv' ? 'label,text CSV records' : 'label<TAB>text lines'} of ${path}`, parseTable(text, path, kind));
  }
  if (!info.isDirectory()) throw new CorpusError(`${path}: not a regular file or a folder; ${LAYOUTS_HELP}`);
  const entries = (await fsp.readdir(path, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).sort((a, b) => cmp(a.name, b.name));
  const dirs = entries.filter((e) => e.isDirectory());
  const files = entries.filter((e) => e.isFile());
  if (dirs.length > 0 && files.length > 0) {
    throw new CorpusError(`${path}: holds both files (${files[0]!.name}) and folders (${dirs[0]!.name}), so its layout is ambiguous; ${LAYOUTS_HELP}`);
  }
  if (dirs.length === 0 && files.length === 0) throw new CorpusError(`${path}: the folder is empty; ${LAYOUTS_HELP}`);
  const examples: Example[] = [];
  let empty = 0;
  if (files.length > 0) {
    const seen = new Map<string, string>();
    for (const f of files) {
      const label = basename(f.name, extname(f.name)).trim() || f.name;
      const other = seen.get(label);
      if (other) throw new CorpusError(`${join(path, f.name)}: ${other} already names class ${JSON.stringify(label)}; give each class one file`);
      seen.set(label, f.name);
      const lines = splitLines(await readTextFile(join(path, f.name)));
      const before = examples.length;
      for (const line of lines) {
        if (line.trim() === '') empty++;
        else examples.push({ label, text: line });
      }
      if (examples.length === before) throw new CorpusError(`${join(path, f.name)}: class ${JSON.stringify(label)} has no examples (the file has no non-empty lines); add some or remove the file`);
    }
    return finish('files', `one class per file of ${path}, one example per line`, { examples, empty });
  }
  for (const d of dirs) {
    const label = d.name.trim() || d.name;
    const folder = join(path, d.name);
    const found = await filesUnder(folder);
    const before = examples.length;
    for (const file of found) {
      const text = (await readTextFile(file)).replace(/\r\n/g, '\n').replace(/\n$/, '');
      if (text.trim() === '') empty++;
      else examples.push({ label, text });
    }
    if (examples.length === before) throw new CorpusError(`${folder}: class ${JSON.stringify(label)} has no examples (no non-empty files); add some or remove the folder`);
  }
  return finish('folders', `one class per folder of ${path}, one example per file`, { examples, empty });
}

/** Lines of label<TAB>text (or CSV records label,text), for a file or stdin named `name`. */
export function parseTable(text: string, name: string, kind: 'tsv' | 'csv'): { examples: Example[]; empty: number } {
  const records = kind === 'csv' ? csvRecords(text, name) : splitLines(text).map((line, i) => ({ line: i + 1, fields: tsvFields(line) }));
  const examples: Example[] = [];
  let empty = 0;
  const sep = kind === 'csv' ? ',' : '<TAB>';
  for (const [i, r] of records.entries()) {
    if (r.fields.length === 1 && r.fields[0]!.trim() === '') {
      empty++;
      continue;
    }
    if (i === 0 && r.fields.length >= 2 && /^(label|class|category|tag)$/i.test(r.fields[0]!.trim()) && /^(text|example|sentence|document|input)$/i.test(r.fields[1]!.trim())) {
      continue; // a header line
    }
    if (r.fields.length < 2) {
      throw new CorpusError(`${name}:${r.line}: no label column (no ${sep} between a label and the text); each line must be label${sep}text, or ${LAYOUTS_HELP}`);
    }
    const label = r.fields[0]!.trim();
    const body = r.fields.slice(1).join(kind === 'csv' ? ',' : '\t');
    if (label === '') throw new CorpusError(`${name}:${r.line}: the label before the ${sep} is empty; each line must be label${sep}text`);
    if (body.trim() === '') {
      empty++;
      continue;
    }
    examples.push({ label, text: body });
  }
  return { examples, empty };
}

function tsvFields(line: string): string[] {
  const at = line.indexOf('\t');
  return at < 0 ? [line] : [line.slice(0, at), line.slice(at + 1)];
}

/** RFC 4180 records: fields separated by commas, quoted with "…" (a doubled "" inside is a quote); quoted fields may hold line breaks. */
function csvRecords(text: string, name: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let start = 1;
  let i = 0;
  let quoted = false;
  const endRecord = () => {
    fields.push(field);
    out.push({ line: start, fields });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      i++;
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else field += ch;
    i++;
  }
  if (quoted) throw new CorpusError(`${name}:${start}: a quoted field is not closed; check the quotes of that record`);
  if (field !== '' || fields.length > 0) endRecord();
  return out;
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => cmp(a.name, b.name))) {
    if (e.name.startsWith('.')) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(full)));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function finish(layout: LabelledLayout, description: string, read: { examples: Example[]; empty: number }): LabelledSet {
  const seen = new Set<string>();
  const labelsOf = new Map<string, Set<string>>();
  const examples: Example[] = [];
  let duplicates = 0;
  for (const ex of read.examples) {
    const key = `${ex.label}\u0000${ex.text}`;
    if (seen.has(key)) duplicates++;
    seen.add(key);
    examples.push(ex);
    const set = labelsOf.get(ex.text) ?? new Set<string>();
    set.add(ex.label);
    labelsOf.set(ex.text, set);
  }
  if (examples.length === 0) throw new CorpusError(`${description}: no examples (every line is empty); ${LAYOUTS_HELP}`);
  const labels = [...new Set(examples.map((e) => e.label))].sort(cmp);
  let conflicting = 0;
  for (const set of labelsOf.values()) if (set.size > 1) conflicting++;
  return { layout, description, examples, labels, duplicates, conflicting, empty: read.empty };
}

/**
 * A stratified split: within each class, a seeded shuffle, then round(n·valFrac) examples
 * held out for validation. Classes too small to give one validation example (or to keep
 * one for training) are named in `small`.
 * @returns indices into `examples`
 */
export function stratifiedSplit(examples: readonly Example[], valFrac: number, seed: number): { train: number[]; val: number[]; small: string[] } {
  const byLabel = new Map<string, number[]>();
  examples.forEach((e, i) => {
    const list = byLabel.get(e.label) ?? [];
    list.push(i);
    byLabel.set(e.label, list);
  });
  const train: number[] = [];
  const val: number[] = [];
  const small: string[] = [];
  const rnd = shuffler(seed);
  for (const label of [...byLabel.keys()].sort(cmp)) {
    const idx = byLabel.get(label)!;
    rnd(idx);
    let nVal = Math.round(idx.length * valFrac);
    if (valFrac > 0 && nVal === 0) small.push(label);
    if (nVal >= idx.length) {
      nVal = idx.length - 1;
      small.push(label);
    }
    val.push(...idx.slice(0, nVal));
    train.push(...idx.slice(nVal));
  }
  train.sort((a, b) => a - b);
  val.sort((a, b) => a - b);
  return { train, val, small: [...new Set(small)] };
}

/** A Fisher–Yates shuffle in place, driven by a seeded Rng. */
export function shuffler(seed: number): <T>(items: T[]) => T[] {
  const rng = new Rng(seed);
  return <T>(items: T[]) => {
    for (let i = items.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  };
}
