import { describe, expect, it } from 'vitest';
import { lineChart } from '../../src/cli/ui/chart.js';

describe('lineChart', () => {
  it('puts the highest point on the top row and the lowest on the bottom row, x range below', () => {
    const lines = lineChart([{ mark: '*', points: [{ x: 0, y: 3 }, { x: 50, y: 2 }, { x: 100, y: 1 }] }], { width: 21, height: 5 });
    expect(lines.length).toBe(7);
    expect(lines[0]).toMatch(/^3\.00 ┤\*/);
    expect(lines[4]).toMatch(/^1\.00 ┤ +\*+$/); // the line reaches the last column at the lowest value
    expect(lines[2]).toMatch(/^2\.00 ┤ +\*/);
    expect(lines[2].indexOf('*')).toBeGreaterThan(lines[0].indexOf('*'));
    expect(lines[5]).toMatch(/└─{21}$/);
    expect(lines[6].trim()).toMatch(/^0 +100$/);
  });

  it('joins consecutive points, draws later series on top, and copes with flat or empty data', () => {
    const lines = lineChart([
      { mark: '.', points: [{ x: 0, y: 1 }, { x: 10, y: 1 }] },
      { mark: 'o', points: [{ x: 10, y: 1 }] },
    ], { width: 11, height: 3 });
    expect(lines[1]).toMatch(/┤\.{10}o$/);
    expect(lineChart([{ mark: '.', points: [] }])).toEqual(['(no points to plot)']);
    expect(lineChart([{ mark: '.', points: [{ x: 1, y: Number.NaN }] }])).toEqual(['(no points to plot)']);
  });
});
