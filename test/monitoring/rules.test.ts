/**
 * The shipped Prometheus rules (monitoring/): `promtool check rules` and `promtool test rules` pass, every
 * alert has a unit test in which it fires, every metric a rule reads is one /metrics exports, and no
 * alert carries the receiver's failover label (routed to lifeboat serve, a backup alert starts nothing).
 * promtool comes with Debian's prometheus package, amtool with prometheus-alertmanager (the lab installs both).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../src/monitoring/metrics';

const DIR = join(__dirname, '..', '..', 'monitoring');
const RULES = join(DIR, 'lifeboat-backup.rules.yml');
const TESTS = join(DIR, 'tests', 'lifeboat-backup.test.yml');

function promtool(args: string[], cwd = DIR): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`promtool could not run (${(r.error as NodeJS.ErrnoException).code}): install Debian's prometheus package (apt-get install prometheus) or put promtool on PATH`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (): Rule[] => (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

describe('monitoring/ rules', () => {
  it('promtool check rules', () => {
    const r = promtool(['check', 'rules', RULES]);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  it('promtool test rules', () => {
    const r = promtool(['test', 'rules', TESTS], join(DIR, 'tests'));
    expect(r.out).toContain('SUCCESS');
    expect(r.status, r.out).toBe(0);
  });

  it('the example Alertmanager config passes amtool check-config', () => {
    const r = spawnSync('amtool', ['check-config', join(DIR, 'alertmanager.example.yml')], { encoding: 'utf8', timeout: 60_000 });
    if (r.error) throw new Error(`amtool could not run: install Debian's prometheus-alertmanager`);
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('every alert fires in some test', () => {
    const tests = parse(readFileSync(TESTS, 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] };
    const firing = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts?.length).map((a) => a.alertname)));
    expect(rules().map((r) => r.alert).filter((a) => !firing.has(a))).toEqual([]);
  });

  it('every alert has a severity and a summary, and none carries lifeboat_action', () => {
    for (const r of rules()) {
      expect(['warning', 'critical'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(Object.keys(r.labels ?? {}), r.alert).not.toContain('lifeboat_action');
    }
  });

  it('every metric the rules read is one /metrics exports', async () => {
    const { body } = await renderMetrics([]);
    const exported = new Set([...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const read = new Set(rules().flatMap((r) => [...`${r.expr} ${Object.values(r.annotations ?? {}).join(' ')}`.matchAll(/\blifeboat_[a-z_]+/g)].map((m) => m[0])));
    expect([...read].filter((m) => !exported.has(m))).toEqual([]);
    expect(read.size).toBeGreaterThan(10);
  });
});
