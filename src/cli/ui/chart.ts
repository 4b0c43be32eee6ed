// A small line chart of one or more series on a character grid, for `rnn info`. Pure:
// returns lines; the caller colours and prints them.

export interface Series {
  /** One character drawn at each point. */
  mark: string;
  points: { x: number; y: number }[];
}

/**
 * Plots the series into `height` rows of `width` columns with a y axis on the left and
 * an x range below. Later series draw over earlier ones where they meet.
 */
export function lineChart(series: Series[], opts: { width?: number; height?: number; yLabel?: (y: number) => string } = {}): string[] {
  const width = Math.max(10, opts.width ?? 60);
  const height = Math.max(3, opts.height ?? 12);
  const fmt = opts.yLabel ?? ((y: number) => y.toFixed(2));
  const finite = (p: { x: number; y: number }) => Number.isFinite(p.x) && Number.isFinite(p.y);
  // loops, not Math.min(...points): a history of 100,000 evaluations would overflow the stack
  let xMin = Infinity;
  let xMax = -Infinity;
  const ys: number[] = [];
  for (const s of series) {
    for (const p of s.points) {
      if (!finite(p)) continue;
      if (p.x < xMin) xMin = p.x;
      if (p.x > xMax) xMax = p.x;
      ys.push(p.y);
    }
  }
  if (ys.length === 0) return ['(no points to plot)'];
  const [yLow, yHigh, clampedTop, clampedBottom] = yRange(ys);
  let yMin = yLow;
  let yMax = yHigh;
  if (xMax === xMin) xMax = xMin + 1;
  if (yMax === yMin) {
    yMax += 0.5;
    yMin -= 0.5;
  }
  const grid = Array.from({ length: height }, () => Array<string>(width).fill(' '));
  // halves before differences, so that ranges such as −1e308…1e308 do not overflow; points
  // beyond a clamped end are drawn on its row
  const fraction = (v: number, lo: number, hi: number) => Math.min(1, Math.max(0, (v / 2 - lo / 2) / (hi / 2 - lo / 2)));
  const col = (x: number) => Math.round(fraction(x, xMin, xMax) * (width - 1));
  const row = (y: number) => height - 1 - Math.round(fraction(y, yMin, yMax) * (height - 1));
  for (const s of series) {
    const ps = s.points.filter(finite).sort((a, b) => a.x - b.x);
    for (let i = 0; i < ps.length; i++) {
      grid[row(ps[i].y)][col(ps[i].x)] = s.mark;
      // join consecutive points with the same mark so the line reads as one
      if (i > 0) {
        const c0 = col(ps[i - 1].x);
        const c1 = col(ps[i].x);
        for (let c = c0 + 1; c < c1; c++) {
          const y = ps[i - 1].y + ((ps[i].y - ps[i - 1].y) * (c - c0)) / (c1 - c0);
          const r = row(y);
          if (grid[r][c] === ' ') grid[r][c] = s.mark;
        }
      }
    }
  }
  const labels = [`${clampedTop ? '≥' : ''}${fmt(yMax)}`, fmt(yMax / 2 + yMin / 2), `${clampedBottom ? '≤' : ''}${fmt(yMin)}`];
  const pad = Math.max(...labels.map((l) => l.length));
  const lines = grid.map((cells, r) => {
    const label = r === 0 ? labels[0] : r === height - 1 ? labels[2] : r === Math.floor((height - 1) / 2) ? labels[1] : '';
    return `${label.padStart(pad)} ┤${cells.join('')}`;
  });
  lines.push(`${' '.repeat(pad)} └${'─'.repeat(width)}`);
  const left = String(Math.round(xMin));
  const right = String(Math.round(xMax));
  lines.push(`${' '.repeat(pad + 2)}${left}${right.padStart(width - left.length)}`);
  return lines;
}

/**
 * The y range to draw: lowest to highest value, except that a few outliers far from the
 * rest (a diverged step, a damaged value) do not flatten the curve: the range is clamped
 * to the 5th..95th percentiles widened by three times their spread on each side.
 */
function yRange(ys: number[]): [number, number, boolean, boolean] {
  const sorted = Float64Array.from(ys).sort();
  const lo = sorted[0]!;
  const hi = sorted[sorted.length - 1]!;
  const q05 = sorted[Math.floor(0.05 * (sorted.length - 1))]!;
  const q95 = sorted[Math.ceil(0.95 * (sorted.length - 1))]!;
  const spread = q95 / 2 - q05 / 2; // half the spread, so that it cannot overflow
  const top = q95 + 6 * spread;
  const bottom = q05 - 6 * spread;
  const clampTop = hi > top;
  const clampBottom = lo < bottom;
  return [clampBottom ? bottom : lo, clampTop ? top : hi, clampTop, clampBottom];
}
