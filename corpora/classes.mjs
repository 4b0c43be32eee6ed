// Labelled lines for the classifier (`rnn train classes/markov-train.tsv --task classify`),
// with known best accuracies. generate.mjs registers these files (and --check).
//
//   markov   K = 4 classes, each an order-1 Markov source over 6 letters (its own start
//            distribution and transition table, integer weights); a line is 3–8 letters
//            (length uniform, the same for every class, so it says nothing about the
//            class) drawn from its class's source. The Bayes-optimal accuracy, the best any
//            classifier can have in expectation, is computed exactly here by enumerating
//            every possible line: Σ_L P(L) Σ_x max_k P(k) P_k(x | L).
//   first    K = 4 classes; the label is decided by the first letter of the line (a/b →
//            north, c → east …), followed by 30–49 letters of uniform noise. Bayes accuracy
//            1. A unidirectional RNN that pools its last state must carry the first letter
//            across the whole line; the backward direction of a bidirectional one reads it
//            last. The task the bidirectional encoder exists for.
//
// `classTask(name, rnd, n)` makes lines in memory for tests; `markovBayes()` the exact figure.

const LETTERS = 'abcdef';
const MARKOV_CLASSES = ['amber', 'blue', 'coral', 'dun'];
const MIN_LEN = 3;
const MAX_LEN = 8;

/** The four sources: start weights [6] and transition weights [6][6], integers, from a seeded draw. */
function markovSources(makeRandom) {
  const rnd = makeRandom(31);
  const V = LETTERS.length;
  return MARKOV_CLASSES.map(() => {
    // every letter keeps a floor of 2; two favoured successors per letter share the rest
    const start = Array.from({ length: V }, () => 2 + rnd.int(8));
    const trans = Array.from({ length: V }, () => {
      const w = new Array(V).fill(2);
      w[rnd.int(V)] += 10 + rnd.int(10);
      w[rnd.int(V)] += 4 + rnd.int(8);
      return w;
    });
    return { start, trans };
  });
}

const sum = (w) => w.reduce((a, b) => a + b, 0);

function drawLine(src, rnd, len) {
  let prev = rnd.weighted(src.start, sum(src.start));
  let s = LETTERS[prev];
  for (let i = 1; i < len; i++) {
    prev = rnd.weighted(src.trans[prev], sum(src.trans[prev]));
    s += LETTERS[prev];
  }
  return s;
}

/**
 * The exact Bayes-optimal accuracy of the markov task (uniform class prior), and the
 * Bayes classifier's decision for a line (for the accuracy it reaches on a file).
 */
export function markovBayes(makeRandom) {
  const sources = markovSources(makeRandom);
  const V = LETTERS.length;
  const K = sources.length;
  const start = sources.map((s) => s.start.map((w) => w / sum(s.start)));
  const trans = sources.map((s) => s.trans.map((row) => row.map((w) => w / sum(row))));
  let accuracy = 0;
  const lengths = MAX_LEN - MIN_LEN + 1;
  // depth-first over every line: p[k] = P_k(prefix)
  const walk = (depth, len, last, p) => {
    if (depth === len) {
      let best = 0;
      for (let k = 0; k < K; k++) if (p[k] > best) best = p[k];
      accuracy += best / K / lengths;
      return;
    }
    for (let c = 0; c < V; c++) {
      const q = new Float64Array(K);
      for (let k = 0; k < K; k++) q[k] = p[k] * (depth === 0 ? start[k][c] : trans[k][last][c]);
      walk(depth + 1, len, c, q);
    }
  };
  for (let len = MIN_LEN; len <= MAX_LEN; len++) walk(0, len, -1, new Float64Array(K).fill(1));
  const decide = (line) => {
    let best = -1;
    let arg = 0;
    for (let k = 0; k < K; k++) {
      let p = start[k][LETTERS.indexOf(line[0])];
      for (let i = 1; i < line.length; i++) p *= trans[k][LETTERS.indexOf(line[i - 1])][LETTERS.indexOf(line[i])];
      if (p > best) {
        best = p;
        arg = k;
      }
    }
    return MARKOV_CLASSES[arg];
  };
  return { accuracy, decide };
}

const FIRST_CLASSES = { a: 'north', b: 'north', c: 'east', d: 'south', e: 'west', f: 'west' };

/** `n` labelled lines [label, text] of a task, classes in turn (balanced). */
export function classTask(task, makeRandom, seed, n) {
  const rnd = makeRandom(seed);
  const out = [];
  if (task === 'markov') {
    const sources = markovSources(makeRandom);
    for (let i = 0; i < n; i++) {
      const k = i % sources.length;
      out.push([MARKOV_CLASSES[k], drawLine(sources[k], rnd, MIN_LEN + rnd.int(MAX_LEN - MIN_LEN + 1))]);
    }
  } else if (task === 'first') {
    const byClass = { north: 'ab', east: 'c', south: 'd', west: 'ef' };
    const names = Object.keys(byClass);
    for (let i = 0; i < n; i++) {
      const label = names[i % names.length];
      let s = byClass[label][rnd.int(byClass[label].length)];
      const len = 30 + rnd.int(20);
      for (let j = 0; j < len; j++) s += LETTERS[rnd.int(LETTERS.length)];
      if (FIRST_CLASSES[s[0]] !== label) throw new Error('first: label table out of step');
      out.push([label, s]);
    }
  } else {
    throw new Error(`unknown class task ${task}`);
  }
  return out;
}

const SIZES = { markov: [4000, 1000], first: [2000, 400] };
const SEEDS = { markov: [32, 33], first: [34, 35] };

/** The files under corpora/classes/ and their statistics. */
export function classFiles(makeRandom) {
  const files = {};
  const tsv = (rows) => rows.map(([l, t]) => `${l}\t${t}\n`).join('');
  const bayes = markovBayes(makeRandom);
  const summary = {};
  for (const task of Object.keys(SIZES)) {
    const [train, test] = SIZES[task];
    const trainRows = classTask(task, makeRandom, SEEDS[task][0], train);
    const testRows = classTask(task, makeRandom, SEEDS[task][1], test);
    files[`classes/${task}-train.tsv`] = tsv(trainRows);
    files[`classes/${task}-test.tsv`] = tsv(testRows);
    summary[task] = { train, test };
    if (task === 'markov') {
      summary.markov.bayes = bayes.accuracy;
      summary.markov.bayesOnTest = testRows.filter(([l, t]) => bayes.decide(t) === l).length / testRows.length;
    }
  }
  return { files, summary };
}

/** The README section about these files. */
export function classesReadme(summary) {
  const m = summary.markov;
  return `## classes/: labelled lines with a known best accuracy

\`label<TAB>text\` lines for the classifier (\`rnn train classes/markov-train.tsv --task classify\`).

| files | lines (train / test) | task |
|---|---:|---|
| \`classes/markov-{train,test}.tsv\` | ${m.train} / ${m.test} | 4 classes (\`amber\`, \`blue\`, \`coral\`, \`dun\`), each an order-1 Markov source over the letters a–f; 3–8 letters a line |
| \`classes/first-{train,test}.tsv\` | ${summary.first.train} / ${summary.first.test} | 4 classes decided by the first letter (a, b → \`north\`, c → \`east\`, d → \`south\`, e, f → \`west\`), then 30–49 letters of noise |

- markov: the **Bayes-optimal accuracy is ${(100 * m.bayes).toFixed(2)}%** (computed exactly over every
  possible line): no classifier can do better in expectation, since the sources overlap. The
  Bayes classifier (which knows the sources) gets ${(100 * m.bayesOnTest).toFixed(2)}% of the test file right;
  the majority baseline is 25%.
- first: the Bayes accuracy is 100%, but the deciding letter is the first of 31–50. A
  unidirectional model that pools its last state has to carry it across the line; a
  bidirectional one (\`--bidirectional\`) has it in its backward direction's final state.
`;
}
