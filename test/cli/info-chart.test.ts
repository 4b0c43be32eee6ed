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

  it('copes with 200,000 points and with values of ±1e308: every row drawn, outliers clamped to the edge rows', () => {
    const many = Array.from({ length: 200_000 }, (_, i) => ({ x: i, y: 2 + Math.exp(-i / 20_000) }));
    const lines = lineChart([{ mark: '*', points: many }], { width: 40, height: 6 });
    expect(lines).toHaveLength(8);
    expect(lines[0]).toMatch(/^3\.00 ┤\*/);
    const wild = [{ x: 0, y: 1e308 }, ...Array.from({ length: 50 }, (_, i) => ({ x: i + 1, y: 1.5 + i / 100 })), { x: 60, y: -1e308 }];
    const clamped = lineChart([{ mark: 'o', points: wild }], { width: 30, height: 8 });
    expect(clamped).toHaveLength(10);
    expect(clamped[0]).toMatch(/^≥\d/); // the top is clamped, not 1e308
    expect(clamped[7]).toMatch(/^≤/);
    expect(clamped[0]).toMatch(/┤o/); // the outlier sits on the top row, first column
    // the ordinary points spread over the rows between instead of collapsing into one
    expect(clamped.slice(1, 7).filter((l) => l.includes('o')).length).toBeGreaterThan(1);
    const extremes = lineChart([{ mark: 'o', points: [{ x: 0, y: -1e308 }, { x: 1, y: 1e308 }] }], { width: 10, height: 4 });
    expect(extremes).toHaveLength(6);
  });
});
