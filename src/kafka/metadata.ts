/**
 * Kafka metadata: export a cluster's topics, configs, group offsets and ACLs (kafkajs admin), and
 * apply an export to a cluster — the same one or another — as a plan first (`planApply`, read-only),
 * then `applyPlan`. Apply is additive and conservative: it creates what is missing, never deletes,
 * never changes an existing topic's partitions, and never moves the offsets of a group that has
 * live members. Every compromise (a lowered replication factor, a skipped group) is in the plan.
 */
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type Admin,
  ConfigResourceTypes,
  ConfigSource,
  type AclEntry,
  type Kafka,
  ResourcePatternTypes,
} from 'kafkajs';
import { type AclExport, type KafkaMetadataExport, METADATA_FORMAT, type TopicExport } from './metadataTypes';
import { describeTopics, retryTransient, withAdmin } from './admin';
import { GROUP_RETRY, readGroups } from './groupExport';
import { commitGroupOffsets, isGroupActiveError } from './groupOffsets';
import type { OffsetTranslator } from './offsets';

export * from './metadataTypes';

export interface ExportOptions {
  /** Cluster name for the record (the spec's name). */
  name?: string;
  /** Also export internal topics (`__consumer_offsets`...); they are recreated by Kafka, so off by default. */
  includeInternal?: boolean;
  /** Topics left out, never asked about (a drill's own stream topic, dropped beside the inventory). */
  excludeTopics?: string[];
  /** How the topics are listed (default: `admin.listTopics()`); a backup checks the listing (topicListing.ts). */
  listTopics?: (admin: Admin) => Promise<string[]>;
}

const isInternal = (topic: string) => topic.startsWith('__');
const enumName = (e: Record<string, number>, v: number): string => Object.keys(e).find((k) => e[k] === v) ?? 'UNKNOWN';
const enumValue = (e: Record<string, number>, name: string): number => e[name] ?? 0;
const E = {
  resource: AclResourceTypes as unknown as Record<string, number>,
  pattern: ResourcePatternTypes as unknown as Record<string, number>,
  operation: AclOperationTypes as unknown as Record<string, number>,
  permission: AclPermissionTypes as unknown as Record<string, number>,
};

/** kafkajs's "no authorizer configured" error: ACLs then simply do not exist on that cluster. */
const isSecurityDisabled = (e: unknown) => /SECURITY_DISABLED|Security features are disabled/i.test(`${(e as { type?: string }).type} ${(e as Error).message}`);

/** How many times a listing is read again when topics in it are gone by the time they are described. */
const TOPIC_READS = 5;

async function readTopics(admin: Admin, includeInternal: boolean, warnings: string[], exclude: ReadonlySet<string>, list: (admin: Admin) => Promise<string[]>): Promise<TopicExport[]> {
  const wanted = (all: string[]) => all.filter((t) => (includeInternal || !isInternal(t)) && !exclude.has(t)).sort();
  // The first listing through `list` (a backup's is checked, topicListing.ts); a re-read after a deletion is plain.
  const listed = async () => wanted(await admin.listTopics());
  let names = wanted(await list(admin));
  for (let read = 1; ; read++) {
    if (names.length === 0) return [];
    try {
      return await describeListed(admin, names, warnings);
    } catch (e) {
      // A topic deleted after the listing (an operator, a drill dropping its stream topic) makes the
      // whole description fail (TopicDeleted, see describeTopics): listed again, the export is
      // of the topics that exist. Anything else, or a listing that lost nothing, is the error it was.
      const now = await listed();
      if (read >= TOPIC_READS || names.every((n) => now.includes(n))) throw e;
      names = now;
    }
  }
}

async function describeListed(admin: Admin, names: string[], warnings: string[]): Promise<TopicExport[]> {
  const described = await describeTopics(admin, names, { listed: true });
  const configs = await admin.describeConfigs({ resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })), includeSynonyms: false });
  const configsByTopic = new Map(configs.resources.map((r) => [r.resourceName, r.configEntries]));
  return described
    .map((t) => {
      const assignment = t.partitions.map((p) => ({ partition: p.partitionId, replicas: [...p.replicas] })).sort((a, b) => a.partition - b.partition);
      const own: Record<string, string> = {};
      const sensitiveConfigs: string[] = [];
      for (const c of configsByTopic.get(t.name) ?? []) {
        // Only what was set on the topic: broker defaults come back with the target's own broker config.
        const setOnTopic = c.configSource === ConfigSource.TOPIC_CONFIG || (c.configSource === undefined && !c.isDefault);
        if (!setOnTopic) continue;
        if (c.isSensitive || c.configValue === null) sensitiveConfigs.push(c.configName);
        else own[c.configName] = c.configValue;
      }
      if (sensitiveConfigs.length) warnings.push(`topic ${t.name}: sensitive configs ${sensitiveConfigs.join(', ')} cannot be read back and are not exported`);
      return {
        name: t.name,
        partitions: assignment.length,
        replicationFactor: Math.max(1, ...assignment.map((a) => a.replicas.length)),
        assignment,
        configs: own,
        sensitiveConfigs,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function readAcls(admin: Admin): Promise<AclExport[] | null> {
  try {
    const r = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    return r.resources
      .flatMap((res) =>
        res.acls.map((a) => ({
          resourceType: enumName(E.resource, res.resourceType),
          resourceName: res.resourceName,
          patternType: enumName(E.pattern, res.resourcePatternType),
          principal: a.principal,
          host: a.host,
          operation: enumName(E.operation, a.operation),
          permission: enumName(E.permission, a.permissionType),
        })),
      )
      .sort((a, b) => aclKey(a).localeCompare(aclKey(b)));
  } catch (e) {
    if (isSecurityDisabled(e)) return null;
    throw e;
  }
}

export const aclKey = (a: AclExport): string =>
  [a.resourceType, a.patternType, a.resourceName, a.principal, a.host, a.operation, a.permission].join('\u0000');

/** Reads the cluster's metadata. Read-only. */
export async function exportMetadata(kafka: Kafka, opts: ExportOptions = {}): Promise<KafkaMetadataExport> {
  return withAdmin(kafka, opts.name ?? 'kafka', async (admin) => {
    const warnings: string[] = [];
    const cluster = await admin.describeCluster();
    const topics = await readTopics(admin, opts.includeInternal ?? false, warnings, new Set(opts.excludeTopics), opts.listTopics ?? ((a) => a.listTopics()));
    const groups = await readGroups(admin, warnings);
    const acls = await readAcls(admin);
    if (acls === null) warnings.push('the cluster has no authorizer: no ACLs to export');
    for (const g of groups) {
      if (g.members > 0) warnings.push(`group ${g.groupId} had ${g.members} live member(s) during the export: its offsets may already have moved on`);
    }
    return {
      format: METADATA_FORMAT,
      exportedAt: new Date().toISOString(),
      cluster: {
        id: cluster.clusterId,
        name: opts.name,
        controller: cluster.controller,
        brokers: cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })).sort((a, b) => a.nodeId - b.nodeId),
      },
      topics,
      groups,
      acls: acls ?? [],
      aclsCaptured: acls !== null,
      warnings,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Plan

export interface TopicAction {
  topic: string;
  action: 'create' | 'exists' | 'partition-conflict';
  partitions: number;
  /** Partitions the topic already has on the target (exists / partition-conflict). */
  targetPartitions?: number;
  replicationFactor: number;
  capturedReplicationFactor: number;
  /** Set when the captured placement fits the target's brokers and is kept. */
  replicaAssignment?: { partition: number; replicas: number[] }[];
  configs: Record<string, string>;
  notes: string[];
}

export interface OffsetAction {
  topic: string;
  partition: number;
  /** The committed offset in the export. */
  original: string;
  /** The offset to commit on the target (after translation). */
  offset: string;
}

export interface GroupAction {
  groupId: string;
  action: 'set-offsets' | 'skip-active' | 'nothing-to-set';
  targetState: string;
  targetMembers: number;
  offsets: OffsetAction[];
  skipped: { topic: string; partition: number; original: string; reason: string }[];
  notes: string[];
}

export interface AclAction extends AclExport {
  action: 'create' | 'exists';
}

export interface ApplyPlan {
  source: { clusterId: string; name?: string; exportedAt: string };
  target: { clusterId: string; name?: string; brokers: number[] };
  topics: TopicAction[];
  groups: GroupAction[];
  acls: AclAction[];
  /** Everything an operator must read before applying (lowered RF, conflicts, skipped groups). */
  warnings: string[];
  summary: {
    topicsToCreate: number;
    topicsExisting: number;
    partitionConflicts: number;
    groupsToSet: number;
    groupsSkipped: number;
    offsetsToSet: number;
    aclsToCreate: number;
  };
}

export interface PlanOptions {
  /** Target cluster name, for messages. */
  name?: string;
  /** Translates offsets after a data restore; without it offsets are kept as captured. */
  offsetTranslator?: OffsetTranslator;
  /** Restrict to these topics (and the groups' offsets on them). */
  topics?: (topic: string) => boolean;
  /** Restrict the ACLs to create (default: all exported ACLs). */
  acls?: (acl: AclExport) => boolean;
}

function planTopic(t: TopicExport, existing: number | undefined, targetBrokers: number[], warnings: string[]): TopicAction {
  const base = { topic: t.name, partitions: t.partitions, capturedReplicationFactor: t.replicationFactor, configs: { ...t.configs }, notes: [] as string[] };
  if (existing !== undefined) {
    if (existing !== t.partitions) {
      warnings.push(`topic ${t.name}: exists on the target with ${existing} partitions, the export has ${t.partitions}; left untouched`);
      return { ...base, action: 'partition-conflict', targetPartitions: existing, replicationFactor: t.replicationFactor };
    }
    return { ...base, action: 'exists', targetPartitions: existing, replicationFactor: t.replicationFactor };
  }
  const brokerSet = new Set(targetBrokers);
  const fits = t.assignment.length === t.partitions && t.assignment.every((a) => a.replicas.length > 0 && a.replicas.every((r) => brokerSet.has(r)));
  if (fits) return { ...base, action: 'create', replicationFactor: t.replicationFactor, replicaAssignment: t.assignment.map((a) => ({ ...a, replicas: [...a.replicas] })) };

  const rf = Math.min(t.replicationFactor, targetBrokers.length);
  if (rf < t.replicationFactor) {
    const msg = `topic ${t.name}: replication factor ${t.replicationFactor} lowered to ${rf} (the target has ${targetBrokers.length} broker(s))`;
    warnings.push(msg);
    base.notes.push(msg);
  }
  // min.insync.replicas above the replication factor would make every acks=all write fail.
  const minIsr = Number(base.configs['min.insync.replicas']);
  if (Number.isFinite(minIsr) && minIsr > rf) {
    const msg = `topic ${t.name}: min.insync.replicas ${minIsr} lowered to ${rf} to match the replication factor`;
    warnings.push(msg);
    base.notes.push(msg);
    base.configs['min.insync.replicas'] = String(rf);
  }
  return { ...base, action: 'create', replicationFactor: rf };
}

/** Reads the target and returns what `applyPlan` would do. Touches nothing. */
export async function planApply(exp: KafkaMetadataExport, target: Kafka, opts: PlanOptions = {}): Promise<ApplyPlan> {
  const wanted = opts.topics ?? (() => true);
  return withAdmin(target, opts.name ?? 'target', async (admin) => {
    const warnings: string[] = [];
    const cluster = await admin.describeCluster();
    const targetBrokers = cluster.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
    const targetTopicNames = new Set(await admin.listTopics());
    const exported = exp.topics.filter((t) => wanted(t.name));
    const present = exported.filter((t) => targetTopicNames.has(t.name)).map((t) => t.name);
    const partitionsOnTarget = new Map<string, number>();
    if (present.length) {
      for (const t of await describeTopics(admin, present, { cluster: opts.name, listed: true })) partitionsOnTarget.set(t.name, t.partitions.length);
    }
    const topics = exported.map((t) => planTopic(t, partitionsOnTarget.get(t.name), targetBrokers, warnings));
    // After the apply, a topic has the target's partitions if it exists there, else the export's.
    const partitionsAfter = new Map(topics.map((t) => [t.topic, t.targetPartitions ?? t.partitions]));

    const groups = await planGroups(admin, exp, partitionsAfter, wanted, opts.offsetTranslator, warnings);
    const acls = await planAcls(admin, { ...exp, acls: exp.acls.filter(opts.acls ?? (() => true)) }, warnings);

    return {
      source: { clusterId: exp.cluster.id, name: exp.cluster.name, exportedAt: exp.exportedAt },
      target: { clusterId: cluster.clusterId, name: opts.name, brokers: targetBrokers },
      topics,
      groups,
      acls,
      warnings,
      summary: {
        topicsToCreate: topics.filter((t) => t.action === 'create').length,
        topicsExisting: topics.filter((t) => t.action === 'exists').length,
        partitionConflicts: topics.filter((t) => t.action === 'partition-conflict').length,
        groupsToSet: groups.filter((g) => g.action === 'set-offsets').length,
        groupsSkipped: groups.filter((g) => g.action === 'skip-active').length,
        offsetsToSet: groups.reduce((n, g) => n + (g.action === 'set-offsets' ? g.offsets.length : 0), 0),
        aclsToCreate: acls.filter((a) => a.action === 'create').length,
      },
    };
  });
}

async function planGroups(
  admin: Admin,
  exp: KafkaMetadataExport,
  partitionsAfter: Map<string, number>,
  wanted: (topic: string) => boolean,
  translator: OffsetTranslator | undefined,
  warnings: string[],
): Promise<GroupAction[]> {
  const exported = exp.groups.filter((g) => g.offsets.some((o) => wanted(o.topic)));
  if (exported.length === 0) return [];
  const described = new Map((await retryTransient(() => admin.describeGroups(exported.map((g) => g.groupId)), GROUP_RETRY)).groups.map((g) => [g.groupId, g]));
  // End offsets of topics that already exist, to say when a committed offset points past the data.
  const logEnds = new Map<string, Map<number, bigint>>();
  const logEnd = async (topic: string, partition: number): Promise<bigint> => {
    if (!logEnds.has(topic)) {
      const existing = (await admin.listTopics()).includes(topic);
      logEnds.set(topic, new Map(existing ? (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]) : []));
    }
    return logEnds.get(topic)!.get(partition) ?? 0n;
  };

  const out: GroupAction[] = [];
  for (const g of exported) {
    const d = described.get(g.groupId);
    const state = d?.state ?? 'Dead';
    const members = d?.members.length ?? 0;
    const action: GroupAction = { groupId: g.groupId, action: 'nothing-to-set', targetState: state, targetMembers: members, offsets: [], skipped: [], notes: [] };
    if (members > 0 || !['Empty', 'Dead', 'Unknown'].includes(state)) {
      action.action = 'skip-active';
      const msg = `group ${g.groupId}: ${members} live member(s) on the target (state ${state}); offsets not touched`;
      action.notes.push(msg);
      warnings.push(msg);
      out.push(action);
      continue;
    }
    const beyondEnd = new Set<string>();
    for (const o of g.offsets.filter((x) => wanted(x.topic))) {
      const partitions = partitionsAfter.get(o.topic);
      if (partitions === undefined) {
        action.skipped.push({ topic: o.topic, partition: o.partition, original: o.offset, reason: 'topic not in the export (nor on the target)' });
        continue;
      }
      if (o.partition >= partitions) {
        action.skipped.push({ topic: o.topic, partition: o.partition, original: o.offset, reason: `the target topic has only ${partitions} partitions` });
        continue;
      }
      let offset = o.offset;
      if (translator) {
        const translated = await translator.translate(o.topic, o.partition, o.offset);
        if (translated === undefined) {
          action.skipped.push({ topic: o.topic, partition: o.partition, original: o.offset, reason: 'the offset map has no entry for this partition' });
          continue;
        }
        offset = translated;
      }
      if (BigInt(offset) > (await logEnd(o.topic, o.partition))) beyondEnd.add(o.topic);
      action.offsets.push({ topic: o.topic, partition: o.partition, original: o.offset, offset });
    }
    for (const topic of beyondEnd) {
      action.notes.push(`offsets on ${topic} point past the target's log end: consumers reset by auto.offset.reset unless the data is restored first`);
    }
    if (action.skipped.length) warnings.push(`group ${g.groupId}: ${action.skipped.length} offset(s) skipped (${[...new Set(action.skipped.map((s) => s.reason))].join('; ')})`);
    if (action.offsets.length) action.action = 'set-offsets';
    out.push(action);
  }
  return out;
}

async function planAcls(admin: Admin, exp: KafkaMetadataExport, warnings: string[]): Promise<AclAction[]> {
  if (exp.acls.length === 0) return [];
  const existing = await readAcls(admin);
  if (existing === null) {
    warnings.push(`the target has no authorizer: ${exp.acls.length} ACL(s) cannot be created`);
    return [];
  }
  const have = new Set(existing.map(aclKey));
  return exp.acls.map((a) => ({ ...a, action: have.has(aclKey(a)) ? 'exists' : 'create' }));
}

// ---------------------------------------------------------------------------------------------
// Apply

export interface ApplyResult {
  topicsCreated: string[];
  groupsSet: string[];
  offsetsSet: number;
  aclsCreated: number;
  /** Steps that failed (e.g. a group became active between plan and apply); the rest went on. */
  failures: { what: string; error: string }[];
}

/** Carries out a plan from `planApply`. Idempotent: re-running it creates nothing twice. */
export async function applyPlan(target: Kafka, plan: ApplyPlan, opts: { name?: string } = {}): Promise<ApplyResult> {
  return withAdmin(target, opts.name ?? plan.target.name ?? 'target', async (admin) => {
    const result: ApplyResult = { topicsCreated: [], groupsSet: [], offsetsSet: 0, aclsCreated: 0, failures: [] };
    const existing = new Set(await admin.listTopics());
    const toCreate = plan.topics.filter((t) => t.action === 'create' && !existing.has(t.topic));
    for (const t of toCreate) {
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: [
            {
              topic: t.topic,
              ...(t.replicaAssignment ? { replicaAssignment: t.replicaAssignment } : { numPartitions: t.partitions, replicationFactor: t.replicationFactor }),
              configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
            },
          ],
        });
        result.topicsCreated.push(t.topic);
      } catch (e) {
        result.failures.push({ what: `create topic ${t.topic}`, error: (e as Error).message });
      }
    }
    for (const g of plan.groups.filter((x) => x.action === 'set-offsets')) {
      const byTopic = new Map<string, { partition: number; offset: string }[]>();
      for (const o of g.offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partition: o.partition, offset: o.offset }]);
      try {
        await commitGroupOffsets(target, g.groupId, [...byTopic].map(([topic, partitions]) => ({ topic, partitions })));
        result.offsetsSet += g.offsets.length;
        result.groupsSet.push(g.groupId);
      } catch (e) {
        // The broker refuses a standalone commit to a group with members: its consumers' positions stay theirs.
        const active = isGroupActiveError(e);
        result.failures.push({ what: `set offsets of group ${g.groupId}`, error: active ? 'the group has members on the target now: stop its consumers there and restore again' : (e as Error).message });
      }
    }
    const acls: AclEntry[] = plan.acls
      .filter((a) => a.action === 'create')
      .map((a) => ({
        resourceType: enumValue(E.resource, a.resourceType),
        resourceName: a.resourceName,
        resourcePatternType: enumValue(E.pattern, a.patternType),
        principal: a.principal,
        host: a.host,
        operation: enumValue(E.operation, a.operation),
        permissionType: enumValue(E.permission, a.permission),
      }));
    if (acls.length) {
      try {
        await admin.createAcls({ acl: acls });
        result.aclsCreated = acls.length;
      } catch (e) {
        result.failures.push({ what: `create ${acls.length} ACL(s)`, error: (e as Error).message });
      }
    }
    return result;
  });
}
