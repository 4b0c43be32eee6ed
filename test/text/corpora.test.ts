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
