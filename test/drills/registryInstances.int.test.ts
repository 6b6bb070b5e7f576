/**
 * A registry-lost drill's check that the services registered their instances again, against the
 * lab's ZooKeeper: one service that registers again, one whose instance is gone for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { awaitRegistryInstances, registryInstances } from '../../src/drills/registryInstances';
import { ACL, connectZk, create, CreateMode, Id, Permission, withZk, type ZkClient } from '../../src/zookeeper/client';
import { deleteTree } from '../../src/zookeeper/deleteTree';
import { standbySpec, unique } from '../support/lab';
import { type LiveInstance, liveInstance } from '../support/liveInstance';

const OPEN = [new ACL(Permission.ALL, new Id('world', 'anyone'))];
const base = standbySpec();
const u = unique('reginst');
const spec: ClusterSpec = { ...base, registry: { curator: `/${u}-services`, dubbo: `/${u}-dubbo` } };
const zkConnect = spec.zookeeper!.connect;
const services = spec.registry!.curator!;
const dubbo = spec.registry!.dubbo!;
const live = `${services}/orders/5f0c-live`;
const gone = `${services}/payments/77aa-gone`;
const provider = `${dubbo}/com.example.Orders/providers/dubbo%3A%2F%2F10.0.0.1%3A20880`;

let liveService: LiveInstance | undefined;
let providerService: LiveInstance | undefined;
let goneSession: ZkClient | undefined;

async function seed(zk: ZkClient): Promise<void> {
  for (const p of [services, `${services}/orders`, `${services}/payments`, dubbo, `${dubbo}/com.example.Orders`, `${dubbo}/com.example.Orders/providers`]) {
    await create(zk, p, null, OPEN).catch(() => undefined);
  }
}

beforeAll(async () => {
  await withZk(zkConnect, seed);
  liveService = await liveInstance(zkConnect, live, Buffer.from('{"address":"10.0.0.1"}'));
  providerService = await liveInstance(zkConnect, provider, null);
  goneSession = await connectZk(zkConnect);
  await create(goneSession, gone, Buffer.from('{"address":"10.0.0.2"}'), OPEN, CreateMode.EPHEMERAL);
});

afterAll(async () => {
  await liveService?.close();
  await providerService?.close();
  goneSession?.close();
  await withZk(zkConnect, async (zk) => {
    await deleteTree(zk, services);
    await deleteTree(zk, dubbo);
  });
});

describe('registry instances', () => {
  it('lists the ephemeral instances under both roots; after the roots are lost and restored, waits for those that register again and names the one that does not', { timeout: 60_000 }, async () => {
    const before = await registryInstances(spec);
    expect(before).toEqual([provider, gone, live].sort());

    // The registry lost: the roots deleted (the instances with them), its persistent nodes restored.
    await withZk(zkConnect, async (zk) => {
      await deleteTree(zk, services);
      await deleteTree(zk, dubbo);
    });
    expect(await registryInstances(spec)).toEqual([]);
    await withZk(zkConnect, seed);

    const r = await awaitRegistryInstances(spec, before, { timeoutMs: 3_000, intervalMs: 100 });
    expect(r).toMatchObject({ expected: 3, back: 2, missing: [gone] });
    // It waited the bound for the missing one, no longer.
    expect(r.waitedMs).toBeGreaterThanOrEqual(3_000);
    expect(r.waitedMs).toBeLessThan(6_000);
    expect(liveService!.registrations()).toBe(2);

    // All back: answered at once.
    const quick = await awaitRegistryInstances(spec, [live, provider], { timeoutMs: 10_000 });
    expect(quick).toMatchObject({ expected: 2, back: 2, missing: [] });
    expect(quick.waitedMs).toBeLessThan(2_000);
  });
});
