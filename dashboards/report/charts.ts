/**
 * Hand-written inline SVG charts. No script: tooltips are SVG <title> elements. Every label goes through esc().
 */
import { esc } from './escape.js';

export interface BarSeries {
  name: string;
  color: string;
  /** One value per category; null = no data. */
  values: (number | null)[];
  /** Per-category colours (overrides `color`), e.g. one stage colour per row. */
  colors?: string[];
}

export interface BarChartSpec {
  title: string;
  /** Row labels (e.g. routes). */
  categories: string[];
  series: BarSeries[];
  format: (v: number) => string;
  /** Unit shown after the title, e.g. "ms". */
  unit?: string;
  width?: number;
  /** Marks "lower is better" / "higher is better" under the title. */
  better?: 'lower' | 'higher';
}

const FONT = `font-family="var(--sans)"`;

/** Nice rounded axis maximum and tick step for a data maximum. */
export function niceScale(max: number, ticks = 4): { max: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { max: 1, step: 0.25 };
  const rough = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const norm = rough / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

/** Shorten a label to about `max` characters; the full text stays available in a <title>. */
export function clip(label: string, max: number): string {
  return label.length <= max ? label : label.slice(0, Math.max(1, max - 1)) + '…';
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  if (Math.abs(v) < 1) return String(+v.toFixed(2));
  return String(+v.toFixed(1));
}

/** Horizontal grouped bars: one group per category, one bar per series, values printed at the bar ends. */
export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 520;
  const labelW = Math.min(210, Math.max(90, Math.max(...spec.categories.map((c) => c.length), 4) * 6.7 + 18));
  const valueW = 64;
  const barH = spec.series.length > 3 ? 11 : 14;
  const gap = 3;
  const groupGap = 14;
  const top = 44;
  const plotW = width - labelW - valueW - 12;
  const groupH = spec.series.length * (barH + gap) - gap;
  const height = top + spec.categories.length * (groupH + groupGap) + 8;
  const all = spec.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const scale = niceScale(Math.max(0, ...all));
  const x = (v: number) => labelW + (Math.max(0, v) / scale.max) * plotW;

  const parts: string[] = [];
  parts.push(`<text x="0" y="16" class="ct">${esc(spec.title)}${spec.unit ? ` <tspan class="cu">(${esc(spec.unit)})</tspan>` : ''}</text>`);
  if (spec.better) parts.push(`<text x="0" y="31" class="cs">${spec.better} is better</text>`);
  for (let t = 0; t <= scale.max + 1e-9; t += scale.step) {
    const gx = x(t).toFixed(1);
    parts.push(`<line x1="${gx}" x2="${gx}" y1="${top - 6}" y2="${height - 6}" class="grid"/>`);
    parts.push(`<text x="${gx}" y="${top - 9}" text-anchor="middle" class="tick">${esc(fmtTick(t))}</text>`);
  }
  spec.categories.forEach((cat, ci) => {
    const gy = top + ci * (groupH + groupGap);
    parts.push(
      `<text x="${labelW - 8}" y="${(gy + groupH / 2 + 4).toFixed(1)}" text-anchor="end" class="cl"><title>${esc(cat)}</title>${esc(clip(cat, Math.floor((labelW - 14) / 6.7)))}</text>`,
    );
    spec.series.forEach((s, si) => {
      const v = s.values[ci];
      const y = gy + si * (barH + gap);
      if (v === null || v === undefined || !Number.isFinite(v)) {
        parts.push(`<text x="${labelW + 4}" y="${y + barH - 2}" class="na">no data · ${esc(s.name)}</text>`);
        return;
      }
      const w = Math.max(1, x(v) - labelW);
      parts.push(
        `<g><title>${esc(cat)} · ${esc(s.name)}: ${esc(spec.format(v))}${spec.unit ? ' ' + esc(spec.unit) : ''}</title>` +
          `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" rx="2" fill="${esc(s.colors?.[ci] ?? s.color)}"/>` +
          `<text x="${(labelW + w + 5).toFixed(1)}" y="${y + barH - 2.5}" class="bv">${esc(spec.format(v))}</text></g>`,
      );
    });
  });
  parts.push(`<line x1="${labelW}" x2="${labelW}" y1="${top - 6}" y2="${height - 6}" class="axis"/>`);
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(spec.title)}" ${FONT}>${parts.join('')}</svg>`;
}

export interface LineSeries {
  name: string;
  color: string;
  /** [x, y] points, x ascending; y null = no reading at x (a gap in the line, marked at the top of the plot). */
  points: [number, number | null][];
}

export interface LineChartSpec {
  title: string;
  series: LineSeries[];
  xLabel: string;
  unit?: string;
  format: (v: number) => string;
  width?: number;
  height?: number;
  /** A fixed y maximum (e.g. 1 for utilization); otherwise from the data. */
  yMax?: number;
  /** Shaded x ranges with a label (e.g. the warm-up), and a dashed line where each ends. */
  bands?: { from: number; to: number; label: string }[];
  /** What a null y means, for its marker's tooltip. */
  noReading?: string;
  /** Short stretches marked along the bottom of the plot (e.g. GC pauses): x and width in x units, with a tooltip. */
  marks?: { x: number; w: number; label: string; color: string }[];
}

/**
 * Where a series' line breaks: before a point further from the previous one than GAP_FACTOR × the series' median
 * step (samples missed — the sampler itself was held up), and around a point with no reading. A line never bridges
 * them: it would draw values nobody measured.
 */
export const GAP_FACTOR = 1.5;

export function lineSegments(points: readonly [number, number | null][]): [number, number][][] {
  const steps = points.slice(1).map((p, i) => p[0] - points[i]![0]).sort((a, b) => a - b);
  const step = steps.length ? steps[steps.length >> 1]! : 0;
  const out: [number, number][][] = [];
  let current: [number, number][] = [];
  let prevX: number | null = null;
  for (const [x, y] of points) {
    const gap = prevX !== null && step > 0 && x - prevX > GAP_FACTOR * step;
    if ((y === null || gap) && current.length) {
      out.push(current);
      current = [];
    }
    if (y !== null && Number.isFinite(y)) current.push([x, y]);
    prevX = x;
  }
  if (current.length) out.push(current);
  return out;
}

/**
 * A line per series over a shared x axis (e.g. seconds since the load began; x may start below 0), with a dot and
 * tooltip at each point; gaps between samples and points with no reading break the line (lineSegments).
 */
export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 520;
  const height = spec.height ?? 220;
  const left = 48;
  const right = 12;
  const top = 30;
  const bottom = 34;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const xs = [...spec.series.flatMap((s) => s.points.map((p) => p[0])), ...(spec.bands ?? []).flatMap((b) => [b.from, b.to])];
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1])).filter((v): v is number => v !== null && Number.isFinite(v));
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(xMin + 1, ...xs);
  const yScale = spec.yMax !== undefined ? { max: spec.yMax, step: spec.yMax / 4 } : niceScale(Math.max(0, ...ys));
  const xScale = niceScale(xMax - xMin, 6);
  const lo = xMin < 0 ? -Math.ceil(-xMin / xScale.step - 1e-9) * xScale.step : 0;
  const span = Math.max(xScale.max, Math.ceil((xMax - lo) / xScale.step - 1e-9) * xScale.step);
  const px = (v: number) => left + ((v - lo) / span) * plotW;
  const py = (v: number) => top + plotH - (Math.min(Math.max(0, v), yScale.max) / yScale.max) * plotH;

  const parts: string[] = [];
  parts.push(`<text x="0" y="16" class="ct">${esc(spec.title)}${spec.unit ? ` <tspan class="cu">(${esc(spec.unit)})</tspan>` : ''}</text>`);
  for (const b of spec.bands ?? []) {
    const x0 = px(b.from);
    const x1 = px(b.to);
    parts.push(
      `<g class="band"><title>${esc(b.label)}: ${esc(fmtTick(b.from))} to ${esc(fmtTick(b.to))} ${esc(spec.xLabel)}</title><rect x="${x0.toFixed(1)}" y="${top}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${plotH}" class="wu"/>` +
        `<line x1="${x1.toFixed(1)}" x2="${x1.toFixed(1)}" y1="${top}" y2="${top + plotH}" class="wum"/><text x="${(x0 + 3).toFixed(1)}" y="${top + 10}" class="wul">${esc(b.label)}</text></g>`,
    );
  }
  for (let t = 0; t <= yScale.max + 1e-9; t += yScale.step) {
    const y = py(t).toFixed(1);
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(`<text x="${left - 6}" y="${(+y + 4).toFixed(1)}" text-anchor="end" class="tick">${esc(fmtTick(t))}</text>`);
  }
  for (let t = lo; t <= lo + span + 1e-9; t += xScale.step) {
    const x = px(t).toFixed(1);
    parts.push(`<text x="${x}" y="${top + plotH + 16}" text-anchor="middle" class="tick">${esc(fmtTick(Math.abs(t) < 1e-9 ? 0 : t))}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${height - 4}" text-anchor="middle" class="cs">${esc(spec.xLabel)}</text>`);
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" class="axis"/>`);
  if (ys.length === 0) parts.push(`<text x="${left + plotW / 2}" y="${top + plotH / 2}" text-anchor="middle" class="na">no samples</text>`);
  for (const m of spec.marks ?? []) {
    const x0 = px(m.x);
    parts.push(`<rect class="mark" x="${x0.toFixed(1)}" y="${top + plotH - 7}" width="${Math.max(1, px(m.x + m.w) - x0).toFixed(1)}" height="7" fill="${esc(m.color)}" opacity="0.7"><title>${esc(m.label)}</title></rect>`);
  }
  for (const s of spec.series) {
    if (s.points.length === 0) continue;
    const segments = lineSegments(s.points);
    const d = segments.map((seg) => seg.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p[0]).toFixed(1)} ${py(p[1]).toFixed(1)}`).join('')).join('');
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${esc(s.color)}" stroke-width="1.8" stroke-linejoin="round" data-segments="${segments.length}"/>`);
    for (const p of s.points) {
      const label = `${esc(s.name)} · ${esc(spec.xLabel)} ${esc(p[0])}`;
      if (p[1] === null) {
        const x = px(p[0]);
        parts.push(`<path d="M${(x - 3.5).toFixed(1)} ${top}L${(x + 3.5).toFixed(1)} ${top}L${x.toFixed(1)} ${top + 6}Z" class="nr"><title>${label}: no reading${spec.noReading ? ` — ${esc(spec.noReading)}` : ''}</title></path>`);
        continue;
      }
      parts.push(
        `<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="2.2" fill="${esc(s.color)}"><title>${label}: ${esc(spec.format(p[1]))}${spec.unit ? ' ' + esc(spec.unit) : ''}</title></circle>`,
      );
    }
  }
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(spec.title)}" ${FONT}>${parts.join('')}</svg>`;
}

/** A legend of coloured swatches, as HTML. */
export function legend(items: { name: string; color: string }[]): string {
  return `<div class="legend">${items
    .map((i) => `<span class="lg"><span class="sw" style="background:${esc(i.color)}"></span>${esc(i.name)}</span>`)
    .join('')}</div>`;
}
