// The slab arena: a pass that does not fit takes what it lacks from the base arena and then
// one block for all of it, so the same pass, or any smaller one, never takes memory again;
// views handed out from a reused block are zeroed.
import { describe, expect, it } from 'vitest';
import type { Arena, Vec } from '../../src/kernels/types.js';
import { SlabArena } from '../../src/nn/slab.js';

/** A base arena that records the size of every request. */
function recording(): Arena & { asked: number[] } {
  const asked: number[] = [];
  return {
    dtype: 'f32', asked,
    floats: (n: number): Vec => { asked.push(n); return new Float32Array(n); },
    ints: (n: number) => { asked.push(-n); return new Int32Array(n); },
  };
}

const pass = (slab: SlabArena, sizes: number[]) => {
  slab.reset();
  const views = sizes.map((n) => slab.floats(n));
  const ids = slab.ints(sizes[0]!);
  slab.end();
  return { views, ids };
};

describe('SlabArena', () => {
  it('takes memory in the first pass and its end only; later passes of up to that size take none', () => {
    const base = recording();
    const slab = new SlabArena(base);
    const first = pass(slab, [100, 7, 250]);
    expect(first.views.map((v) => v.length)).toEqual([100, 7, 250]);
    const taken = base.asked.length;
    // the views of the first pass: 112 + 16 + 256 floats, then one block of all of them
    expect(base.asked).toContain(384);
    for (const sizes of [[100, 7, 250], [50, 7, 200], [1, 1, 1]]) {
      const { views } = pass(slab, sizes);
      expect(views.map((v) => v.length)).toEqual(sizes);
      for (const v of views) v.fill(3);
    }
    expect(base.asked.length).toBe(taken);
    // a reused block hands out zeroed, disjoint views
    const again = pass(slab, [100, 7, 250]);
    for (const v of again.views) expect(v.every((x) => x === 0)).toBe(true);
    again.views[0]!.fill(1);
    expect(again.views[1]!.every((x) => x === 0) && again.views[2]!.every((x) => x === 0)).toBe(true);
  });

  it('a larger pass grows the block once more', () => {
    const base = recording();
    const slab = new SlabArena(base);
    pass(slab, [64, 64]);
    const taken = base.asked.length;
    pass(slab, [64, 64, 64]);
    expect(base.asked.length).toBeGreaterThan(taken);
    const grown = base.asked.length;
    pass(slab, [64, 64, 64]);
    expect(base.asked.length).toBe(grown);
  });
});
