// The readers of labelled data: the three layouts, what real files hold (CRLF, a BOM,
// empty lines, duplicates, labels with spaces and Unicode, CSV quoting, a header line), the
// one-line errors, and the stratified split.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLabelled, stratifiedSplit, type Example } from '../../src/text/labelled.js';
import { CorpusError } from '../../src/util/errors.js';

const root = mkdtempSync(join(tmpdir(), 'rnn-labelled-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let serial = 0;
/** Writes files under a fresh folder: path → content. */
function tree(files: Record<string, string | Uint8Array>): string {
  const dir = join(root, `t${serial++}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

async function refusal(path: string, stdin?: Uint8Array): Promise<string> {
  const err = await readLabelled(path, stdin).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(CorpusError);
  const message = (err as Error).message;
  expect(message.split('\n')).toHaveLength(1);
  return message;
}

describe('table layout', () => {
  it('reads label<TAB>text with CRLF, a BOM, empty lines, tabs in the text, labels with spaces and Unicode', async () => {
    const dir = tree({ 'r.tsv': '\uFEFFgood news\tA fine day\r\n\r\nbad\tawful\tsimply awful\r\n  \nrésumé ✓ \tsee attached\n' });
    const set = await readLabelled(join(dir, 'r.tsv'));
    expect(set.layout).toBe('table');
    expect(set.examples).toEqual([
      { label: 'good news', text: 'A fine day' },
      { label: 'bad', text: 'awful\tsimply awful' },
      { label: 'résumé ✓', text: 'see attached' },
    ]);
    expect(set.labels).toEqual(['bad', 'good news', 'résumé ✓']);
    expect(set.empty).toBe(2);
    expect(set.description).toMatch(/label<TAB>text lines of .*r\.tsv/);
  });

  it('counts duplicates and texts with conflicting labels, and keeps them', async () => {
    const dir = tree({ 'd.txt': 'a\tx\na\tx\nb\tx\nb\ty\n' });
    const set = await readLabelled(join(dir, 'd.txt'));
    expect(set.examples).toHaveLength(4);
    expect(set.duplicates).toBe(1);
    expect(set.conflicting).toBe(1);
  });

  it('skips a header line and reads stdin the same way', async () => {
    const set = await readLabelled('-', new TextEncoder().encode('label\ttext\nx\tone\ny\ttwo\n'));
    expect(set.examples).toEqual([{ label: 'x', text: 'one' }, { label: 'y', text: 'two' }]);
  });

  it('reads CSV with quoted fields, doubled quotes, commas and line breaks inside quotes', async () => {
    const dir = tree({ 'c.csv': 'label,text\r\npos,"great, really"\r\nneg,"he said ""no""\nand left"\nneg,plain,with comma\n' });
    const set = await readLabelled(join(dir, 'c.csv'));
    expect(set.examples).toEqual([
      { label: 'pos', text: 'great, really' },
      { label: 'neg', text: 'he said "no"\nand left' },
      { label: 'neg', text: 'plain,with comma' },
    ]);
  });

  it('refuses a line with no label column, naming the line and the layouts', async () => {
    const dir = tree({ 'n.tsv': 'a\tone\njust text\n' });
    const msg = await refusal(join(dir, 'n.tsv'));
    expect(msg).toMatch(/n\.tsv:2: no label column/);
    expect(msg).toMatch(/folder of files .* folder of folders/);
    expect(await refusal(join(tree({ 'e.tsv': '\tno label\n' }), 'e.tsv'))).toMatch(/e\.tsv:1: the label .* is empty/);
    expect(await refusal(join(tree({ 'q.csv': 'a,"open\n' }), 'q.csv'))).toMatch(/q\.csv:1: a quoted field is not closed/);
  });
});

describe('folder layouts', () => {
  it('a folder of files: one class per file (its name without the extension), one example per line', async () => {
    const dir = tree({ 'Russian.txt': 'Dostoevsky\r\nTolstoy\r\n\r\n', 'Italian.txt': '\uFEFFVerdi\nRossini', '.hidden': 'x\ty\n' });
    const set = await readLabelled(dir);
    expect(set.layout).toBe('files');
    expect(set.labels).toEqual(['Italian', 'Russian']);
    expect(set.examples).toEqual([
      { label: 'Italian', text: 'Verdi' }, { label: 'Italian', text: 'Rossini' },
      { label: 'Russian', text: 'Dostoevsky' }, { label: 'Russian', text: 'Tolstoy' },
    ]);
  });

  it('a folder of folders: one class per folder, one example per file (whole text, CRLF → LF, last line break dropped, nested files too)', async () => {
    const dir = tree({ 'spam/1.eml': 'WIN\r\nnow\r\n', 'spam/old/2.eml': 'cheap', 'ham café/a.txt': 'lunch?\n', 'ham café/empty.txt': '' });
    const set = await readLabelled(dir);
    expect(set.layout).toBe('folders');
    expect(set.examples).toEqual([
      { label: 'ham café', text: 'lunch?' }, { label: 'spam', text: 'WIN\nnow' }, { label: 'spam', text: 'cheap' },
    ]);
    expect(set.empty).toBe(1);
  });

  it('refuses an empty class folder, an empty class file, a folder of both files and folders, and an empty folder', async () => {
    expect(await refusal(tree({ 'a/1.txt': 'x', 'b/.keep': '' }))).toMatch(/b: class "b" has no examples/);
    expect(await refusal(tree({ 'a.txt': 'x\n', 'b.txt': '\n\n' }))).toMatch(/b\.txt: class "b" has no examples/);
    expect(await refusal(tree({ 'a.txt': 'x\n', 'b/1.txt': 'y' }))).toMatch(/both files \(a\.txt\) and folders \(b\).*ambiguous.*the layouts are/);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(await refusal(empty)).toMatch(/the folder is empty; the layouts are/);
    expect(await refusal(tree({ 'a.txt': 'x\n', 'a.csv': 'y\n' }))).toMatch(/already names class "a"/);
    expect(await refusal(join(root, 'missing.tsv'))).toMatch(/no such file/);
  });

  it('refuses a file that is not UTF-8 text, naming it', async () => {
    expect(await refusal(tree({ 'a.txt': 'x\n', 'b.txt': new Uint8Array([0x41, 0, 0x42, 0]) }))).toMatch(/b\.txt: /);
  });
});

describe('stratified split', () => {
  const examples: Example[] = [
    ...Array.from({ length: 50 }, (_, i) => ({ label: 'big', text: `b${i}` })),
    ...Array.from({ length: 10 }, (_, i) => ({ label: 'mid', text: `m${i}` })),
    { label: 'tiny', text: 't0' },
  ];

  it('holds out round(n·valFrac) of every class, the same ones for the same seed', () => {
    const a = stratifiedSplit(examples, 0.2, 7);
    const count = (idx: number[], label: string) => idx.filter((i) => examples[i]!.label === label).length;
    expect(count(a.val, 'big')).toBe(10);
    expect(count(a.val, 'mid')).toBe(2);
    expect(count(a.val, 'tiny')).toBe(0);
    expect(a.small).toEqual(['tiny']);
    expect([...a.train, ...a.val].sort((x, y) => x - y)).toEqual(examples.map((_, i) => i));
    expect(stratifiedSplit(examples, 0.2, 7)).toEqual(a);
    expect(stratifiedSplit(examples, 0.2, 8).val).not.toEqual(a.val);
  });

  it('keeps at least one example of a class for training', () => {
    const two = [{ label: 'x', text: '1' }, { label: 'y', text: '2' }, { label: 'y', text: '3' }];
    const s = stratifiedSplit(two, 0.5, 1);
    expect(s.train.map((i) => two[i]!.label).sort()).toEqual(['x', 'y']);
    expect(s.small).toContain('x');
  });
});
