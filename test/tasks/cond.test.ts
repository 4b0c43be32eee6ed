// The conditioned task's data handling: the tagged stream (each position tagged with the
// tag of the character it predicts), the per-tag validation split, and --tag specs.
import { describe, expect, it } from 'vitest';
import { oneHot, parseTagSpec, splitByTag, tagStream } from '../../src/tasks/cond.js';
import { Vocab } from '../../src/text/vocab.js';

describe('conditioned task data', () => {
  it('tagStream: documents end with a newline; a position carries the tag of the character after it', () => {
    const vocab = Vocab.fromText('ab\ncd');
    const s = tagStream(vocab, [{ tag: 1, text: 'ab' }, { tag: 2, text: 'c' }, { tag: 1, text: 'd' }]);
    expect(vocab.decode(s.ids)).toBe('ab\nc\nd\n');
    // a → b (1), b → \n (1), \n → c (2: the newline ending doc 1 predicts doc 2), c → \n (2), \n → d (1), d → \n (1), last (1)
    expect([...s.tags]).toEqual([1, 1, 2, 2, 1, 1, 1]);
  });

  it('splitByTag holds out the tail of every tag, cutting a document where needed', () => {
    const docs = [
      { tag: 1, text: 'aaaaaaaaaa' }, { tag: 2, text: 'bbbb' }, { tag: 2, text: 'BBBBBB' }, { tag: 1, text: 'AAAAAAAAAA' },
    ];
    const { train, val } = splitByTag(docs, 2, 0.25);
    expect(val).toEqual([{ tag: 1, text: 'AAAAA' }, { tag: 2, text: 'BB' }]);
    expect(train).toEqual([{ tag: 1, text: 'aaaaaaaaaa' }, { tag: 1, text: 'AAAAA' }, { tag: 2, text: 'bbbb' }, { tag: 2, text: 'BBBB' }]);
    const all = splitByTag(docs, 2, 0);
    expect(all.val).toEqual([]);
    expect(all.train.map((d) => d.text).join('')).toBe('aaaaaaaaaaAAAAAAAAAAbbbbBBBBBB');
  });

  it('parseTagSpec: one tag, none, a blend normalised to 1; unknown tags and bad weights are usage errors naming the known tags', () => {
    const tags = ['haiku', 'limerick', 'free verse'];
    expect([...parseTagSpec('limerick', tags).weights]).toEqual([...oneHot(4, 2)]);
    expect([...parseTagSpec('none', tags).weights]).toEqual([...oneHot(4, 0)]);
    expect([...parseTagSpec('free verse', tags).weights]).toEqual([...oneHot(4, 3)]);
    const blend = parseTagSpec('haiku=0.7,limerick=0.3', tags).weights;
    expect(blend[1]).toBeCloseTo(0.7, 12);
    expect(blend[2]).toBeCloseTo(0.3, 12);
    expect([...parseTagSpec('haiku=2,limerick=2', tags).weights]).toEqual([0, 0.5, 0.5, 0]);
    expect(() => parseTagSpec('sonnet', tags)).toThrow(/unknown tag "sonnet"; this model knows none, "haiku", "limerick", "free verse"/);
    expect(() => parseTagSpec('haiku=0.5,sonnet=0.5', tags)).toThrow(/unknown tag "sonnet"/);
    expect(() => parseTagSpec('haiku=-1', tags)).toThrow(/≥ 0/);
    expect(() => parseTagSpec('haiku=0', tags)).toThrow(/add up to 0/);
  });
});
