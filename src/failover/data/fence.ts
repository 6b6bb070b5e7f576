/**
 * The old primary's write fence at a failover: the migration's fence (DENY WRITE for User:* on each
 * topic, and the ALLOW ALL beside it where the topic had no ACL of its own; src/migration/fence.ts)
 * so that applications that still reach it cannot write records the standby will never see.
 *
 * Brokers that answer: set through them (fenceWrites). Brokers down, ZooKeeper up: the same ACLs
 * written where Kafka's ZooKeeper authorizer (AclAuthorizer) keeps them, under the cluster's chroot:
 *
 *   /kafka-acl/Topic/<topic>                 {"version":1,"acls":[{"principal","permissionType","operation","host"}]}
 *   /kafka-acl-changes/acl_changes_<seq>     "TOPIC:<topic>" (a change notification, as Kafka writes it)
 *
 * merged with what the node holds (compare-and-set on its version), so every broker loads them when
 * it starts and comes back fenced. What this fence added is kept first in a marker znode
 * (/lifeboat/failover-fence under the chroot): a retried fence returns the same record, and
 * unfence removes exactly those entries (fence-shaped ACLs that were there before stay).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ClusterSpec, zkAuthOf } from '../../config/spec';
import { isLifeboatError, LifeboatError } from '../../errors';
import { parseProperties } from '../../host/properties';
import { type Acl, fenceShape, toKafkajsAcl } from '../../kafka/acls';
import { assertBootstrapReachable, reachableKafka, retryTransient, withAdmin } from '../../kafka/admin';
import { type AclEntry, type FenceRecord, fenceWrites, planFence, topicAcls, unfenceWrites } from '../../migration/fence';
import { ACL, CreateMode, Id, Permission, type ZkAcl, type ZkClient, chrootPath, create, exists, getACL, getChildren, getData, remove, setData, withZk } from '../../zookeeper/client';
import type { PrimaryFence } from './types';

/** The marker of the fence written into ZooKeeper (under the cluster's chroot). */
export const FENCE_MARKER = '/lifeboat/failover-fence';

interface ZkAclEntry {
  principal: string;
  permissionType: string;
  operation: string;
  host: string;
}

const pascal = (s: string): string => s.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
const upperSnake = (s: string): string => s.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();

/** An ACL entry as AclAuthorizer stores it in ZooKeeper ("Deny", "Write"). */
export const toZkEntry = (a: AclEntry): ZkAclEntry => ({ principal: a.principal, permissionType: pascal(a.permission), operation: pascal(a.operation), host: a.host });
const sameEntry = (x: ZkAclEntry, y: ZkAclEntry): boolean =>
  x.principal === y.principal && x.host === y.host && x.operation.toLowerCase() === y.operation.toLowerCase() && x.permissionType.toLowerCase() === y.permissionType.toLowerCase();

async function readAcls(zk: ZkClient, path: string): Promise<{ acls: ZkAclEntry[]; version: number } | undefined> {
  try {
    const { data, stat } = await getData(zk, path);
    const acls = (JSON.parse(data?.toString('utf8') || '{}') as { acls?: ZkAclEntry[] }).acls ?? [];
    return { acls, version: stat.version };
  } catch (e) {
    if (/NO_NODE/.test((e as Error).message)) return undefined;
    throw e;
  }
}

async function mkdirs(zk: ZkClient, path: string): Promise<void> {
  let at = '';
  for (const part of path.split('/').filter(Boolean)) {
    at += `/${part}`;
    if (await exists(zk, at)) continue;
    await create(zk, at, null, await parentAcl(zk, at)).catch((e: Error) => {
      if (!/NODE_EXISTS/.test(e.message)) throw e;
    });
  }
}

/** New znodes get their parent's ACL (Kafka's own when it sets secure ACLs: zookeeper.set.acl). */
async function parentAcl(zk: ZkClient, path: string): Promise<ZkAcl[]> {
  const parent = path.slice(0, path.lastIndexOf('/')) || '/';
  try {
    return (await getACL(zk, parent)).acl;
  } catch {
    return [new ACL(Permission.ALL, new Id('world', 'anyone'))];
  }
}

/** Every topic ACL in ZooKeeper that binds one of the topics (literal, the wildcard, prefixed), as Acl. */
async function zkTopicAcls(zk: ZkClient, chroot: string | undefined, topics: string[]): Promise<Acl[]> {
  const out: Acl[] = [];
  const add = (name: string, patternType: 'LITERAL' | 'PREFIXED', es: ZkAclEntry[]) =>
    out.push(...es.map((e) => ({ resourceType: 'TOPIC', resourceName: name, patternType, principal: e.principal, host: e.host, operation: upperSnake(e.operation), permission: upperSnake(e.permissionType) as Acl['permission'] })));
  for (const name of [...new Set([...topics, '*'])]) add(name, 'LITERAL', (await readAcls(zk, chrootPath(chroot, `/kafka-acl/Topic/${name}`)))?.acls ?? []);
  const prefixedRoot = chrootPath(chroot, '/kafka-acl-extended/prefixed/Topic');
  const prefixes = (await exists(zk, prefixedRoot)) ? await getChildren(zk, prefixedRoot) : [];
  for (const prefix of prefixes.filter((p) => topics.some((t) => t.startsWith(p)))) add(prefix, 'PREFIXED', (await readAcls(zk, `${prefixedRoot}/${prefix}`))?.acls ?? []);
  return out;
}

/** allow.everyone.if.no.acl.found from the brokers' server.properties on this host (undefined where not all are here). */
function allowEveryoneFromFiles(spec: ClusterSpec): boolean | undefined {
  const values: boolean[] = [];
  for (const b of spec.brokers) {
    try {
      values.push(parseProperties(readFileSync(join(b.configDir, 'server.properties'), 'utf8')).values.get('allow.everyone.if.no.acl.found')?.trim() === 'true');
    } catch {
      return undefined;
    }
  }
  return values.length ? values.every(Boolean) : undefined;
}

/** Changes a topic's ACL node by compare-and-set (retried when a broker or another writer changed it meanwhile); returns whether it changed. */
async function updateAcls(zk: ZkClient, path: string, change: (acls: ZkAclEntry[]) => ZkAclEntry[]): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const cur = await readAcls(zk, path);
    const next = change(cur?.acls ?? []);
    if (cur && next.length === cur.acls.length && next.every((e, i) => sameEntry(e, cur.acls[i]!))) return false;
    if (!cur && next.length === 0) return false;
    try {
      if (!cur) await create(zk, path, Buffer.from(JSON.stringify({ version: 1, acls: next })), await parentAcl(zk, path));
      else if (next.length === 0) await remove(zk, path, cur.version);
      else await setData(zk, path, Buffer.from(JSON.stringify({ version: 1, acls: next })), cur.version);
      return true;
    } catch (e) {
      if (!/BAD_VERSION|NODE_EXISTS|NO_NODE/.test((e as Error).message)) throw e;
    }
  }
  throw new Error(`ZooKeeper ${path} kept changing while the fence was written`);
}

/** The change notification the brokers' authorizers watch (Kafka writes "TOPIC:<name>"). */
async function notify(zk: ZkClient, chroot: string | undefined, topic: string): Promise<string> {
  await mkdirs(zk, chrootPath(chroot, '/kafka-acl-changes'));
  const path = chrootPath(chroot, '/kafka-acl-changes/acl_changes_');
  return create(zk, path, Buffer.from(`TOPIC:${topic}`), await parentAcl(zk, path), CreateMode.PERSISTENT_SEQUENTIAL);
}

function zookeeperOf(spec: ClusterSpec) {
  const zk = spec.zookeeper;
  if (!zk || spec.kafka.mode === 'kraft') {
    throw new LifeboatError('Unreachable', `cluster "${spec.name}" does not answer and keeps its ACLs in KRaft metadata, not ZooKeeper: fence it by keeping its brokers stopped, or by its network`);
  }
  return zk;
}

/** The fence written into ZooKeeper (see the file comment). Idempotent through the marker. */
export async function fenceInZookeeper(spec: ClusterSpec, topics: string[], opts: { dryRun?: boolean } = {}): Promise<PrimaryFence> {
  const zkc = zookeeperOf(spec);
  const marker = chrootPath(zkc.chroot, FENCE_MARKER);
  return withZk(
    zkc.connect,
    async (zk) => {
      const previous = (await exists(zk, marker)) ? (JSON.parse((await getData(zk, marker)).data?.toString('utf8') || '{}') as PrimaryFence) : undefined;
      const existing = await zkTopicAcls(zk, zkc.chroot, topics);
      const everyone = allowEveryoneFromFiles(spec);
      const plan = planFence(topics, existing, everyone, everyone === undefined ? "the brokers' server.properties are not on this host" : '');
      const already = new Set((previous?.acls ?? []).map((a) => JSON.stringify(a)));
      const present = (a: AclEntry) => existing.some((x) => x.patternType === 'LITERAL' && x.resourceName === a.resourceName && sameEntry(toZkEntry(a), toZkEntry(x as AclEntry)));
      // Added now: planned and not there (or there because an earlier attempt of this fence added it).
      const added = plan.acls.filter((a) => already.has(JSON.stringify(a)) || !present(a));
      const alreadyPresent = plan.acls.filter((a) => !added.includes(a)).map((a) => `${a.permission} ${a.operation} ${a.principal} on ${a.resourceName}`);
      const record: PrimaryFence = {
        cluster: spec.name,
        topics: [...new Set([...(previous?.topics ?? []), ...topics])].sort(),
        acls: [...(previous?.acls ?? []).filter((a) => !plan.acls.some((p) => JSON.stringify(p) === JSON.stringify(a))), ...added],
        at: previous?.at ?? new Date().toISOString(),
        via: 'zookeeper',
        marker,
        ...(alreadyPresent.length ? { alreadyPresent } : {}),
        ...(plan.notes.length ? { notes: plan.notes } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
      };
      if (opts.dryRun) return record;
      // The marker first: a fence cut short after writing some ACLs is still undone exactly.
      await mkdirs(zk, chrootPath(zkc.chroot, '/lifeboat'));
      const body = Buffer.from(JSON.stringify(record));
      if (previous) await setData(zk, marker, body);
      else await create(zk, marker, body, await parentAcl(zk, marker));
      for (const topic of [...new Set(added.map((a) => a.resourceName))]) {
        const mine = added.filter((a) => a.resourceName === topic).map(toZkEntry);
        await mkdirs(zk, chrootPath(zkc.chroot, '/kafka-acl/Topic'));
        if (await updateAcls(zk, chrootPath(zkc.chroot, `/kafka-acl/Topic/${topic}`), (acls) => [...acls, ...mine.filter((m) => !acls.some((a) => sameEntry(a, m)))])) await notify(zk, zkc.chroot, topic);
      }
      return record;
    },
    { timeoutMs: 10_000, auth: zkAuthOf(spec) },
  );
}

/** Removes exactly the entries the ZooKeeper fence added, then its marker. Idempotent. */
export async function unfenceInZookeeper(spec: ClusterSpec, fence: PrimaryFence): Promise<void> {
  const zkc = zookeeperOf(spec);
  await withZk(
    zkc.connect,
    async (zk) => {
      for (const topic of [...new Set(fence.acls.map((a) => a.resourceName))]) {
        const mine = fence.acls.filter((a) => a.resourceName === topic).map(toZkEntry);
        if (await updateAcls(zk, chrootPath(zkc.chroot, `/kafka-acl/Topic/${topic}`), (acls) => acls.filter((a) => !mine.some((m) => sameEntry(a, m))))) await notify(zk, zkc.chroot, topic);
      }
      const marker = fence.marker ?? chrootPath(zkc.chroot, FENCE_MARKER);
      await remove(zk, marker).catch((e: Error) => {
        if (!/NO_NODE/.test(e.message)) throw e;
      });
    },
    { timeoutMs: 10_000, auth: zkAuthOf(spec) },
  );
}

/** Whether some bootstrap server of the cluster accepts a connection. */
async function brokersAnswer(spec: ClusterSpec): Promise<boolean> {
  return assertBootstrapReachable(spec.name, spec.kafka.bootstrapServers).then(
    () => true,
    () => false,
  );
}

/** Fences the old primary: through its brokers when they answer, else in its ZooKeeper (see the file comment). */
export async function fencePrimary(spec: ClusterSpec, topics: string[], opts: { dryRun?: boolean } = {}): Promise<PrimaryFence> {
  if (topics.length === 0) throw new LifeboatError('InvalidInput', 'no topics to fence');
  if (await brokersAnswer(spec)) {
    try {
      return { ...(await fenceWrites(spec, topics, opts)), via: 'admin' };
    } catch (e) {
      // Brokers that accept connections but cannot serve (no controller): ZooKeeper holds the same ACLs.
      if (!(e instanceof LifeboatError && e.type === 'Unreachable') && !/KafkaJS(Connection|NumberOfRetriesExceeded|RequestTimeout|BrokerNotFound)/.test((e as Error).name)) throw e;
    }
  }
  try {
    return await fenceInZookeeper(spec, topics, opts);
  } catch (e) {
    if (e instanceof LifeboatError) throw e;
    if (/CONNECTION_LOSS|unreachable/i.test(`${(e as { code?: string }).code ?? ''} ${(e as Error).message}`)) {
      throw new LifeboatError('Unreachable', `cannot fence "${spec.name}": its brokers do not answer and its ZooKeeper neither (${(e as Error).message}); keep its brokers from starting (or cut them off the network) until the failover is done`);
    }
    throw e;
  }
}

/** Removes what fencePrimary added, the way it was added (a ZooKeeper fence straight from ZooKeeper: the brokers follow its notifications). */
export async function unfencePrimary(spec: ClusterSpec, fence: PrimaryFence): Promise<void> {
  if (fence.dryRun) return;
  for (const a of fence.acls) {
    if (a.principal !== 'User:*' || a.host !== '*' || a.patternType !== 'LITERAL' || !((a.permission === 'DENY' && a.operation === 'WRITE') || (a.permission === 'ALLOW' && a.operation === 'ALL'))) {
      throw new LifeboatError('InvalidInput', `fence record of "${fence.cluster}" holds an ACL that is not a fence's (${a.permission} ${a.operation} ${a.principal} on ${a.resourceName}): refusing to remove it`);
    }
  }
  if (fence.via === 'zookeeper') return unfenceInZookeeper(spec, fence);
  await unfenceWrites(spec, fence);
  await dropCoveredMarker(spec, fence).catch(() => {});
}

/**
 * After an unfence through the brokers: a ZooKeeper fence's marker whose ACLs that unfence removed
 * too (a failback fences the repaired primary through its brokers, over the failover's ZooKeeper
 * fence, and lifts both at once) is removed, so a later fence starts afresh. Best effort.
 */
async function dropCoveredMarker(spec: ClusterSpec, fence: PrimaryFence): Promise<void> {
  const zkc = spec.zookeeper;
  if (!zkc || spec.kafka.mode === 'kraft') return;
  const marker = chrootPath(zkc.chroot, FENCE_MARKER);
  const id = (a: AclEntry) => `${a.resourceName} ${a.permission} ${a.operation}`;
  const removed = new Set(fence.acls.map(id));
  await withZk(
    zkc.connect,
    async (zk) => {
      if (!(await exists(zk, marker))) return;
      const { data, stat } = await getData(zk, marker);
      const held = (JSON.parse(data?.toString('utf8') || '{}') as PrimaryFence).acls ?? [];
      if (held.every((a) => removed.has(id(a)))) await remove(zk, marker, stat.version);
    },
    { timeoutMs: 5_000, auth: zkAuthOf(spec) },
  );
}

/**
 * The write fences on the standby's topics, lifted at promotion: a migration's or a failback's
 * cut-over leaves the cluster it left read-only for applications (DENY WRITE for User:*, and the
 * ALLOW ALL beside it where the topic had no ACL), and that cluster is the one clients now move to.
 * Recognised by the fence's shape on the given topics only; an ALLOW ALL is lifted only beside a
 * DENY WRITE lifted with it. Returns what was (or, dry, would be) removed. A cluster without an
 * authorizer has no fence to lift. Idempotent.
 */
export async function liftWriteFences(spec: ClusterSpec, topics: string[], opts: { dryRun?: boolean } = {}): Promise<FenceRecord> {
  const none: FenceRecord = { cluster: spec.name, topics: [], acls: [], at: new Date().toISOString(), ...(opts.dryRun ? { dryRun: true } : {}) };
  if (!topics.length) return none;
  const kafka = await reachableKafka(spec, 'fence');
  return withAdmin(kafka, spec.name, async (admin) => {
    let acls: Acl[];
    try {
      acls = await topicAcls(admin, spec.name);
    } catch (e) {
      if (isLifeboatError(e) && /has no authorizer/.test(e.message)) return none;
      throw e;
    }
    const wanted = new Set(topics);
    const deny = acls.filter((a) => wanted.has(a.resourceName) && fenceShape(a) === 'deny-write');
    const fenced = new Set(deny.map((a) => a.resourceName));
    const allow = acls.filter((a) => fenced.has(a.resourceName) && fenceShape(a) === 'allow-all');
    const lifted = [...deny, ...allow] as AclEntry[];
    if (!opts.dryRun && lifted.length) await retryTransient(() => admin.deleteAcls({ filters: lifted.map(toKafkajsAcl) }));
    return { ...none, topics: [...fenced].sort(), acls: lifted };
  });
}
