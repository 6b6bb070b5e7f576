/**
 * Registry degradation against the lab ZooKeeper: a Curator and a Dubbo registry under a scratch
 * root (service nodes with different ACLs), paused (level 1: a registration is refused, reads and
 * session-expiry deletes work), lifted (every ACL back exactly), static address files (3), critical
 * services only (4), back to 1 (files gone), a dry run that changes nothing, and the CLI.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { degradationPath, readDegradation, setDegradation } from '../../src/registry/degrade';
import { curatorInstanceJson, dubboProviderName } from '../../src/registry/layouts';
import { captureRegistry } from '../../src/registry/registry';
import { writeCaptureDir } from '../../src/registry/storage';
import { ACL, CreateMode, exists, getACL, getChildren, getData, Id, Permission, remove, ZkError, type ZkClient } from '../../src/zookeeper/client';
import { lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';
import { deleteTree, mk, newScratchRoot, OPEN, session } from '../zookeeper/scratch';

const root = newScratchRoot();
const roots = { curator: `${root}/services`, dubbo: `${root}/dubbo` };
const iface = `${roots.dubbo}/com.example.PayService`;
let zk: ZkClient;
let apps: ZkClient;
let spec: ClusterSpec;
const tmp = mkdtempSync(join(tmpdir(), 'lifeboat-degrade-'));
const fallbackDir = join(tmp, 'fallback');
const exportDir = join(tmp, 'export');
// A node with two ACL entries (anyone reads, 127.0.0.1 does everything): put back exactly, entry by entry.
const MIXED = [new ACL(Permission.READ | Permission.WRITE, new Id('world', 'anyone')), new ACL(Permission.ALL, new Id('ip', '127.0.0.1'))];

const aclOf = async (path: string) =>
  (await getACL(zk, path)).acl.map((a) => `${a.id.scheme}:${a.id.id}:${(a as unknown as { permission: number }).permission}`).sort();

async function allAcls(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const walk = async (p: string): Promise<void> => {
    out[p] = await aclOf(p);
    for (const c of await getChildren(zk, p)) await walk(`${p}/${c}`);
  };
  await walk(root);
  return out;
}

const registerCurator = (client: ZkClient, service: string, id: string, ip: string, mode = CreateMode.EPHEMERAL) =>
  mk(client, `${roots.curator}/${service}/${id}`, curatorInstanceJson({ name: service, id, address: ip, port: 8080 }), OPEN, mode);

async function refused(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (e) {
    return e instanceof ZkError ? e.code : String(e);
  }
}

beforeAll(async () => {
  zk = await session();
  apps = await session();
  spec = { ...primarySpec(), name: unique('degrade'), registry: { ...roots, critical: ['^payment-service$'] } };
  await mk(zk, root);
  await mk(zk, roots.curator);
  await mk(zk, `${roots.curator}/order-service`);
  await mk(zk, `${roots.curator}/payment-service`, null, MIXED);
  await registerCurator(apps, 'order-service', 'o-1', '10.0.0.1');
  await registerCurator(apps, 'order-service', 'o-2', '10.0.0.2');
  await registerCurator(apps, 'payment-service', 'p-1', '10.0.1.1');
  await mk(zk, roots.dubbo);
  await mk(zk, iface);
  for (const c of ['providers', 'consumers']) await mk(zk, `${iface}/${c}`);
  await mk(apps, `${iface}/providers/${dubboProviderName('dubbo://10.0.2.1:20880/com.example.PayService?application=pay')}`, null, OPEN, CreateMode.EPHEMERAL);
  writeCaptureDir(exportDir, await captureRegistry(zk, roots));
});

afterAll(async () => {
  if (spec) await setDegradation({ spec, level: 0, by: 'test cleanup' }).catch(() => {});
  apps?.close();
  if (zk) {
    await deleteTree(zk, root);
    await remove(zk, degradationPath(spec.name)).catch(() => {});
  }
  zk?.close();
});

describe('registry degradation', () => {
  it('level 1 refuses registrations (NoAuth) while reads and session-expiry deletes work; level 0 puts every ACL back exactly', async () => {
    const before = await allAcls();
    const goner = await session();
    await registerCurator(goner, 'order-service', 'o-goner', '10.0.0.9');

    const s = await setDegradation({ spec, level: 1, by: 'test', reason: 'failover drill' });
    expect(s).toMatchObject({ level: 1, by: 'test', reason: 'failover drill', registrationsPaused: true, keepCachedLists: false });
    // Curator base + 2 services, Dubbo base + interface + 2 categories.
    expect(s.pausedNodes.map((n) => n.path).sort()).toEqual(
      [roots.curator, `${roots.curator}/order-service`, `${roots.curator}/payment-service`, roots.dubbo, iface, `${iface}/consumers`, `${iface}/providers`].sort(),
    );
    expect(await readDegradation(spec)).toMatchObject({ level: 1, by: 'test' });

    // A Curator-style registration (create under the service), a new service, a Dubbo provider: refused.
    expect(await refused(registerCurator(apps, 'order-service', 'o-3', '10.0.0.3'))).toBe('NO_AUTH');
    expect(await refused(registerCurator(apps, 'payment-service', 'p-2', '10.0.1.2'))).toBe('NO_AUTH');
    expect(await refused(mk(apps, `${roots.curator}/new-service`))).toBe('NO_AUTH');
    expect(await refused(mk(apps, `${iface}/providers/${dubboProviderName('dubbo://10.0.2.2:20880/com.example.PayService')}`, null, OPEN, CreateMode.EPHEMERAL))).toBe('NO_AUTH');
    // Reads work.
    expect((await getChildren(apps, `${roots.curator}/order-service`)).sort()).toEqual(['o-1', 'o-2', 'o-goner']);
    expect(JSON.parse((await getData(apps, `${roots.curator}/order-service/o-1`)).data!.toString()).address).toBe('10.0.0.1');
    // An instance whose session ends goes, as always.
    goner.close();
    await expect.poll(() => exists(zk, `${roots.curator}/order-service/o-goner`), { timeout: 30_000, interval: 200 }).toBeNull();

    // Idempotent: the same level again changes nothing (and keeps the ACLs before, not the paused ones).
    const again = await setDegradation({ spec, level: 1, by: 'someone else' });
    expect(again.actions).toEqual(['nothing to change']);
    expect(again.by).toBe('test');

    const lifted = await setDegradation({ spec, level: 0, by: 'test', reason: 'over' });
    expect(lifted).toMatchObject({ level: 0, registrationsPaused: false, pausedNodes: [] });
    expect(await allAcls()).toEqual(before);
    await registerCurator(apps, 'order-service', 'o-3', '10.0.0.3');
    await mk(apps, `${roots.curator}/new-service`);
    await remove(apps, `${roots.curator}/new-service`);
    await remove(apps, `${roots.curator}/order-service/o-3`);
  });

  it('level 3 writes a static address file per service, level 4 keeps the critical ones, 3 → 1 removes them, 0 lifts', async () => {
    const before = await allAcls();
    const s3 = await setDegradation({ spec, level: 3, by: 'test', fallbackDir, exportDir });
    expect(s3).toMatchObject({ level: 3, registrationsPaused: true, keepCachedLists: true });
    expect(readdirSync(fallbackDir).sort()).toEqual(['com.example.PayService.json', 'order-service.json', 'payment-service.json']);
    expect(JSON.parse(readFileSync(join(fallbackDir, 'order-service.json'), 'utf8')).addresses.sort()).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
    expect(await refused(registerCurator(apps, 'order-service', 'o-4', '10.0.0.4'))).toBe('NO_AUTH');

    const s4 = await setDegradation({ spec, level: 4, by: 'test', fallbackDir, exportDir });
    expect(s4.coreOnly).toEqual({ patterns: ['^payment-service$'], services: ['payment-service'] });
    expect(readdirSync(fallbackDir)).toEqual(['payment-service.json']);
    expect(JSON.parse(readFileSync(join(fallbackDir, 'payment-service.json'), 'utf8')).addresses).toEqual(['10.0.1.1:8080']);

    // A file someone else put there is not ours: it stays.
    writeFileSync(join(fallbackDir, 'operator-notes.txt'), 'mine\n');
    const s1 = await setDegradation({ spec, level: 1, by: 'test' });
    expect(s1).toMatchObject({ level: 1, staticAddresses: null, coreOnly: null, keepCachedLists: false });
    expect(readdirSync(fallbackDir)).toEqual(['operator-notes.txt']);
    expect(await refused(registerCurator(apps, 'order-service', 'o-4', '10.0.0.4'))).toBe('NO_AUTH');

    await setDegradation({ spec, level: 0, by: 'test' });
    expect(await allAcls()).toEqual(before);
  });

  it('level 3 with no registry snapshot of the cluster is refused before anything changes', async () => {
    const before = await allAcls();
    await expect(setDegradation({ spec, level: 3, by: 'test', fallbackDir: join(tmp, 'none') })).rejects.toThrow(/no registry snapshot of degrade-[0-9a-f]+ for the static address files|no repository at .*cluster spec degrade-/);
    expect(await allAcls()).toEqual(before);
    expect(existsSync(join(tmp, 'none'))).toBe(false);
  });

  it('a dry run changes nothing', async () => {
    const before = await allAcls();
    const state = await readDegradation(spec);
    const dry = await setDegradation({ spec, level: 3, by: 'test', fallbackDir: join(tmp, 'dry'), exportDir, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.actions.join('\n')).toMatch(/pause registrations: CREATE taken from the ACLs of 7 service node/);
    expect(dry.actions.join('\n')).toMatch(/write 3 static address file/);
    expect(await allAcls()).toEqual(before);
    expect(existsSync(join(tmp, 'dry'))).toBe(false);
    expect(await readDegradation(spec)).toEqual(state);
  });

  it('the CLI sets, shows and lifts a level; bad input is one line', async () => {
    const file = join(tmp, 'spec.yaml');
    writeFileSync(file, stringify(spec));
    const before = await allAcls();
    const dry = await lifeboat('registry', 'degrade', '2', '--spec', file, '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ level: 2, dryRun: true });
    expect(await allAcls()).toEqual(before);

    const set = await lifeboat('registry', 'degrade', '2', '--spec', file, '--reason', 'cli test', '--by', 'ops');
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/level 2 \(local cache\) since .* by ops \(cli test\)/);
    const shown = await lifeboat('registry', 'degradation', '--spec', file, '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({ level: 2, keepCachedLists: true, registrationsPaused: true, by: 'ops' });

    const bad = await lifeboat('registry', 'degrade', '5', '--spec', file);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/the level is one of 0-4, got "5"/);
    const noDir = await lifeboat('registry', 'degrade', '3', '--spec', file);
    expect(noDir.code).not.toBe(0);
    expect(noDir.stderr).toMatch(/give a fallback directory \(--fallback-dir\)/);
    expect(noDir.stderr).not.toMatch(/\n\s+at /);

    expect((await lifeboat('registry', 'degrade', '0', '--spec', file)).code).toBe(0);
    expect(await allAcls()).toEqual(before);
  });
});
