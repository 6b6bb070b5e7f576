/**
 * The registrySync workflow with a real `lifeboat worker` process, driven by the CLI: a source spec's
 * registry (a scratch Curator root) synced to the standby spec's ZooKeeper (the lab's one ensemble,
 * under a scratch prefix), its status with lag, the worker SIGKILLed mid-sync while the source
 * changes, a new worker's full diff repairing it, and a stop.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { curatorInstanceJson } from '../../src/registry/layouts';
import { ledgerPath } from '../../src/registry/sync';
import { registrySyncId } from '../../src/registry/sync.pure';

import { buildWorkflowBundle } from '../../src/temporal/bundle';
import { connectTemporal, startRun, type TemporalClient } from '../../src/temporal/runs';
import { REGISTRY_SYNC_STATUS_QUERY, REGISTRY_SYNC_STOP_SIGNAL, type RegistrySyncStatus } from '../../src/registry/sync.pure';
import { CreateMode, exists, remove, setData, type ZkClient } from '../../src/zookeeper/client';
import { exportTree } from '../../src/zookeeper/export';
import { lifeboat } from '../support/cli';
import { primarySpec, standbySpec, unique } from '../support/lab';
import { killWorker, startWorker } from '../support/worker';
import { deleteTree, mk, newScratchRoot, OPEN, session } from '../zookeeper/scratch';

const root = newScratchRoot();
const services = `${root}/services`;
const prefix = `${root}/offsite`;
const dest = `${prefix}${services}`;
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-rsync-'));
let zk: ZkClient;
let apps: ZkClient;
let t: TemporalClient;
let worker: ChildProcess | undefined;
let src: ClusterSpec;
let dst: ClusterSpec;
let srcFile: string;
let dstFile: string;
let bundle: string;

async function tree(path: string): Promise<Record<string, string | null>> {
  if (!(await exists(zk, path))) return {};
  return Object.fromEntries((await exportTree(zk, path)).nodes.map((n) => [n.path, n.data]));
}
const inSync = async () => JSON.stringify(await tree(dest)) === JSON.stringify(await tree(services));

beforeAll(async () => {
  zk = await session();
  apps = await session();
  t = await connectTemporal();
  src = { ...primarySpec(), name: unique('rsync-src'), registry: { curator: services } };
  dst = { ...standbySpec(), name: unique('rsync-dst') };
  srcFile = join(dir, 'source.yaml');
  dstFile = join(dir, 'target.yaml');
  writeFileSync(srcFile, stringify(src));
  writeFileSync(dstFile, stringify(dst));
  await mk(zk, root);
  await mk(zk, services);
  await mk(zk, `${services}/order-service`);
  await mk(apps, `${services}/order-service/o-1`, curatorInstanceJson({ name: 'order-service', id: 'o-1', address: '10.0.0.1', port: 80 }), OPEN, CreateMode.EPHEMERAL);
  bundle = join(dir, 'workflows.js');
  await buildWorkflowBundle(bundle);
  worker = await startWorker(bundle);
}, 180_000);

afterAll(async () => {
  const id = registrySyncId(src.name, dst.name);
  await t?.client.workflow
    .getHandle(id)
    .terminate('test cleanup')
    .catch(() => {});
  killWorker(worker);
  apps?.close();
  if (zk) {
    await deleteTree(zk, root);
    await remove(zk, ledgerPath(id)).catch(() => {});
  }
  zk?.close();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('registrySync workflow', () => {
  it('syncs, reports its lag, survives a SIGKILLed worker by its full diff, and stops', { timeout: 240_000 }, async () => {
    const started = await lifeboat('registry', 'sync', 'start', '--spec', srcFile, '--target-spec', dstFile, '--prefix', prefix, '--full-diff-seconds', '600', '--json');
    expect(started.code, started.stderr).toBe(0);
    const id = JSON.parse(started.stdout).workflowId as string;
    expect(id).toBe(registrySyncId(src.name, dst.name));
    await expect.poll(inSync, { timeout: 60_000, interval: 250 }).toBe(true);
    // The held instance: ephemeral in the sync's session.
    expect((await exists(zk, `${dest}/order-service/o-1`))!.ephemeralOwner.readBigUInt64BE(0)).not.toBe(0n);

    const t0 = Date.now();
    await mk(zk, `${services}/user-service`);
    await mk(zk, `${services}/user-service/u-1`, 'u1');
    await expect.poll(inSync, { timeout: 15_000, interval: 100 }).toBe(true);
    expect(Date.now() - t0).toBeLessThan(10_000);

    // The status query answers with the stats the activity signalled (lag, writes, last full diff).
    await expect
      .poll(async () => JSON.parse((await lifeboat('registry', 'sync', 'status', id, '--json')).stdout).stats?.creates ?? 0, { timeout: 30_000, interval: 1_000 })
      .toBeGreaterThanOrEqual(3);
    const st = JSON.parse((await lifeboat('registry', 'sync', 'status', '--spec', srcFile, '--target-spec', dstFile, '--json')).stdout);
    expect(st).toMatchObject({ state: 'running', ephemerals: 'held', stats: { watch: 'recursive', fullDiffs: 1, lagMs: expect.any(Number) } });

    // The worker dies; the source changes meanwhile (no watch is there to see it).
    killWorker(worker);
    worker = undefined;
    await setData(zk, `${services}/user-service/u-1`, Buffer.from('changed-while-down'));
    await mk(zk, `${services}/pay-service`);
    await remove(zk, `${services}/order-service/o-1`).catch(() => {});
    apps.close();
    apps = await session();
    await mk(apps, `${services}/order-service/o-2`, curatorInstanceJson({ name: 'order-service', id: 'o-2', address: '10.0.0.2', port: 80 }), OPEN, CreateMode.EPHEMERAL);
    expect(await inSync()).toBe(false);
    // A new worker: the activity is retried there (after the heartbeat timeout) and its full diff repairs it.
    worker = await startWorker(bundle);
    await expect.poll(inSync, { timeout: 120_000, interval: 500 }).toBe(true);
    // The held copy is the new session's (the dead worker's session took its ephemerals with it).
    await expect.poll(async () => (await exists(zk, `${dest}/order-service/o-2`))?.ephemeralOwner.readBigUInt64BE(0) ?? 0n, { timeout: 60_000 }).not.toBe(0n);

    const stopped = await lifeboat('registry', 'sync', 'stop', id, '--reason', 'test over', '--json');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ state: 'stopped', stop: { reason: 'test over' } });
  });

  it('continues as new after its run time and keeps syncing (persistent ephemerals)', { timeout: 180_000 }, async () => {
    const id = unique('rsync-can');
    const persistentPrefix = `${root}/offsite-can`;
    await startRun(t.client, 'registrySync', {
      workflowId: id,
      args: [{ source: { spec: src }, target: { spec: dst }, prefix: persistentPrefix, ephemerals: 'persistent', runHours: 5 / 3600 }],
    });
    try {
      const query = () => t.client.workflow.getHandle(id).query<RegistrySyncStatus>(REGISTRY_SYNC_STATUS_QUERY).catch(() => undefined);
      await expect.poll(async () => (await query())?.runs ?? 0, { timeout: 90_000, interval: 1_000 }).toBeGreaterThanOrEqual(2);
      await mk(zk, `${services}/after-continue`, 'x');
      await expect.poll(async () => (await exists(zk, `${persistentPrefix}${services}/after-continue`)) !== null, { timeout: 30_000, interval: 250 }).toBe(true);
      expect((await exists(zk, `${persistentPrefix}${services}/order-service/o-2`))!.ephemeralOwner.readBigUInt64BE(0)).toBe(0n);
      await t.client.workflow.getHandle(id).signal(REGISTRY_SYNC_STOP_SIGNAL, { by: 'test' });
      const r = (await t.client.workflow.getHandle(id).result()) as RegistrySyncStatus;
      expect(r).toMatchObject({ state: 'stopped', stop: { by: 'test' } });
      expect(r.runs).toBeGreaterThanOrEqual(2);
    } finally {
      await t.client.workflow.getHandle(id).terminate('test cleanup').catch(() => {});
      await remove(zk, ledgerPath(registrySyncId(src.name, dst.name))).catch(() => {});
    }
  });
});
