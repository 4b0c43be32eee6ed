// Length-bucketed batches, for the tasks whose examples are separate sequences (classify,
// seq2seq). One pass (epoch) over the examples: shuffle them, sort each pool of a few dozen
// batches' worth by length, cut each pool into batches of B (so a batch holds sequences of
// similar length and pads little), then shuffle the order of the batches. Each task draws
// its shuffles from its own seeded source; batch k of the run is a pure function of the
// data, the seed and k, so the cursor (batches served) resumes the sequence exactly.

/**
 * Cuts `order` into pools of `pool` examples, sorts each pool by `compare` (a stable sort:
 * ties keep their order in `order`) and cuts it into batches of `B`; a pool's last batch
 * may be short. The batches come in pool order: the caller shuffles them.
 */
export function lengthBuckets(order: readonly number[], pool: number, B: number, compare: (a: number, b: number) => number): number[][] {
  const batches: number[][] = [];
  for (let at = 0; at < order.length; at += pool) {
    const chunk = order.slice(at, at + pool).sort(compare);
    for (let i = 0; i < chunk.length; i += B) batches.push(chunk.slice(i, i + B));
  }
  return batches;
}

/** Batch k of a run whose batches are planned one pass at a time (the current pass's plan is kept). */
export class EpochBatches {
  private plan: { epoch: number; batches: number[][] } | null = null;

  /** @param planEpoch the batches of pass `epoch`, exactly `batchesPerEpoch` of them */
  constructor(readonly batchesPerEpoch: number, private readonly planEpoch: (epoch: number) => number[][]) {}

  /** The examples of batch `k` of the run (k = batches served before it). */
  batch(k: number): number[] {
    const epoch = Math.floor(k / this.batchesPerEpoch);
    if (this.plan?.epoch !== epoch) this.plan = { epoch, batches: this.planEpoch(epoch) };
    return this.plan.batches[k % this.batchesPerEpoch]!;
  }
}
