// Source → target pairs with known answers, for the encoder-decoder (`rnn train x.tsv --task
// seq2seq`). Each task writes `source<TAB>target` lines into corpora/pairs/<task>-train.tsv
// and <task>-test.tsv; no source of a test file occurs in its train file, so the test pairs
// measure generalisation, not recall. generate.mjs registers these files (and --check).
//
//   reverse   a string over a–j, 3–10 letters       → the same string backwards
//   dates     an ISO date 1900-01-01 … 2099-12-31    → "5 March 2024" (day without a leading 0)
//   numbers   an integer 0 … 9999                    → its English words, "three hundred forty-two"
//   arith     a prompt of corpora/arith.txt, "37+58" → its answer, "95"
//
// The functions take a `makeRandom(seed)` from generate.mjs so every file is the same bytes
// on every machine. `pairTask(name, rnd, n)` is also what the tests use to make data in memory.

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
  'October', 'November', 'December'];
const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven',
  'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** English words of 0 ≤ n ≤ 999,999 in the American style: no "and", hyphenated tens. */
export function numberWords(n) {
  if (!Number.isInteger(n) || n < 0 || n > 999_999) throw new RangeError(`numberWords: ${n}`);
  if (n < 20) return ONES[n];
  if (n < 100) return TENS[Math.floor(n / 10)] + (n % 10 ? `-${ONES[n % 10]}` : '');
  if (n < 1000) return `${ONES[Math.floor(n / 100)]} hundred` + (n % 100 ? ` ${numberWords(n % 100)}` : '');
  return `${numberWords(Math.floor(n / 1000))} thousand` + (n % 1000 ? ` ${numberWords(n % 1000)}` : '');
}

function daysIn(year, month) {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** "2024-03-05" → "5 March 2024" */
export function dateWords(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) throw new RangeError(`dateWords: ${iso}`);
  return `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
}

const pad2 = (n) => String(n).padStart(2, '0');

/** One random pair of a task: [source, target]. */
function draw(task, rnd, arithPrompts) {
  switch (task) {
    case 'reverse': {
      const n = 3 + rnd.int(8);
      let s = '';
      for (let i = 0; i < n; i++) s += 'abcdefghij'[rnd.int(10)];
      return [s, [...s].reverse().join('')];
    }
    case 'dates': {
      const year = 1900 + rnd.int(200);
      const month = 1 + rnd.int(12);
      const day = 1 + rnd.int(daysIn(year, month));
      const iso = `${year}-${pad2(month)}-${pad2(day)}`;
      return [iso, dateWords(iso)];
    }
    case 'numbers': {
      // as many short numbers as long ones: a digit count 1–4 first, then the number
      const digits = 1 + rnd.int(4);
      const n = digits === 1 ? rnd.int(10) : 10 ** (digits - 1) + rnd.int(9 * 10 ** (digits - 1));
      return [String(n), numberWords(n)];
    }
    case 'arith': {
      const prompt = arithPrompts[rnd.int(arithPrompts.length)];
      const [, a, op, b] = /^(\d+)([+*])(\d+)$/.exec(prompt);
      return [prompt, String(op === '+' ? Number(a) + Number(b) : Number(a) * Number(b))];
    }
    default:
      throw new Error(`unknown pair task ${task}`);
  }
}

export const PAIR_TASKS = ['reverse', 'dates', 'numbers', 'arith'];

/**
 * `n` pairs with distinct sources (fewer if the task has fewer), in the order drawn.
 * arithText: the text of arith.txt, whose prompts the arith task draws from.
 */
export function pairTask(task, rnd, n, arithText = '') {
  const prompts = task === 'arith' ? [...new Set(arithText.trimEnd().split('\n').map((l) => l.split('=')[0]))] : [];
  const seen = new Set();
  const pairs = [];
  for (let tries = 0; pairs.length < n && tries < 50 * n; tries++) {
    const [src, tgt] = draw(task, rnd, prompts);
    if (seen.has(src)) continue;
    seen.add(src);
    pairs.push([src, tgt]);
  }
  return pairs;
}

const SIZES = { reverse: [2000, 300], dates: [1500, 300], numbers: [1500, 300], arith: [2000, 300] };
const SEEDS = { reverse: 11, dates: 12, numbers: 13, arith: 14 };

/** The files under corpora/ (name → text) and their statistics for README.md. */
export function pairFiles(makeRandom, arithText) {
  const files = {};
  const summary = {};
  for (const task of PAIR_TASKS) {
    const [train, test] = SIZES[task];
    const pairs = pairTask(task, makeRandom(SEEDS[task]), train + test, arithText);
    const tsv = (ps) => ps.map(([s, t]) => `${s}\t${t}\n`).join('');
    files[`pairs/${task}-train.tsv`] = tsv(pairs.slice(0, train));
    files[`pairs/${task}-test.tsv`] = tsv(pairs.slice(train));
    summary[task] = { train: Math.min(train, pairs.length), test: Math.max(0, pairs.length - train) };
  }
  return { files, summary };
}

/** The README section about these files. */
export function pairsReadme(summary, bytes) {
  const row = (t, what) => `| \`pairs/${t}-{train,test}.tsv\` | ${summary[t].train} / ${summary[t].test} | ${what} |`;
  return `## pairs/: source → target tasks with known answers

\`source<TAB>target\` lines for the encoder-decoder (\`rnn train pairs/reverse-train.tsv --task seq2seq\`);
no source of a test file is in its train file. ${bytes} bytes in all.

| files | pairs (train / test) | task |
|---|---:|---|
${row('reverse', 'a string over a–j (3–10 letters) → the same string backwards (`bcdj` → `jdcb`)')}
${row('dates', 'an ISO date 1900–2099 → day, month name, year (`2024-03-05` → `5 March 2024`)')}
${row('numbers', 'an integer 0–9999, as many of each digit count → English words (`342` → `three hundred forty-two`)')}
${row('arith', 'a prompt of `arith.txt` → its answer (`37+58` → `95`)')}
`;
}
