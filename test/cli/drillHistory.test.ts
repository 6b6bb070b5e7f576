/**
 * `lifeboat drill history` and `lifeboat drill report` as processes, against a real repository in a
 * tmp dir holding three drill records: the table and the trend, --json's one document, --cluster
 * through the specs directory, the Markdown and HTML reports (--out never replaces a file), a missing
 * drill id (exit 14, one line), bad input (exit 2, one line), a missing repository (exit 10, nothing
 * created), the repository left as it was (a read writes nothing), and the records read from the
 * next repository tier when the primary is gone.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveDrillRecord } from '../../src/drills/history';
import { describeDeductionEvidence, trendOf } from '../../src/drills/report.pure';
import type { DrillRecord } from '../../src/drills/records';
import { PASSWORD, tempDir, tempRepo } from '../repository/helpers';
import { threeDrills } from '../drills/recordFixtures';
import { freePort, lifeboatWith } from './support';

describe('lifeboat drill history / report', () => {
  const dir = tempDir('drill-cli');
  const specsDir = join(dir, 'specs');
  let env: NodeJS.ProcessEnv;
  let specFile: string;
  let missingFile: string;
  let tieredFile: string;
  let repoPath: string;
  let drills: DrillRecord[];
  const snapshotFiles = () => readdirSync(join(repoPath, 'snapshots')).sort();

  beforeAll(async () => {
    drills = threeDrills('staging');
    const repo = await tempRepo();
    repoPath = repo.path;
    for (const d of drills) await saveDrillRecord(repo, d);
    await repo.close();
    writeFileSync(join(dir, 'pw'), PASSWORD);
    const spec = (path: string) => ({
      name: 'staging',
      environment: 'staging',
      kafka: { bootstrapServers: ['127.0.0.1:9'] },
      repository: { path, password: { file: join(dir, 'pw') } },
      objectives: { rtoMinutes: 30, rpoMinutes: 15 },
    });
    specFile = join(dir, 'staging.yaml');
    writeFileSync(specFile, stringify(spec(repoPath)));
    // The primary gone, the records in the off-site tier (copied there by each save).
    tieredFile = join(dir, 'tiered.yaml');
    writeFileSync(tieredFile, stringify({ ...spec(join(dir, 'primary-gone')), offsiteRepository: { path: repoPath, password: { file: join(dir, 'pw') } } }));
    missingFile = join(dir, 'missing.yaml');
    writeFileSync(missingFile, stringify({ ...spec(join(dir, 'nowhere')), name: 'missing' }));
    mkdirSync(specsDir);
    writeFileSync(join(specsDir, 'staging.yaml'), stringify(spec(repoPath)));
    // Nothing here needs Temporal: point it where nobody listens.
    env = { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, LIFEBOAT_SPECS_DIR: '' };
  });

  it('history: a table of the drills oldest first, then the trend; the repository untouched', async () => {
    const before = snapshotFiles();
    const r = await lifeboatWith(env, 'drill', 'history', '--spec', specFile);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^STARTED +DRILL +SCENARIO +TYPE +SCORE +RTO +RPO +OPEN PROBLEMS$/);
    expect(lines.slice(1, 4).map((l) => l.split(/ {2,}/)[1])).toEqual(drills.map((d) => d.id));
    expect(lines[1]).toMatch(/^2026-09-03 12:00:00 +drill-staging-1 +cluster-lost +full +100 +20 min +0 s +0$/);
    expect(lines[3]).toContain(` ${drills[2]!.score.total} `);
    expect(lines[5]).toBe(`trend: ${trendOf(drills).summary}`);
    expect(r.stderr).toBe('');
    expect(snapshotFiles()).toEqual(before);
    expect(readdirSync(join(repoPath, 'locks'))).toEqual([]);
  }, 60_000);

  it('history --json: one document with the drills, their snapshots and the trend; --limit the newest N', async () => {
    const r = await lifeboatWith(env, 'drill', 'history', '--spec', specFile, '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { cluster: string; drills: { id: string; score: number; rtoSeconds: number; rpoSeconds: number; openProblems: number; snapshot: string }[]; trend: { drills: number; score: { first: number; last: number } } };
    expect(doc.cluster).toBe('staging');
    expect(doc.drills.map((d) => d.id)).toEqual(drills.map((d) => d.id));
    expect(doc.drills.map((d) => d.score)).toEqual(drills.map((d) => d.score.total));
    expect(doc.drills[1]).toMatchObject({ rtoSeconds: 2700, rpoSeconds: 300 });
    expect(doc.drills.every((d) => /^[0-9a-f]{64}$/.test(d.snapshot))).toBe(true);
    expect(doc.trend).toMatchObject({ drills: 3, score: { first: 100, last: drills[2]!.score.total } });

    const limited = await lifeboatWith(env, 'drill', 'history', '--spec', specFile, '--json', '--limit', '2');
    expect((JSON.parse(limited.stdout) as { drills: { id: string }[] }).drills.map((d) => d.id)).toEqual(drills.slice(1).map((d) => d.id));
  }, 60_000);

  it('history --cluster finds the spec in the specs directory (--specs-dir or LIFEBOAT_SPECS_DIR)', async () => {
    const a = await lifeboatWith(env, 'drill', 'history', '--cluster', 'staging', '--specs-dir', specsDir);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('drill-staging-3');
    const b = await lifeboatWith({ ...env, LIFEBOAT_SPECS_DIR: specsDir }, 'drill', 'history', '--cluster', 'staging', '--json');
    expect(b.code).toBe(0);
    expect((JSON.parse(b.stdout) as { drills: unknown[] }).drills).toHaveLength(3);
    const unknown = await lifeboatWith(env, 'drill', 'history', '--cluster', 'prod', '--specs-dir', specsDir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/unknown cluster "prod"/);
  }, 120_000);

  it('report: Markdown by default with every deduction and its evidence; HTML into a new file, never replacing one', async () => {
    const d = drills[1]!;
    const md = await lifeboatWith(env, 'drill', 'report', d.id, '--spec', specFile);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^# Drill report: cluster-lost \(full\) on staging\n/);
    for (const x of d.score.deductions) expect(md.stdout).toContain(describeDeductionEvidence(x.evidence));
    for (const p of d.problems) expect(md.stdout).toContain(`| ${p.id} | ${p.class} |`);
    expect(md.stdout).not.toContain(drills[2]!.id);

    const out = join(dir, 'report.html');
    const html = await lifeboatWith(env, 'drill', 'report', d.id, '--spec', specFile, '--format', 'html', '--out', out);
    expect(html.code).toBe(0);
    expect(html.stdout).toBe('');
    expect(html.stderr).toContain(`wrote the html report of ${d.id} to ${out}`);
    const page = readFileSync(out, 'utf8');
    expect(page).toMatch(/^<!DOCTYPE html>/);
    expect(page).toContain('<svg ');

    const again = await lifeboatWith(env, 'drill', 'report', d.id, '--spec', specFile, '--format', 'html', '--out', out);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toEqual([`lifeboat: --out ${out} exists: give a new file (the report never replaces one)`]);
    expect(readFileSync(out, 'utf8')).toBe(page);

    const json = await lifeboatWith(env, 'drill', 'report', d.id, '--spec', specFile, '--json');
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { record: DrillRecord }).record).toEqual(d);
  }, 120_000);

  it('a drill id with no record: exit 14, one line naming the drills there are', async () => {
    const r = await lifeboatWith(env, 'drill', 'report', 'drill-staging-9', '--spec', specFile);
    expect(r.code).toBe(14);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lifeboat: no record of drill "drill-staging-9" for cluster staging in .* \(newest drills there: drill-staging-1, drill-staging-2, drill-staging-3; see "lifeboat drill history"\)$/);
    const j = await lifeboatWith(env, 'drill', 'report', 'drill-staging-9', '--spec', specFile, '--json');
    expect(j.code).toBe(14);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { type: 'SnapshotNotFound', exitCode: 14 } });
  }, 120_000);

  it('bad input is one line, exit 2; a missing repository exit 10 and nothing created', async () => {
    const cases: [string[], RegExp][] = [
      [['drill', 'history'], /the cluster is required: --cluster <name> or --spec <cluster.yaml> \(see "lifeboat drill history --help"\)/],
      [['drill', 'history', '--spec', specFile, '--cluster', 'staging'], /give --spec or --cluster, not both/],
      [['drill', 'history', '--cluster', 'staging'], /--cluster needs --specs-dir <dir>/],
      [['drill', 'history', '--spec', specFile, '--limit', '0'], /--limit must be a whole number of at least 1/],
      [['drill', 'history', '--spec', specFile, '--tier-repo', 'tape'], /cluster spec staging has no repository tier "tape"/],
      [['drill', 'report', '--spec', specFile], /the drill id is required/],
      [['drill', 'report', 'a', '--spec', specFile, '--format', 'pdf'], /--format is one of md, html, got "pdf"/],
    ];
    // Two at a time: each is a whole CLI process.
    const results: { code: number; stderr: string }[] = [];
    for (let i = 0; i < cases.length; i += 2) results.push(...(await Promise.all(cases.slice(i, i + 2).map(([args]) => lifeboatWith(env, ...args)))));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, args.join(' ')).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
    const missing = await lifeboatWith(env, 'drill', 'history', '--spec', missingFile);
    expect(missing.code).toBe(10);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
    const help = await lifeboatWith(env, 'drill', 'report', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: lifeboat drill report <drill-id>');
  }, 180_000);

  it('the primary gone: history and report read the next tier that holds the records, and say so; --tier-repo reads only that tier', async () => {
    const before = snapshotFiles();
    const r = await lifeboatWith(env, 'drill', 'history', '--spec', tieredFile);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').slice(1, 4).map((l) => l.split(/ {2,}/)[1])).toEqual(drills.map((d) => d.id));
    const notes = r.stderr.trim().split('\n');
    expect(notes[0]).toMatch(new RegExp(`^repository tier primary \\(${join(dir, 'primary-gone')}\\) cannot be used: `));
    expect(notes[1]).toBe(`reading the drill records from repository tier offsite (${repoPath})`);
    const j = await lifeboatWith(env, 'drill', 'history', '--spec', tieredFile, '--json');
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout) as { tier: string; repository: string; passed: { tier: string }[]; drills: { id: string }[] };
    expect([doc.tier, doc.repository, doc.passed.map((p) => p.tier), doc.drills.length]).toEqual(['offsite', repoPath, ['primary'], 3]);

    const rep = await lifeboatWith(env, 'drill', 'report', drills[1]!.id, '--spec', tieredFile, '--json');
    expect(rep.code, rep.stderr).toBe(0);
    expect(JSON.parse(rep.stdout)).toMatchObject({ tier: 'offsite', record: { id: drills[1]!.id } });

    const only = await lifeboatWith(env, 'drill', 'history', '--spec', tieredFile, '--tier-repo', 'primary');
    expect(only.code).toBe(10);
    expect(only.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'primary-gone'))).toBe(false);
    expect(snapshotFiles()).toEqual(before);
  }, 120_000);
});
