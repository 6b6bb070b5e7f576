/**
 * The backup workflow down the repository tiers on the real lab: each complete set is copied to
 * every tier after the primary, retention runs in each tier by its own policy (a tier keeping one
 * set keeps its newest, never none), a tier whose copy fails is named while the set stays good,
 * and `backup sets` shows where each set lives and whether it is protected (3-2-1).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../src/config/spec';
import { listBackupSets } from '../../src/backup/parts';
import { withTier } from '../../src/backup/tiers';
import { EXIT } from '../../src/errors';
import type { RunReport } from '../../src/report/report.pure';
import { TASK_QUEUE } from '../../src/temporal/connection';
import type { BackupResult } from '../../workflows/backup';
import { lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';

describe('backup down the repository tiers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-backup-tiers-'));
  const lab = primarySpec();
  const password = lab.repository!.password;
  const nas = { name: 'nas', path: join(dir, 'nas'), password, compression: 'auto' as const, medium: 'nas' as const, offsite: false, retention: { keepLast: 1 } };
  const spec: ClusterSpec = {
    ...lab,
    repository: { ...lab.repository!, path: join(dir, 'local') },
    offsiteRepository: undefined,
    registry: undefined,
    retention: { keepLast: 3 },
    tiers: [nas],
  };
  // The same cluster with a second tier that cannot be written (its path runs through a file).
  writeFileSync(join(dir, 'a-file'), 'not a directory');
  const broken: ClusterSpec = { ...spec, tiers: [nas, { ...nas, name: 'vault', path: join(dir, 'a-file', 'vault'), medium: 'archive', offsite: true, retention: undefined }] };
  const specFile = join(dir, 'cluster.yaml');
  let temporal: TestWorkers;
  let client: Client;

  const backup = async (s: ClusterSpec) =>
    (await client.workflow.execute('backup', { taskQueue: TASK_QUEUE, workflowId: unique('backup-tiers'), args: [{ spec: s, parts: ['kafka-metadata', 'configs:1'] }] })) as BackupResult;
  const setsIn = (tier: string) => withTier(spec, tier, async (repo) => (await listBackupSets(repo, spec.name)).map((s) => s.setId));

  beforeAll(async () => {
    writeFileSync(specFile, stringify(spec));
    temporal = await startTestWorkers({ hosts: spec.brokers.map((b) => b.host) });
    client = temporal.client;
  });

  afterAll(async () => {
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies each set down the tiers, retains each tier by its own policy, and names a tier whose copy fails", { timeout: 240_000 }, async () => {
    const first = await backup(spec);
    const step = (r: { report: RunReport }, name: string) => r.report.steps.find((s) => s.name === name)!;
    expect(first.report.steps.map((s) => s.name)).toEqual(['kafka-metadata', 'configs:1', 'offsite', 'copy-nas', 'retention']);
    expect(step(first, 'copy-nas')).toMatchObject({ status: 'done', detail: '2 snapshots copied, ' + step(first, 'copy-nas').detail!.split(', ')[1] });
    expect(step(first, 'offsite')).toMatchObject({ status: 'skipped', detail: 'no offsiteRepository in the spec' });
    const second = await backup(spec);
    expect(await setsIn('primary')).toEqual([first.setId, second.setId]);
    // The NAS keeps one (its own keepLast 1): its newest, which is its only complete set now.
    expect(await setsIn('nas')).toEqual([second.setId]);
    expect(step(second, 'retention').detail).toMatch(/^primary: kept 2, removed 0 .*; nas: kept 1, removed 1 /);

    // The vault tier cannot be written: named in the report, the set good, the NAS copy and retention done.
    const third = await backup(broken);
    expect(third.report.outcome).toBe('succeeded');
    expect(step(third, 'copy-nas').status).toBe('done');
    expect(step(third, 'copy-vault').status).toBe('failed');
    expect(third.report.problems).toEqual([expect.stringMatching(new RegExp(`^set ${third.setId} was not copied to tier vault \\(${join(dir, 'a-file', 'vault')}\\): .+; the set is good in the other tiers`))]);
    // Retention ran where the set arrived (the primary and the NAS), not in the tier that failed.
    expect(step(third, 'retention').detail).toMatch(/^primary: kept 3, removed 0 .*; nas: kept 1, removed 1 [^;]*$/);
    expect(await setsIn('primary')).toEqual([first.setId, second.setId, third.setId]);
    expect(await setsIn('nas')).toEqual([third.setId]);

    // Where each set lives: the newest on disk and NAS (two media, none off-site), the older ones on disk only.
    const sets = await lifeboat('backup', 'sets', '--spec', specFile);
    expect(sets.code, sets.stderr).toBe(EXIT.OK);
    expect(sets.stdout).toMatch(/^tier primary +disk +on-site +\S+local +3 sets$/m);
    expect(sets.stdout).toMatch(/^tier nas +nas +on-site +\S+nas +1 sets$/m);
    expect(sets.stdout).toMatch(new RegExp(`^${third.setId} .* in: primary nas  NOT PROTECTED \\(no copy off-site\\)$`, 'm'));
    expect(sets.stdout).toMatch(new RegExp(`^${first.setId} .* in: primary -  NOT PROTECTED \\(on only one medium \\(disk\\), 3-2-1 asks for two; no copy off-site\\)$`, 'm'));
    const json = await lifeboat('backup', 'sets', '--spec', specFile, '--json');
    const doc = JSON.parse(json.stdout) as { tiers: { name: string }[]; sets: { setId: string; where: Record<string, string>; protection: { protected: boolean; media: string[] } }[] };
    expect(doc.tiers.map((t) => t.name)).toEqual(['primary', 'nas']);
    expect(doc.sets.find((s) => s.setId === third.setId)).toMatchObject({ where: { primary: 'complete', nas: 'complete' }, protection: { protected: false, media: ['disk', 'nas'] } });
    const one = await lifeboat('backup', 'sets', '--spec', specFile, '--tier-repo', 'nas');
    expect(one.code, one.stderr).toBe(EXIT.OK);
    expect(one.stdout.trim().split('\n')).toEqual([expect.stringContaining(third.setId)]);
    const unknown = await lifeboat('backup', 'sets', '--spec', specFile, '--tier-repo', 'tape');
    expect(unknown.code).toBe(EXIT.USAGE);
    expect(unknown.stderr.trim()).toMatch(/has no repository tier "tape" \(its tiers: primary, nas\)$/);
  });
});
