#!/usr/bin/env node
// Writes the corpora this repository ships, deterministically, from a seeded generator of
// its own (no Math.random, no downloads): the same bytes on every machine and Node version.
//
//   node corpora/generate.mjs           write the corpora and corpora/README.md, print statistics
//   node corpora/generate.mjs --check   regenerate in memory and compare with the files on disk
//                                       byte for byte; exit status 1 if any differs
//   add --json                          print the statistics as one JSON object instead
//
// The corpora:
//   markov.txt  an order-2 Markov source over 20 symbols; its entropy rate (the best loss
//               any model can reach, in nats per character) is computed exactly here
//   arith.txt   lines like 37+58=95 and 7*8=56; each answer is determined by its prompt
//   log.txt     a ship's log from a small probabilistic grammar of English-like sentences
//   pairs/      source<TAB>target tasks with known answers for the encoder-decoder (pairs.mjs)
//   classes/    label<TAB>text lines with a known best accuracy for the classifier (classes.mjs)
//   tagged/     tag<TAB>text lines from one Markov source per tag, for the conditioned LM (tagged.mjs)

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classFiles, classesReadme } from './classes.mjs';
import { pairFiles, pairsReadme } from './pairs.mjs';
import { taggedFiles, taggedReadme } from './tagged.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------
// Seeded generator: a 32-bit counter run through a multiply-xorshift finaliser. Only
// integer operations and exact float divisions, so the stream is identical everywhere.

function makeRandom(seed) {
  let state = seed >>> 0;
  const u32 = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1) >>> 0;
    z = (z ^ (z + Math.imul(z ^ (z >>> 7), z | 61))) >>> 0;
    return (z ^ (z >>> 14)) >>> 0;
  };
  /** Uniform integer in [0, n), n ≤ 2^32. */
  const int = (n) => Math.floor((u32() / 4294967296) * n);
  /** An index drawn with probability proportional to integer weights. */
  const weighted = (weights, total) => {
    let r = int(total);
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i];
      if (r < 0) return i;
    }
    throw new Error('weights do not sum to total');
  };
  const pick = (items) => items[int(items.length)];
  return { u32, int, weighted, pick };
}

// ---------------------------------------------------------------------------------------
// (a) markov.txt — order 2, 20 symbols, integer weights out of 1000 per context so the
// source's probabilities (and so its entropy rate) are exact rationals.

const MARKOV_SYMBOLS = [...'aeioulnrstdmkpgh', ' ', ',', '.', '\n'];
const MARKOV_TOTAL = 1000;
const MARKOV_LENGTH = 200_000;

function markovTable() {
  const rnd = makeRandom(20240601);
  const S = MARKOV_SYMBOLS.length;
  const newline = S - 1;
  const period = MARKOV_SYMBOLS.indexOf('.');
  const space = MARKOV_SYMBOLS.indexOf(' ');
  // table[a*S + b] = integer weights of the next symbol after the pair (a, b).
  const table = [];
  for (let a = 0; a < S; a++) {
    for (let b = 0; b < S; b++) {
      const w = new Array(S).fill(1); // a floor under every symbol: the chain is ergodic
      // Lines end after a period now and then.
      w[newline] = b === period ? 150 : 1;
      // After a space or a line break a letter comes next, almost surely.
      const afterBreak = b === space || b === newline;
      // Four favoured successors share the rest, unevenly.
      const favoured = [];
      while (favoured.length < 4) {
        const c = rnd.int(S - 1); // never the newline
        if (afterBreak && c >= 16) continue;
        if (!favoured.includes(c)) favoured.push(c);
      }
      const raw = favoured.map(() => 1 + rnd.int(20) ** 2);
      const rest = MARKOV_TOTAL - w.reduce((s, x) => s + x, 0);
      const sum = raw.reduce((s, x) => s + x, 0);
      let given = 0;
      favoured.forEach((c, k) => {
        const share = k === favoured.length - 1 ? rest - given : Math.floor((rest * raw[k]) / sum);
        w[c] += share;
        given += share;
      });
      table.push(w);
    }
  }
  return table;
}

/** Stationary distribution over pair states and the entropy rate in nats per symbol. */
function markovEntropy(table) {
  const S = MARKOV_SYMBOLS.length;
  let pi = new Float64Array(S * S).fill(1 / (S * S));
  for (let iter = 0; iter < 100_000; iter++) {
    const next = new Float64Array(S * S);
    for (let a = 0; a < S; a++) {
      for (let b = 0; b < S; b++) {
        const mass = pi[a * S + b];
        const w = table[a * S + b];
        for (let c = 0; c < S; c++) next[b * S + c] += (mass * w[c]) / MARKOV_TOTAL;
      }
    }
    let change = 0;
    for (let i = 0; i < S * S; i++) change += Math.abs(next[i] - pi[i]);
    pi = next;
    if (change < 1e-15) break;
  }
  // What models with less context can reach: H(X) from the stationary marginal, and
  // H(X_t | X_t-1) = H(X_t-1, X_t) − H(X_t-1).
  const marginal = new Float64Array(S);
  for (let a = 0; a < S; a++) for (let b = 0; b < S; b++) marginal[b] += pi[a * S + b];
  const h = (ps) => ps.reduce((sum, p) => (p > 0 ? sum - p * Math.log(p) : sum), 0);
  const unigram = h([...marginal]);
  const bigram = h([...pi]) - unigram;
  let entropy = 0;
  for (let s = 0; s < S * S; s++) {
    entropy += pi[s] * h(table[s].map((w) => w / MARKOV_TOTAL));
  }
  return { entropy, unigram, bigram };
}

function markovCorpus() {
  const table = markovTable();
  const S = MARKOV_SYMBOLS.length;
  const rnd = makeRandom(7);
  let a = 0;
  let b = MARKOV_SYMBOLS.indexOf(' ');
  const step = () => {
    const c = rnd.weighted(table[a * S + b], MARKOV_TOTAL);
    a = b;
    b = c;
    return c;
  };
  for (let i = 0; i < 1000; i++) step(); // burn-in: start from the stationary regime
  const ids = [a, b];
  let logLoss = 0;
  for (let i = 2; i < MARKOV_LENGTH; i++) {
    const c = step();
    logLoss -= Math.log(table[ids[i - 2] * S + ids[i - 1]][c] / MARKOV_TOTAL);
    ids.push(c);
  }
  const text = ids.map((i) => MARKOV_SYMBOLS[i]).join('');
  const { entropy, unigram, bigram } = markovEntropy(table);
  return { text, entropy, unigram, bigram, sampleLoss: logLoss / (MARKOV_LENGTH - 2) };
}

// ---------------------------------------------------------------------------------------
// (b) arith.txt — sums of two numbers 0..99 and products of two numbers 0..12.

const ARITH_LENGTH = 150_000;

function arithCorpus() {
  const rnd = makeRandom(1234);
  const lines = [];
  let length = 0;
  let sums = 0;
  while (length < ARITH_LENGTH) {
    let line;
    if (rnd.int(10) < 6) {
      const x = rnd.int(100);
      const y = rnd.int(100);
      line = `${x}+${y}=${x + y}\n`;
      sums++;
    } else {
      const x = rnd.int(13);
      const y = rnd.int(13);
      line = `${x}*${y}=${x * y}\n`;
    }
    lines.push(line);
    length += line.length;
  }
  return { text: lines.join(''), lines: lines.length, sums };
}

// ---------------------------------------------------------------------------------------
// (c) log.txt — a ship's log. A grammar maps each symbol to alternatives; "{name}" in an
// alternative expands symbol `name`. A leading "N|" gives an alternative weight N (default 1).

const GRAMMAR = {
  entry: ['{dayline}\n{body}'],
  dayline: ['Day {day}, {watch}.'],
  watch: ['morning watch', 'forenoon watch', 'afternoon watch', 'first watch', 'middle watch', 'dog watch', 'noon'],
  body: ['{sentence} {sentence} {sentence}', '3|{sentence} {sentence} {sentence} {sentence}', '2|{sentence} {sentence} {sentence} {sentence} {sentence}'],
  sentence: [
    '4|{weather}', '3|{sails}', '3|{crew}', '2|{sighting}', '2|{meal}', '2|{position}', '1|{saying}', '1|{repair}', '1|{night}',
  ],
  weather: [
    'The wind {shifted} to the {direction} and {strength}.',
    'Wind {direction}, {force}; the sea {sea}.',
    'A {sky} sky all {span}, with {rain}.',
    'The glass {glass} since {time}, and {captain} expects {expect}.',
    'Fog came down at {time} and lifted again by {time}.',
    'By {time} the swell had {swell}, and the ship {motion}.',
  ],
  shifted: ['backed', 'veered', 'came round', 'settled'],
  direction: ['north', 'north-east', 'east', 'south-east', 'south', 'south-west', 'west', 'north-west'],
  strength: ['freshened', 'eased a little', 'blew hard for an hour', 'fell light', 'held steady'],
  force: ['a light air', 'a gentle breeze', 'a fresh breeze', 'a strong breeze', 'near a gale', 'calm'],
  sea: ['slight', 'moderate', 'rough', 'smooth as a pond', 'confused and steep'],
  sky: ['grey', 'clear', 'hazy', 'low and heavy', 'bright', 'mackerel'],
  span: ['day', 'morning', 'afternoon', 'watch', 'night'],
  rain: ['squalls of rain', 'a fine drizzle', 'no rain at all', 'a shower now and then', 'hail for a few minutes'],
  glass: ['has fallen', 'has risen', 'has not moved', 'is falling fast'],
  expect: ['a blow before night', 'fair weather', 'more of the same', 'a change of wind'],
  swell: ['grown long and high', 'gone down', 'turned to the west', 'come up from the south'],
  motion: ['rolled heavily', 'rode easily', 'pitched into it', 'made good way', 'lay almost still'],
  time: ['dawn', 'two bells', 'four bells', 'six bells', 'eight bells', 'noon', 'dusk', 'midnight', 'the change of watch'],
  sails: [
    'We {sailverb} the {sail} and {sailverb2} the {sail}.',
    '{Person} and {person} {sailverb} the {sail} in {spirit}.',
    'All hands were called at {time} to {sailtask}.',
    'The {sail} {sailfault} and was {sailfix}.',
  ],
  sailverb: ['set', 'took in', 'reefed', 'shook out the reef in', 'furled', 'trimmed'],
  sailverb2: ['sheeted home', 'hauled taut', 'eased', 'lowered', 'set'],
  sail: ['mainsail', 'foresail', 'jib', 'staysail', 'topsail', 'mizzen', 'flying jib'],
  spirit: ['good order', 'a hurry', 'the dark', 'high spirits', 'silence', 'the rain'],
  sailtask: ['shorten sail', 'tack ship', 'wear ship', 'heave to', 'make sail', 'clear the deck'],
  sailfault: ['split along a seam', 'chafed through at the clew', 'came loose from its gaskets', 'flogged for a while'],
  sailfix: ['sent down for mending', 'patched by {person}', 'bent on again by noon', 'lashed until the weather eases'],
  crew: [
    '{Person} {task}.',
    '{Person} {task}, and {person} {task}.',
    '{Person} has {ailment}; {captain} {remedy}.',
    '{Person} and {person} {quarrel}.',
    '{Person} {mood} today.',
  ],
  task: [
    'scrubbed the deck', 'mended the nets', 'tarred the rigging', 'took the wheel', 'pumped the well dry',
    'coiled the lines', 'stood lookout in the crosstrees', 'polished the bell', 'checked the water casks',
    'spliced a new eye in the {rope}', 'greased the blocks', 'painted the {part}', 'taught the boy to tie {knot}',
  ],
  rope: ['halyard', 'sheet', 'mooring line', 'bowline', 'lanyard'],
  part: ['rail', 'hatch covers', 'name boards', 'water barrel', 'galley door'],
  knot: ['a bowline', 'a clove hitch', 'a reef knot', 'a sheet bend', 'a rolling hitch'],
  ailment: ['a cough', 'a sore hand', 'a fever', 'a cut on the arm', 'the sea sickness again'],
  remedy: ['ordered rest', 'sent the patient below', 'gave ginger tea', 'bound it up', 'says it will pass'],
  quarrel: ['argued about the last of the coffee', 'laughed at the same joke all watch', 'sang at the capstan', 'played cards until dark', 'did not speak all day'],
  mood: ['is cheerful', 'is tired', 'is quiet', 'whistles at work', 'talks of home', 'is restless'],
  sighting: [
    'Sighted {count} {creature} off the {side} bow.',
    'A {vessel} passed to {side}, {distance}, and {signal}.',
    '{Person} saw {light} at {time}.',
    'Land in sight to the {direction}: {land}.',
  ],
  count: ['two', 'three', 'a dozen', 'a pair of', 'many', 'a single'],
  creature: ['dolphins', 'whales', 'gulls', 'flying fish', 'porpoises', 'albatrosses', 'turtles'],
  side: ['port', 'starboard'],
  vessel: ['schooner', 'brig', 'fishing boat', 'steamer', 'whaler', 'barque'],
  distance: ['a mile off', 'close enough to hail', 'far out on the horizon', 'two miles off'],
  signal: ['dipped her flag', 'made no signal', 'signalled all well', 'asked our longitude'],
  light: ['a light to the {direction}', 'lightning far off', 'the green flash at sunset', 'fire on the masthead'],
  land: ['low hills', 'a white cliff', 'a line of palms', 'a lighthouse on a rock', 'blue mountains'],
  meal: [
    'The cook served {food} with {food}; {reaction}.',
    'Dinner was {food}, and {reaction}.',
    'We opened a cask of {food}, {condition}.',
  ],
  food: ['salt beef', 'hard biscuit', 'pea soup', 'fresh fish', 'rice', 'beans', 'onions', 'plum duff', 'coffee', 'tea'],
  reaction: ['nobody complained', 'all hands asked for more', '{person} said it was the best yet', 'the boy would not eat', 'it was cold by the time it came'],
  condition: ['still good', 'half spoiled', 'better than expected', 'full of weevils'],
  position: [
    'Noon position {lat} N, {lon} W; {run} miles run since yesterday.',
    'Made {run} miles this day, course {direction} by {side}.',
    'Sounded at {time}: {fathoms} fathoms, {bottom} bottom.',
  ],
  run: ['{digit}{digit}', '1{digit}{digit}', '{digit}{digit}'],
  lat: ['{digit}{digit} {digit}{digit}'],
  lon: ['{digit}{digit} {digit}{digit}'],
  fathoms: ['{digit}', '1{digit}', '{digit}{digit}'],
  bottom: ['sand', 'shell', 'mud', 'rock', 'no'],
  digit: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  saying: [
    '{Person} says that {belief}.',
    '{Captain} reminded us that {belief}.',
  ],
  belief: [
    'a red sky at night is a sailor\'s delight', 'whistling raises the wind', 'the albatross brings luck',
    'the sea gives back what it takes', 'a clean ship is a happy ship', 'the glass never lies',
  ],
  repair: [
    'The {thing} leaked again; {person} caulked it with oakum.',
    'Found the {thing} {damage}, and {fix}.',
  ],
  thing: ['pump', 'forward hatch', 'water cask', 'rudder chain', 'galley stove', 'longboat'],
  damage: ['cracked', 'loose', 'rusted through', 'out of true'],
  fix: ['made it good', 'will see to it in port', 'lashed it for now', 'the carpenter is on it'],
  night: [
    'The night was {nightsky}, and the watch {nightwatch}.',
    'Stars bright at {time}; {person} took a sight of {star}.',
  ],
  nightsky: ['clear and cold', 'black as pitch', 'full of stars', 'warm and still', 'moonlit'],
  nightwatch: ['passed quietly', 'kept awake with songs', 'saw nothing', 'was relieved on time'],
  star: ['Polaris', 'Sirius', 'Vega', 'Arcturus', 'the moon'],
  Person: ['Marta', 'Jonas', 'Ilse', 'Tomas', 'Ade', 'Bea', 'The captain', 'The mate', 'The cook', 'The boy', 'Old Piet'],
  person: ['Marta', 'Jonas', 'Ilse', 'Tomas', 'Ade', 'Bea', 'the captain', 'the mate', 'the cook', 'the boy', 'old Piet'],
  captain: ['the captain', 'the mate'],
  Captain: ['The captain', 'The mate'],
};

const LOG_LENGTH = 300_000;
const WRAP = 72;

function compileGrammar(grammar) {
  const compiled = {};
  for (const [symbol, alternatives] of Object.entries(grammar)) {
    const items = [];
    const weights = [];
    for (const alternative of alternatives) {
      const m = /^(\d+)\|(.*)$/s.exec(alternative);
      items.push(m ? m[2] : alternative);
      weights.push(m ? Number(m[1]) : 1);
    }
    compiled[symbol] = { items, weights, total: weights.reduce((s, w) => s + w, 0) };
  }
  return compiled;
}

function logCorpus() {
  const rules = compileGrammar(GRAMMAR);
  const rnd = makeRandom(1888);
  const expand = (symbol, depth) => {
    const rule = rules[symbol];
    if (!rule) throw new Error(`grammar: no rule for {${symbol}}`);
    if (depth > 20) throw new Error(`grammar: {${symbol}} recurses too deep`);
    const template = rule.items[rnd.weighted(rule.weights, rule.total)];
    return template.replace(/\{(\w+)\}/g, (_, name) => expand(name, depth + 1));
  };
  const entries = [];
  let length = 0;
  let day = 1;
  while (length < LOG_LENGTH) {
    rules.day = { items: [String(day)], weights: [1], total: 1 };
    const [head, body] = expand('entry', 0).split('\n');
    const entry = `${head}\n${wrap(body, WRAP)}\n\n`;
    entries.push(entry);
    length += entry.length;
    if (rnd.int(3) > 0) day++;
  }
  return { text: entries.join(''), entries: entries.length, days: day };
}

/** Greedy word wrap at `width` columns. */
function wrap(text, width) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------
// Statistics and the README.

function vocabulary(text) {
  return [...new Set(text)].sort((a, b) => a.codePointAt(0) - b.codePointAt(0));
}

function stats(name, text) {
  return {
    file: name,
    bytes: Buffer.byteLength(text, 'utf8'),
    chars: [...text].length,
    vocab: vocabulary(text).length,
    lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0),
  };
}

/** 1234567 → "1,234,567", without depending on the ICU data Node was built with. */
function thousands(n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function readme(all) {
  const { markov, arith, log } = all;
  const row = (s) => `| \`${s.file}\` | ${thousands(s.bytes)} | ${s.vocab} | ${thousands(s.lines)} |`;
  const bits = markov.entropy / Math.LN2;
  return `# Corpora

Small corpora that \`rnn\` ships. All three are generated by \`generate.mjs\` from a seeded
generator of its own, so they are the project's own text (free to redistribute) and the
same bytes on every machine. This README is written by the same script.

| file | bytes | vocabulary (code points) | lines |
|---|---:|---:|---:|
${row(markov.stats)}
${row(arith.stats)}
${row(log.stats)}

Total: ${thousands((markov.stats.bytes + arith.stats.bytes + log.stats.bytes))} bytes.

## markov.txt: a source whose best loss is known

${thousands(markov.stats.chars)} characters from an order-2 Markov chain over ${markov.stats.vocab} symbols
(the letters \`${MARKOV_SYMBOLS.slice(0, 16).join('')}\`, space, comma, period and newline): the next
symbol depends only on the two before it, with fixed probabilities (integer weights out
of ${MARKOV_TOTAL}; every symbol has weight at least 1 after every pair, so the chain is ergodic).

- Entropy rate of the source: **${markov.entropy.toFixed(6)} nats/char** (${bits.toFixed(6)} bits/char),
  computed exactly from the transition table and its stationary distribution. No model
  can have a lower expected loss on text from this source; a model that learns the
  two-character context reaches it.
- Loss of the true source on this particular file: ${markov.sampleLoss.toFixed(6)} nats/char
  (differs from the entropy rate only by sampling noise).
- Less context, more loss: a model that ignores context (symbol frequencies only) reaches
  at best ${markov.unigram.toFixed(6)} nats/char, one that sees only the previous symbol ${markov.bigram.toFixed(6)}.
  A trained model's validation loss between these numbers shows how much context it uses;
  its gap to ${markov.entropy.toFixed(3)} is what it has left to learn.

## arith.txt: answers determined by the prompt

${thousands(arith.lines)} lines: about 60% sums \`x+y=z\` of two numbers 0..99
(${thousands(arith.sums)} lines) and 40% products \`x*y=z\` of two numbers 0..12
(${thousands((arith.lines - arith.sums))} lines), one per line, uniformly drawn. Everything after \`=\`
is determined by the prompt, so a good model gets it right: prime with \`--prime "37+58="\`
and sample at \`--temp 0\`.

## log.txt: text that is pleasant to sample

A ship's log of ${thousands(log.entries)} entries over ${thousands(log.days)} days, generated by a small probabilistic
grammar of English-like sentences (weather, sails, crew, sightings, meals, positions),
wrapped at ${WRAP} columns, entries separated by a blank line.

## Regenerate or check

\`\`\`
node corpora/generate.mjs           # rewrite the three files and this README
node corpora/generate.mjs --check   # compare with the files on disk byte for byte (exit 1 if any differs)
node corpora/generate.mjs --json    # statistics as JSON
\`\`\`

The test suite runs the \`--check\` mode, so editing the generator without regenerating
the files (or the other way round) fails the tests.
`;
}

function generateAll() {
  const m = markovCorpus();
  const a = arithCorpus();
  const l = logCorpus();
  const all = {
    markov: { ...m, stats: stats('markov.txt', m.text) },
    arith: { ...a, stats: stats('arith.txt', a.text) },
    log: { ...l, stats: stats('log.txt', l.text) },
  };
  const files = {
    'markov.txt': m.text,
    'arith.txt': a.text,
    'log.txt': l.text,
  };
  const pairs = pairFiles(makeRandom, a.text);
  const pairBytes = Object.values(pairs.files).reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);
  Object.assign(files, pairs.files);
  const classes = classFiles(makeRandom);
  Object.assign(files, classes.files);
  const tagged = taggedFiles(makeRandom);
  Object.assign(files, tagged.files);
  files['README.md'] = readme(all).replace('## Regenerate or check',
    `${pairsReadme(pairs.summary, thousands(pairBytes))}\n${classesReadme(classes.summary)}\n${taggedReadme(tagged.summary, thousands)}\n## Regenerate or check`);
  const summary = {
    markov: {
      ...all.markov.stats,
      entropyNats: m.entropy,
      entropyBits: m.entropy / Math.LN2,
      unigramNats: m.unigram,
      bigramNats: m.bigram,
      sampleLossNats: m.sampleLoss,
    },
    arith: { ...all.arith.stats },
    log: { ...all.log.stats },
    tagged: { ...stats('tagged/train.tsv', tagged.files['tagged/train.tsv']), ...tagged.summary },
    'tagged-test': stats('tagged/test.tsv', tagged.files['tagged/test.tsv']),
  };
  for (const [name, text] of Object.entries(pairs.files)) {
    summary[name.replace(/^pairs\/|\.tsv$/g, '')] = stats(name, text);
  }
  // the classifier's sets, keyed by their path; markov-test carries the Bayes figures
  for (const [name, text] of Object.entries(classes.files)) summary[name.replace(/\.tsv$/, '')] = stats(name, text);
  Object.assign(summary['classes/markov-test'], { bayes: classes.summary.markov.bayes, bayesOnTest: classes.summary.markov.bayesOnTest });
  return { files, summary };
}

function main(argv) {
  const check = argv.includes('--check');
  const json = argv.includes('--json');
  const unknown = argv.filter((a) => a !== '--check' && a !== '--json');
  if (unknown.length > 0) {
    process.stderr.write(`generate.mjs: unknown argument ${unknown[0]}; use --check and/or --json\n`);
    process.exitCode = 2;
    return;
  }
  const { files, summary } = generateAll();
  let differ = 0;
  for (const [name, text] of Object.entries(files)) {
    const path = join(HERE, name);
    if (check) {
      let current = null;
      try {
        current = readFileSync(path);
      } catch {
        // reported below as missing
      }
      const expected = Buffer.from(text, 'utf8');
      if (current === null) {
        process.stderr.write(`corpora/${name}: missing; run node corpora/generate.mjs\n`);
        differ++;
      } else if (!current.equals(expected)) {
        process.stderr.write(`corpora/${name}: differs from what the generator makes; run node corpora/generate.mjs\n`);
        differ++;
      }
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const m = summary.markov;
    process.stdout.write(
      [
        `markov.txt  ${m.bytes} bytes, vocabulary ${m.vocab}, entropy rate ${m.entropyNats.toFixed(6)} nats/char (${m.entropyBits.toFixed(6)} bits/char), true-model loss on the file ${m.sampleLossNats.toFixed(6)}; order 0 ${m.unigramNats.toFixed(6)}, order 1 ${m.bigramNats.toFixed(6)}`,
        `arith.txt   ${summary.arith.bytes} bytes, vocabulary ${summary.arith.vocab}, ${summary.arith.lines} lines`,
        `log.txt     ${summary.log.bytes} bytes, vocabulary ${summary.log.vocab}, ${summary.log.lines} lines`,
        `pairs/      ${Object.keys(summary).filter((k) => k.includes('-') && !k.startsWith('classes/') && !k.startsWith('tagged')).length} files of source<TAB>target pairs`,
        `classes/    labelled lines; markov: Bayes-optimal accuracy ${(100 * summary['classes/markov-test'].bayes).toFixed(2)}%, the Bayes classifier on the test file ${(100 * summary['classes/markov-test'].bayesOnTest).toFixed(2)}%`,
        `tagged/     ${summary.tagged.tags.length} tags; conditional entropy ${summary.tagged.conditionalTrain.toFixed(6)} nats/char (test ${summary.tagged.conditionalTest.toFixed(6)}), untagged Bayes loss on test ${summary.tagged.untaggedBayesTest.toFixed(6)}`,
        check ? (differ === 0 ? 'check: all files match' : `check: ${differ} file(s) differ`) : 'wrote corpora/*.txt and corpora/README.md',
      ].join('\n') + '\n',
    );
  }
  if (differ > 0) process.exitCode = 1;
}

main(process.argv.slice(2));
