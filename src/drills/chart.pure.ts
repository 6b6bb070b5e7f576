/**
 * The drill trend chart (issue 16): RTO, RPO and score over the drills, as one inline SVG people can
 * look at in the HTML report. Two value axes: minutes on the left (RTO and RPO, with the objectives
 * as dashed lines), score 0–100 on the right; the drills along the bottom, by date.
 *
 * Every drill gets one marker per series, so the chart never hides a drill: a measured value is a
 * dot on its line, an unmeasured one (never recovered, nothing read back) a cross at the top of
 * the time axis. Skipped drills (nothing measured) are left out.
 *
 * Pure: no Node APIs, no clock; the same records give the same bytes.
 */
import type { DrillRecord } from './records';

export type SeriesName = 'rto' | 'rpo' | 'score';

export interface ChartPoint {
  drill: string;
  /** The drill's start (ISO). */
  at: string;
  /** RTO and RPO in seconds, the score in points; null: not measured. */
  value: number | null;
}

export interface ChartData {
  series: Record<SeriesName, ChartPoint[]>;
  /** The newest objectives the drills were held to (dashed lines), in minutes. */
  objectives: { rtoMinutes?: number; rpoMinutes?: number };
}

export const SERIES: { name: SeriesName; label: string; color: string; axis: 'time' | 'score' }[] = [
  { name: 'rto', label: 'RTO (min)', color: '#c0392b', axis: 'time' },
  { name: 'rpo', label: 'RPO (min)', color: '#2471a3', axis: 'time' },
  { name: 'score', label: 'Score (0–100)', color: '#1e8449', axis: 'score' },
];

/** The chart's series from the records (skipped drills left out), in the order given. */
export function chartData(records: readonly DrillRecord[]): ChartData {
  const drills = records.filter((r) => !r.skipped);
  const point = (r: DrillRecord, value: number | null | undefined): ChartPoint => ({
    drill: r.id,
    at: r.startedAt,
    value: typeof value === 'number' && Number.isFinite(value) ? value : null,
  });
  const last = [...drills].reverse().find((r) => r.evidence?.times?.rtoMinutes !== undefined || r.evidence?.times?.rpoMinutes !== undefined);
  const objectives: ChartData['objectives'] = {};
  if (positive(last?.evidence.times?.rtoMinutes)) objectives.rtoMinutes = last!.evidence.times!.rtoMinutes;
  if (positive(last?.evidence.times?.rpoMinutes)) objectives.rpoMinutes = last!.evidence.times!.rpoMinutes;
  return {
    series: {
      rto: drills.map((r) => point(r, r.rtoSeconds)),
      rpo: drills.map((r) => point(r, r.rpoSeconds)),
      score: drills.map((r) => point(r, r.score?.total)),
    },
    objectives,
  };
}

const positive = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;

/** Text for XML: & < > " ' escaped. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A round step giving about `count` ticks from 0 to `max`. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(n < 1 ? 2 : 1).replace(/\.?0+$/, ''));
const px = (n: number): string => (Math.round(n * 10) / 10).toString();

export interface ChartOptions {
  width?: number;
  height?: number;
  title?: string;
}

/**
 * The SVG (an <svg> element, no XML prolog: it goes inline into HTML). Markers carry
 * `class="point point-<series>"` (a cross also `missing`) and `data-drill`, and a <title> tooltip.
 */
export function trendChartSvg(records: readonly DrillRecord[], opts: ChartOptions = {}): string {
  const data = chartData(records);
  const width = opts.width ?? 760;
  const height = opts.height ?? 340;
  const m = { top: 40, right: 60, bottom: 78, left: 64 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const n = data.series.score.length;
  const title = opts.title ?? 'RTO, RPO and score over the drills';

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="drill-trend" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${m.left}" y="18" font-size="14" font-weight="bold" fill="#222">${escapeXml(title)}</text>`);
  if (n === 0) {
    out.push(`<text class="no-data" x="${px(width / 2)}" y="${px(height / 2)}" text-anchor="middle" fill="#666">no drills measured yet</text></svg>`);
    return out.join('\n');
  }

  // Time axis (minutes): the largest value or objective, never below one minute.
  const minutes = [...data.series.rto, ...data.series.rpo].map((p) => (p.value === null ? 0 : p.value / 60));
  // A little headroom: an objective or the largest value is not drawn on the frame's top edge.
  const timeTop = Math.max(1, ...minutes, data.objectives.rtoMinutes ?? 0, data.objectives.rpoMinutes ?? 0) * 1.1;
  const step = niceStep(timeTop);
  const timeMax = Math.ceil(timeTop / step) * step;
  const yTime = (min: number) => m.top + plotH - (min / timeMax) * plotH;
  const yScore = (s: number) => m.top + plotH - (Math.max(0, Math.min(100, s)) / 100) * plotH;
  // One drill: in the middle; more: spread over the width.
  const x = (i: number) => (n === 1 ? m.left + plotW / 2 : m.left + (i / (n - 1)) * plotW);

  // Grid and the left (time) axis.
  out.push(`<g class="axis axis-time" fill="#333">`);
  for (let v = 0; v <= timeMax + step / 1000; v += step) {
    const y = px(yTime(v));
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`);
  }
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + plotH}" stroke="#333"/>`);
  out.push(`<text transform="translate(16 ${px(m.top + plotH / 2)}) rotate(-90)" text-anchor="middle">minutes (RTO, RPO)</text>`);
  out.push(`</g>`);

  // The right (score) axis.
  out.push(`<g class="axis axis-score" fill="#333">`);
  for (let v = 0; v <= 100; v += 20) out.push(`<text x="${m.left + plotW + 6}" y="${px(yScore(v))}" dominant-baseline="middle">${v}</text>`);
  out.push(`<line x1="${m.left + plotW}" y1="${m.top}" x2="${m.left + plotW}" y2="${m.top + plotH}" stroke="#333"/>`);
  out.push(`<text transform="translate(${width - 12} ${px(m.top + plotH / 2)}) rotate(90)" text-anchor="middle">score (points)</text>`);
  out.push(`</g>`);

  // The drills along the bottom: as many date labels as fit (about 90 px each), the first and last always.
  const fit = Math.max(2, Math.floor(plotW / 90));
  const every = Math.max(1, Math.ceil((n - 1) / (fit - 1)));
  const labelled = new Set<number>();
  for (let i = 0; i < n; i += every) labelled.add(i);
  // The last drill is named; a label too close before it gives way.
  for (const i of labelled) if (i !== 0 && i < n - 1 && n - 1 - i < every * 0.7) labelled.delete(i);
  labelled.add(n - 1);
  out.push(`<g class="axis axis-drills" fill="#333">`);
  out.push(`<line x1="${m.left}" y1="${m.top + plotH}" x2="${m.left + plotW}" y2="${m.top + plotH}" stroke="#333"/>`);
  data.series.score.forEach((p, i) => {
    const xi = px(x(i));
    out.push(`<line x1="${xi}" y1="${m.top + plotH}" x2="${xi}" y2="${m.top + plotH + 4}" stroke="#333"/>`);
    if (labelled.has(i)) {
      out.push(`<text x="${xi}" y="${m.top + plotH + 16}" text-anchor="middle">${escapeXml(p.at.slice(0, 10))}</text>`);
    }
  });
  out.push(`<text x="${px(m.left + plotW / 2)}" y="${m.top + plotH + 34}" text-anchor="middle">drill (start date)</text>`);
  out.push(`</g>`);

  // Objectives as dashed lines on the time axis.
  const objective = (min: number | undefined, color: string, label: string) => {
    if (min === undefined) return;
    const y = px(yTime(min));
    out.push(`<g class="objective"><line x1="${m.left}" y1="${y}" x2="${m.left + plotW}" y2="${y}" stroke="${color}" stroke-dasharray="6 4" stroke-opacity="0.6"/>`);
    out.push(`<text x="${m.left + 4}" y="${px(yTime(min) - 4)}" fill="${color}">${escapeXml(label)} ${fmt(min)} min</text></g>`);
  };
  objective(data.objectives.rtoMinutes, SERIES[0]!.color, 'RTO objective');
  objective(data.objectives.rpoMinutes, SERIES[1]!.color, 'RPO objective');

  // The series: a line through the measured values, one marker per drill.
  const r = n > 30 ? 2.5 : 4;
  for (const s of SERIES) {
    const pts = data.series[s.name];
    const y = (v: number) => (s.axis === 'score' ? yScore(v) : yTime(v / 60));
    const shown = (v: number) => (s.axis === 'score' ? `${fmt(v)} points` : `${fmt(Math.round((v / 60) * 10) / 10)} min (${fmt(v)} s)`);
    out.push(`<g class="series series-${s.name}">`);
    const measured = pts.map((p, i) => (p.value === null ? null : `${px(x(i))},${px(y(p.value))}`)).filter((p): p is string => p !== null);
    if (measured.length > 1) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${measured.join(' ')}"/>`);
    pts.forEach((p, i) => {
      const tip = `<title>${escapeXml(`${p.drill} (${p.at}): ${s.label.replace(/ \(.*\)$/, '')} ${p.value === null ? 'not measured' : shown(p.value)}`)}</title>`;
      const drill = `data-drill="${escapeXml(p.drill)}" data-series="${s.name}"`;
      if (p.value === null) {
        const cx = x(i);
        const cy = m.top + 6;
        out.push(
          `<path class="point point-${s.name} missing" ${drill} d="M${px(cx - r)} ${px(cy - r)} L${px(cx + r)} ${px(cy + r)} M${px(cx - r)} ${px(cy + r)} L${px(cx + r)} ${px(cy - r)}" stroke="${s.color}" stroke-width="2">${tip}</path>`,
        );
      } else {
        out.push(`<circle class="point point-${s.name}" ${drill} data-value="${fmt(p.value)}" cx="${px(x(i))}" cy="${px(y(p.value))}" r="${r}" fill="${s.color}">${tip}</circle>`);
      }
    });
    out.push(`</g>`);
  }

  // Legend, under the axis label.
  const ly = height - 18;
  out.push(`<g class="legend" fill="#222">`);
  SERIES.forEach((s, i) => {
    const lx = m.left + i * 150;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${s.color}" stroke-width="2"/><circle cx="${lx + 11}" cy="${ly}" r="4" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${escapeXml(s.label)}</text>`);
  });
  out.push(`<text x="${m.left + 3 * 150}" y="${ly}" dominant-baseline="middle" fill="#555">× not measured</text>`);
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join('\n');
}
