// Stop rules: stop strings held back until decided, lines, length, and their interplay.
import { describe, expect, it } from 'vitest';
import { Generation, StopMatcher, type StopRules } from '../../src/sample/generate.js';
import type { Sampler } from '../../src/sample/sampler.js';
import { Vocab } from '../../src/text/vocab.js';

/** A sampler that "generates" a fixed text. */
function scripted(text: string): Sampler {
  const vocab = Vocab.fromText(text);
  const ids = vocab.encode(text);
  let i = 0;
  return { vocab, nextCharId: () => ids[i++ % ids.length] } as unknown as Sampler;
}

function run(text: string, rules: Partial<StopRules>, max = 7): string {
  const gen = new Generation(scripted(text), { length: 0, lines: 0, stops: [], keepStop: false, ...rules });
  let out = '';
  for (let guard = 0; !gen.done && guard < 10000; guard++) out += gen.take(max);
  return out;
}

describe('StopMatcher', () => {
  it('holds back a possible beginning of a stop string and releases it when it is not one', () => {
    const m = new StopMatcher(['abc'], false);
    expect(m.push('x')).toEqual({ text: 'x', stopped: false });
    expect(m.push('a')).toEqual({ text: '', stopped: false });
    expect(m.push('b')).toEqual({ text: '', stopped: false });
    expect(m.push('x')).toEqual({ text: 'abx', stopped: false });
    expect(m.push('a')).toEqual({ text: '', stopped: false });
    expect(m.flush()).toBe('a');
  });

  it('finds overlapping beginnings (aab in aaab) and the earliest-ending of several stops', () => {
    const m = new StopMatcher(['aab'], false);
    let out = '';
    for (const ch of 'xaaab') {
      const r = m.push(ch);
      out += r.text;
      if (r.stopped) break;
    }
    expect(out).toBe('xa');
    const two = new StopMatcher(['long stop', 'ng'], true);
    let kept = '';
    for (const ch of 'a long stop') {
      const r = two.push(ch);
      kept += r.text;
      if (r.stopped) break;
    }
    expect(kept).toBe('a long'); // "ng" completes first; with keep it is printed
  });
});

describe('Generation', () => {
  const text = 'one line\ntwo lines\nthree\n';

  it('length counts generated code points', () => {
    expect(run(text, { length: 12 })).toBe('one line\ntwo');
    expect(run('aé😀b', { length: 3 })).toBe('aé😀');
  });

  it('lines ends after the n-th newline, which is printed', () => {
    expect(run(text, { lines: 2 })).toBe('one line\ntwo lines\n');
    expect(run(text, { lines: 2, length: 5 })).toBe('one l');
  });

  it('a stop string ends the sample unprinted, or printed with keepStop', () => {
    expect(run(text, { stops: ['lines'] })).toBe('one line\ntwo ');
    expect(run(text, { stops: ['lines'], keepStop: true })).toBe('one line\ntwo lines');
    expect(run(text, { stops: ['\n\n'], length: 30 })).toBe('one line\ntwo lines\nthree\none l');
  });

  it('text held for a stop string is released when another rule ends the sample', () => {
    expect(run(text, { stops: ['ne!'], length: 3 })).toBe('one');
    expect(run(text, { stops: ['\nX'], lines: 1 })).toBe('one line\n');
  });

  it('take() returns at most max characters and breaks after newlines', () => {
    const gen = new Generation(scripted(text), { length: 0, lines: 0, stops: [], keepStop: false });
    expect(gen.take(4)).toBe('one ');
    expect(gen.take(100)).toBe('line\n');
    expect(gen.take(100)).toBe('two lines\n');
  });

  it('a first character from start() counts like a generated one', () => {
    const gen = new Generation(scripted('bc'), { length: 2, lines: 0, stops: [], keepStop: false }, 'a');
    expect(gen.take(10)).toBe('ab');
    expect(gen.done).toBe(true);
  });
});
