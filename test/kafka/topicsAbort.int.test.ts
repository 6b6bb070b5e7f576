/**
 * Cancellation of a topic restore: aborted mid-way (as a cancelled activity's signal aborts), it
 * stops within a second, each partition having recorded where its last batch landed; run again
 * with the same offset map it restores the rest exactly (no record lost, none twice) without
 * waiting out the settle time for unanswered batches, because it left none. A backup aborted
 * mid-way stops within a second too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { loadOffsetMap, unresolvedSent } from '../../src/kafka/offsetMap';
import { backupTopics } from '../../src/kafka/topicBackup';
import { restoreTopics } from '../../src/kafka/topicRestore';
import { initRepository, type LocalRepository } from '../../src/repository';
import { primarySpec, standbySpec, unique } from '../support/lab';
import { backedUpNumberedTopic, expectRestoredExactly, readAll } from './topicsSupport';

const PER_PARTITION = 3000;
const primary = kafkaFor(primarySpec(), 'test-abort-src');
const standby = kafkaFor(standbySpec(), 'test-abort-dst');
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-abort-'));
const source = unique('abort-src');
const target = unique('abort-dst');
let repo: LocalRepository;
let snapshot = '';

beforeAll(async () => {
  repo = await initRepository(join(dir, 'repo'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
  snapshot = await backedUpNumberedTopic(primary, repo, source, PER_PARTITION);
});

afterAll(async () => {
  for (const [k, t] of [[primary, source], [standby, target]] as const) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [t] }).catch(() => {});
    await admin.disconnect();
  }
  await repo?.close();
  rmSync(dir, { recursive: true, force: true });
});

const countOf = async (into: string) => [...(await readAll(standby, into)).values()].reduce((n, r) => n + r.length, 0);

describe('cancelled topic restore and backup', () => {
  it('stops within a second of the abort, and a second run completes it exactly', async () => {
    const mapFile = join(dir, 'abort.map');
    const snap = await repo.openSnapshot(snapshot);
    const ac = new AbortController();
    let abortedAt = 0;
    let seen = 0;
    const first = await restoreTopics(standby, {
      snapshots: [snap],
      topics: [source],
      rename: { [source]: target },
      offsetMapFile: mapFile,
      maxBatchBytes: 16 * 1024, // many small batches: the abort lands mid-way
      signal: ac.signal,
      onProgress: (p) => {
        seen = p.totalRecords;
        if (!abortedAt && p.totalRecords >= 1500) {
          abortedAt = Date.now();
          ac.abort();
        }
      },
    }).catch((e: unknown) => e);
    const stoppedIn = Date.now() - abortedAt;
    expect((first as Error).name).toBe('AbortError');
    expect(abortedAt).toBeGreaterThan(0);
    expect(stoppedIn).toBeLessThan(1_000);

    const partial = await countOf(target);
    expect(partial).toBeGreaterThanOrEqual(1500);
    expect(partial).toBeLessThan(PER_PARTITION * 3);
    // At most the batches in flight at the abort went on landing.
    expect(partial - seen).toBeLessThanOrEqual(3 * 200);
    // Every batch sent was answered and recorded: nothing for the next run to look for.
    const map = await loadOffsetMap(mapFile);
    expect([0, 1, 2].map((p) => unresolvedSent(map, source, p).length)).toEqual([0, 0, 0]);

    const t0 = Date.now();
    // Default settle time (35 s): the second run does not wait for it, since nothing is unanswered.
    const res = await restoreTopics(standby, { snapshots: [await repo.openSnapshot(snapshot)], topics: [source], rename: { [source]: target }, offsetMapFile: mapFile, maxBatchBytes: 16 * 1024 });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(res.records).toBe(PER_PARTITION * 3 - partial);
    await expectRestoredExactly({ kafka: primary, topic: source }, { kafka: standby, topic: target }, mapFile);
  });

  it('a topic backup stops within a second of its abort, and the next backup of the same topic is whole', async () => {
    const ac = new AbortController();
    let abortedAt = 0;
    const writer = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
    const first = await backupTopics(primary, writer, {
      topics: [source],
      chunkBytes: 64 * 1024,
      signal: ac.signal,
      onProgress: () => {
        if (!abortedAt) {
          abortedAt = Date.now();
          ac.abort();
        }
      },
    }).catch((e: unknown) => e);
    expect((first as Error).name).toBe('AbortError');
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
    await writer.abort();

    const again = await repo.newSnapshot({ cluster: 'primary', components: ['topics'] });
    const r = await backupTopics(primary, again, { topics: [source], chunkBytes: 64 * 1024 });
    await again.commit();
    expect(r.records).toBe(PER_PARTITION * 3);
  });
});
