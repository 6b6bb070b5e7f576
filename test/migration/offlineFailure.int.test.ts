/**
 * An offline migration that cannot finish: a partition directory of a moved topic already sits in
 * the standby's log dir (not this migration's). The restore refuses it after both clusters stopped,
 * before it writes anything; the one error line says what is left stopped, --restart-source starts
 * the primary again, and the standby's own data is untouched. The lab is left as found.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../src/config/spec';
import { brokerControlFor } from '../../src/host/brokerControl';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { waitForServing } from '../../src/recovery/serving';
import { temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { findCluster } from '../../lab/topology';
import { primarySpec, standbySpec, topo, unique } from '../support/lab';
import { createTopicsReady } from '../support/kafka';
import { lifeboat } from '../support/cli';
import { brokersRunning, primaryHealthy, readTopic } from './offlineSupport';

describe('offline migration refused at the target\'s disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-offline-fail-'));
  const lab = primarySpec();
  const source: ClusterSpec = { ...lab, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
  const target = standbySpec();
  const sourceFile = join(dir, 'primary.yaml');
  const own = unique('ofl-standby-own');
  const before: Record<string, string[]> = {};
  let workers: RunningWorkers;
  let running: Promise<void>;

  beforeAll(async () => {
    writeFileSync(sourceFile, stringify(source));
    workers = await createWorkers({ settings: temporalSettings(), hosts: [...source.brokers, ...target.brokers].map((b) => b.host) });
    running = workers.run();
    await createTopicsReady(target, [{ topic: own, numPartitions: 1, replicationFactor: 1 }]);
    const tp = kafkaFor(target).producer({ idempotent: true });
    await tp.connect();
    await tp.send({ topic: own, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ key: `s${i}`, value: `standby-${i}` })) });
    await tp.disconnect();
    before[own] = await readTopic(target, own);
  });

  afterAll(async () => {
    await primaryHealthy(lab).catch((e: unknown) => console.error('primary not healthy again:', e));
    for (const b of target.brokers) await brokerControlFor(target, b.id).start().catch((e: unknown) => console.error('standby not started again:', e));
    await waitForServing(target, { timeoutMs: 120_000 }).catch((e: unknown) => console.error('standby not serving again:', e));
    await withAdmin(kafkaFor(target), target.name, (a) => a.deleteTopics({ topics: [own] })).catch(() => {});
    workers?.shutdown();
    await running;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a partition directory of a moved topic already on the target: refused after the stops, the target\'s data untouched, --restart-source starts the source again', { timeout: 200_000 }, async () => {
    const leftover = unique('ofl-leftover');
    await createTopicsReady(source, [{ topic: leftover, numPartitions: 1, replicationFactor: 3 }]);
    const standbyDir = target.brokers[0]!.logDirs[0]!;
    const foreign = join(standbyDir, `${leftover}-0`);
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'standby-own.txt'), 'the standby\'s own bytes');
    try {
      const r = await lifeboat('migrate', '--offline', '--spec', sourceFile, '--target-spec', findCluster(topo, 'standby').specFile, '--yes', '--restart-source');
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('lifeboat:'));
      expect(errors).toEqual([
        `lifeboat: migrate-offline-primary-to-standby failed: ${foreign} already exists on broker 1 of standby and is not this migration's: the target's own data is never overwritten; primary's brokers 1, 2, 3 were started again; standby's brokers 1 are left stopped (its own data untouched)`,
      ]);
      expect(r.code).toBe(15);
      expect(readFileSync(join(foreign, 'standby-own.txt'), 'utf8')).toBe('the standby\'s own bytes');
      expect(readdirSync(foreign)).toEqual(['standby-own.txt']);
      expect(await brokersRunning(source)).toEqual([1, 2, 3]);
      expect(await brokersRunning(target)).toEqual([]);
    } finally {
      // Kafka must not find the stray directory when the standby starts again.
      rmSync(foreign, { recursive: true, force: true });
      await rm(`${standbyDir.replace(/\/+$/, '')}.lifeboat-migration.json`, { force: true });
      for (const b of target.brokers) await brokerControlFor(target, b.id).start();
      await waitForServing(target, { timeoutMs: 120_000 });
      await waitForServing(lab, { timeoutMs: 120_000 });
      await withAdmin(kafkaFor(lab), lab.name, (a) => a.deleteTopics({ topics: [leftover] }));
    }
    expect(await readTopic(target, own)).toEqual(before[own]);
  });

});
