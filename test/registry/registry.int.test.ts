/**
 * The service registry against the lab ZooKeeper: Curator and Dubbo layouts built under a scratch
 * root with real ephemeral registrations, exported in the seed's shape, incrementally, restored,
 * turned into static fallback files and verified with a register/discover probe.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/errors';
import { curatorInstanceJson, dubboProviderName } from '../../src/registry/layouts';
import {
  applyRegistryIncrements,
  captureRegistry,
  registerDiscoverProbe,
  restoreRegistry,
  staticFallback,
  verifyRegistry,
  writeFallback,
} from '../../src/registry/registry';
import { readCaptureDir, writeCaptureDir } from '../../src/registry/storage';
import { openRepository } from '../../src/repository';
import { keepZkTarget } from '../../src/zookeeper/preRestore';
import { readZkComponent } from '../../src/zookeeper/storage';
import { primarySpec } from '../support/lab';
import { CreateMode, exists, getChildren, remove, type ZkClient } from '../../src/zookeeper/client';
import { deleteTree, mk, newScratchRoot, OPEN, session } from '../zookeeper/scratch';
import { testDir } from '../support/tmp';

const root = newScratchRoot();
const roots = { curator: `${root}/services`, dubbo: `${root}/dubbo` };
let zk: ZkClient;
let services: ZkClient; // the "applications": their session owns the ephemeral registrations
const dubboUrl = (ip: string, port: number, extra = '') =>
  `dubbo://${ip}:${port}/com.example.OrderService?anyhost=true&application=order&interface=com.example.OrderService&version=1.0${extra}`;

async function registerCurator(name: string, id: string, address: string, port: number, payload?: unknown) {
  if (!(await exists(zk, `${roots.curator}/${name}`))) await mk(zk, `${roots.curator}/${name}`);
  await mk(services, `${roots.curator}/${name}/${id}`, curatorInstanceJson({ name, id, address, port, payload }), OPEN, CreateMode.EPHEMERAL);
}

beforeAll(async () => {
  zk = await session();
  services = await session();
  await mk(zk, root);
  await mk(zk, roots.curator);
  await registerCurator('order-service', 'o-1', '192.168.1.10', 8081, { version: '1.0', zone: 'a' });
  await registerCurator('order-service', 'o-2', '192.168.1.11', 8081, { version: '1.0', zone: 'b' });
  await registerCurator('user-service', 'u-1', '192.168.1.20', 9090);
  await mk(zk, roots.dubbo);
  await mk(zk, `${roots.dubbo}/com.example.OrderService`);
  for (const c of ['providers', 'consumers', 'configurators', 'routers']) await mk(zk, `${roots.dubbo}/com.example.OrderService/${c}`);
  await mk(services, `${roots.dubbo}/com.example.OrderService/providers/${dubboProviderName(dubboUrl('10.0.0.5', 20880))}`, null, OPEN, CreateMode.EPHEMERAL);
  await mk(services, `${roots.dubbo}/com.example.OrderService/providers/${dubboProviderName(dubboUrl('10.0.0.6', 20880, '&disabled=true'))}`, null, OPEN, CreateMode.EPHEMERAL);
  await mk(zk, `${roots.dubbo}/com.example.OrderService/configurators/${dubboProviderName('override://0.0.0.0/com.example.OrderService?weight=200')}`);
});

afterAll(async () => {
  services?.close();
  if (zk) await deleteTree(zk, root);
  zk?.close();
});

describe('service registry', () => {
  it("exports Curator and Dubbo registrations in the seed's JSON shape", async () => {
    const { registry, trees } = await captureRegistry(zk, roots);
    expect(registry.backup_time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(registry).toMatchObject({ version: '1.0', kind: 'full', instance_count: 5 });
    expect(registry.content_hash).toMatch(/^[0-9a-f]{64}$/);
    const order = registry.services.find((s) => s.name === 'order-service')!;
    expect(order.layout).toBe('curator');
    expect(order.instances.map((i) => ({ ip: i.ip, port: i.port, status: i.status, zone: i.metadata.zone }))).toEqual([
      { ip: '192.168.1.10', port: 8081, status: 'UP', zone: 'a' },
      { ip: '192.168.1.11', port: 8081, status: 'UP', zone: 'b' },
    ]);
    expect(registry.services.find((s) => s.name === 'user-service')!.instances).toHaveLength(1);
    const dubbo = registry.services.find((s) => s.layout === 'dubbo')!;
    expect(dubbo.name).toBe('com.example.OrderService');
    expect(dubbo.instances.map((i) => [i.ip, i.port, i.status, i.metadata.application, i.metadata.version])).toEqual([
      ['10.0.0.5', 20880, 'UP', 'order', '1.0'],
      ['10.0.0.6', 20880, 'DOWN', 'order', '1.0'],
    ]);
    expect(dubbo.instances.every((i) => i.ephemeral)).toBe(true);
    expect(trees.curator?.root).toBe(roots.curator);
    expect(trees.dubbo?.nodes.length).toBeGreaterThan(5);

    // The directory form round-trips; a malformed registry.json is a clear CorruptBackup.
    const dir = testDir('lifeboat-registry-');
    writeCaptureDir(dir, { registry, trees });
    expect((await readCaptureDir(dir)).registry).toEqual(registry);
    writeFileSync(join(dir, 'registry.json'), JSON.stringify({ ...registry, services: [{ name: 'x', layout: 'eureka', instances: [] }] }));
    const err = await readCaptureDir(dir).catch((e) => e);
    expect(err).toBeInstanceOf(LifeboatError);
    expect(err.type).toBe('CorruptBackup');
    expect(err.message).toMatch(/registry.json is malformed: services.0.layout/);
  });

  it('static fallback: one address file per service, UP instances only, from the export alone', async () => {
    const { registry } = await captureRegistry(zk, roots);
    const dir = testDir('lifeboat-fallback-');
    writeFallback(dir, staticFallback(registry));
    expect(readdirSync(dir).sort()).toEqual(['com.example.OrderService.json', 'order-service.json', 'user-service.json']);
    const order = JSON.parse(readFileSync(join(dir, 'order-service.json'), 'utf8'));
    expect(order.addresses).toEqual(['192.168.1.10:8081', '192.168.1.11:8081']);
    expect(order.generated_from.zxid).toBe(registry.zxid);
    const dubbo = JSON.parse(readFileSync(join(dir, 'com.example.OrderService.json'), 'utf8'));
    expect(dubbo.addresses).toEqual(['10.0.0.5:20880']); // the disabled provider is not a fallback target
  });

  it('incremental export by zxid: new and changed instances plus removals, applied on the parent', async () => {
    const parent = await captureRegistry(zk, roots);
    await registerCurator('order-service', 'o-3', '192.168.1.12', 8081);
    await registerCurator('payment-service', 'p-1', '192.168.1.30', 7070);
    await remove(services, `${roots.curator}/user-service/u-1`);
    const inc = await captureRegistry(zk, roots, parent);
    expect(inc.registry.kind).toBe('incremental');
    expect(inc.registry.parent_zxid).toBe(parent.registry.zxid);
    expect(inc.registry.services.map((s) => [s.name, s.instances.map((i) => i.id)])).toEqual([
      ['order-service', ['o-3']],
      ['payment-service', ['p-1']],
    ]);
    expect(inc.registry.removed).toEqual([{ service: 'user-service', layout: 'curator', id: 'u-1' }]);
    expect(inc.trees.curator?.kind).toBe('incremental');

    const merged = applyRegistryIncrements(parent.registry, [inc.registry]);
    const now = (await captureRegistry(zk, roots)).registry;
    expect(merged.content_hash).toBe(now.content_hash);
    expect(merged.instance_count).toBe(now.instance_count);
  });

  it('restores the persistent registry skeleton elsewhere (instances are ephemeral: skipped and listed)', async () => {
    const cap = await captureRegistry(zk, roots);
    const target = { curator: `${root}/restored/services`, dubbo: `${root}/restored/dubbo` };
    const dry = await restoreRegistry(zk, cap.trees, { targetRoots: target, dryRun: true });
    expect(dry.every((d) => d.result === undefined)).toBe(true);
    expect(await exists(zk, target.curator)).toBeNull();

    const res = await restoreRegistry(zk, cap.trees, { targetRoots: target });
    const curator = res.find((r) => r.layout === 'curator')!;
    expect(curator.plan.skippedEphemerals.sort()).toEqual(['/order-service/o-1', '/order-service/o-2', '/order-service/o-3', '/payment-service/p-1']);
    expect((await getChildren(zk, target.curator)).sort()).toEqual(['order-service', 'payment-service', 'user-service']);
    expect(await getChildren(zk, `${target.curator}/order-service`)).toEqual([]);
    expect((await getChildren(zk, `${target.dubbo}/com.example.OrderService`)).sort()).toEqual(['configurators', 'consumers', 'providers', 'routers']);
    expect(await getChildren(zk, `${target.dubbo}/com.example.OrderService/configurators`)).toHaveLength(1);
    expect(await getChildren(zk, `${target.dubbo}/com.example.OrderService/providers`)).toEqual([]);
  });

  it('keeps a live target as a pre-restore snapshot before writing into it; refuses without a repository', async () => {
    const cap = await captureRegistry(zk, roots);
    const target = { curator: `${root}/live/services` };
    await mk(zk, `${root}/live`);
    await mk(zk, target.curator);
    await mk(zk, `${target.curator}/legacy-service`, 'kept before restore');
    const curatorOnly = { curator: cap.trees.curator };

    // Nowhere to keep the old state: refused before the first write.
    await expect(
      restoreRegistry(zk, curatorOnly, { targetRoots: target, beforeWrite: (plan) => keepZkTarget(zk, plan, undefined, 'registry restore').then(() => {}) }),
    ).rejects.toMatchObject({ type: 'UnsafeTarget' });
    expect(await getChildren(zk, target.curator)).toEqual(['legacy-service']);

    const dir = testDir('lifeboat-regpre-');
    const spec = { ...primarySpec(), repository: { path: join(dir, 'repo'), password: { env: 'LIFEBOAT_PASSWORD' }, compression: 'auto' as const } };
    const kept: string[] = [];
    await restoreRegistry(zk, curatorOnly, {
      targetRoots: target,
      beforeWrite: async (plan) => {
        // The hook runs before any write: the target still has only what was there.
        expect(await getChildren(zk, target.curator)).toEqual(['legacy-service']);
        const meta = await keepZkTarget(zk, plan, spec, 'registry restore');
        if (meta) kept.push(meta.id);
      },
    });
    expect((await getChildren(zk, target.curator)).sort()).toEqual(['legacy-service', 'order-service', 'payment-service', 'user-service']);
    expect(kept).toHaveLength(1);
    const repo = await openRepository(join(dir, 'repo'), process.env.LIFEBOAT_PASSWORD!);
    try {
      const snap = await repo.openSnapshot(kept[0]!);
      expect(snap.meta.tags).toEqual(['pre-restore', 'zookeeper']);
      const before = await readZkComponent(snap);
      expect(before.root).toBe(target.curator);
      expect(before.nodes.map((n) => n.path).sort()).toEqual(['/', '/legacy-service']);
    } finally {
      await repo.close();
    }
  });

  it('verifies counts, content hash and a register/discover probe; reports a lost instance', async () => {
    const cap = await captureRegistry(zk, roots);
    const ok = await verifyRegistry(zk, cap.registry);
    expect(ok.ok).toBe(true);
    expect(ok.hashMatch).toBe(true);
    expect(ok.probe).toMatchObject({ ok: true });
    // The probe cleaned up after itself.
    expect((await getChildren(zk, roots.curator)).some((c) => c.startsWith('lifeboat-probe-'))).toBe(false);

    await remove(services, `${roots.curator}/order-service/o-3`);
    const bad = await verifyRegistry(zk, cap.registry, { probe: false });
    expect(bad.ok).toBe(false);
    expect(bad.countMismatches).toEqual([{ service: 'order-service', layout: 'curator', expected: 3, live: 2 }]);
    expect(bad.hashMatch).toBe(false);

    const noBase = await registerDiscoverProbe(zk, `${root}/missing`);
    expect(noBase.ok).toBe(false);
    expect(noBase.error).toMatch(/does not exist/);
  });
});
