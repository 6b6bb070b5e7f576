/**
 * `lifeboat status <drill-id>` on a real drill (a tabletop of the lab's staging standby, with a
 * repository and an off-site tier of the test's own): asked while the drill runs and after, it shows
 * the drill's own status query (phase, faults, measurements, the recovery child, the score and the
 * record), as text and --json. And the drill's record went down the tiers: the off-site tier holds it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { listDrillRecords } from '../../src/drills/history';
import { drillWorkflowId } from '../../src/drills/ids.pure';
import type { DrillStatus } from '../../src/drills/plan.pure';
import type { DrillRecord } from '../../src/drills/records';
import { openRepositoryForSpec } from '../../src/repository';
import { TASK_QUEUE } from '../../src/temporal/connection';
import { lifeboat } from '../support/cli';
import { standbySpec, unique } from '../support/lab';
import { startTestWorkers, type TestWorkers } from '../support/temporal';

const PHASES = ['prepare', 'start', 'execute', 'verify', 'review', 'done'];

describe('lifeboat status of a drill', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-drill-status-'));
  const lab = standbySpec();
  const spec: ClusterSpec = {
    ...lab,
    repository: { ...lab.repository!, path: join(dir, 'repo') },
    offsiteRepository: { ...lab.repository!, path: join(dir, 'offsite') },
    tiers: [],
  };
  let temporal: TestWorkers;

  beforeAll(async () => {
    temporal = await startTestWorkers({ hosts: spec.brokers.map((b) => b.host) });
  }, 120_000);

  afterAll(async () => {
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('shows the drill\'s phase, faults and measurements while it runs and after, as text and --json', { timeout: 240_000 }, async () => {
    const id = `${drillWorkflowId(spec.name, 'cluster-lost', new Date().toISOString())}-${unique('st')}`;
    const handle = await temporal.client.workflow.start('drill', { taskQueue: TASK_QUEUE, workflowId: id, args: [{ spec, scenario: 'cluster-lost', type: 'tabletop', probeIntervalSeconds: 2 }] });
    // While it runs: each answer is the drill's status (its phases in order), never the trackers' query error.
    const seen: string[] = [];
    let ended = false;
    const result = handle.result().finally(() => (ended = true)) as Promise<DrillRecord>;
    while (!ended) {
      const r = await lifeboat('status', id, '--json');
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { status: string; phase: string };
      if (doc.status === 'RUNNING') seen.push(doc.phase);
    }
    const record = await result;
    for (const p of seen) expect(PHASES).toContain(p);
    expect([...seen].sort((a, b) => PHASES.indexOf(a) - PHASES.indexOf(b))).toEqual(seen);

    const j = await lifeboat('status', id, '--json');
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout) as DrillStatus & { workflowId: string; status: string; workflowType: string; measured: Record<string, unknown>; activities: unknown[] };
    expect(doc).toMatchObject({ workflowId: id, status: 'COMPLETED', workflowType: 'drill', drillId: id, cluster: spec.name, scenario: 'cluster-lost', type: 'tabletop', dryRun: true, phase: 'done', faults: [], reverts: [], activities: [] });
    expect(doc.score).toBe(record.score.total);
    expect(doc.measured).toEqual({ score: record.score.total });
    expect(doc.recovery.map((c) => [c.workflow, c.outcome])).toEqual([['fullClusterRecovery', expect.any(String)]]);
    expect(doc.recordSnapshot).toMatch(/^[0-9a-f]{64}$/);

    const t = await lifeboat('status', id);
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${id}: COMPLETED, drill phase done (tabletop, dry run cluster-lost drill of ${spec.name}, started ${doc.startedAt})`);
    expect(lines).toContain('  faults: none');
    expect(lines).toContain('  measured: no fault applied yet');
    expect(lines).toContain(`  score ${record.score.total}/100`);
    expect(lines).toContain(`  record: snapshot ${doc.recordSnapshot!.slice(0, 12)} (lifeboat drill report ${id} --cluster ${spec.name})`);

    // The record went down the tiers with the save: the off-site tier holds it too.
    for (const tier of ['primary', 'offsite']) {
      const repo = await openRepositoryForSpec(spec, tier);
      try {
        expect((await listDrillRecords(repo, spec.name)).records.map((r) => r.id), tier).toEqual([id]);
      } finally {
        await repo.close();
      }
    }
  });
});
