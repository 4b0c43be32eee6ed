// The corpus of benchmark config V: text over about 5,000 distinct symbols, like a corpus of
// classical Chinese poetry (the Tang poems have 5,387), generated here so that nothing large
// is committed. Symbols are CJK ideographs from U+4E00 on; their frequencies follow Zipf's
// law (rank r drawn with weight 1/r), so the head of the distribution is common and the
// tail rare, as in real text; a line is two halves of 5 or 7 symbols, a comma between
// them and a full stop at the end, 4 lines to a poem, a blank line between poems. Half of the
// symbols continue a bigram (a fixed small set of successors per symbol), so a model has
// something to learn. Deterministic: the same arguments give the same file.
//
//   node bench/large-vocab.mjs OUT [--symbols 5000] [--chars 1000000]
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The corpus text: about `chars` characters over `symbols` ideographs plus punctuation. */
export function largeVocabText(symbols = 5000, chars = 1_000_000) {
  let s = 0x2545f491;
  const rand = () => {
    // xorshift32, uniform in [0, 1)
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const cum = new Float64Array(symbols);
  let total = 0;
  for (let r = 0; r < symbols; r++) cum[r] = total += 1 / (r + 1);
  const zipf = () => {
    const u = rand() * total;
    let lo = 0, hi = symbols - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const glyph = (r) => String.fromCharCode(0x4e00 + r);
  const out = [];
  let n = 0;
  // every symbol once first, so the vocabulary is exactly `symbols` ideographs
  for (let r = 0; r < symbols; r += 7) {
    const line = [];
    for (let q = r; q < Math.min(symbols, r + 7); q++) line.push(glyph(q));
    out.push(`${line.join('')}。\n`);
    n += line.length + 2;
  }
  out.push('\n');
  let prev = 0;
  while (n < chars) {
    const width = rand() < 0.5 ? 5 : 7;
    for (let l = 0; l < 4; l++) {
      let line = '';
      for (let i = 0; i < 2 * width; i++) {
        // successors of prev: 4 fixed symbols picked by a hash of prev
        const r = rand() < 0.5 ? (Math.imul(prev + 1, 2654435761) >>> 0) % Math.min(symbols, 400) + (i & 3) : zipf();
        prev = r % symbols;
        line += glyph(prev);
        if (i === width - 1) line += '，';
      }
      line += '。\n';
      out.push(line);
      n += line.length;
    }
    out.push('\n');
    n++;
  }
  return out.join('');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/large-vocab.mjs OUT [--symbols 5000] [--chars 1000000]\n');
    process.exit(2);
  }
  const opt = (name, def) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : def;
  };
  writeFileSync(file, largeVocabText(opt('symbols', 5000), opt('chars', 1_000_000)));
}
