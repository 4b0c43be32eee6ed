// Sizing a language model for its budget and its data: which model, batch, window,
// dropout and learning rate a run should use when the user gives a limit (--time,
// --steps or --epochs) and no model flags.
//
// The rule, with C = characters the run can train on, N = characters of training text,
// P = parameters of a candidate (see the README, "How far the defaults get", for the
// experiments the constants come from):
//
//   C(m)      = chars/s of m measured on this machine × the budget     (--time;
//               measured as m will train: with the dropout the rule gives it)
//             = steps × B × T                                          (--steps)
//             = epochs × N                                             (--epochs)
//   model     = the widest candidate m with C(m) ≥ K(m) · P(m) (enough characters per
//               parameter to train it within the budget) and P(m) ≤ PARAMS_PER_CHAR · N
//               (not far more capacity than text); the narrowest candidate when none
//               qualifies
//   K(m)      = CHARS_PER_PARAM for a model large for its text: at least
//               LARGE_MODEL_PARAMS_PER_CHAR parameters per character of it, seen at least
//               LARGE_MODEL_FROM_PASSES times (the text limits it, more of the same text
//               is worth less than fresh text, and dropout keeps it from memorising)
//             = CHARS_PER_PARAM_SMALL_MODEL for any other in a budget long for the
//               text (the narrowest candidate sees it LONG_BUDGET_PASSES times): its size
//               and the characters it trains on limit it, and a narrower, faster model
//               that trains on several times the characters reaches a lower loss
//             = CHARS_PER_PARAM in a shorter budget
//   dropout   = 0 for a model with fewer than DROPOUT_FROM_PARAMS_PER_CHAR parameters
//               per character of text (it is limited by its capacity, and dropout only
//               slows it down) or below DROPOUT_FROM_PASSES passes over the text (C / N);
//               then rising with the passes (a large model that sees the text many times
//               memorises it), up to DROPOUT_MAX
//   lr        = by width (lrForWidth): far above the old default 2e-3, which left short
//               runs far from where they could get; lower for a wide model planned for
//               many steps (LONG_PLAN_STEPS), which blew up at the rate of a short plan;
//               cosine to a tenth over the budget,
//               warm-up SIZED_WARMUP steps or 5% of a time budget
//
// The user's flags win: a field the user set is kept, and the rule fills the rest around
// it (a given --hidden fixes the width; --dropout fixes the dropout).
import type { CellKind } from '../nn/layer.js';
import { paramSpecs } from '../nn/model.js';

/** What the sizing rule decides. */
export interface SizedConfig {
  layers: number;
  hidden: number;
  embed: number;
  batch: number;
  seq: number;
  dropout: number;
  lr: number;
  warmup: number;
}
export type SizingField = keyof SizedConfig;
export const SIZING_FIELDS: readonly SizingField[] = ['layers', 'hidden', 'embed', 'batch', 'seq', 'dropout', 'lr', 'warmup'];

/** The run's limit, as the user gave it (0: not given). */
export interface SizingBudget {
  timeMs: number;
  steps: number;
  epochs: number;
}

export interface SizingInput {
  cell: CellKind;
  vocab: number;
  /** Characters of training text (N). */
  trainChars: number;
  budget: SizingBudget;
  /** Fields the user set; they are kept as given. */
  fixed: Partial<SizedConfig>;
  /** The user gave --ema (then the run averages as they said, not as the rule would). */
  emaGiven?: boolean;
}

/** One candidate the rule looked at. */
export interface CandidateReport {
  layers: number;
  hidden: number;
  parameters: number;
  /** Measured training chars/s (time budgets; null when not measured), at `dropout`. */
  charsPerSec: number | null;
  /** The dropout it would train with (and was measured with). */
  dropout: number;
  /** Characters the run could train this candidate on (C). */
  chars: number;
  /** Why it was not chosen (null for the chosen one). */
  rejected: string | null;
}

export interface Sizing {
  config: SizedConfig;
  /** The half-life of the average of the weights, as a share of the run (TrainConfig.emaHalfLife; 0: none). */
  emaHalfLife: number;
  candidates: CandidateReport[];
  /** One line per decision, for the header and --json. */
  reasons: string[];
}

/**
 * Measures a candidate's training throughput on this machine, as it would train (its
 * dropout included), over about `ms` milliseconds of steps: chars/s.
 */
export type MeasureThroughput = (c: SizedConfig, ms: number) => Promise<number>;

// ---- the constants of the rule (fitted: README "How far the defaults get") ----

/** Widths tried, narrowest first (2 layers, embed 64, LSTM-sized). */
export const CANDIDATE_WIDTHS: readonly number[] = [128, 192, 256, 384, 512];
export const SIZED_LAYERS = 2;
export const SIZED_EMBED = 64;
/**
 * Batch × window of every candidate. At equal time more updates beat larger products: on
 * tinyshakespeare a 2×256 at B 32 (440 steps, 0.9M chars) reached 1.757 where B 64 (256
 * steps, 1.05M chars: 1.2x the chars/s) reached 1.844; on fortunes a 2×128 at B 32 × T 64
 * reached 1.888 in a minute's characters where the old B 50 × T 50 reached 1.946.
 */
export const SIZED_BATCH = 32;
/**
 * The cell of a sized run when --cell is not given: PyTorch's GRU. On tinyshakespeare in a
 * minute's characters on two cores a 2×256 gru-torch (1.26M chars, 1.4x the LSTM's chars/s)
 * reached 1.566 where the best LSTM, 2×128 over 3.2M chars, reached 1.677.
 */
export const SIZED_CELL: CellKind = 'gru-torch';
export const SIZED_CELL_REASON = 'cell gru-torch (PyTorch\'s GRU): at equal time it reached a lower loss than the LSTM (README, How far the defaults get)';
export const SIZED_SEQ = 64;
/**
 * A candidate needs at least this many training characters per parameter in its budget.
 * On tinyshakespeare, in a minute's characters on two cores 2×128 at 13 chars per
 * parameter (1.677) beat 2×256 at 1.0 (1.757), 2×192 at 2.6 (1.781) and 2×384 at 0.3
 * (1.896); in five minutes' 2×256 at 5.3 reached 1.523, 2×192 at 13 was at 1.598 with
 * 30% of its steps left: a wider model pays from somewhere between 2.6 and 5.3.
 */
export const CHARS_PER_PARAM = 4;
/**
 * A model is large for its text from this many parameters per character of it: the text,
 * not the characters trained on, limits it (and dropout pays: DROPOUT_FROM_PARAMS_PER_CHAR).
 */
export const LARGE_MODEL_PARAMS_PER_CHAR = 0.5;
/** ...when it also sees the text at least this many times in its budget. */
export const LARGE_MODEL_FROM_PASSES = 3;
/**
 * A model small for its text (below LARGE_MODEL_PARAMS_PER_CHAR, or seen fewer than
 * LARGE_MODEL_FROM_PASSES times) needs at least this many training characters per
 * parameter in a budget long for the text (LONG_BUDGET_PASSES). On JavaScript (2.7M chars) at 15 minutes on one core, at the rates of the
 * rule then (6e-3 up to width 192, 5e-3 at 256), the 2×128 GRU over 203 chars per
 * parameter (0.07 parameters per char) reached 1.4785 (exact 1.4632), the 2×192 over 50
 * reached 1.630 and the 2×256 over 16 reached 1.4925 (1.4864); on tinyshakespeare in a
 * minute's characters on two cores (LSTMs) 2×128 at 13 beat 2×192 at 2.6. 60 rather than
 * 50 keeps 2×192 out where the probe reads it up to 20% fast.
 */
export const CHARS_PER_PARAM_SMALL_MODEL = 60;
/**
 * ...in a budget long for the text: one in which the narrowest candidate sees the text at
 * least this many times. On JavaScript at 5 minutes on one core (2×128: 5 passes) the
 * 2×256 at 6 chars per parameter reached 1.508 (exact 1.486) where the 2×128 at 70
 * (peak lr 5.28e-3, the rate rule of that round, not 6e-3) reached 1.535 (1.520); at 15
 * minutes (2×128: 15 passes) the 2×128 was the better one.
 */
export const LONG_BUDGET_PASSES = 10;
/** A candidate may have at most this many parameters per character of training text. */
export const PARAMS_PER_CHAR = 1.5;
/** Dropout only for models with at least this many parameters per character of text... */
export const DROPOUT_FROM_PARAMS_PER_CHAR = LARGE_MODEL_PARAMS_PER_CHAR;

/**
 * ...from this many passes over the text, rising with their logarithm: to DROPOUT_KNEE as
 * first fitted (0.3 · ln(passes / 4) / ln(30 / 4): 0.05 from 4.7 passes, 0.1 from 6.6,
 * 0.15 from 9.3), then more slowly, to DROPOUT_MAX at DROPOUT_FULL_PASSES (0.2 from 18
 * passes, 0.25 from 47, 0.3 from 123). A model near one parameter per char of a small text
 * makes tens of passes in minutes, and the first ramp gave it 0.3 from 25 passes: on
 * corpora/markov.txt (2×128 gru-torch, 0.99 parameters per char, about 50 passes in 5
 * minutes on one core), at equal time, 0.25 reached 1.2100 and 1.2093 (two seeds) where
 * 0.3 reached 1.2115 and 1.2121 (README, How far the defaults get).
 */
export const DROPOUT_FROM_PASSES = 4;
export const DROPOUT_PER_LOG_PASSES = 0.3 / Math.log(30 / DROPOUT_FROM_PASSES);
export const DROPOUT_KNEE = 0.15;
export const DROPOUT_FULL_PASSES = 200;
export const DROPOUT_MAX = 0.3;
export const SIZED_WARMUP = 20;
/**
 * A sized run keeps a moving average of its weights with a half-life of this share of its
 * steps (src/train/average.ts), scored beside the trained weights at every evaluation.
 */
export const SIZED_EMA_HALF_LIFE = 0.05;

/**
 * Training characters per parameter a candidate of `params` parameters needs if it trains
 * on `chars` characters of a text of `trainChars`, in a budget where the narrowest
 * candidate trains on `narrowestChars`: CHARS_PER_PARAM if it is large for the text or the
 * budget is not long for the text, CHARS_PER_PARAM_SMALL_MODEL if neither.
 */
export function charsPerParamFor(params: number, trainChars: number, chars: number, narrowestChars = chars): number {
  const large = params >= LARGE_MODEL_PARAMS_PER_CHAR * trainChars && chars >= LARGE_MODEL_FROM_PASSES * trainChars;
  const long = narrowestChars >= LONG_BUDGET_PASSES * trainChars;
  return large || !long ? CHARS_PER_PARAM : CHARS_PER_PARAM_SMALL_MODEL;
}

/**
 * A model wider than 256 planned for more than this many steps peaks at LONG_PLAN_WIDE_LR.
 * 2×384 GRUs at 4e-3 blew up (validation 1.4–1.5 → 1.8–2.4, finite) on every run planned
 * for 6,900–9,900 steps: JavaScript at 15 minutes on one core of a Zen 5 (three seeds, at
 * step ~1,500), tinyshakespeare at 15 minutes on two cores of a Zen 5 (step ~3,860) and of
 * a Xeon (twice, step ~3,700); none of the Zen 3's runs planned for ~3,700 (1.447, 1.450).
 * At 3e-3 tinyshakespeare on the Zen 5 trained its 10,854 steps without one and reached
 * 1.438 where 4e-3 had reached 1.541 (README, How far the defaults get). The plan is the
 * probe's, and the probe can read low: one such run's read 15.2k chars/s (a plan of ~6k
 * steps) and trained at 31k (12,854 steps). A blow-up costs far more than a lower rate on
 * a plan near the line, so the line sits below the blown-up plans with room to spare, just
 * above the Zen 3's ~3,700.
 */
export const LONG_PLAN_STEPS = 4000;
export const LONG_PLAN_WIDE_LR = 3e-3;

/** The peak learning rate (Adam, cosine) for a model of this width, planned for `steps` steps (0: not known). */
export function lrForWidth(hidden: number, steps = 0): number {
  if (hidden <= 192) return 6e-3;
  if (hidden <= 256) return 5e-3;
  return steps > LONG_PLAN_STEPS ? LONG_PLAN_WIDE_LR : 4e-3;
}
/** Share of a time budget assumed lost to validation and checkpoints. */
export const OVERHEAD_SHARE = 0.06;
/**
 * How long one candidate is measured: PROBE_SHARE of the budget, within [PROBE_MIN_MS,
 * PROBE_MAX_MS]. A few steps of a wide model are not its speed over a run: 2×384 gru-torch
 * on two cores, 400 ms at dropout 0 said 12k chars/s where the 15-minute run with dropout
 * 0.15 trained at 6.9k; dropout alone costs it 38% (10.9k vs 6.8k chars/s sustained).
 */
export const PROBE_SHARE = 0.0015;
export const PROBE_MIN_MS = 400;
export const PROBE_MAX_MS = 1500;

/** Milliseconds of steps to measure one candidate for, in a time budget of `timeMs`. */
export function probeMsFor(timeMs: number): number {
  return Math.round(Math.min(PROBE_MAX_MS, Math.max(PROBE_MIN_MS, PROBE_SHARE * timeMs)));
}

/** Parameters of a model of the given shape. */
export function parameterCount(cell: CellKind, vocab: number, layers: number, hidden: number, embed: number): number {
  return paramSpecs({ cell, vocab, layers, hidden, embed }).reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** Dropout for a run that makes `passes` passes over its text with `paramsPerChar` parameters per character of it. */
export function dropoutFor(passes: number, paramsPerChar: number): number {
  if (!(passes > DROPOUT_FROM_PASSES) || !(paramsPerChar >= DROPOUT_FROM_PARAMS_PER_CHAR)) return 0;
  let p = DROPOUT_PER_LOG_PASSES * Math.log(passes / DROPOUT_FROM_PASSES);
  if (p > DROPOUT_KNEE) {
    const knee = DROPOUT_FROM_PASSES * Math.exp(DROPOUT_KNEE / DROPOUT_PER_LOG_PASSES); // passes where the first ramp reaches the knee
    p = Math.min(DROPOUT_MAX, DROPOUT_KNEE + ((DROPOUT_MAX - DROPOUT_KNEE) * Math.log(passes / knee)) / Math.log(DROPOUT_FULL_PASSES / knee));
  }
  return Math.round(p * 20) / 20; // steps of 0.05
}

const k = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : x >= 1e3 ? `${Math.round(x / 1e3)}k` : `${Math.round(x)}`);

/** Characters a budget buys for a candidate (null: a time budget whose rate is unknown). */
function budgetChars(b: SizingBudget, trainChars: number, batch: number, seq: number, charsPerSec: number | null): number | null {
  const limits: number[] = [];
  if (b.steps > 0) limits.push(b.steps * batch * seq);
  if (b.epochs > 0) limits.push(b.epochs * trainChars);
  if (b.timeMs > 0) {
    if (charsPerSec === null) return null;
    limits.push((charsPerSec * b.timeMs * (1 - OVERHEAD_SHARE)) / 1000);
  }
  return limits.length > 0 ? Math.min(...limits) : null;
}

/**
 * Decides the model and its optimisation for a budget. With a time budget, `measure`
 * gives each candidate's throughput (narrowest first; a candidate that cannot qualify
 * even at the rate of the previous one is not measured).
 */
export async function sizeRun(input: SizingInput, measure?: MeasureThroughput): Promise<Sizing> {
  const { cell, vocab, trainChars: N, budget, fixed } = input;
  const batch = fixed.batch ?? SIZED_BATCH;
  const seq = fixed.seq ?? SIZED_SEQ;
  const layers = fixed.layers ?? SIZED_LAYERS;
  const embed = fixed.embed ?? SIZED_EMBED;
  const widths = fixed.hidden !== undefined ? [fixed.hidden] : CANDIDATE_WIDTHS;
  const base = { layers, embed, batch, seq, dropout: fixed.dropout ?? 0, lr: fixed.lr ?? lrForWidth(widths[0]), warmup: fixed.warmup ?? SIZED_WARMUP };

  // why a candidate needs K chars per parameter, for the header
  const needWhy = (K: number, P: number, C: number) => `${K} per parameter at ${(P / Math.max(1, N)).toFixed(2)} parameters per char of text and ${(N > 0 ? C / N : 0).toFixed(1)} passes`;
  const candidates: CandidateReport[] = [];
  let narrowestChars: number | null = null; // C of the narrowest candidate: is the budget long for the text?
  let chosen = -1;
  let prevRate: number | null = null;
  let prevParams = 0;
  const probeMs = probeMsFor(budget.timeMs);
  for (const hidden of widths) {
    const P = parameterCount(cell, vocab, layers, hidden, embed);
    const need = (C: number) => charsPerParamFor(P, N, C, narrowestChars ?? C); // chars per parameter it needs if it trains on C
    const report: CandidateReport = { layers, hidden, parameters: P, charsPerSec: null, dropout: fixed.dropout ?? 0, chars: 0, rejected: null };
    candidates.push(report);
    const single = widths.length === 1;
    const first = candidates.length === 1; // the narrowest is the fallback: always measured
    if (!single && !first && P > PARAMS_PER_CHAR * N) {
      report.rejected = `${k(P)} parameters for ${k(N)} chars of text`;
      break;
    }
    // the dropout this candidate gets if it trains on C characters
    const dropoutAt = (C: number | null) => fixed.dropout ?? (C === null ? 0 : dropoutFor(N > 0 ? C / N : 0, P / Math.max(1, N)));
    let rate: number | null = null;
    if (budget.timeMs > 0 && measure && !single) {
      // a wider model is slower per character: if it could not qualify even at the
      // previous candidate's rate, do not spend budget measuring it
      const optimistic = prevRate === null ? null : budgetChars(budget, N, batch, seq, prevRate * 1.5 * (prevParams / P));
      if (optimistic !== null && optimistic < need(optimistic) * P) {
        const K = need(optimistic);
        report.chars = optimistic;
        report.rejected = `at most ~${k(optimistic)} chars in the budget, needs ${k(K * P)} (${needWhy(K, P, optimistic)})`;
        // a wider model may be large for the text, and need fewer chars per parameter
        if (K === CHARS_PER_PARAM) break;
        continue;
      }
      // Measured as it will train: dropout has a cost of its own (masks, masked copies),
      // and whether it is on depends on the passes, which depend on the rate. Measure with
      // the dropout the optimistic estimate gives; when the measured rate puts it on the
      // other side of the threshold, measure that way too and keep dropout only if the
      // run at dropout's rate still makes enough passes for it.
      const measureAt = (dropout: number) => measure({ ...base, hidden, dropout, lr: fixed.lr ?? lrForWidth(hidden) }, probeMs);
      let dropout = dropoutAt(optimistic);
      rate = await measureAt(dropout);
      if (fixed.dropout === undefined) {
        const next = dropoutAt(budgetChars(budget, N, batch, seq, rate));
        if ((next > 0) !== (dropout > 0)) {
          const other = await measureAt(next);
          const [onRate, offRate] = dropout > 0 ? [rate, other] : [other, rate];
          const on = dropoutAt(budgetChars(budget, N, batch, seq, onRate));
          [dropout, rate] = on > 0 ? [on, onRate] : [0, offRate];
        } else dropout = next;
      }
      report.charsPerSec = rate;
      report.dropout = dropout;
      prevRate = rate;
      prevParams = P;
    }
    const C = budgetChars(budget, N, batch, seq, rate);
    report.chars = C ?? 0;
    if (candidates.length === 1 && C !== null) narrowestChars = C;
    if (rate === null) report.dropout = dropoutAt(C);
    if (!single && first && P > PARAMS_PER_CHAR * N) {
      report.rejected = `${k(P)} parameters for ${k(N)} chars of text`;
      chosen = 0;
      break;
    }
    if (!single && C !== null && C < need(C) * P) {
      const K = need(C);
      report.rejected = `${k(C)} chars in the budget, needs ${k(K * P)} (${needWhy(K, P, C)})`;
      if (K === CHARS_PER_PARAM) break;
      continue;
    }
    chosen = candidates.length - 1;
  }
  if (chosen < 0) chosen = 0;
  // the narrowest candidate chosen although it fails a test: say which
  const fallback = candidates[chosen].rejected;
  for (let i = 0; i < candidates.length; i++) {
    if (i < chosen) candidates[i].rejected ??= 'a wider model fits the budget';
    else if (i === chosen) candidates[i].rejected = null;
  }
  const pick = candidates[chosen];
  const C = pick.chars;
  const passes = N > 0 ? C / N : 0;
  const perParam = C / pick.parameters;

  const reasons: string[] = [];
  const budgetWhat = [
    budget.timeMs > 0 ? `${Math.round(budget.timeMs / 1000)} s` : '',
    budget.steps > 0 ? `${budget.steps} steps` : '',
    budget.epochs > 0 ? `${budget.epochs} epochs` : '',
  ].filter(Boolean).join(' or ');
  const measured = candidates.filter((c) => c.charsPerSec !== null)
    .map((c) => `${c.layers}×${c.hidden} ${k(c.charsPerSec!)} chars/s${c.dropout > 0 ? ' with dropout' : ''}`);
  if (fixed.hidden !== undefined) reasons.push(`hidden ${pick.hidden} as given`);
  else {
    const next = candidates[chosen + 1];
    reasons.push(`${pick.layers}×${pick.hidden}: ~${k(C)} chars in ${budgetWhat} (${perParam.toFixed(1)} per parameter, ${passes.toFixed(1)} passes over ${k(N)})` +
      (fallback ? `; the narrowest candidate, chosen although: ${fallback}` : next?.rejected ? `; ${next.layers}×${next.hidden} not: ${next.rejected}` : '') +
      (measured.length > 0 ? `; measured ${measured.join(', ')}` : ''));
  }
  const paramsPerChar = pick.parameters / Math.max(1, N);
  const dropout = pick.dropout;
  if (fixed.dropout === undefined) {
    reasons.push(dropout > 0 ? `dropout ${dropout}: ${passes.toFixed(1)} passes over the text with ${paramsPerChar.toFixed(2)} parameters per char`
      : paramsPerChar < DROPOUT_FROM_PARAMS_PER_CHAR ? `no dropout: ${paramsPerChar.toFixed(2)} parameters per char of text (dropout pays from ${DROPOUT_FROM_PARAMS_PER_CHAR})`
        : dropoutFor(passes, paramsPerChar) > 0 ? `no dropout: it would slow the model down to fewer than ${DROPOUT_FROM_PASSES} passes over the text`
          : `no dropout: ${passes.toFixed(1)} passes over the text (dropout pays from ${DROPOUT_FROM_PASSES})`);
  }
  const plannedSteps = Math.round(C / (batch * seq));
  const lr = fixed.lr ?? lrForWidth(pick.hidden, plannedSteps);
  const longPlan = lr !== lrForWidth(pick.hidden) ? ` over ~${k(plannedSteps)} steps (more than ${k(LONG_PLAN_STEPS)}: a lower peak, wide models blew up at the higher one)` : '';
  if (fixed.lr === undefined) reasons.push(`lr ${lr} for width ${pick.hidden}${longPlan}, cosine to a tenth over the ${budget.timeMs > 0 && budget.steps === 0 && budget.epochs === 0 ? 'clock' : 'steps'}`);
  const emaHalfLife = input.emaGiven ? 0 : SIZED_EMA_HALF_LIFE;
  if (emaHalfLife > 0) reasons.push(`average of the weights, half-life ${emaHalfLife * 100}% of the run, scored beside them (the better one is kept)`);
  return { config: { ...base, hidden: pick.hidden, dropout, lr }, emaHalfLife, candidates, reasons };
}
