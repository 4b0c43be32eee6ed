// Metrics of a classifier from true and predicted class ids: accuracy, macro-F1, per-class
// precision / recall / F1 / support, and the confusion matrix (rows: true class, columns:
// predicted class).
//
//   precision_k = TP_k / (TP_k + FP_k)    recall_k = TP_k / (TP_k + FN_k)
//   F1_k = 2·P·R / (P + R)                macro-F1 = mean of F1_k over the classes that occur
//                                         (as a true label or as a prediction)
// A ratio with a zero denominator is 0 (as scikit-learn's zero_division=0).

export interface ClassReport {
  precision: number;
  recall: number;
  f1: number;
  /** True examples of the class. */
  support: number;
}

export interface ClassificationReport {
  examples: number;
  accuracy: number;
  macroF1: number;
  perClass: ClassReport[];
  /** confusion[t][p]: examples of true class t predicted as p. */
  confusion: number[][];
}

export function classificationReport(truth: ArrayLike<number>, predicted: ArrayLike<number>, K: number): ClassificationReport {
  if (truth.length !== predicted.length) throw new RangeError(`${truth.length} true labels but ${predicted.length} predictions`);
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    if (!(t >= 0 && t < K && p >= 0 && p < K)) throw new RangeError(`class id out of range at ${i}: true ${t}, predicted ${p}`);
    confusion[t]![p]!++;
    if (t === p) correct++;
  }
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const perClass: ClassReport[] = [];
  let f1Sum = 0;
  let present = 0;
  for (let k = 0; k < K; k++) {
    const tp = confusion[k]![k]!;
    const support = confusion[k]!.reduce((a, b) => a + b, 0);
    const predictedK = confusion.reduce((a, row) => a + row[k]!, 0);
    const precision = ratio(tp, predictedK);
    const recall = ratio(tp, support);
    const f1 = ratio(2 * precision * recall, precision + recall);
    perClass.push({ precision, recall, f1, support });
    if (support > 0 || predictedK > 0) {
      f1Sum += f1;
      present++;
    }
  }
  return { examples: truth.length, accuracy: ratio(correct, truth.length), macroF1: ratio(f1Sum, present), perClass, confusion };
}
