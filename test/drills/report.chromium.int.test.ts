/**
 * The drill report's HTML really renders (issue 16): the report of a 3-drill history, read back from a
 * real repository, opened in headless Chromium (Debian's, --no-sandbox as root). A script appended
 * to a copy of the page (the report itself has none) measures what the browser laid out: the SVG's
 * box, every marker's box (one per drill per series, each inside the plot), the axis labels and
 * legend, the tables; and writes it into the DOM, which --dump-dom prints.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium } from '../../lab/provision';
import { listDrillRecords, REPORT_HTML_FILE, saveDrillRecord } from '../../src/drills/history';
import { renderDrillHtml } from '../../src/drills/report.pure';
import { tempRepo } from '../repository/helpers';
import { threeDrills } from './recordFixtures';

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface Measured {
  svg: Box;
  svgBBox: Box;
  points: Record<string, { drill: string; box: Box; missing: boolean }[]>;
  texts: Record<string, Box | null>;
  tables: number;
  rows: number;
  scoreText: string;
}

const MEASURE = `<script>
(function () {
  const rect = (el) => { const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; };
  const svg = document.querySelector('svg.drill-trend');
  const b = svg.getBBox();
  const points = {};
  for (const s of ['rto', 'rpo', 'score']) {
    points[s] = [...svg.querySelectorAll('.point-' + s)].map((p) => ({ drill: p.getAttribute('data-drill'), box: rect(p), missing: p.classList.contains('missing') }));
  }
  const texts = {};
  for (const t of svg.querySelectorAll('text')) texts[t.textContent] = rect(t);
  const out = {
    svg: rect(svg),
    svgBBox: { x: b.x, y: b.y, width: b.width, height: b.height },
    points,
    texts,
    tables: document.querySelectorAll('table').length,
    rows: document.querySelectorAll('tbody tr').length,
    scoreText: document.getElementById('score').textContent,
  };
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>`;

describe('the drill report in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-chromium-'));
  let chromium: string;
  let html: string;
  let drills: ReturnType<typeof threeDrills>;

  beforeAll(async () => {
    chromium = ensureChromium((m) => console.log(`[chromium] ${m}`));
    drills = threeDrills('staging');
    const repo = await tempRepo();
    try {
      for (const d of drills) await saveDrillRecord(repo, d);
      const listed = await listDrillRecords(repo, 'staging');
      const reader = await repo.openSnapshot(listed.snapshots[drills[2]!.id]!);
      html = (await reader.readBuffer(REPORT_HTML_FILE)).toString();
    } finally {
      await repo.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lays out the chart: one visible marker per drill per series inside the SVG, axis labels and legend with real text boxes', async () => {
    // The stored report is the one rendered from the record and the drills before it.
    expect(html).toBe(renderDrillHtml(drills[2]!, drills.slice(0, 2)));
    const page = join(dir, 'report.html');
    writeFileSync(page, html.replace('</body>', `${MEASURE}\n</body>`));
    const { stdout } = await promisify(execFile)(
      chromium,
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${join(dir, 'profile')}`, '--window-size=1280,2400', '--dump-dom', `file://${page}`],
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const json = stdout.match(/<pre id="measured">([^<]*)<\/pre>/);
    expect(json, `no measurements in the dumped DOM:\n${stdout.slice(0, 2000)}`).not.toBeNull();
    const m = JSON.parse(json![1]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as Measured;

    // The SVG has its size on the page and its content fills it.
    expect(m.svg.width).toBe(760);
    expect(m.svg.height).toBe(340);
    expect(m.svgBBox.width).toBeGreaterThan(700);
    expect(m.svgBBox.height).toBeGreaterThan(300);

    for (const series of ['rto', 'rpo', 'score']) {
      const pts = m.points[series]!;
      expect(pts.map((p) => p.drill)).toEqual(drills.map((d) => d.id));
      for (const p of pts) {
        expect(p.missing).toBe(false);
        expect(p.box.width).toBeGreaterThan(4);
        expect(p.box.height).toBeGreaterThan(4);
        // Inside the SVG, and the drills left to right.
        expect(p.box.x).toBeGreaterThanOrEqual(m.svg.x);
        expect(p.box.x + p.box.width).toBeLessThanOrEqual(m.svg.x + m.svg.width);
        expect(p.box.y).toBeGreaterThanOrEqual(m.svg.y);
        expect(p.box.y + p.box.height).toBeLessThanOrEqual(m.svg.y + m.svg.height);
      }
      expect(pts[0]!.box.x).toBeLessThan(pts[1]!.box.x);
      expect(pts[1]!.box.x).toBeLessThan(pts[2]!.box.x);
    }
    // Screen y grows downwards: the 100-point drill above the worse ones, the 45-min RTO above the 20-min one.
    const y = (s: string, i: number) => m.points[s]![i]!.box.y;
    expect(y('score', 0)).toBeLessThan(y('score', 2));
    expect(y('rto', 1)).toBeLessThan(y('rto', 0));

    // Labels and the legend were laid out as text (a box with width), not dropped.
    for (const label of ['minutes (RTO, RPO)', 'score (points)', 'drill (start date)', 'RTO (min)', 'RPO (min)', 'Score (0–100)', '2026-09-03', '2026-11-03']) {
      expect(m.texts[label], label).toBeTruthy();
      expect(m.texts[label]!.width, label).toBeGreaterThan(10);
      expect(m.texts[label]!.height, label).toBeGreaterThan(5);
    }
    // The rest of the report: its tables (phases, score, deductions, problems, …, trend) and the score.
    expect(m.tables).toBeGreaterThanOrEqual(7);
    expect(m.rows).toBeGreaterThan(20);
    expect(m.scoreText).toBe(String(drills[2]!.score.total));
    expect(readFileSync(page, 'utf8')).toContain('<svg ');
  });
});
