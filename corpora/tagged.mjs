// A tagged corpus with a known best loss, for the conditioned language model (`rnn train
// x.tsv --condition`): K tags, each written by its own order-1 Markov source over the same
// 12 symbols (aeiou lnrst, space, newline). A line is a document; tagged/train.tsv and
// tagged/test.tsv hold `tag<TAB>line` lines, the tags shuffled together. Read per tag in
// file order, a tag's lines are one continuous run of its chain (the newline is a symbol of
// the chain, so the run goes on across lines); since every line starts after a newline,
// each character has the same probability under its source whatever order the lines come in.
//
// The figures the tests and the README use, computed exactly from the tables:
//   H_k           the entropy rate of source k, Σ_a π_k(a) H(P_k(· | a)) (π_k stationary)
//   conditional   Σ_k share_k H_k: the best expected loss of a model told the tag
//   untagged      on the test file, the loss of the Bayes predictor that is not told the tag
//                 and infers it from the line so far: a posterior over the K sources that
//                 starts each line at the tags' shares of the lines (the lines of a shuffled
//                 stream say nothing about the next line's tag); what `--tag none` could
//                 reach at best
//
// tagged/sources.json holds the sources' tables and these figures, so a test can score text
// with the sources themselves. `taggedFiles(makeRandom)` gives the files and their summary;
// generate.mjs writes and checks them.

export const TAGGED_SYMBOLS = [...'aeioulnrst', ' ', '\n'];
export const TAGGED_TAGS = ['amber', 'cobalt', 'jade'];
const TOTAL = 1000;
const TRAIN_CHARS = 12_000;
const TEST_CHARS = 3_000;

/**
 * The K sources: weights[a][c] of symbol c after symbol a, integers summing to 1000 per
 * row. After a newline a letter follows (no empty or blank-led lines); every other symbol
 * has weight ≥ 1 everywhere else, so each chain is ergodic. Each source favours its own
 * four successors per symbol.
 */
export function taggedSources(makeRandom) {
  const rnd = makeRandom(20261201);
  const S = TAGGED_SYMBOLS.length;
  const space = S - 2;
  const newline = S - 1;
  return TAGGED_TAGS.map((tag) => {
    const weights = [];
    for (let a = 0; a < S; a++) {
      const w = new Array(S).fill(1);
      if (a === newline || a === space) {
        w[space] = 0;
        w[newline] = 0;
      } else {
        w[newline] = 60; // lines of some 15–20 characters
      }
      const favoured = [];
      while (favoured.length < 4) {
        const c = rnd.int(S - 1); // never the newline
        if ((a === newline || a === space) && c === space) continue;
        if (!favoured.includes(c)) favoured.push(c);
      }
      const raw = favoured.map(() => 1 + rnd.int(12) ** 2);
      const rest = TOTAL - w.reduce((s, x) => s + x, 0);
      const sum = raw.reduce((s, x) => s + x, 0);
      let given = 0;
      favoured.forEach((c, k) => {
        const share = k === favoured.length - 1 ? rest - given : Math.floor((rest * raw[k]) / sum);
        w[c] += share;
        given += share;
      });
      weights.push(w);
    }
    return { tag, weights, entropy: entropyRate(weights) };
  });
}

/** Σ_a π(a) H(P(· | a)) in nats, π the stationary distribution (power iteration). */
function entropyRate(weights) {
  const S = weights.length;
  let pi = new Float64Array(S).fill(1 / S);
  for (let iter = 0; iter < 100_000; iter++) {
    const next = new Float64Array(S);
    for (let a = 0; a < S; a++) for (let c = 0; c < S; c++) next[c] += (pi[a] * weights[a][c]) / TOTAL;
    let change = 0;
    for (let i = 0; i < S; i++) change += Math.abs(next[i] - pi[i]);
    pi = next;
    if (change < 1e-15) break;
  }
  let h = 0;
  for (let a = 0; a < S; a++) {
    for (let c = 0; c < S; c++) {
      const p = weights[a][c] / TOTAL;
      if (p > 0) h -= pi[a] * p * Math.log(p);
    }
  }
  return h;
}

/** n symbols of a source's chain, starting after a newline. */
function run(source, rnd, n) {
  const S = TAGGED_SYMBOLS.length;
  let prev = S - 1;
  let text = '';
  for (let i = 0; i < n || prev !== S - 1; i++) {
    prev = rnd.weighted(source.weights[prev], TOTAL);
    text += TAGGED_SYMBOLS[prev];
  }
  return text; // ends with a newline
}

/** ln p(text | source), text following a newline; −∞ for a symbol the source cannot emit there. */
export function sourceLogLikelihood(source, text, after = '\n') {
  let prev = TAGGED_SYMBOLS.indexOf(after);
  let lp = 0;
  for (const ch of text) {
    const c = TAGGED_SYMBOLS.indexOf(ch);
    if (c < 0 || prev < 0) return -Infinity;
    lp += Math.log(source.weights[prev][c] / TOTAL);
    prev = c;
  }
  return lp;
}

/**
 * Mean loss (nats/char) over the lines of the runs (newlines included) of the Bayes
 * predictor that knows the sources but not the tag: p(x_t | x_<t) = Σ_k p(k | line so far)
 * P_k(x_t | x_{t−1}), the posterior starting every line at the tags' shares of the lines.
 */
function untaggedBayesLoss(sources, runs) {
  const lines = runs.map((text) => text.slice(0, -1).split('\n').map((l) => `${l}\n`));
  const total = lines.reduce((n, l) => n + l.length, 0);
  const prior = lines.map((l) => Math.log(l.length / total));
  let nats = 0;
  let chars = 0;
  for (const line of lines.flat()) {
    const logPost = [...prior];
    let prev = TAGGED_SYMBOLS.length - 1;
    for (const ch of line) {
      const c = TAGGED_SYMBOLS.indexOf(ch);
      const joint = sources.map((s, k) => logPost[k] + Math.log(s.weights[prev][c] / TOTAL));
      const m = Math.max(...joint);
      const lse = m + Math.log(joint.reduce((acc, x) => acc + Math.exp(x - m), 0));
      nats -= lse;
      chars++;
      for (let k = 0; k < sources.length; k++) logPost[k] = joint[k] - lse;
      prev = c;
    }
  }
  return nats / chars;
}

/** `tag<TAB>line` lines of every tag's run, shuffled together (each tag's lines stay in order). */
function interleave(rnd, runs) {
  const queues = runs.map((text, k) => text.slice(0, -1).split('\n').map((line) => `${TAGGED_TAGS[k]}\t${line}\n`));
  const at = queues.map(() => 0);
  let out = '';
  let left = queues.reduce((s, q) => s + q.length, 0);
  while (left > 0) {
    // pick a tag with lines left, in proportion to how many it has left
    let r = rnd.int(left);
    let k = 0;
    while (r >= queues[k].length - at[k]) {
      r -= queues[k].length - at[k];
      k++;
    }
    out += queues[k][at[k]++];
    left--;
  }
  return out;
}

export function taggedFiles(makeRandom) {
  const sources = taggedSources(makeRandom);
  const rnd = makeRandom(20261202);
  const trainRuns = sources.map((s) => run(s, rnd, TRAIN_CHARS));
  const testRuns = sources.map((s) => run(s, rnd, TEST_CHARS));
  const share = (runs) => runs.map((t) => t.length / runs.reduce((n, x) => n + x.length, 0));
  const conditional = (runs) => share(runs).reduce((h, w, k) => h + w * sources[k].entropy, 0);
  const files = {
    'tagged/train.tsv': interleave(rnd, trainRuns),
    'tagged/test.tsv': interleave(rnd, testRuns),
  };
  const summary = {
    tags: TAGGED_TAGS,
    symbols: TAGGED_SYMBOLS.length,
    entropyPerTag: Object.fromEntries(sources.map((s) => [s.tag, s.entropy])),
    conditionalTrain: conditional(trainRuns),
    conditionalTest: conditional(testRuns),
    untaggedBayesTest: untaggedBayesLoss(sources, testRuns),
    trainChars: trainRuns.reduce((n, t) => n + t.length, 0),
    testChars: testRuns.reduce((n, t) => n + t.length, 0),
  };
  files['tagged/sources.json'] = `${JSON.stringify({
    ...summary, alphabet: TAGGED_SYMBOLS.join(''), total: TOTAL,
    sources: Object.fromEntries(sources.map((s) => [s.tag, s.weights])),
  })}\n`;
  return { files, summary };
}

export function taggedReadme(summary, thousands) {
  const per = summary.tags.map((t) => `\`${t}\` ${summary.entropyPerTag[t].toFixed(4)}`).join(', ');
  return `## tagged/: a tagged corpus whose best conditional loss is known

\`tag<TAB>line\` lines for the conditioned language model (\`rnn train corpora/tagged/train.tsv --condition\`):
${summary.tags.length} tags, each written by its own order-1 Markov source over the same ${summary.symbols} symbols
(\`aeioulnrst\`, space, newline); read per tag in file order, a tag's lines are one continuous
run of its source. ${thousands(summary.trainChars)} characters of text in train.tsv, ${thousands(summary.testChars)} in test.tsv.

- Entropy rate of each source (nats/char): ${per}.
- The best loss of a model told the tag (the conditional entropy, weighted by each tag's
  share of the text): **${summary.conditionalTrain.toFixed(4)} nats/char** on train.tsv, ${summary.conditionalTest.toFixed(4)} on test.tsv.
- The best loss without the tag, on test.tsv: ${summary.untaggedBayesTest.toFixed(4)} nats/char (the Bayes predictor
  that infers the source from the text so far); what \`--tag none\` could reach at best.
`;
}
