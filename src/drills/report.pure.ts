/**
 * A drill's report (issue 16, seed 004 §8.3): the five phases, the score with every deduction and its
 * evidence, the problems with their class and due date, the inventory differences, the faults and
 * their reverts, the improvement items, and the trend over the drills so far. Markdown for terminals
 * and tickets; HTML that stands alone (inline CSS, the inline SVG chart of chart.pure.ts) for people.
 *
 * Pure: no Node APIs, no clock; the same record and history give the same bytes.
 */
import { escapeXml, trendChartSvg } from './chart.pure';
import { DUE_AFTER, isOpenAt } from './problems.pure';
import type { DrillRecord } from './records';
import type { Deduction, DeductionEvidence, PartScore, Problem, ScorePart } from './types';

export const PART_LABEL: Record<ScorePart, string> = {
  recoveryTime: 'Recovery time',
  dataIntegrity: 'Data integrity',
  process: 'Process',
  problemHandling: 'Problem handling',
};
const PART_ORDER: ScorePart[] = ['recoveryTime', 'dataIntegrity', 'process', 'problemHandling'];

/** Seconds for people: "45 s", "12.5 min", "2.1 h"; null: "—". */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 120) return `${Math.round(s * 10) / 10} s`;
  if (s < 7200) return `${Math.round((s / 60) * 10) / 10} min`;
  return `${Math.round((s / 3600) * 10) / 10} h`;
}

/** A deduction's evidence in one line: "step restore-kafka, at 2026-…, partition t-0". */
export function describeDeductionEvidence(e: DeductionEvidence): string {
  const parts: string[] = [];
  if (e.step) parts.push(`step ${e.step}`);
  if (e.at) parts.push(`at ${e.at}`);
  if (e.partition) parts.push(`partition ${e.partition}`);
  if (e.problem) parts.push(`problem ${e.problem}`);
  if (e.missing) parts.push(`missing ${e.missing}`);
  return parts.join(', ') || '—';
}

/** The problems of a record still open when it ended (its own and those carried from earlier drills). */
export function openProblemsOf(r: DrillRecord): Problem[] {
  const at = r.endedAt || r.startedAt;
  return (r.problems ?? []).filter((p) => isOpenAt(p, at));
}

export interface DrillRow {
  id: string;
  startedAt: string;
  endedAt: string;
  scenario: string;
  type: string;
  score: number | null;
  rtoSeconds: number | null;
  rpoSeconds: number | null;
  openProblems: number;
  skipped?: string;
}

/** One line of the history. */
export function drillRow(r: DrillRecord): DrillRow {
  return {
    id: r.id,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    scenario: r.scenario,
    type: r.type,
    score: r.skipped ? null : (r.score?.total ?? null),
    rtoSeconds: r.rtoSeconds ?? null,
    rpoSeconds: r.rpoSeconds ?? null,
    openProblems: openProblemsOf(r).length,
    ...(r.skipped ? { skipped: r.skipped } : {}),
  };
}

export interface SeriesTrend {
  first: number | null;
  last: number | null;
  /** last − first (null when either is not measured). */
  change: number | null;
  best: number | null;
  worst: number | null;
}

export interface Trend {
  drills: number;
  skipped: number;
  score: SeriesTrend;
  rtoSeconds: SeriesTrend;
  rpoSeconds: SeriesTrend;
  /** Problems open at the newest drill's end. */
  openProblems: number;
  /** One sentence for people. */
  summary: string;
}

function seriesTrend(values: (number | null)[], better: 'higher' | 'lower'): SeriesTrend {
  const measured = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const first = values.length ? (values[0] ?? null) : null;
  const last = values.length ? (values[values.length - 1] ?? null) : null;
  const hi = measured.length ? Math.max(...measured) : null;
  const lo = measured.length ? Math.min(...measured) : null;
  return {
    first,
    last,
    change: first !== null && last !== null ? Math.round((last - first) * 10) / 10 : null,
    best: better === 'higher' ? hi : lo,
    worst: better === 'higher' ? lo : hi,
  };
}

/** The trend over the drills given (oldest first): skipped drills count, but measure nothing. */
export function trendOf(records: readonly DrillRecord[]): Trend {
  const run = records.filter((r) => !r.skipped);
  const score = seriesTrend(run.map((r) => r.score?.total ?? null), 'higher');
  const rto = seriesTrend(run.map((r) => r.rtoSeconds ?? null), 'lower');
  const rpo = seriesTrend(run.map((r) => r.rpoSeconds ?? null), 'lower');
  const newest = records[records.length - 1];
  const open = newest ? openProblemsOf(newest).length : 0;
  const skipped = records.length - run.length;
  let summary: string;
  if (!run.length) summary = records.length ? `${records.length} drills, all skipped: nothing measured` : 'no drills yet';
  else if (run.length === 1) summary = `1 drill: score ${score.last ?? '—'}, RTO ${formatSeconds(rto.last)}, RPO ${formatSeconds(rpo.last)}`;
  else {
    const dir = (c: number | null, better: 'higher' | 'lower') => (c === null ? '' : c === 0 ? ' (same)' : (c > 0) === (better === 'higher') ? ' (better)' : ' (worse)');
    const signed = (c: number | null) => (c === null ? '' : c > 0 ? ` +${c}` : c < 0 ? ` ${c}` : '');
    summary =
      `${run.length} drills: score ${score.first ?? '—'} → ${score.last ?? '—'}${signed(score.change)}${dir(score.change, 'higher')}, ` +
      `RTO ${formatSeconds(rto.first)} → ${formatSeconds(rto.last)}${dir(rto.change, 'lower')}, ` +
      `RPO ${formatSeconds(rpo.first)} → ${formatSeconds(rpo.last)}${dir(rpo.change, 'lower')}; best score ${score.best ?? '—'}, worst ${score.worst ?? '—'}`;
  }
  if (skipped) summary += `; ${skipped} skipped`;
  summary += `; ${open} problem${open === 1 ? '' : 's'} open`;
  return { drills: run.length, skipped, score, rtoSeconds: rto, rpoSeconds: rpo, openProblems: open, summary };
}

/** The history as a text table (the CLI's `drill history`). */
export function historyTable(records: readonly DrillRecord[]): string {
  const head = ['STARTED', 'DRILL', 'SCENARIO', 'TYPE', 'SCORE', 'RTO', 'RPO', 'OPEN PROBLEMS'];
  const rows = records.map((r) => {
    const d = drillRow(r);
    return [d.startedAt.slice(0, 19).replace('T', ' '), d.id, d.scenario, d.type, d.skipped ? `skipped: ${d.skipped}` : String(d.score ?? '—'), formatSeconds(d.rtoSeconds), formatSeconds(d.rpoSeconds), String(d.openProblems)];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/** The drills up to and including `record` (by start time), with `record` itself as given. */
export function historyThrough(record: DrillRecord, history: readonly DrillRecord[]): DrillRecord[] {
  const earlier = history.filter((r) => r.id !== record.id && (r.startedAt < record.startedAt || (r.startedAt === record.startedAt && r.id < record.id)));
  return [...earlier, record];
}

const duration = (from: string, to?: string): string => {
  const a = Date.parse(from);
  const b = to ? Date.parse(to) : NaN;
  return Number.isFinite(a) && Number.isFinite(b) && b >= a ? formatSeconds((b - a) / 1000) : '—';
};

const dueLabel = (p: Problem): string => (p.due ? p.due : `none (${DUE_AFTER[p.class] ?? 'later'})`);
const problemStatus = (p: Problem, at: string): string => (isOpenAt(p, at) ? 'open' : `resolved ${p.resolvedAt}`);

/** What both renderers show, worked out once. */
interface Model {
  r: DrillRecord;
  history: DrillRecord[];
  trend: Trend;
  title: string;
  facts: [string, string][];
  parts: PartScore[];
  deductions: Deduction[];
}

function model(record: DrillRecord, history: readonly DrillRecord[]): Model {
  const h = historyThrough(record, history);
  const r = record;
  const facts: [string, string][] = [
    ['Drill', r.id],
    ['Cluster', r.cluster],
    ['Scenario', r.scenario],
    ['Type', r.type],
    ['Started', r.startedAt],
    ['Ended', r.endedAt || '—'],
    ['Workflow', `${r.workflowId}${r.runId ? ` (run ${r.runId})` : ''}`],
  ];
  if (r.schedule) facts.push(['Schedule', r.schedule]);
  if (r.skipped) facts.push(['Skipped', r.skipped]);
  facts.push(['Score', r.skipped ? '— (skipped)' : `${r.score?.total ?? '—'} / 100`]);
  const rto = r.evidence?.times?.rtoMinutes;
  const rpo = r.evidence?.times?.rpoMinutes;
  facts.push(['RTO measured', `${formatSeconds(r.rtoSeconds)}${rto !== undefined ? ` (objective ${rto} min)` : ''}`]);
  facts.push(['RPO measured', `${formatSeconds(r.rpoSeconds)}${rpo !== undefined ? ` (objective ${rpo} min)` : ''}`]);
  const parts = PART_ORDER.map((p) => r.score?.parts?.[p]).filter((p): p is PartScore => !!p);
  return { r, history: h, trend: trendOf(h), title: `Drill report: ${r.scenario} (${r.type}) on ${r.cluster}`, facts, parts, deductions: r.score?.deductions ?? [] };
}

// ---------------------------------------------------------------------------------------------------
// Markdown

/** Table cell text: pipes and newlines would break the row. */
const md = (s: string): string => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const mdTable = (head: string[], rows: string[][]): string[] => [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.map(md).join(' | ')} |`)];

export function renderDrillMarkdown(record: DrillRecord, history: readonly DrillRecord[] = []): string {
  const m = model(record, history);
  const { r } = m;
  const end = r.endedAt || r.startedAt;
  const out: string[] = [`# ${m.title}`, ''];
  for (const [k, v] of m.facts) out.push(`- **${k}:** ${v}`);
  out.push('');

  out.push('## Phases', '');
  if (r.phases?.length) {
    out.push(...mdTable(['Phase', 'Started', 'Ended', 'Took', 'Notes'], r.phases.map((p) => [p.name, p.startedAt, p.endedAt ?? '—', duration(p.startedAt, p.endedAt), p.notes.join('; ') || '—'])));
  } else out.push('No phases recorded.');
  out.push('');

  out.push('## Score', '');
  if (m.parts.length) {
    out.push(...mdTable(['Part', 'Points', 'Max'], [...m.parts.map((p) => [PART_LABEL[p.part], String(p.points), String(p.max)]), ['**Total**', `**${r.score.total}**`, '100']]));
    out.push('');
  }
  out.push('### Deductions', '');
  if (m.deductions.length) {
    out.push(...mdTable(['Part', 'Check', 'Finding', 'Points', 'Reason', 'Evidence'], m.deductions.map((d) => [PART_LABEL[d.part] ?? d.part, d.check, d.finding, `−${d.points}`, d.reason, describeDeductionEvidence(d.evidence)])));
  } else out.push('None: full marks.');
  if (r.score?.missing?.length) out.push('', `Evidence missing (scored as the worst case): ${r.score.missing.join(', ')}`);
  out.push('');

  out.push('## Problems', '');
  if (r.problems?.length) {
    out.push(...mdTable(['Id', 'Class', 'Title', 'Evidence', 'Found', 'Due', 'Status'], r.problems.map((p) => [p.id, p.class, p.title, p.evidence, p.found, dueLabel(p), problemStatus(p, end)])));
  } else out.push('None.');
  out.push('');

  out.push('## Inventory differences', '');
  if (r.inventoryDifferences?.length) {
    out.push(...mdTable(['Area', 'Key', 'Change', 'Before', 'After'], r.inventoryDifferences.map((d) => [d.area, d.key, d.change, d.before ?? '—', d.after ?? '—'])));
  } else out.push('None: the target was left as it was found.');
  out.push('');

  out.push('## Faults and reverts', '');
  if (r.faults?.length || r.reverts?.length) {
    out.push(...mdTable(['Fault', 'At', 'Detail'], (r.faults ?? []).map((f) => [f.fault.kind + faultTarget(f.fault), f.at, f.detail])));
    out.push('');
    out.push(...mdTable(['Revert', 'Mode', 'Already done', 'Detail'], (r.reverts ?? []).map((v) => [v.fault.kind + faultTarget(v.fault), v.mode, v.alreadyDone ? 'yes' : 'no', v.detail])));
  } else out.push('No faults applied.');
  out.push('');

  out.push('## Improvements', '');
  if (r.improvements?.length) for (const i of r.improvements) out.push(`- ${i}`);
  else out.push('None recorded.');
  out.push('');

  out.push('## Trend', '', m.trend.summary, '');
  out.push('```', historyTable(m.history), '```', '');
  out.push('The HTML report (report.html) has the chart of RTO, RPO and score over these drills.', '');
  return out.join('\n');
}

const faultTarget = (f: DrillRecord['faults'][number]['fault']): string => ('brokerId' in f ? ` (broker ${f.brokerId})` : '');

// ---------------------------------------------------------------------------------------------------
// HTML

const h = escapeXml;

const CSS = `
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #222; margin: 2em auto; max-width: 1100px; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: .3em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; font-size: .92em; }
th, td { border: 1px solid #ddd; padding: .35em .5em; text-align: left; vertical-align: top; }
th { background: #f4f6f8; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
dl.facts dt { font-weight: bold; } dl.facts dd { margin: 0; }
.score { font-size: 2.2em; font-weight: bold; }
.score.good { color: #1e8449; } .score.fair { color: #b9770e; } .score.poor { color: #c0392b; }
.P0 { color: #fff; background: #c0392b; } .P1 { color: #fff; background: #d35400; } .P2 { background: #f7dc6f; } .P3 { background: #d5dbdb; }
td.cls { font-weight: bold; text-align: center; }
.none { color: #666; font-style: italic; }
.chart { overflow-x: auto; }
`;

const table = (head: string[], rows: string[][], rowClass?: (i: number) => string): string =>
  `<table><thead><tr>${head.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row, i) => `<tr${rowClass ? ` class="${h(rowClass(i))}"` : ''}>${row.join('')}</tr>`)
    .join('')}</tbody></table>`;
const td = (s: string, cls?: string): string => `<td${cls ? ` class="${h(cls)}"` : ''}>${h(s)}</td>`;
const none = (s: string): string => `<p class="none">${h(s)}</p>`;

export function renderDrillHtml(record: DrillRecord, history: readonly DrillRecord[] = []): string {
  const m = model(record, history);
  const { r } = m;
  const end = r.endedAt || r.startedAt;
  const total = r.score?.total;
  const grade = total === undefined ? 'poor' : total >= 85 ? 'good' : total >= 60 ? 'fair' : 'poor';
  const o: string[] = [];
  o.push('<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">', `<title>${h(m.title)}</title>`, `<style>${CSS}</style>`, '</head>', '<body>');
  o.push(`<h1>${h(m.title)}</h1>`);
  if (!r.skipped && total !== undefined) o.push(`<p><span class="score ${grade}" id="score">${total}</span> / 100</p>`);
  o.push(`<dl class="facts">${m.facts.map(([k, v]) => `<dt>${h(k)}</dt><dd>${h(v)}</dd>`).join('')}</dl>`);

  o.push('<h2 id="phases">Phases</h2>');
  o.push(r.phases?.length ? table(['Phase', 'Started', 'Ended', 'Took', 'Notes'], r.phases.map((p) => [td(p.name), td(p.startedAt), td(p.endedAt ?? '—'), td(duration(p.startedAt, p.endedAt)), td(p.notes.join('; ') || '—')])) : none('No phases recorded.'));

  o.push('<h2 id="score-parts">Score</h2>');
  if (m.parts.length) o.push(table(['Part', 'Points', 'Max'], [...m.parts.map((p) => [td(PART_LABEL[p.part]), td(String(p.points)), td(String(p.max))]), [`<th>Total</th>`, `<th>${h(String(r.score.total))}</th>`, `<th>100</th>`]]));
  o.push('<h3>Deductions</h3>');
  o.push(
    m.deductions.length
      ? table(['Part', 'Check', 'Finding', 'Points', 'Reason', 'Evidence'], m.deductions.map((d) => [td(PART_LABEL[d.part] ?? d.part), td(d.check), td(d.finding), td(`−${d.points}`), td(d.reason), td(describeDeductionEvidence(d.evidence))]))
      : none('None: full marks.'),
  );
  if (r.score?.missing?.length) o.push(`<p>Evidence missing (scored as the worst case): ${h(r.score.missing.join(', '))}</p>`);

  o.push('<h2 id="problems">Problems</h2>');
  o.push(
    r.problems?.length
      ? table(['Id', 'Class', 'Title', 'Evidence', 'Found', 'Due', 'Status'], r.problems.map((p) => [td(p.id), td(p.class, `cls ${p.class}`), td(p.title), td(p.evidence), td(p.found), td(dueLabel(p)), td(problemStatus(p, end))]))
      : none('None.'),
  );

  o.push('<h2 id="inventory">Inventory differences</h2>');
  o.push(
    r.inventoryDifferences?.length
      ? table(['Area', 'Key', 'Change', 'Before', 'After'], r.inventoryDifferences.map((d) => [td(d.area), td(d.key), td(d.change), td(d.before ?? '—'), td(d.after ?? '—')]))
      : none('None: the target was left as it was found.'),
  );

  o.push('<h2 id="faults">Faults and reverts</h2>');
  if (r.faults?.length || r.reverts?.length) {
    o.push(table(['Fault', 'At', 'Detail'], (r.faults ?? []).map((f) => [td(f.fault.kind + faultTarget(f.fault)), td(f.at), td(f.detail)])));
    o.push(table(['Revert', 'Mode', 'Already done', 'Detail'], (r.reverts ?? []).map((v) => [td(v.fault.kind + faultTarget(v.fault)), td(v.mode), td(v.alreadyDone ? 'yes' : 'no'), td(v.detail)])));
  } else o.push(none('No faults applied.'));

  o.push('<h2 id="improvements">Improvements</h2>');
  o.push(r.improvements?.length ? `<ul>${r.improvements.map((i) => `<li>${h(i)}</li>`).join('')}</ul>` : none('None recorded.'));

  o.push('<h2 id="trend">Trend</h2>');
  o.push(`<p id="trend-summary">${h(m.trend.summary)}</p>`);
  o.push(`<div class="chart">${trendChartSvg(m.history)}</div>`);
  o.push(
    table(
      ['Started', 'Drill', 'Scenario', 'Type', 'Score', 'RTO', 'RPO', 'Open problems'],
      m.history.map((x) => {
        const d = drillRow(x);
        return [td(d.startedAt), td(d.id), td(d.scenario), td(d.type), td(d.skipped ? `skipped: ${d.skipped}` : String(d.score ?? '—')), td(formatSeconds(d.rtoSeconds)), td(formatSeconds(d.rpoSeconds)), td(String(d.openProblems))];
      }),
    ),
  );
  o.push('</body>', '</html>', '');
  return o.join('\n');
}
