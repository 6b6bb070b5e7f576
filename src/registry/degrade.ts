/**
 * Degradation levels of the service registry (seed 004 §6.4), set and lifted by a failover and by
 * `lifeboat registry degrade <level>`. Levels are cumulative, from light to heavy:
 *
 *   0 normal: everything as it was before the first degradation (ACLs back exactly, our files gone);
 *   1 read-only: registrations paused. Every service node (Curator base and services; Dubbo base,
 *     interfaces and their categories) gets its own ACL without CREATE, so a new instance or service
 *     is refused (NoAuth) while reads, data changes and deletes keep working — ephemerals still go
 *     with their sessions. ADMIN stays, so the pause can be lifted. The ACLs before are kept in the
 *     state znode and put back exactly on lift;
 *   2 local cache: 1, and the state znode tells clients to keep their cached lists;
 *   3 static addresses: 2, and one static address file per service in `fallbackDir` (from the newest
 *     registry snapshot, or a given export);
 *   4 core only: 3 with the critical services' files only (spec registry.critical).
 *
 * THE CLIENTS' CONTRACT. The state lives in the registry's own ensemble, JSON in the znode
 * `/lifeboat/registry-degradation/<cluster name>` (DegradationState below; `format` 1). A client
 * watches it (or reads it when its registry calls fail) and reads:
 *   - `level` (0-4) and `since`, `by`, `reason`;
 *   - `registrationsPaused`: do not retry a refused registration in a tight loop (NoAuth is expected);
 *   - `keepCachedLists`: keep the service lists you have; do not drop instances because the registry
 *     says they are gone (empty or shrinking lists are not the truth while degraded);
 *   - `staticAddresses.files`: where the static address files are (on `staticAddresses.host`), one
 *     JSON file per service with `addresses: ["ip:port", ...]` (src/registry/registry.ts staticFallback);
 *   - `coreOnly.services`: only these services are served; the others are paused.
 * Level 0 keeps the znode (who lifted it, when) with every other field cleared.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { openRepositoryForSpec } from '../repository';
import type { Repository } from '../repository/types';
import { ACL, create, exists, getACL, getChildren, getData, Id, Permission, setACL, setData, ZkError, type ZkAcl, type ZkClient } from '../zookeeper/client';
import { zkFailure, withZkSession } from '../zookeeper/errors';
import { applyIncrements } from '../zookeeper/tree';
import { applyRegistryIncrements, type RegistryCapture, type RegistryExport, staticFallback, writeFallback } from './registry';
import { readCaptureDir, readRegistryComponent } from './storage';

export type DegradationLevel = 0 | 1 | 2 | 3 | 4;
export const DEGRADATION_LEVELS: readonly DegradationLevel[] = [0, 1, 2, 3, 4];
export const LEVEL_NAMES: Record<DegradationLevel, string> = { 0: 'normal', 1: 'read-only', 2: 'local cache', 3: 'static addresses', 4: 'core only' };

export const DEGRADATION_ROOT = '/lifeboat/registry-degradation';
export const degradationPath = (cluster: string): string => `${DEGRADATION_ROOT}/${cluster}`;

export interface AclEntry {
  perms: number;
  scheme: string;
  id: string;
}

/** A node whose ACL the pause changed, with its ACL before (restored exactly on lift). */
export interface PausedNode {
  path: string;
  acl: AclEntry[];
}

export interface DegradationState {
  format: 1;
  cluster: string;
  level: DegradationLevel;
  /** When this level was set (ISO); null when never degraded. */
  since: string | null;
  by: string;
  reason: string;
  registrationsPaused: boolean;
  keepCachedLists: boolean;
  staticAddresses: { host: string; dir: string; files: { path: string; sha256: string }[]; from: { backup_time: string; zxid: string; content_hash: string } } | null;
  coreOnly: { patterns: string[]; services: string[] } | null;
  /** The nodes paused, with their ACLs before. */
  pausedNodes: PausedNode[];
  /** What this change did (or, in a dry run, would do). */
  actions: string[];
  dryRun?: boolean;
}

export interface SetDegradationInput {
  spec: ClusterSpec;
  level: DegradationLevel;
  by: string;
  reason?: string;
  /** Levels 3 and 4: where the static address files go (on the host that runs this). */
  fallbackDir?: string;
  /** Level 4: the critical services (names or regular expressions); default spec registry.critical. */
  critical?: string[];
  /** Levels 3 and 4: the registry export to use instead of the newest registry snapshot. */
  registryExport?: RegistryExport;
  /** Levels 3 and 4: a snapshot ref of the spec's repository instead of the newest. */
  snapshot?: string;
  /** Levels 3 and 4: an export directory (lifeboat registry export --out) instead of the repository. */
  exportDir?: string;
  dryRun?: boolean;
}

const normal = (cluster: string): DegradationState => ({
  format: 1,
  cluster,
  level: 0,
  since: null,
  by: '',
  reason: '',
  registrationsPaused: false,
  keepCachedLists: false,
  staticAddresses: null,
  coreOnly: null,
  pausedNodes: [],
  actions: [],
});

// The library's ACL holds `permission` (its typings say `perms`).
const toEntries = (acl: ZkAcl[]): AclEntry[] => acl.map((a) => ({ perms: (a as unknown as { permission?: number }).permission ?? a.perms, scheme: a.id.scheme, id: a.id.id }));
const toAcl = (e: AclEntry[]): ZkAcl[] => e.map((a) => new ACL(a.perms, new Id(a.scheme, a.id)));
const aclKey = (e: AclEntry[]): string => JSON.stringify([...e].map((a) => [a.scheme, a.id, a.perms]).sort());

/** The ACL with CREATE taken from every entry (entries left with no permission dropped). */
export function withoutCreate(e: AclEntry[]): AclEntry[] {
  return e.map((a) => ({ ...a, perms: a.perms & ~Permission.CREATE })).filter((a) => a.perms !== 0);
}

/** The services a level-4 degradation keeps: a pattern is a name, or a regular expression that matches it. */
export function criticalServices(names: string[], patterns: string[]): string[] {
  const res = patterns.map((p) => {
    try {
      return new RegExp(p);
    } catch {
      throw new LifeboatError('InvalidInput', `critical service pattern "${p}" is not a valid regular expression`);
    }
  });
  return names.filter((n) => patterns.includes(n) || res.some((r) => r.test(n)));
}

function registryRoots(spec: ClusterSpec): { connect: string; curator: string | null; dubbo: string | null } {
  const connect = spec.zookeeper?.connect;
  if (!connect) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no zookeeper section: its registry cannot be degraded`);
  const r = spec.registry;
  if (!r || (!r.curator && !r.dubbo)) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no registry section (registry.curator and/or registry.dubbo)`);
  return { connect, curator: r.curator ?? null, dubbo: r.dubbo ?? null };
}

const noNode = (e: unknown): boolean => e instanceof ZkError && e.code === 'NO_NODE';
const orNone = async <T>(p: Promise<T>): Promise<T | null> => {
  try {
    return await p;
  } catch (e) {
    if (noNode(e)) return null;
    throw e;
  }
};

/**
 * The nodes under which registrations are created: the Curator base and its services; the Dubbo base,
 * its interfaces and their categories (providers, consumers, configurators, routers).
 */
export async function serviceNodes(zk: ZkClient, roots: { curator: string | null; dubbo: string | null }): Promise<string[]> {
  const out: string[] = [];
  if (roots.curator && (await exists(zk, roots.curator))) {
    out.push(roots.curator);
    for (const s of (await orNone(getChildren(zk, roots.curator))) ?? []) out.push(`${roots.curator}/${s}`);
  }
  if (roots.dubbo && (await exists(zk, roots.dubbo))) {
    out.push(roots.dubbo);
    for (const i of (await orNone(getChildren(zk, roots.dubbo))) ?? []) {
      const iface = `${roots.dubbo}/${i}`;
      out.push(iface);
      for (const c of (await orNone(getChildren(zk, iface))) ?? []) out.push(`${iface}/${c}`);
    }
  }
  return out;
}

export async function readState(zk: ZkClient, cluster: string): Promise<DegradationState> {
  const got = await orNone(getData(zk, degradationPath(cluster)));
  if (!got?.data?.length) return normal(cluster);
  try {
    const doc = JSON.parse(got.data.toString('utf8')) as DegradationState;
    if (doc.format !== 1 || !DEGRADATION_LEVELS.includes(doc.level) || !Array.isArray(doc.pausedNodes)) throw new Error('unknown shape');
    return { ...normal(cluster), ...doc };
  } catch (e) {
    throw new LifeboatError('CorruptBackup', `the degradation state ${degradationPath(cluster)} is not Lifeboat's JSON (${(e as Error).message}): fix or remove it by hand`);
  }
}

async function writeState(zk: ZkClient, s: DegradationState): Promise<void> {
  const path = degradationPath(s.cluster);
  const data = Buffer.from(JSON.stringify({ ...s, dryRun: undefined }));
  if (await exists(zk, path)) {
    await setData(zk, path, data);
    return;
  }
  const open = [new ACL(Permission.ALL, new Id('world', 'anyone'))];
  for (const p of ['/lifeboat', DEGRADATION_ROOT]) {
    await create(zk, p, null, open).catch((e: unknown) => {
      if (!(e instanceof ZkError && e.code === 'NODE_EXISTS')) throw e;
    });
  }
  await create(zk, path, data, open).catch(async (e: unknown) => {
    if (e instanceof ZkError && e.code === 'NODE_EXISTS') return void (await setData(zk, path, data));
    throw e;
  });
}

/** The current degradation of the spec's registry (level 0 when none was ever set). */
export async function readDegradation(spec: ClusterSpec): Promise<DegradationState> {
  const { connect } = registryRoots(spec);
  try {
    return await withZkSession(connect, { auth: zkAuthOf(spec), timeoutMs: 15_000 }, (zk) => readState(zk, spec.name));
  } catch (e) {
    throw zkFailure(e, `registry degradation of ${spec.name}`);
  }
}

/** A snapshot's registry with its parent chain applied (full registry and trees). */
export async function materializeRegistry(repo: Repository, ref: string, cluster: string): Promise<RegistryCapture> {
  const chain: RegistryCapture[] = [];
  let reader = await repo.openSnapshot(ref, { cluster, component: 'registry' });
  for (;;) {
    const c = await readRegistryComponent(reader);
    chain.unshift(c);
    if (c.registry.kind === 'full') break;
    if (!reader.meta.parent) throw new LifeboatError('CorruptBackup', `incremental snapshot ${reader.meta.id.slice(0, 12)} names no parent`);
    reader = await repo.openSnapshot(reader.meta.parent);
  }
  const [base, ...incs] = chain as [RegistryCapture, ...RegistryCapture[]];
  const trees: RegistryCapture['trees'] = {};
  for (const l of ['curator', 'dubbo'] as const) {
    const b = base.trees[l];
    if (b) trees[l] = applyIncrements(b, incs.map((c) => c.trees[l]).filter((t) => t !== undefined));
  }
  return { registry: applyRegistryIncrements(base.registry, incs.map((c) => c.registry)), trees };
}

/** The registry export the static files come from: given, an export directory, a snapshot, or the newest snapshot. */
async function fallbackSource(input: SetDegradationInput): Promise<RegistryExport> {
  if (input.registryExport) return input.registryExport;
  if (input.exportDir) return (await readCaptureDir(input.exportDir)).registry;
  const repo = await openRepositoryForSpec(input.spec);
  try {
    let ref = input.snapshot;
    if (!ref) {
      ref = (await repo.snapshots({ cluster: input.spec.name, component: 'registry' })).at(-1)?.id;
      if (!ref) throw new LifeboatError('SnapshotNotFound', `no registry snapshot of ${input.spec.name} for the static address files: take one (lifeboat registry export --spec <file> --repo) or give an export directory`);
    }
    return (await materializeRegistry(repo, ref, input.spec.name)).registry;
  } finally {
    await repo.close();
  }
}

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** Removes the files a degradation wrote, each only while it still holds what was written (an edited file stays). */
function removeFiles(files: { path: string; sha256: string }[], keep: Set<string>, dryRun: boolean, actions: string[]): void {
  for (const f of files) {
    if (keep.has(f.path)) continue;
    if (!existsSync(f.path)) continue;
    if (sha256(readFileSync(f.path)) !== f.sha256) {
      actions.push(`kept ${f.path}: changed since it was written`);
      continue;
    }
    if (!dryRun) rmSync(f.path, { force: true });
    actions.push(`remove static address file ${f.path}`);
  }
}

/**
 * Moves the registry to `level`, from whatever level it is at (idempotent: the same level twice
 * changes nothing the second time; a run cut short is finished by the next). The pause's ACLs before
 * are saved in the state znode before any ACL changes, so a lift always finds them.
 */
export async function setDegradation(input: SetDegradationInput): Promise<DegradationState> {
  const { spec, level, dryRun = false } = input;
  if (!DEGRADATION_LEVELS.includes(level)) throw new LifeboatError('InvalidInput', `degradation level ${String(level)} is not one of 0-4 (${DEGRADATION_LEVELS.map((l) => `${l} ${LEVEL_NAMES[l]}`).join(', ')})`);
  const roots = registryRoots(spec);
  if (level >= 3 && !input.fallbackDir) throw new LifeboatError('InvalidInput', `level ${level} (${LEVEL_NAMES[level]}) writes static address files: give a fallback directory (--fallback-dir)`);
  const patterns = input.critical ?? spec.registry?.critical ?? [];
  if (level === 4 && !patterns.length) throw new LifeboatError('InvalidInput', `level 4 (core only) needs the critical services: spec registry.critical, or --critical <name|regex>`);
  // Read the fallback's source before touching ZooKeeper: a missing snapshot changes nothing.
  const source = level >= 3 ? await fallbackSource(input) : undefined;
  const run = async (zk: ZkClient): Promise<DegradationState> => {
    const before = await readState(zk, spec.name);
    const actions: string[] = [];
    const saved = new Map(before.pausedNodes.map((n) => [n.path, n.acl]));

    // 1. registrations: paused (level ≥ 1) or back exactly (level 0).
    const aclChanges: { path: string; acl: AclEntry[] }[] = [];
    if (level >= 1) {
      for (const path of await serviceNodes(zk, roots)) {
        const cur = await orNone(getACL(zk, path));
        if (!cur) continue;
        const now = toEntries(cur.acl);
        if (!saved.has(path)) saved.set(path, now);
        const paused = withoutCreate(saved.get(path)!);
        if (!paused.length) {
          actions.push(`left ${path} as it is: its ACL grants nothing but CREATE`);
          continue;
        }
        if (aclKey(paused) !== aclKey(now)) aclChanges.push({ path, acl: paused });
      }
      if (aclChanges.length) actions.push(`pause registrations: CREATE taken from the ACLs of ${aclChanges.length} service node(s)`);
    } else {
      for (const [path, acl] of saved) {
        const cur = await orNone(getACL(zk, path));
        if (!cur) {
          actions.push(`${path} is gone: nothing to restore`);
          continue;
        }
        if (aclKey(toEntries(cur.acl)) !== aclKey(acl)) aclChanges.push({ path, acl });
      }
      if (aclChanges.length) actions.push(`resume registrations: the ACLs of ${aclChanges.length} service node(s) put back`);
    }

    // 2. static address files (level ≥ 3; only the critical services' at level 4).
    const files = before.staticAddresses?.files ?? [];
    let staticAddresses: DegradationState['staticAddresses'] = null;
    let coreOnly: DegradationState['coreOnly'] = null;
    let toWrite: { name: string; content: string }[] = [];
    if (level >= 3 && source) {
      let all = staticFallback(source);
      if (level === 4) {
        const keep = new Set(criticalServices([...new Set(source.services.map((s) => s.name))], patterns));
        coreOnly = { patterns, services: [...keep].sort() };
        const names = new Set(source.services.filter((s) => keep.has(s.name)).map((s) => s.name));
        all = all.filter((f) => {
          const doc = JSON.parse(f.content) as { service: string };
          return names.has(doc.service);
        });
        if (!all.length) throw new LifeboatError('InvalidInput', `no service of ${spec.name}'s registry matches the critical services (${patterns.join(', ')})`);
      }
      const dir = input.fallbackDir!;
      const wanted = all.map((f) => ({ path: join(dir, f.name), sha256: sha256(f.content) }));
      const wantedPaths = new Set(wanted.map((w) => w.path));
      removeFiles(files, wantedPaths, dryRun, actions);
      toWrite = all.filter((f, i) => !existsSync(wanted[i]!.path) || sha256(readFileSync(wanted[i]!.path)) !== wanted[i]!.sha256);
      if (toWrite.length) actions.push(`write ${toWrite.length} static address file(s) in ${dir} (registry of ${source.backup_time} UTC${level === 4 ? `, critical services only: ${coreOnly!.services.join(', ')}` : ''})`);
      staticAddresses = { host: hostname(), dir, files: wanted, from: { backup_time: source.backup_time, zxid: source.zxid, content_hash: source.content_hash } };
    } else {
      removeFiles(files, new Set(), dryRun, actions);
    }

    const after: DegradationState = {
      format: 1,
      cluster: spec.name,
      level,
      since: before.level === level && before.since ? before.since : new Date().toISOString(),
      by: before.level === level && before.since ? before.by : input.by,
      reason: before.level === level && before.since ? before.reason : (input.reason ?? ''),
      registrationsPaused: level >= 1,
      keepCachedLists: level >= 2,
      staticAddresses,
      coreOnly,
      pausedNodes: level >= 1 ? [...saved].map(([path, acl]) => ({ path, acl })) : [],
      actions,
    };
    if (before.level !== level) actions.unshift(`level ${before.level} (${LEVEL_NAMES[before.level]}) → ${level} (${LEVEL_NAMES[level]})`);
    if (dryRun) return { ...after, actions: actions.length ? actions : ['nothing to change'], dryRun: true };

    // The ACLs before are durable before the first ACL changes: a run cut short is lifted exactly.
    if (aclChanges.length && level >= 1) await writeState(zk, { ...before, pausedNodes: after.pausedNodes, actions: [] });
    for (const c of aclChanges) {
      try {
        await setACL(zk, c.path, toAcl(c.acl));
      } catch (e) {
        if (!noNode(e)) throw e;
      }
    }
    if (toWrite.length) writeFallback(input.fallbackDir!, toWrite);
    const changed = actions.length > 0 || before.level !== level;
    if (changed) await writeState(zk, after);
    return changed ? after : { ...before, actions: ['nothing to change'] };
  };
  try {
    return await withZkSession(roots.connect, { auth: zkAuthOf(spec), timeoutMs: 15_000 }, run);
  } catch (e) {
    throw zkFailure(e, `registry degradation of ${spec.name}`);
  }
}

/** One line per state, for people. */
export function describeDegradation(s: DegradationState): string {
  if (s.level === 0) return `${s.cluster}: level 0 (normal)${s.since ? `, since ${s.since} by ${s.by}${s.reason ? ` (${s.reason})` : ''}` : ''}`;
  const parts = [
    `${s.cluster}: level ${s.level} (${LEVEL_NAMES[s.level]}) since ${s.since} by ${s.by}${s.reason ? ` (${s.reason})` : ''}`,
    `  registrations paused on ${s.pausedNodes.length} service node(s)`,
    ...(s.keepCachedLists ? ['  clients keep their cached lists'] : []),
    ...(s.staticAddresses ? [`  static address files: ${s.staticAddresses.files.length} in ${s.staticAddresses.dir} on ${s.staticAddresses.host} (registry of ${s.staticAddresses.from.backup_time} UTC)`] : []),
    ...(s.coreOnly ? [`  core only: ${s.coreOnly.services.join(', ')}`] : []),
  ];
  return parts.join('\n');
}
