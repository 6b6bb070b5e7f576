/**
 * The write fence on a migration's source: for each migrated topic a DENY WRITE for User:* from any
 * host (LITERAL on the topic's name). DENY wins over every ALLOW, so no client's produce lands once a
 * broker's authorizer holds it; super users (Lifeboat itself, in the lab User:ANONYMOUS) are never
 * bound, and the mirror only reads the source, so the drain goes on.
 *
 * Beside it, where the topic had no ACL that binds it at all (LITERAL on its name, the `*` wildcard,
 * a PREFIXED one it starts with) and the brokers allow everyone on resources without ACLs
 * (allow.everyone.if.no.acl.found=true): an ALLOW ALL for User:*. Any ACL on a resource turns
 * allow.everyone.if.no.acl.found off for that resource, so the DENY WRITE alone would refuse every
 * read and describe of the topic too (consumers would stop before the cut-over); the ALLOW ALL gives
 * back exactly what "no ACL" gave, and the DENY still wins for writes. Where the topic had ACLs of its
 * own, those already decide (allow.everyone did not apply) and nothing is added; where the brokers
 * refuse resources without ACLs, an ALLOW would widen access and nothing is added either.
 *
 * Ownership: these two exact shapes (User:*, host *, LITERAL on the topic) are Lifeboat's fence. A
 * fence run twice (an activity retried after a crash that lost the first answer) recognises its own
 * ACLs by shape and returns the same record, so unfence removes them; every other ACL is left as it
 * was. The mirror's ACL copy (src/kafka/mirror/acls.ts) skips the same shapes.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, type Admin, ConfigResourceTypes, type Kafka, ResourcePatternTypes } from 'kafkajs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterSpec } from '../config/spec';
import { parseProperties } from '../host/properties';
import { LifeboatError } from '../errors';
import { poll, sleep, throwIfAborted } from '../core/poll';
import { type Acl, aclsOf, binds, fenceShape, isSecurityDisabled, toKafkajsAcl } from '../kafka/acls';
import { reachableKafka, retryTransient, withAdmin } from '../kafka/admin';
import { WireClient } from '../kafka/wire/client';
import { clusterOf, type KafkajsBroker } from '../kafka/wire/transport';

export interface AclEntry {
  resourceType: 'TOPIC';
  resourceName: string;
  patternType: 'LITERAL';
  principal: string;
  host: string;
  operation: string;
  permission: 'ALLOW' | 'DENY';
}

export interface FenceRecord {
  cluster: string;
  topics: string[];
  /** Exactly the ACLs the fence set (unfence removes these and nothing else). */
  acls: AclEntry[];
  at: string;
  /** Dry run: what the fence would set; nothing was created. */
  dryRun?: boolean;
  /** Per topic, why no ALLOW ALL was set beside the DENY (it had ACLs of its own, or the brokers refuse resources without ACLs). */
  notes?: string[];
}


export const denyWrite = (topic: string): AclEntry => ({ resourceType: 'TOPIC', resourceName: topic, patternType: 'LITERAL', principal: 'User:*', host: '*', operation: 'WRITE', permission: 'DENY' });
export const allowAll = (topic: string): AclEntry => ({ resourceType: 'TOPIC', resourceName: topic, patternType: 'LITERAL', principal: 'User:*', host: '*', operation: 'ALL', permission: 'ALLOW' });


/** Whether a topic ACL binds the topic (how the authorizer matches). */
const bindsTopic = (a: Acl, topic: string): boolean => a.resourceType === 'TOPIC' && binds(a, topic);



export const noAuthorizer = (cluster: string): LifeboatError =>
  new LifeboatError('InvalidInput', `cluster "${cluster}" has no authorizer (authorizer.class.name is not set): the write fence is an ACL; configure an authorizer on its brokers, or stop its producers by other means`);

const ALL_TOPIC_ACLS = {
  resourceType: AclResourceTypes.TOPIC,
  resourcePatternType: ResourcePatternTypes.ANY,
  operation: AclOperationTypes.ANY,
  permissionType: AclPermissionTypes.ANY,
} as const;

/** Every topic ACL of the cluster (the controller's view); no authorizer → InvalidInput. */
export async function topicAcls(admin: Admin, cluster: string): Promise<Acl[]> {
  try {
    const r = await retryTransient(() => admin.describeAcls(ALL_TOPIC_ACLS));
    return aclsOf(r.resources);
  } catch (e) {
    if (isSecurityDisabled(e)) throw noAuthorizer(cluster);
    throw e;
  }
}


/**
 * The brokers' allow.everyone.if.no.acl.found. Brokers report authorizer settings as sensitive (no
 * value), so: a value they do report; else "not set" (isDefault) is false; else the broker's
 * server.properties where the spec's configDir is on this host; else the caller's word; else
 * undefined (unknown: the fence then adds no ALLOW, which can refuse reads but never widens them).
 */
export async function allowEveryoneIfNoAcl(admin: Admin, spec: ClusterSpec): Promise<{ value?: boolean; how: string }> {
  const { brokers } = await admin.describeCluster();
  const cfg = await admin.describeConfigs({
    resources: brokers.map((b) => ({ type: ConfigResourceTypes.BROKER, name: String(b.nodeId), configNames: ['allow.everyone.if.no.acl.found'] })),
    includeSynonyms: false,
  });
  const entries = cfg.resources.flatMap((r) => r.configEntries.filter((e) => e.configName === 'allow.everyone.if.no.acl.found').map((e) => ({ broker: r.resourceName, ...e })));
  const known = entries.filter((e) => e.configValue !== null && e.configValue !== undefined);
  if (known.length === entries.length && known.length > 0) return { value: known.every((e) => e.configValue === 'true'), how: 'reported by the brokers' };
  if (entries.length > 0 && entries.every((e) => e.isDefault)) return { value: false, how: 'not set on the brokers (default false)' };
  const files: boolean[] = [];
  for (const b of spec.brokers) {
    try {
      const v = parseProperties(readFileSync(join(b.configDir, 'server.properties'), 'utf8')).values.get('allow.everyone.if.no.acl.found');
      files.push(v?.trim() === 'true');
    } catch {
      // not on this host
    }
  }
  if (files.length > 0 && files.length === spec.brokers.length) return { value: files.every(Boolean), how: "read from the brokers' server.properties" };
  return { how: 'hidden by the brokers and their server.properties not on this host' };
}

/** What the fence is on `topics` given the cluster's ACLs: the entries, and why an ALLOW is left out. */
export function planFence(topics: string[], acls: Acl[], allowEveryone: boolean | undefined, how = ''): { acls: AclEntry[]; notes: string[] } {
  const out: AclEntry[] = [];
  const notes: string[] = [];
  for (const topic of [...new Set(topics)].sort()) {
    out.push(denyWrite(topic));
    const own = acls.filter((a) => bindsTopic(a, topic) && !(a.resourceName === topic && fenceShape(a)));
    if (allowEveryone === undefined) notes.push(`${topic}: no ALLOW added (allow.everyone.if.no.acl.found unknown: ${how}; pass allowEveryoneIfNoAcl if it is true, or reads by other principals are refused while fenced)`);
    else if (!allowEveryone) notes.push(`${topic}: no ALLOW added (the brokers refuse resources without ACLs: allow.everyone.if.no.acl.found is false)`);
    else if (own.length) notes.push(`${topic}: no ALLOW added (${own.length} ACL${own.length === 1 ? '' : 's'} of its own decide who reads it)`);
    else out.push(allowAll(topic));
  }
  return { acls: out, notes };
}

/** Sets the fence (see the file comment); dryRun: says what it would set. Idempotent. */
export async function fenceWrites(source: ClusterSpec, topics: string[], opts: { dryRun?: boolean; allowEveryoneIfNoAcl?: boolean } = {}): Promise<FenceRecord> {
  if (topics.length === 0) throw new LifeboatError('InvalidInput', 'no topics to fence');
  const kafka = await reachableKafka(source, 'fence');
  return withAdmin(kafka, source.name, async (admin) => {
    const existing = await topicAcls(admin, source.name);
    const everyone = await allowEveryoneIfNoAcl(admin, source);
    const plan = planFence(topics, existing, everyone.value ?? opts.allowEveryoneIfNoAcl, everyone.how);
    if (!opts.dryRun) await retryTransient(() => admin.createAcls({ acl: plan.acls.map(toKafkajsAcl) }));
    return {
      cluster: source.name,
      topics: [...new Set(topics)].sort(),
      acls: plan.acls,
      at: new Date().toISOString(),
      ...(opts.dryRun ? { dryRun: true } : {}),
      ...(plan.notes.length ? { notes: plan.notes } : {}),
    };
  });
}

/** Removes exactly the ACLs the fence set (each by its full description: nothing else matches). */
export async function unfenceWrites(source: ClusterSpec, fence: FenceRecord): Promise<void> {
  if (fence.dryRun || fence.acls.length === 0) return;
  for (const a of fence.acls) {
    if (!fenceShape(a)) {
      throw new LifeboatError('InvalidInput', `fence record of "${fence.cluster}" holds an ACL that is not a fence's (${a.permission} ${a.operation} ${a.principal} on ${a.resourceName}): refusing to remove it`);
    }
  }
  const kafka = await reachableKafka(source, 'fence');
  await withAdmin(kafka, source.name, async (admin) => {
    try {
      await retryTransient(() => admin.deleteAcls({ filters: fence.acls.map(toKafkajsAcl) }));
    } catch (e) {
      if (isSecurityDisabled(e)) throw noAuthorizer(source.name);
      throw e;
    }
  });
}

/** The fence's DENY WRITE topics that a broker's authorizer already holds (its own cache, not the controller's). */
async function denyTopicsOn(broker: KafkajsBroker, topics: Set<string>): Promise<Set<string>> {
  const r = await broker.describeAcls({
    resourceType: AclResourceTypes.TOPIC,
    resourceName: null,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: 'User:*',
    host: '*',
    operation: AclOperationTypes.WRITE,
    permissionType: AclPermissionTypes.DENY,
  });
  return new Set(aclsOf(r.resources).filter((a) => topics.has(a.resourceName) && fenceShape(a) === 'deny-write').map((a) => a.resourceName));
}

/** End offsets (high watermarks) of the topics' partitions, "topic/partition" → offset. */
async function endOffsets(kafka: Kafka, topics: string[]): Promise<Map<string, number>> {
  const client = await WireClient.open(kafka, topics);
  try {
    const out = new Map<string, number>();
    for (const t of topics) for (const [p, o] of await client.listOffsets(t, 'end')) out.set(`${t}/${p}`, o);
    return out;
  } finally {
    await client.close();
  }
}

const sameOffsets = (a: Map<string, number>, b: Map<string, number>): boolean => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

/**
 * Waits until every broker refuses writes to the fenced topics, and returns the ms it waited.
 *
 * Lifeboat cannot try a write as an application (it has no application credentials, and its own
 * principal may be a super user that no ACL binds), so it checks the two things that make a write
 * refused: (1) each live broker's authorizer holds the fence's DENY WRITE for every topic — a
 * DescribeAcls sent to that broker itself is answered from its own ACL cache (ZooKeeper mode:
 * AclAuthorizer's cache fed by change notifications; KRaft: the broker's metadata image), which is
 * what its produce path consults; then (2) the topics' end offsets stay unchanged for `quietMs`, so a
 * produce request that passed authorization just before the cache update has landed (it is appended
 * right after the check). Offsets that keep moving after the fence is everywhere mean a principal the
 * fence does not bind (a super user) writes: that is reported, not waited out.
 */
export async function awaitFence(
  source: ClusterSpec,
  fence: FenceRecord,
  opts: { timeoutMs?: number; signal?: AbortSignal; quietMs?: number } = {},
): Promise<number> {
  const started = Date.now();
  if (fence.dryRun) return 0;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  // A produce authorized just before the cache update is appended at once; its high watermark follows
  // within a follower fetch (replica.fetch.wait.max.ms, 500 ms by default): one second of quiet covers it.
  const quietMs = opts.quietMs ?? 1_000;
  const topics = new Set(fence.acls.filter((a) => a.permission === 'DENY').map((a) => a.resourceName));
  const kafka = await reachableKafka(source, 'fence');
  const cluster = clusterOf(kafka);
  await cluster.connect();
  try {
    await poll(
      async (note) => {
        await cluster.refreshMetadata();
        for (const nodeId of cluster.getNodeIds()) {
          let held: Set<string>;
          try {
            held = await denyTopicsOn(await cluster.findBroker({ nodeId }), topics);
          } catch (e) {
            if (isSecurityDisabled(e)) throw noAuthorizer(source.name);
            throw e;
          }
          const missing = [...topics].filter((t) => !held.has(t));
          if (missing.length) {
            note(`broker ${nodeId} does not hold the fence on ${missing.length} topic(s) yet, e.g. ${missing[0]}`);
            return false;
          }
        }
        return true;
      },
      { what: `the write fence to reach every broker of ${source.name}`, timeoutMs, intervalMs: 200, signal: opts.signal, fatal: (e) => e instanceof LifeboatError },
    );
  } finally {
    await cluster.disconnect().catch(() => {});
  }
  // (2) quiet end offsets: every write authorized before the fence has landed.
  const list = [...topics];
  let before = await endOffsets(kafka, list);
  let quietSince = Date.now();
  for (;;) {
    throwIfAborted(opts.signal);
    await sleep(Math.min(250, quietMs), opts.signal);
    const now = await endOffsets(kafka, list);
    if (!sameOffsets(before, now)) {
      const moved = [...now].filter(([k, v]) => before.get(k) !== v).map(([k]) => k);
      if (Date.now() - started > timeoutMs) {
        throw new LifeboatError(
          'InvalidInput',
          `writes still land on ${source.name} after the fence reached every broker (${moved.slice(0, 3).join(', ')}${moved.length > 3 ? ', …' : ''}): a principal no ACL binds (a super user) is producing; stop it, then go on`,
        );
      }
      before = now;
      quietSince = Date.now();
      continue;
    }
    if (Date.now() - quietSince >= quietMs) return Date.now() - started;
  }
}
