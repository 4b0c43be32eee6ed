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
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (pts.length === 0) return ['(no points to plot)'];
  let xMin = Math.min(...pts.map((p) => p.x));
  let xMax = Math.max(...pts.map((p) => p.x));
  let yMin = Math.min(...pts.map((p) => p.y));
  let yMax = Math.max(...pts.map((p) => p.y));
  if (xMax === xMin) xMax = xMin + 1;
  if (yMax === yMin) {
    yMax += 0.5;
    yMin -= 0.5;
  }
  const grid = Array.from({ length: height }, () => Array<string>(width).fill(' '));
  const col = (x: number) => Math.round(((x - xMin) / (xMax - xMin)) * (width - 1));
  const row = (y: number) => height - 1 - Math.round(((y - yMin) / (yMax - yMin)) * (height - 1));
  for (const s of series) {
    const ps = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
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
  const labels = [fmt(yMax), fmt((yMax + yMin) / 2), fmt(yMin)];
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
