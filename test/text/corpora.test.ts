import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeCorpus } from '../../src/text/corpus.js';
import { Vocab } from '../../src/text/vocab.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('shipped corpora', () => {
  it('generate.mjs --check reproduces the committed files byte for byte', () => {
    const out = execFileSync(process.execPath, ['corpora/generate.mjs', '--check', '--json'], { cwd: root, encoding: 'utf8' });
    const stats = JSON.parse(out) as Record<string, { bytes: number; vocab: number; entropyNats?: number }>;
    expect(stats['markov']!.vocab).toBe(20);
    expect(stats['markov']!.entropyNats).toBeGreaterThan(0.5);
    expect(stats['markov']!.entropyNats).toBeLessThan(Math.log(20));
    const total = Object.values(stats).reduce((s, f) => s + f.bytes, 0);
    expect(total).toBeLessThan(1024 * 1024);
  });

  it('each corpus is valid text whose vocabulary matches the statistics', () => {
    const out = execFileSync(process.execPath, ['corpora/generate.mjs', '--check', '--json'], { cwd: root, encoding: 'utf8' });
    const stats = JSON.parse(out) as Record<string, { file: string; bytes: number; vocab: number }>;
    for (const { file, bytes, vocab } of Object.values(stats)) {
      const raw = readFileSync(`${root}corpora/${file}`);
      expect(raw.length).toBe(bytes);
      const text = decodeCorpus(raw, file);
      expect(Vocab.fromText(text).size).toBe(vocab);
    }
  });

  it('arith.txt answers are correct', () => {
    const lines = readFileSync(`${root}corpora/arith.txt`, 'utf8').trimEnd().split('\n');
    for (const line of lines) {
      const m = /^(\d+)([+*])(\d+)=(\d+)$/.exec(line);
      expect(m, line).not.toBeNull();
      const [, a, op, b, c] = m!;
      expect(Number(c)).toBe(op === '+' ? Number(a) + Number(b) : Number(a) * Number(b));
    }
  });

  it('markov.txt: the stated entropy rate agrees with an estimate from the file itself', () => {
    const out = execFileSync(process.execPath, ['corpora/generate.mjs', '--check', '--json'], { cwd: root, encoding: 'utf8' });
    const { entropyNats, sampleLossNats } = (JSON.parse(out) as { markov: { entropyNats: number; sampleLossNats: number } }).markov;
    // Plug-in estimate of H(next | previous two) from trigram counts; biased low by about
    // (contexts × (symbols − 1)) / (2N) ≈ 0.02 nats.
    const text = [...readFileSync(`${root}corpora/markov.txt`, 'utf8')];
    const pairs = new Map<string, number>();
    const triples = new Map<string, number>();
    for (let i = 2; i < text.length; i++) {
      const pair = text[i - 2]! + text[i - 1]!;
      pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
      triples.set(pair + text[i]!, (triples.get(pair + text[i]!) ?? 0) + 1);
    }
    const n = text.length - 2;
    let plugIn = 0;
    for (const [triple, count] of triples) plugIn += (count / n) * Math.log(pairs.get(triple.slice(0, 2))! / count);
    expect(Math.abs(plugIn - entropyNats)).toBeLessThan(0.05);
    expect(Math.abs(sampleLossNats - entropyNats)).toBeLessThan(0.02);
  });
});

describe('corpora/pairs (encoder-decoder tasks)', () => {
  const read = (f: string) =>
    readFileSync(`${root}corpora/pairs/${f}`, 'utf8').trimEnd().split('\n').map((l) => l.split('\t') as [string, string]);
  const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

  /** Number words read back into a number, independently of the generator. */
  function wordsToNumber(words: string): number {
    const units: Record<string, number> = {};
    ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen',
      'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'].forEach((w, i) => { units[w] = i; });
    ['twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'].forEach((w, i) => { units[w] = 20 + 10 * i; });
    let total = 0;
    let group = 0;
    for (const w of words.split(/[ -]/)) {
      if (w === 'thousand') { total += group * 1000; group = 0; } else if (w === 'hundred') group *= 100;
      else if (w in units) group += units[w];
      else throw new Error(`unknown word ${w}`);
    }
    return total + group;
  }

  const CHECK: Record<string, (s: string, t: string) => boolean> = {
    reverse: (s, t) => /^[a-j]{3,10}$/.test(s) && [...s].reverse().join('') === t,
    dates: (s, t) => {
      const d = new Date(`${s}T00:00:00Z`);
      return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s)
        && t === `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
    },
    numbers: (s, t) => /^(0|[1-9]\d{0,3})$/.test(s) && wordsToNumber(t) === Number(s) && !t.includes(' and '),
    arith: (s, t) => {
      const m = /^(\d+)([+*])(\d+)$/.exec(s);
      return m !== null && Number(t) === (m[2] === '+' ? Number(m[1]) + Number(m[3]) : Number(m[1]) * Number(m[3]));
    },
  };

  for (const [task, ok] of Object.entries(CHECK)) {
    it(`${task}: every answer is right, and no test source is in the train file`, () => {
      const train = read(`${task}-train.tsv`);
      const test = read(`${task}-test.tsv`);
      expect(test.length).toBeGreaterThanOrEqual(300);
      for (const [s, t] of [...train, ...test]) expect(ok(s, t), `${s} → ${t}`).toBe(true);
      const seen = new Set(train.map(([s]) => s));
      for (const [s] of test) expect(seen.has(s), s).toBe(false);
    });
  }
});
