import { describe, expect, it } from 'vitest';
import {
  CANDIDATE_WIDTHS, CHARS_PER_PARAM, CHARS_PER_PARAM_SMALL_MODEL, DROPOUT_FROM_PARAMS_PER_CHAR, LARGE_MODEL_FROM_PASSES, LONG_BUDGET_PASSES, LARGE_MODEL_PARAMS_PER_CHAR, DROPOUT_FROM_PASSES, DROPOUT_MAX, OVERHEAD_SHARE, PARAMS_PER_CHAR,
  PROBE_MAX_MS, PROBE_MIN_MS, SIZED_BATCH, SIZED_SEQ, charsPerParamFor, dropoutFor, LONG_PLAN_STEPS, LONG_PLAN_WIDE_LR, lrForWidth, parameterCount, probeMsFor, sizeRun, type SizedConfig, type SizingInput,
} from '../../src/train/sizing.js';
import { Model } from '../../src/nn/model.js';
import { createKernels } from '../../src/kernels/index.js';

const V = 65;
const P = (h: number) => parameterCount('lstm', V, 2, h, 64);
const input = (over: Partial<Omit<SizingInput, 'budget'>> & { budget?: Partial<SizingInput['budget']> }): SizingInput => ({
  cell: 'lstm', vocab: V, trainChars: 1_000_000, fixed: {}, ...over,
  budget: { timeMs: 0, steps: 0, epochs: 0, ...over.budget },
});
/** The steps that give exactly `chars` characters at the default batch and window. */
const stepsFor = (chars: number) => Math.ceil(chars / (SIZED_BATCH * SIZED_SEQ));

describe('sizing rule', () => {
  it('counts parameters as the model does', () => {
    const k = createKernels({ backend: 'reference' });
    for (const cell of ['lstm', 'gru', 'rnn'] as const) {
      expect(parameterCount(cell, V, 2, 96, 32)).toBe(new Model(k, { cell, vocab: V, layers: 2, hidden: 96, embed: 32 }).parameterCount);
    }
  });

  it('picks the widest model the budget can train on enough characters per parameter', async () => {
    // a text far larger than the budget: not a long budget for it, so 4 per parameter
    const K = CHARS_PER_PARAM;
    for (const [i, h] of CANDIDATE_WIDTHS.entries()) {
      const next = CANDIDATE_WIDTHS[i + 1];
      // just enough for h, not enough for the next width
      const chars = K * P(h);
      if (next !== undefined && chars >= K * P(next)) continue;
      const s = await sizeRun(input({ trainChars: 1e9, budget: { steps: stepsFor(chars) } }));
      expect(s.config.hidden).toBe(h);
      expect(s.candidates.find((c) => c.hidden === h)!.rejected).toBeNull();
    }
  });

  it('in a budget long for the text a model small for it needs more chars per parameter than one large for it that sees it 3 times', async () => {
    expect(CHARS_PER_PARAM_SMALL_MODEL).toBeGreaterThan(CHARS_PER_PARAM);
    const N = 1e6;
    const small = LARGE_MODEL_PARAMS_PER_CHAR * N * 0.99;
    const large = LARGE_MODEL_PARAMS_PER_CHAR * N;
    const longBudget = 100 * N; // what the narrowest trains on
    expect(charsPerParamFor(small, N, 100 * N, longBudget)).toBe(CHARS_PER_PARAM_SMALL_MODEL);
    expect(charsPerParamFor(large, N, LARGE_MODEL_FROM_PASSES * N, longBudget)).toBe(CHARS_PER_PARAM);
    // large for the text, but it sees it too few times to be limited by it
    expect(charsPerParamFor(large, N, LARGE_MODEL_FROM_PASSES * N * 0.99, longBudget)).toBe(CHARS_PER_PARAM_SMALL_MODEL);
    // a long budget (the narrowest sees the text LONG_BUDGET_PASSES times) is needed too
    expect(charsPerParamFor(small, N, 100 * N, (LONG_BUDGET_PASSES - 1) * N)).toBe(CHARS_PER_PARAM);
    expect(charsPerParamFor(small, N, 100 * N, LONG_BUDGET_PASSES * N)).toBe(CHARS_PER_PARAM_SMALL_MODEL);
    // by steps, on a text every candidate is small for (2×512: 0.46 parameters per char)
    const widest = CANDIDATE_WIDTHS[CANDIDATE_WIDTHS.length - 1];
    const T = P(widest) / 0.46;
    const steps = stepsFor(LONG_BUDGET_PASSES * T * 1.03);
    const chars = steps * SIZED_BATCH * SIZED_SEQ;
    expect(chars).toBeGreaterThan(CHARS_PER_PARAM * P(widest));
    // a budget long for it: the widest with 60 per parameter, and the header says why the next was not chosen
    const long = await sizeRun(input({ trainChars: T, budget: { steps } }));
    const pick = long.candidates.find((c) => c.rejected === null)!;
    expect(pick.hidden).toBeLessThan(widest);
    expect(chars).toBeGreaterThanOrEqual(CHARS_PER_PARAM_SMALL_MODEL * pick.parameters);
    const next = long.candidates[long.candidates.indexOf(pick) + 1];
    expect(chars).toBeLessThan(CHARS_PER_PARAM_SMALL_MODEL * next.parameters);
    expect(long.reasons[0]).toMatch(new RegExp(`not: .* needs .* \\(${CHARS_PER_PARAM_SMALL_MODEL} per parameter at 0\\.\\d+ parameters per char of text and 10\\.\\d passes\\)`));
    // the same budget on a text 15% longer is not long for it: the widest, at 4 per parameter
    expect((await sizeRun(input({ trainChars: T * 1.15, budget: { steps } }))).config.hidden).toBe(widest);
  });

  it('JavaScript at 15 minutes on one core: 2×128, not the 2×256 that lost to the old defaults; tinyshakespeare keeps its models', async () => {
    // the probe's readings in the timed runs (gru-torch, chars/s): one core 2×128 40k, 2×192 22k,
    // 2×256 15k, 2×384 6k; two cores 67k, 33k, 17k, 8.9k (2×384 with dropout)
    const one: Record<number, number> = { 128: 40_000, 192: 22_000, 256: 15_000, 384: 6_000, 512: 3_500 };
    const two: Record<number, number> = { 128: 67_000, 192: 33_000, 256: 17_000, 384: 8_900, 512: 5_000 };
    const sized = (vocab: number, trainChars: number, timeMs: number, speed: Record<number, number>) =>
      sizeRun({ cell: 'gru-torch', vocab, trainChars, fixed: {}, budget: { timeMs, steps: 0, epochs: 0 } }, async (c) => speed[c.hidden]);
    // JavaScript from node_modules: 2.7M chars of training text, 143 symbols. The old rule
    // took 2×256 (12.3M chars, 18 per parameter, 0.25 parameters per char) at 5e-3
    const js = await sized(143, 2_699_957, 900_000, one);
    expect(js.config).toMatchObject({ hidden: 128, dropout: 0, lr: lrForWidth(128) });
    expect(js.reasons[0]).toMatch(new RegExp(`^2×128: .*; 2×192 not: .* \\(${CHARS_PER_PARAM_SMALL_MODEL} per parameter at 0\\.15 parameters per char of text`));
    // at 5 minutes the narrowest sees the text 4 times, not a long budget: 2×256 as before
    expect((await sized(143, 2_699_957, 300_000, one)).config).toMatchObject({ hidden: 256, lr: lrForWidth(256) });
    // fortunes (2.3M chars, 113 symbols) likewise
    expect((await sized(113, 2_318_000, 900_000, one)).config.hidden).toBe(128);
    expect((await sized(113, 2_318_000, 300_000, one)).config.hidden).toBe(256);
    // tinyshakespeare (1.0M chars, 65 symbols): the models that met its targets stay, at their rates
    expect((await sized(65, 1_003_854, 300_000, one)).config).toMatchObject({ hidden: 256, lr: lrForWidth(256) });
    expect((await sized(65, 1_003_854, 900_000, two)).config).toMatchObject({ hidden: 384, dropout: 0.1, lr: lrForWidth(384) });
    expect((await sized(65, 1_003_854, 900_000, one)).config).toMatchObject({ hidden: 256, dropout: 0.15, lr: lrForWidth(256) });
    // markov.txt (180k chars, 20 symbols): 2×128 as before, the wider are too large for it
    expect((await sized(20, 180_000, 300_000, one)).config).toMatchObject({ hidden: 128, dropout: 0.25 });
  });

  it('falls back to the narrowest model when the budget is too small for any', async () => {
    const s = await sizeRun(input({ budget: { steps: 1 } }));
    expect(s.config.hidden).toBe(CANDIDATE_WIDTHS[0]);
  });

  it('does not give a small text far more parameters than characters, however large the budget', async () => {
    const N = 2 * P(CANDIDATE_WIDTHS[1]) / PARAMS_PER_CHAR; // room for the second width, not for larger ones
    const s = await sizeRun(input({ trainChars: N, budget: { steps: 1e7 } }));
    for (const c of s.candidates) if (c.rejected === null) expect(c.parameters).toBeLessThanOrEqual(PARAMS_PER_CHAR * N);
    expect(s.config.hidden).toBeLessThan(CANDIDATE_WIDTHS[CANDIDATE_WIDTHS.length - 1]);
  });

  it('adds dropout only to a model large for its text that passes over the text many times', async () => {
    const big = DROPOUT_FROM_PARAMS_PER_CHAR * 2;
    expect(dropoutFor(1, big)).toBe(0);
    expect(dropoutFor(DROPOUT_FROM_PASSES, big)).toBe(0);
    expect(dropoutFor(DROPOUT_FROM_PASSES * 3, big)).toBeGreaterThan(0);
    expect(dropoutFor(1e6, big)).toBe(DROPOUT_MAX);
    // a model small for its text is limited by capacity: no dropout however long it trains
    expect(dropoutFor(1e6, DROPOUT_FROM_PARAMS_PER_CHAR / 2)).toBe(0);
    let prev = 0;
    for (let p = 1; p < 200; p *= 1.3) {
      expect(dropoutFor(p, big)).toBeGreaterThanOrEqual(prev);
      prev = dropoutFor(p, big);
    }
    // a small text (the narrowest model is large for it), seen 100 times
    const N = P(CANDIDATE_WIDTHS[0]) / big;
    const few = await sizeRun(input({ trainChars: N, budget: { epochs: 1 } }));
    expect(few.config.dropout).toBe(0);
    const many = await sizeRun(input({ trainChars: N, budget: { epochs: 100 } }));
    expect(many.config.dropout).toBeGreaterThan(0);
    expect(many.reasons.join('\n')).toMatch(/dropout 0\.\d+: 100\.0 passes/);
    // a large text, seen 100 times by a model small for it
    const large = await sizeRun(input({ trainChars: 1e9, budget: { epochs: 100 } }));
    expect(large.config.dropout).toBe(0);
  });

  it('dropout rises more slowly past 0.15: a small text seen tens of times gets 0.25, not 0.3', async () => {
    // corpora/markov.txt, 5 minutes on one core: 2×128 gru-torch measured at 37k chars/s,
    // 58 passes over its 180k chars of training text with 0.99 parameters per char
    const markov = (timeMs: number) => sizeRun({ cell: 'gru-torch', vocab: 20, trainChars: 180_000, fixed: {}, budget: { timeMs, steps: 0, epochs: 0 } }, async () => 37_000);
    const five = await markov(300_000);
    expect(five.config).toMatchObject({ hidden: 128, dropout: 0.25 });
    expect(five.reasons.join('\n')).toMatch(/dropout 0\.25: 58\.0 passes over the text with 0\.99 parameters per char/);
    expect((await markov(900_000)).config.dropout).toBe(0.3); // 174 passes
    expect((await markov(60_000)).config.dropout).toBe(0.15); // 11.6 passes
    // up to 0.15 the ramp is the one fitted first: the real texts' sized runs keep their dropout
    expect(dropoutFor(4.6, 0.66)).toBe(0);
    expect(dropoutFor(5.3, 0.66)).toBe(0.05); // tinyshakespeare, 5 minutes, 2 cores: 2×256
    expect(dropoutFor(7.5, 1.43)).toBe(0.1); // tinyshakespeare, 15 minutes, 2 cores: 2×384
    expect(dropoutFor(9.2, 1.43)).toBe(0.1);
    expect(dropoutFor(9.3, 1.43)).toBe(0.15);
    expect(dropoutFor(10.8, 0.66)).toBe(0.15); // tinyshakespeare, 15 minutes, 1 core: 2×256
  });

  it('the learning rate falls with the width, and a given --lr wins', async () => {
    for (let i = 1; i < CANDIDATE_WIDTHS.length; i++) expect(lrForWidth(CANDIDATE_WIDTHS[i])).toBeLessThanOrEqual(lrForWidth(CANDIDATE_WIDTHS[i - 1]));
    const s = await sizeRun(input({ budget: { steps: 100 } }));
    expect(s.config.lr).toBe(lrForWidth(s.config.hidden));
    expect((await sizeRun(input({ budget: { steps: 100 }, fixed: { lr: 1e-3 } }))).config.lr).toBe(1e-3);
  });

  it('a wide model planned for many steps peaks lower: the 2×384s that blew up at 4e-3 train at 3e-3', async () => {
    expect(lrForWidth(384)).toBe(4e-3);
    expect(lrForWidth(384, LONG_PLAN_STEPS)).toBe(4e-3);
    expect(lrForWidth(384, LONG_PLAN_STEPS + 1)).toBe(LONG_PLAN_WIDE_LR);
    expect(lrForWidth(512, 20_000)).toBe(LONG_PLAN_WIDE_LR);
    expect(lrForWidth(256, 20_000)).toBe(lrForWidth(256)); // no blow-up measured at 5e-3
    const sized = (vocab: number, trainChars: number, rate384: number) =>
      sizeRun({ cell: 'gru-torch', vocab, trainChars, fixed: {}, budget: { timeMs: 900_000, steps: 0, epochs: 0 } },
        async (c) => ({ 128: 9, 192: 5, 256: 2.5, 384: 1, 512: 0.6 })[c.hidden]! * rate384);
    // the probes of the timed runs at 15 minutes, 2×384 with dropout (chars/s): tinyshakespeare
    // on two cores of the Zen 3 8.9k (~3,700 steps: 4e-3, reached 1.447), of the Zen 5 24k
    // (~9,900 steps: blew up at 4e-3, 1.438 at 3e-3); JavaScript on one core of the Zen 5 16.5k
    const zen3 = await sized(65, 1_003_854, 8_900);
    expect(zen3.config).toMatchObject({ hidden: 384, lr: 4e-3 });
    expect(zen3.reasons.find((r) => r.startsWith('lr '))).toMatch(/^lr 0\.004 for width 384, cosine/);
    const zen5 = await sized(65, 1_003_854, 24_000);
    expect(zen5.config).toMatchObject({ hidden: 384, lr: 3e-3 });
    expect(zen5.reasons.find((r) => r.startsWith('lr '))).toMatch(/^lr 0\.003 for width 384 over ~10k steps \(more than 4k: a lower peak/);
    expect((await sized(143, 2_699_957, 16_500)).config).toMatchObject({ hidden: 384, lr: 3e-3 });
    // a given --lr still wins
    const given = await sizeRun({ cell: 'gru-torch', vocab: 65, trainChars: 1_003_854, fixed: { lr: 4e-3 }, budget: { timeMs: 900_000, steps: 0, epochs: 0 } },
      async (c) => ({ 128: 9, 192: 5, 256: 2.5, 384: 1, 512: 0.6 })[c.hidden]! * 24_000);
    expect(given.config.lr).toBe(4e-3);
  });

  it('keeps every field the user set', async () => {
    const fixed: Partial<SizedConfig> = { hidden: 77, dropout: 0.45, lr: 1e-3, batch: 8, seq: 16 };
    const s = await sizeRun(input({ budget: { epochs: 100 }, fixed }));
    expect(s.config).toMatchObject(fixed);
    expect(s.reasons[0]).toMatch(/hidden 77 as given/);
  });

  it('with a time budget, measures candidates narrowest first and skips those that cannot qualify', async () => {
    const measured: number[] = [];
    // a machine where chars/s falls in proportion to the parameters, from 100k chars/s at the narrowest
    const measure = async (c: SizedConfig) => {
      measured.push(c.hidden);
      return (100_000 * P(CANDIDATE_WIDTHS[0])) / P(c.hidden);
    };
    const s = await sizeRun(input({ trainChars: 1e9, budget: { timeMs: 600_000 } }), measure);
    expect(measured).toEqual([...measured].sort((a, b) => a - b));
    expect(measured[0]).toBe(CANDIDATE_WIDTHS[0]);
    // the chosen one was measured, and at most one more past it
    const at = measured.indexOf(s.config.hidden);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(measured.length - at).toBeLessThanOrEqual(2);
    const chosen = s.candidates.find((c) => c.rejected === null)!;
    expect(chosen.chars).toBeGreaterThanOrEqual(CHARS_PER_PARAM * chosen.parameters);
    expect(s.reasons[0]).toMatch(/measured/);
    // a faster machine buys a wider model for the same minute
    const fast = await sizeRun(input({ trainChars: 1e9, budget: { timeMs: 600_000 } }), async (c) => 10 * (await measure(c)));
    expect(fast.config.hidden).toBeGreaterThan(s.config.hidden);
  });
});

describe('sizing probe', () => {
  const PD = (h: number) => parameterCount('lstm', V, 2, h, 64);
  const timed = (N: number, timeMs: number): SizingInput => input({ trainChars: N, budget: { timeMs } });
  const charsAt = (rate: number, timeMs: number) => (rate * timeMs * (1 - OVERHEAD_SHARE)) / 1000;

  it('measures longer for longer budgets, within bounds', () => {
    expect(probeMsFor(60_000)).toBe(PROBE_MIN_MS);
    expect(probeMsFor(900_000)).toBeGreaterThan(PROBE_MIN_MS);
    expect(probeMsFor(900_000)).toBeLessThanOrEqual(PROBE_MAX_MS);
    expect(probeMsFor(1e9)).toBe(PROBE_MAX_MS);
  });

  it('measures a candidate with the dropout it will train with, and reports that speed', async () => {
    // a machine where dropout costs 40% of the speed
    const calls: { hidden: number; dropout: number; ms: number }[] = [];
    const speed = (h: number, dropout: number) => ((100_000 * PD(128)) / PD(h)) * (dropout > 0 ? 0.6 : 1);
    const measure = async (c: SizedConfig, ms: number) => {
      calls.push({ hidden: c.hidden, dropout: c.dropout, ms });
      return speed(c.hidden, c.dropout);
    };
    const s = await sizeRun(timed(1e6, 900_000), measure);
    expect(s.config.dropout).toBeGreaterThan(0);
    for (const c of calls) expect(c.ms).toBe(probeMsFor(900_000));
    // the chosen shape was measured with dropout on, and its budget counts that speed
    expect(calls.some((c) => c.hidden === s.config.hidden && c.dropout > 0)).toBe(true);
    const chosen = s.candidates.find((c) => c.rejected === null)!;
    expect(chosen.dropout).toBe(s.config.dropout);
    expect(chosen.charsPerSec).toBeCloseTo(speed(chosen.hidden, s.config.dropout), 6);
    expect(chosen.chars).toBeCloseTo(charsAt(speed(chosen.hidden, s.config.dropout), 900_000), 0);
    expect(s.reasons[0]).toMatch(/chars\/s with dropout/);
  });

  it('does not pick a wider model that only its dropout-free speed could feed', async () => {
    // 2×256 on a text just too small for it to have 4 chars per parameter at dropout's speed,
    // though many passes (so dropout) and enough chars at the speed without it
    const N = PD(256) / 1.3;
    const T = 900_000;
    const onRate = (0.95 * CHARS_PER_PARAM * PD(256) * 1000) / (T * (1 - OVERHEAD_SHARE));
    expect(charsAt(onRate, T) / N).toBeGreaterThan(DROPOUT_FROM_PASSES * 1.15); // dropout stays on at that speed
    expect(PD(384)).toBeGreaterThan(PARAMS_PER_CHAR * N); // 2×384 is out by the data cap
    const speed = (h: number, dropout: number) => (h === 128 ? 300_000 : h === 192 ? 3 * onRate : dropout > 0 ? onRate : 2 * onRate);
    const s = await sizeRun(timed(N, T), async (c) => speed(c.hidden, c.dropout));
    expect(s.config.hidden).toBe(192);
    const rejected = s.candidates.find((c) => c.hidden === 256)!;
    expect(rejected.rejected).toMatch(/needs/);
    expect(rejected.charsPerSec).toBeCloseTo(onRate, 6);
    expect(s.config.dropout).toBeGreaterThan(0);
  });

  it('trains without dropout when dropout would slow the model below the passes that call for it', async () => {
    const N = 1e6;
    const T = 300_000;
    const offRate = (8 * N * 1000) / (T * (1 - OVERHEAD_SHARE)); // 8 passes without dropout
    expect(charsAt(offRate, T)).toBeGreaterThan(CHARS_PER_PARAM * PD(256));
    expect(dropoutFor(8, PD(256) / N)).toBeGreaterThan(0);
    expect(dropoutFor(8 / 3, PD(256) / N)).toBe(0);
    const speed = (h: number, dropout: number) => (h === 256 ? offRate : h < 256 ? 3 * offRate : offRate / 10) / (dropout > 0 ? 3 : 1);
    const s = await sizeRun(timed(N, T), async (c) => speed(c.hidden, c.dropout));
    expect(s.config).toMatchObject({ hidden: 256, dropout: 0 });
    expect(s.candidates.find((c) => c.hidden === 256)!.charsPerSec).toBeCloseTo(offRate, 6);
    expect(s.reasons.join('\n')).toMatch(/no dropout: it would slow the model down/);
  });

  it('a --dropout given is the one measured', async () => {
    const seen = new Set<number>();
    await sizeRun(input({ trainChars: 1e6, budget: { timeMs: 60_000 }, fixed: { dropout: 0.35 } }), async (c) => {
      seen.add(c.dropout);
      return 50_000;
    });
    expect([...seen]).toEqual([0.35]);
  });
});
