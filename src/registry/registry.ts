/**
 * The service registry on ZooKeeper (seed 004): export in the seed's JSON shape, incremental by
 * zxid, restore of its persistent skeleton, a static fallback (degradation level 3: one static
 * address file per service), and verification (instance counts, a content hash, register/discover).
 *
 * A capture keeps both views: the seed-shaped `registry.json` for people and fallbacks, and the
 * raw ZooKeeper trees of each layout's base path for an exact restore.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LifeboatError } from '../errors';
import { create, CreateMode, exists, getChildren, remove, ACL, Id, Permission, type ZkClient } from '../zookeeper/client';
import { zkFailure } from '../zookeeper/errors';
import { exportTree } from '../zookeeper/export';
import { applyRestore, planRestoreLive, type ApplyResult, type RestoreMode, type RestorePlan } from '../zookeeper/restore';
import { applyIncrements, joinRoot, type ZkTreeExport } from '../zookeeper/tree';
import { curatorInstanceJson, parseCuratorInstance, parseDubboProvider, type RegistryInstance, type RegistryLayout } from './layouts';

export interface RegistryRoots {
  /** Curator service-discovery base path; default "/services". */
  curator?: string | null;
  /** Dubbo root; default "/dubbo". */
  dubbo?: string | null;
}

export interface RegistryService {
  name: string;
  layout: RegistryLayout;
  instances: RegistryInstance[];
}

/** The seed's shape (backup_time, version, services[].instances[]), plus what restore and increments need. */
export interface RegistryExport {
  backup_time: string;
  version: string;
  kind: 'full' | 'incremental';
  /** The ZooKeeper zxid the export represents. */
  zxid: string;
  parent_zxid?: string;
  roots: { curator: string | null; dubbo: string | null };
  services: RegistryService[];
  /** Incremental only: registrations gone since the parent. */
  removed?: { service: string; layout: RegistryLayout; id: string }[];
  instance_count: number;
  /** sha256 over services and instances (see contentHash). */
  content_hash: string;
}

export interface RegistryCapture {
  registry: RegistryExport;
  /** Raw trees per layout (full, or incremental against the parent capture's trees). */
  trees: Partial<Record<RegistryLayout, ZkTreeExport>>;
}

export const REGISTRY_FORMAT_VERSION = '1.0';

const DEFAULT_ROOTS = { curator: '/services', dubbo: '/dubbo' };

function resolveRoots(r: RegistryRoots = {}): { curator: string | null; dubbo: string | null } {
  return { curator: r.curator === undefined ? DEFAULT_ROOTS.curator : r.curator, dubbo: r.dubbo === undefined ? DEFAULT_ROOTS.dubbo : r.dubbo };
}

/** "2025-09-23 02:00:00" (UTC), the seed's format. */
export const seedTime = (d: Date): string => d.toISOString().replace('T', ' ').slice(0, 19);

/** Turns the raw trees into services and instances. */
export function servicesFromTrees(trees: Partial<Record<RegistryLayout, ZkTreeExport>>): RegistryService[] {
  const services = new Map<string, RegistryService>();
  const add = (layout: RegistryLayout, name: string, inst: RegistryInstance): void => {
    const key = `${layout}\0${name}`;
    (services.get(key) ?? services.set(key, { name, layout, instances: [] }).get(key)!).instances.push(inst);
  };
  const c = trees.curator;
  if (c) {
    for (const n of c.nodes) {
      const seg = n.path.split('/').slice(1);
      if (seg.length !== 2) continue;
      const p = parseCuratorInstance(seg[1]!, n.data ? Buffer.from(n.data, 'base64') : null);
      if (p) add('curator', seg[0]!, { ...p, znode: joinRoot(c.root, n.path), ephemeral: n.ephemeral, mzxid: n.stat.mzxid });
    }
    // Services with no live instances still exist (their persistent node): list them empty.
    for (const n of c.nodes) {
      const seg = n.path.split('/').slice(1);
      if (n.path !== '/' && seg.length === 1 && !services.has(`curator\0${seg[0]}`)) services.set(`curator\0${seg[0]}`, { name: seg[0]!, layout: 'curator', instances: [] });
    }
  }
  const d = trees.dubbo;
  if (d) {
    for (const n of d.nodes) {
      const seg = n.path.split('/').slice(1);
      if (seg.length === 2 && seg[1] === 'providers' && !services.has(`dubbo\0${seg[0]}`)) services.set(`dubbo\0${seg[0]}`, { name: seg[0]!, layout: 'dubbo', instances: [] });
      if (seg.length !== 3 || seg[1] !== 'providers') continue;
      const p = parseDubboProvider(seg[2]!);
      if (p) add('dubbo', seg[0]!, { ...p, znode: joinRoot(d.root, n.path), ephemeral: n.ephemeral, mzxid: n.stat.mzxid });
    }
  }
  const out = [...services.values()].sort((a, b) => (a.name === b.name ? a.layout.localeCompare(b.layout) : a.name < b.name ? -1 : 1));
  for (const s of out) s.instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

/**
 * What identifies the registry's content: per service, each instance's id, address, status and
 * metadata, without zxids, flags or registration times (those change when a service re-registers).
 */
export function contentHash(services: RegistryService[]): string {
  const canon = services.map((s) => ({
    name: s.name,
    layout: s.layout,
    instances: s.instances.map((i) => ({
      id: i.id,
      ip: i.ip,
      port: i.port,
      status: i.status,
      metadata: Object.fromEntries(Object.entries(i.metadata).filter(([k]) => k !== 'registrationTimeUTC' && k !== 'timestamp').sort(([a], [b]) => (a < b ? -1 : 1))),
    })),
  }));
  return createHash('sha256').update(JSON.stringify(canon)).digest('hex');
}

function registryFromTrees(trees: Partial<Record<RegistryLayout, ZkTreeExport>>, roots: { curator: string | null; dubbo: string | null }, time: Date): RegistryExport {
  const services = servicesFromTrees(trees);
  const zxids = Object.values(trees).map((t) => BigInt(t.zxid));
  const zxid = zxids.length ? zxids.reduce((a, b) => (a > b ? a : b)) : 0n;
  return {
    backup_time: seedTime(time),
    version: REGISTRY_FORMAT_VERSION,
    kind: 'full',
    zxid: `0x${zxid.toString(16)}`,
    roots,
    services,
    instance_count: services.reduce((n, s) => n + s.instances.length, 0),
    content_hash: contentHash(services),
  };
}

/**
 * Captures the registry. With `parent` (the previous capture, materialized to full), trees are
 * exported incrementally and `registry` lists only new or changed instances plus `removed`.
 * A layout whose base path does not exist is left out.
 */
export async function captureRegistry(zk: ZkClient, rootsIn: RegistryRoots = {}, parent?: RegistryCapture): Promise<RegistryCapture> {
  const roots = resolveRoots(rootsIn);
  const trees: Partial<Record<RegistryLayout, ZkTreeExport>> = {};
  const full: Partial<Record<RegistryLayout, ZkTreeExport>> = {};
  const time = new Date();
  try {
    for (const layout of ['curator', 'dubbo'] as const) {
      const root = roots[layout];
      if (!root || !(await exists(zk, root))) continue;
      const base = parent?.trees[layout];
      if (base && base.kind !== 'full') throw new LifeboatError('InvalidInput', 'the parent registry capture must be materialized (full trees)');
      const t = await exportTree(zk, root, base ? { base } : {});
      trees[layout] = t;
      full[layout] = base ? applyIncrements(base, [t]) : t;
    }
  } catch (e) {
    throw zkFailure(e, 'registry export');
  }
  const registry = registryFromTrees(full, roots, time);
  if (!parent) return { registry, trees };
  return { registry: registryIncrement(parent.registry, registry), trees };
}

/** The changes from `prev` to `cur` (both full): changed/new instances and removals. */
export function registryIncrement(prev: RegistryExport, cur: RegistryExport): RegistryExport {
  const key = (s: { layout: string; name: string }, id: string): string => `${s.layout}\0${s.name}\0${id}`;
  const before = new Map<string, RegistryInstance>();
  for (const s of prev.services) for (const i of s.instances) before.set(key(s, i.id), i);
  const seen = new Set<string>();
  const services: RegistryService[] = [];
  for (const s of cur.services) {
    const changed = s.instances.filter((i) => {
      seen.add(key(s, i.id));
      const b = before.get(key(s, i.id));
      return !b || BigInt(i.mzxid) > BigInt(prev.zxid) || contentHash([{ ...s, instances: [b] }]) !== contentHash([{ ...s, instances: [i] }]);
    });
    const isNew = !prev.services.some((p) => p.name === s.name && p.layout === s.layout);
    if (changed.length > 0 || isNew) services.push({ ...s, instances: changed });
  }
  const removed: RegistryExport['removed'] = [];
  for (const s of prev.services) for (const i of s.instances) if (!seen.has(key(s, i.id))) removed.push({ service: s.name, layout: s.layout, id: i.id });
  return {
    ...cur,
    kind: 'incremental',
    parent_zxid: prev.zxid,
    services,
    removed,
    instance_count: services.reduce((n, s) => n + s.instances.length, 0),
    content_hash: cur.content_hash, // the hash of the full registry at this point, to verify a materialized chain
  };
}

/** Applies incremental registry exports on a full one (oldest first). */
export function applyRegistryIncrements(base: RegistryExport, incs: RegistryExport[]): RegistryExport {
  if (base.kind !== 'full') throw new LifeboatError('InvalidInput', 'the base of a registry chain must be a full export');
  const services = new Map(base.services.map((s) => [`${s.layout}\0${s.name}`, { ...s, instances: new Map(s.instances.map((i) => [i.id, i])) }]));
  let head = base;
  for (const inc of incs) {
    if (inc.kind !== 'incremental' || inc.parent_zxid !== head.zxid) {
      throw new LifeboatError('CorruptBackup', `registry export at ${inc.zxid} does not build on ${head.zxid}`);
    }
    for (const r of inc.removed ?? []) services.get(`${r.layout}\0${r.service}`)?.instances.delete(r.id);
    for (const s of inc.services) {
      const k = `${s.layout}\0${s.name}`;
      const t = services.get(k) ?? services.set(k, { ...s, instances: new Map() }).get(k)!;
      for (const i of s.instances) t.instances.set(i.id, i);
    }
    head = inc;
  }
  const list: RegistryService[] = [...services.values()]
    .map((s) => ({ name: s.name, layout: s.layout, instances: [...s.instances.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) }))
    .sort((a, b) => (a.name === b.name ? a.layout.localeCompare(b.layout) : a.name < b.name ? -1 : 1));
  const { parent_zxid: _p, removed: _r, ...rest } = head;
  return { ...rest, kind: 'full', services: list, instance_count: list.reduce((n, s) => n + s.instances.length, 0), content_hash: contentHash(list) };
}

// ---- static fallback (degradation level 3) ----

export interface FallbackFile {
  /** File name: the service name made safe for a file system. */
  name: string;
  content: string;
}

export const safeFileName = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || '_';

/**
 * One static address file per service: the UP instances' "ip:port" (what a client configured with a
 * static list needs), with where it came from. Works from any snapshot, even when ZooKeeper is gone.
 */
export function staticFallback(reg: RegistryExport): FallbackFile[] {
  if (reg.kind !== 'full') throw new LifeboatError('InvalidInput', 'a static fallback needs a full registry export (materialize increments first)');
  const used = new Set<string>();
  return reg.services.map((s) => {
    let name = `${safeFileName(s.name)}.json`;
    if (used.has(name)) name = `${safeFileName(s.name)}.${s.layout}.json`;
    used.add(name);
    const up = s.instances.filter((i) => i.status === 'UP');
    const doc = {
      service: s.name,
      layout: s.layout,
      generated_from: { backup_time: reg.backup_time, zxid: reg.zxid, content_hash: reg.content_hash },
      addresses: up.map((i) => `${i.ip}:${i.port}`),
      instances: s.instances.map((i) => ({ id: i.id, ip: i.ip, port: i.port, status: i.status, metadata: i.metadata })),
    };
    return { name, content: `${JSON.stringify(doc, null, 2)}\n` };
  });
}

export function writeFallback(dir: string, files: FallbackFile[]): string[] {
  mkdirSync(dir, { recursive: true });
  return files.map((f) => {
    const p = join(dir, f.name);
    writeFileSync(p, f.content);
    return p;
  });
}

// ---- restore ----

export interface RegistryRestoreOptions {
  mode?: RestoreMode;
  confirm?: boolean;
  dryRun?: boolean;
  /** Restore instances (ephemeral at capture) as persistent nodes: a frozen registry until services re-register. */
  includeEphemerals?: boolean;
  /** Restore under other base paths (e.g. another chroot). Default: where they were captured. */
  targetRoots?: RegistryRoots;
  digestAuth?: string[];
  /** Runs after a layout's plan is checked and before its first write (e.g. the pre-restore snapshot). */
  beforeWrite?: (plan: RestorePlan) => Promise<void>;
}

/** Restores the persistent part of the registry (service nodes, Dubbo categories, configs). */
export async function restoreRegistry(
  zk: ZkClient,
  trees: Partial<Record<RegistryLayout, ZkTreeExport>>,
  opts: RegistryRestoreOptions = {},
): Promise<{ layout: RegistryLayout; plan: RestorePlan; result?: ApplyResult }[]> {
  const target = opts.targetRoots ?? {};
  const out: { layout: RegistryLayout; plan: RestorePlan; result?: ApplyResult }[] = [];
  for (const layout of ['curator', 'dubbo'] as const) {
    const t = trees[layout];
    if (!t) continue;
    if (t.kind !== 'full') throw new LifeboatError('InvalidInput', `the ${layout} tree is incremental; materialize the chain first`);
    const root = target[layout] ?? t.root;
    // Plan each layout just before applying it: both may share ancestors the first one creates.
    const plan = await planRestoreLive(zk, t, root, { mode: opts.mode, includeEphemerals: opts.includeEphemerals });
    out.push({ layout, plan, result: opts.dryRun ? undefined : await applyRestore(zk, plan, { confirm: opts.confirm, digestAuth: opts.digestAuth, beforeWrite: opts.beforeWrite && (() => opts.beforeWrite!(plan)) }) });
  }
  return out;
}

// ---- verification ----

export interface RegistryVerification {
  ok: boolean;
  expected: { instances: number; hash: string };
  live: { instances: number; hash: string };
  hashMatch: boolean;
  /** Services whose instance counts differ. */
  countMismatches: { service: string; layout: RegistryLayout; expected: number; live: number }[];
  probe?: ProbeResult;
}

export interface ProbeResult {
  ok: boolean;
  service: string;
  znode: string;
  registerMs: number;
  discoverMs: number;
  error?: string;
}

/**
 * Registers a throwaway instance (an ephemeral Curator node under a throwaway service), discovers
 * it by listing and reading the service like a client would, then removes both.
 */
export async function registerDiscoverProbe(zk: ZkClient, curatorRoot = DEFAULT_ROOTS.curator): Promise<ProbeResult> {
  const service = `lifeboat-probe-${randomUUID().slice(0, 8)}`;
  const id = randomUUID();
  const serviceNode = `${curatorRoot}/${service}`;
  const znode = `${serviceNode}/${id}`;
  const open = [new ACL(Permission.ALL, new Id('world', 'anyone'))];
  const t0 = Date.now();
  let registered = false;
  try {
    if (!(await exists(zk, curatorRoot))) throw new LifeboatError('InvalidInput', `registry base ${curatorRoot} does not exist (restore the registry first)`);
    await create(zk, serviceNode, null, open);
    await create(zk, znode, curatorInstanceJson({ name: service, id, address: '127.0.0.1', port: 1, payload: { probe: 'lifeboat' } }), open, CreateMode.EPHEMERAL);
    registered = true;
    const t1 = Date.now();
    const t = await exportTree(zk, curatorRoot);
    const found = servicesFromTrees({ curator: t }).find((s) => s.name === service && s.instances.some((i) => i.id === id && i.ephemeral));
    const t2 = Date.now();
    if (!found) return { ok: false, service, znode, registerMs: t1 - t0, discoverMs: t2 - t1, error: 'registered instance was not discovered' };
    return { ok: true, service, znode, registerMs: t1 - t0, discoverMs: t2 - t1 };
  } catch (e) {
    const err = zkFailure(e, 'registry probe') as Error;
    return { ok: false, service, znode, registerMs: Date.now() - t0, discoverMs: 0, error: err.message };
  } finally {
    if (registered) await remove(zk, znode).catch(() => {});
    if ((await exists(zk, serviceNode).catch(() => null)) && (await getChildren(zk, serviceNode).catch(() => ['?'])).length === 0) {
      await remove(zk, serviceNode).catch(() => {});
    }
  }
}

/**
 * Compares the live registry with an expected export (counts per service, content hash) and,
 * unless disabled, runs the register/discover probe under the Curator base.
 */
export async function verifyRegistry(zk: ZkClient, expected: RegistryExport, opts: { roots?: RegistryRoots; probe?: boolean } = {}): Promise<RegistryVerification> {
  if (expected.kind !== 'full') throw new LifeboatError('InvalidInput', 'verification needs a full registry export (materialize increments first)');
  const roots = opts.roots ? resolveRoots(opts.roots) : expected.roots;
  const live = (await captureRegistry(zk, roots)).registry;
  const count = (r: RegistryExport): Map<string, number> => new Map(r.services.map((s) => [`${s.layout}\0${s.name}`, s.instances.length]));
  const e = count(expected);
  const l = count(live);
  const countMismatches: RegistryVerification['countMismatches'] = [];
  for (const k of new Set([...e.keys(), ...l.keys()])) {
    if ((e.get(k) ?? 0) !== (l.get(k) ?? 0)) {
      const [layout, service] = k.split('\0') as [RegistryLayout, string];
      countMismatches.push({ service, layout, expected: e.get(k) ?? 0, live: l.get(k) ?? 0 });
    }
  }
  const hashMatch = expected.content_hash === live.content_hash;
  const probe = opts.probe === false ? undefined : await registerDiscoverProbe(zk, roots.curator ?? DEFAULT_ROOTS.curator);
  return {
    ok: countMismatches.length === 0 && hashMatch && (probe?.ok ?? true),
    expected: { instances: expected.instance_count, hash: expected.content_hash },
    live: { instances: live.instance_count, hash: live.content_hash },
    hashMatch,
    countMismatches,
    probe,
  };
}
