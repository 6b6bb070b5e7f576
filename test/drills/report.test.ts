/**
 * The drill report's content (src/drills/report.pure.ts) and its chart (chart.pure.ts), on realistic
 * records scored by the real scoreDrill: every deduction's evidence appears, problems with their class
 * and due date, the five phases, faults and reverts, the trend; the SVG has one marker per drill per
 * series, whatever the number of drills; what the report shows is escaped.
 */
import { describe, expect, it } from 'vitest';
import { chartData, niceStep, trendChartSvg } from '../../src/drills/chart.pure';
import { describeDeductionEvidence, formatSeconds, historyTable, renderDrillHtml, renderDrillMarkdown, trendOf } from '../../src/drills/report.pure';
import type { DrillRecord } from '../../src/drills/records';
import { recordOf, threeDrills } from './recordFixtures';

const drills = threeDrills('staging');
const [first, second, third] = drills as [DrillRecord, DrillRecord, DrillRecord];

/** Marker elements of one series in an SVG. */
const markers = (svg: string, series: string): string[] => svg.match(new RegExp(`<(circle|path) class="point point-${series}[ "][^>]*>`, 'g')) ?? [];

describe('the drill report', () => {
  it('the fixtures are realistic: scores fall as the drills get worse, and each worse one has deductions', () => {
    expect(first.score.total).toBe(100);
    expect(second.score.total).toBeLessThan(100);
    expect(third.score.total).toBeLessThan(second.score.total);
    expect(second.score.deductions.length).toBeGreaterThan(1);
    expect(third.score.deductions.some((d) => d.check === 'fallback')).toBe(true);
    expect(third.score.deductions.some((d) => d.check === 'open-problem')).toBe(true);
  });

  it('Markdown: the five phases, every deduction with its evidence, problems with class and due date, faults, reverts, differences, improvements, trend', () => {
    const md = renderDrillMarkdown(second, drills);
    for (const phase of ['prepare', 'start', 'execute', 'verify', 'review']) expect(md).toMatch(new RegExp(`^\\| ${phase} \\| ${second.phases.find((p) => p.name === phase)!.startedAt} \\|`, 'm'));
    expect(md).toContain(`**Score:** ${second.score.total} / 100`);
    for (const d of second.score.deductions) {
      const row = md.split('\n').find((l) => l.includes(d.reason.replace(/\|/g, '\\|')));
      expect(row, d.reason).toBeDefined();
      expect(row).toContain(describeDeductionEvidence(d.evidence));
      expect(row).toContain(`−${d.points}`);
      expect(row).toContain(d.check);
    }
    expect(second.problems.length).toBeGreaterThan(0);
    for (const p of second.problems) {
      const row = md.split('\n').find((l) => l.startsWith(`| ${p.id} |`));
      expect(row, p.id).toBeDefined();
      expect(row).toContain(`| ${p.class} |`);
      expect(row).toContain(p.due ?? 'none (later)');
    }
    // A P3 (the manual step) has no due date, and says so.
    expect(second.problems.some((p) => p.class === 'P3' && p.due === null)).toBe(true);
    expect(md).toContain('none (later)');
    expect(md).toContain('| broker-kill (broker 2) | ' + second.faults[0]!.at + ' | killed pid 4242 |');
    expect(md).toContain('| broker-kill (broker 2) | discard | no | broker 2 running again |');
    expect(md).toContain('| topics | orders | changed | partitions 6 | partitions 3 |');
    expect(md).toContain('- automate the ZooKeeper restore step');
    // The trend as of this drill: the first two, not the third.
    expect(md).toContain(trendOf([first, second]).summary);
    expect(md).toContain(first.id);
    expect(md).not.toContain(third.id);
  });

  it('HTML: one self-contained page with the same content, the chart inline, and everything shown escaped', () => {
    const html = renderDrillHtml(third, drills);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    // Self-contained: no external stylesheet, script, image or font.
    expect(html).not.toMatch(/<link |<script |src=|@import|url\(/);
    expect(html).toContain('<style>');
    expect(html.match(/<svg /g)).toHaveLength(1);
    for (const d of third.score.deductions) {
      expect(html).toContain(escape(d.reason));
      expect(html).toContain(escape(describeDeductionEvidence(d.evidence)));
    }
    for (const p of third.problems) {
      expect(html).toContain(`<td>${escape(p.id)}</td><td class="cls ${p.class}">${p.class}</td>`);
      if (p.due) expect(html).toContain(`<td>${p.due}</td>`);
    }
    // The problem carried from drill 2 has markup in its title: shown as text, never as markup.
    const carried = third.problems.find((p) => p.title.includes('<b>script</b>'));
    expect(carried).toBeDefined();
    expect(html).not.toContain('<b>script</b>');
    expect(html).toContain('restore &lt;b&gt;script&lt;/b&gt; &amp; &quot;tool&quot; needed a retry');
    expect(html).toContain('pack &lt;a&amp;b&gt; unreadable');
    expect(html).toContain(`<span class="score ${third.score.total >= 85 ? 'good' : third.score.total >= 60 ? 'fair' : 'poor'}" id="score">${third.score.total}</span>`);
    expect(html).toContain(escape(trendOf(drills).summary));
  });

  it('the SVG has one marker per drill per series, axes, labels and a legend; with 1 drill and with 50', () => {
    for (const n of [1, 3, 50]) {
      const many: DrillRecord[] = [];
      for (let i = 0; i < n; i++) {
        const start = new Date(Date.parse('2026-01-01T10:00:00Z') + i * 7 * 86_400_000).toISOString();
        many.push(recordOf('c', `drill-c-${String(i).padStart(2, '0')}`, { start, recoveryMin: i % 7 === 3 ? null : 10 + (i % 5) * 8, lossMin: i % 4 }, many.slice(-1)));
      }
      const svg = trendChartSvg(many);
      for (const s of ['rto', 'rpo', 'score']) expect(markers(svg, s), `${n} drills, ${s}`).toHaveLength(n);
      // A never-green drill is a cross, not a missing point.
      expect(markers(svg, 'rto').filter((m) => m.includes('missing'))).toHaveLength(many.filter((r) => r.rtoSeconds === null).length);
      expect(svg).toContain('minutes (RTO, RPO)');
      expect(svg).toContain('score (points)');
      expect(svg).toContain('drill (start date)');
      for (const l of ['RTO (min)', 'RPO (min)', 'Score (0–100)']) expect(svg).toContain(`>${l}</text>`);
      expect(svg).toContain('RTO objective 30 min');
      // Date labels: as many as fit (7 on this width), the first and last drill always named.
      const labels = svg.match(/>\d{4}-\d\d-\d\d<\/text>/g) ?? [];
      expect(labels.length).toBeGreaterThanOrEqual(1);
      expect(labels.length).toBeLessThanOrEqual(Math.min(n, 7));
      expect(svg).toContain(`>${many[0]!.startedAt.slice(0, 10)}</text>`);
      expect(svg).toContain(`>${many[n - 1]!.startedAt.slice(0, 10)}</text>`);
      // Every coordinate is a number inside the picture.
      for (const [, cx, cy] of svg.matchAll(/cx="([^"]+)" cy="([^"]+)"/g)) {
        expect(Number(cx)).toBeGreaterThanOrEqual(0);
        expect(Number(cx)).toBeLessThanOrEqual(760);
        expect(Number(cy)).toBeGreaterThanOrEqual(0);
        expect(Number(cy)).toBeLessThanOrEqual(340);
      }
    }
  });

  it('values sit on their axes: a higher score is higher up, a longer RTO higher up', () => {
    const svg = trendChartSvg(drills);
    const cy = (series: string, drill: string) => Number(markers(svg, series).find((m) => m.includes(`data-drill="${drill}"`))!.match(/cy="([^"]+)"/)![1]);
    expect(cy('score', first.id)).toBeLessThan(cy('score', third.id));
    expect(first.rtoSeconds).toBe(1200);
    expect(second.rtoSeconds).toBe(2700);
    expect(cy('rto', second.id)).toBeLessThan(cy('rto', first.id));
    expect(chartData(drills).series.rpo.map((p) => p.value)).toEqual([0, 300, 1800]);
  });

  it('skipped drills are listed but not charted; an empty history says so', () => {
    const skipped: DrillRecord = { ...first, id: 'drill-skipped', startedAt: '2026-09-10T00:00:00.000Z', skipped: 'another drill was running on staging' };
    const svg = trendChartSvg([first, skipped]);
    expect(markers(svg, 'score')).toHaveLength(1);
    expect(historyTable([first, skipped])).toContain('skipped: another drill was running on staging');
    expect(trendOf([first, skipped]).summary).toContain('1 skipped');
    expect(trendChartSvg([])).toContain('no drills measured yet');
  });

  it('small helpers: durations for people, round axis steps, the history table', () => {
    expect(formatSeconds(null)).toBe('—');
    expect(formatSeconds(45)).toBe('45 s');
    expect(formatSeconds(750)).toBe('12.5 min');
    expect(formatSeconds(3 * 3600)).toBe('3 h');
    expect(niceStep(47)).toBe(10);
    expect(niceStep(3)).toBe(1);
    expect(niceStep(2)).toBe(0.5);
    const table = historyTable(drills).split('\n');
    expect(table[0]).toMatch(/^STARTED +DRILL +SCENARIO +TYPE +SCORE +RTO +RPO +OPEN PROBLEMS$/);
    expect(table[1]).toMatch(new RegExp(`^2026-09-03 12:00:00 +${first.id} +cluster-lost +full +100 +20 min +0 s +0$`));
    expect(table).toHaveLength(4);
    const t = trendOf(drills);
    expect(t.score).toMatchObject({ first: 100, last: third.score.total, best: 100, worst: third.score.total });
    expect(t.summary).toMatch(/^3 drills: score 100 → \d+ -\d+ \(worse\), RTO 20 min → 12 min \(better\), RPO 0 s → 30 min \(worse\)/);
  });
});

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
