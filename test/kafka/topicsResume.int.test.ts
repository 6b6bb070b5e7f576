/**
 * A topic restore SIGKILLed mid-way (in a child process) and then run to the end restores every
 * record exactly once, in order, and its offset map agrees with what the target holds; the batches
 * the killed runs left unanswered are looked for in the target, also when the resumed run cuts its
 * batches differently.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { loadOffsetMap, unresolvedSent } from '../../src/kafka/offsetMap';
import { restoreTopics } from '../../src/kafka/topicRestore';
import { findCluster } from '../../lab/topology';
import { initRepository, type LocalRepository } from '../../src/repository';
import { primarySpec, standbySpec, topo, unique } from '../support/lab';
import { backedUpNumberedTopic, expectRestoredExactly, readAll } from './topicsSupport';

const PER_PARTITION = 2000;
const primary = kafkaFor(primarySpec(), 'test-src');
const standby = kafkaFor(standbySpec(), 'test-dst');
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-resume-'));
const source = unique('resume-src');
const target = unique('resume-dst');
const target2 = unique('resume-dst2');
let repo: LocalRepository;
let snapshot = '';

/** Runs the child restore and SIGKILLs it once it reports at least `killAt` records restored. */
function restoreUntilKilled(killAt: number, mapFile: string, into = target): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = { spec: findCluster(topo, 'standby').specFile, repo: join(dir, 'repo'), password: 'test-password', snapshot, topic: source, target: into, mapFile, maxBatchBytes: 16 * 1024 };
    const child = spawn(join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx'), [join(__dirname, 'topicsRestoreChild.ts')], {
      env: { ...process.env, LIFEBOAT_TEST_RESTORE: JSON.stringify(args) },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true, // its own process group: the kill reaches tsx's node child too
    });
    let seen = 0;
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/restored (\d+)/g)) seen = Math.max(seen, Number(m[1]));
      if (!killed && seen >= killAt) {
        killed = true;
        process.kill(-child.pid!, 'SIGKILL');
      }
    });
    child.on('exit', () => (killed ? resolve(seen) : reject(new Error(`child restore ended before it was killed (${seen} restored)`))));
  });
}

beforeAll(async () => {
  repo = await initRepository(join(dir, 'repo'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
  snapshot = await backedUpNumberedTopic(primary, repo, source, PER_PARTITION);
});

afterAll(async () => {
  for (const [k, t] of [[primary, source], [standby, target], [standby, target2]] as const) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [t] }).catch(() => {});
    await admin.disconnect();
  }
  await repo?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every record of the source once, in order, in `into` (PER_PARTITION per partition), the map exact. */
const expectExact = (into: string, mapFile: string) => expectRestoredExactly({ kafka: primary, topic: source }, { kafka: standby, topic: into }, mapFile);

/** Partitions for which the map holds a batch sent without an answer. */
const unansweredPartitions = async (mapFile: string) => {
  const map = await loadOffsetMap(mapFile);
  return [0, 1, 2].filter((p) => unresolvedSent(map, source, p).length > 0).length;
};

const countOf = async (into: string) => [...(await readAll(standby, into)).values()].reduce((n, r) => n + r.length, 0);

describe('resumable topic restore', () => {
  it('killed twice with SIGKILL and resumed: no record lost, none duplicated, offset map exact', async () => {
    const mapFile = join(dir, 'resume.map');
    const first = await restoreUntilKilled(1500, mapFile);
    const second = await restoreUntilKilled(1500, mapFile);
    const partialCount = await countOf(target);
    expect(first).toBeGreaterThanOrEqual(1500);
    expect(second).toBeGreaterThanOrEqual(1500);
    expect(partialCount).toBeGreaterThanOrEqual(3000);
    expect(partialCount).toBeLessThan(PER_PARTITION * 3);

    expect(await unansweredPartitions(mapFile)).toBeGreaterThan(0);
    const snap = await repo.openSnapshot(snapshot);
    // The target has one replica: nothing a killed run sent can be waiting for followers.
    const res = await restoreTopics(standby, { snapshots: [snap], topics: [source], rename: { [source]: target }, offsetMapFile: mapFile, maxBatchBytes: 16 * 1024, settleMs: 1000 });
    expect(res.records).toBe(PER_PARTITION * 3 - partialCount);
    await expectExact(target, mapFile);
  });

  it('resumed with other batch sizes: the unanswered batches are still found in the target', async () => {
    const mapFile = join(dir, 'resume2.map');
    await restoreUntilKilled(1500, mapFile, target2);
    const partialCount = await countOf(target2);
    expect(partialCount).toBeLessThan(PER_PARTITION * 3);
    expect(await unansweredPartitions(mapFile)).toBeGreaterThan(0);
    const snap = await repo.openSnapshot(snapshot);
    const res = await restoreTopics(standby, { snapshots: [snap], topics: [source], rename: { [source]: target2 }, offsetMapFile: mapFile, maxBatchBytes: 64 * 1024, settleMs: 1000 });
    expect(res.records).toBe(PER_PARTITION * 3 - partialCount);
    await expectExact(target2, mapFile);
  });
});
