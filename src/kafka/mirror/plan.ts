/**
 * The mirror's topics on the target: the source's partition count and every topic config set on
 * the source (including those MirrorMaker 2 drops: min.insync.replicas, message.timestamp.*,
 * cleanup.policy). Timestamp limits and LogAppendTime would refuse or rewrite the source's old
 * timestamps while the mirror copies: they are held back (`deferred`) and applied at cut-over
 * (applyDeferredConfigs), as a topic restore does once its data is in. With `acls` in the
 * selection, the ACLs binding the topics and their groups come along (acls.ts).
 */
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import type { ClusterSpec } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { throwIfAborted } from '../../core/poll';
import { describeTopics, reachableKafka } from '../admin';
import { type MirrorAclPlan, mirrorAcls } from './acls';
import { STATE_TOPIC, ensureStateTopic, readState } from './state';

export interface MirrorSelection {
  topics?: string[];
  pattern?: string;
  /** Mirror the ACLs binding the selected topics and their consumer groups too (acls.ts). */
  acls?: boolean;
}

export interface MirrorTopicPlan {
  topic: string;
  partitions: number;
  configs: Record<string, string>;
  action: 'create' | 'exists' | 'add-partitions';
  /** Source configs held back while mirroring (timestamp settings), applied at cut-over. */
  deferred?: Record<string, string>;
  /** An existing target topic's configs this plan set (would set, dry run) to follow a change on the source. */
  changed?: Record<string, string>;
  /** Source configs the target's Kafka does not have (Kafka 4 removed message.format.version, message.downconversion.enable, message.timestamp.difference.max.ms: the last becomes before/after limits in `deferred`). */
  dropped?: Record<string, string>;
  /** With selection.acls: the source ACLs binding this topic or its groups, and what the plan does with each. */
  acls?: MirrorAclPlan[];
  /** With selection.acls, on the first topic's plan only (the listing is the source's, not a topic's): why group ACLs may be missing (the source's groups could not be listed steadily). */
  aclWarnings?: string[];
}

export const DEFERRED_CONFIGS = ['message.timestamp.type', 'message.timestamp.difference.max.ms', 'message.timestamp.before.max.ms', 'message.timestamp.after.max.ms'];

/** A topic's configs set on it (not broker defaults), sensitive ones left out. */
export async function topicConfigs(admin: Admin, topics: string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  if (topics.length === 0) return out;
  const cfg = await admin.describeConfigs({ resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })), includeSynonyms: false });
  for (const r of cfg.resources) {
    const c: Record<string, string> = {};
    // configSource 1: DYNAMIC_TOPIC_CONFIG, set on the topic itself.
    for (const e of r.configEntries) if ((e as { configSource?: number }).configSource === 1 && !e.isSensitive) c[e.configName] = e.configValue;
    out.set(r.resourceName, c);
  }
  return out;
}

/** The topic config names the target's Kafka knows (every entry of one of its topics); undefined when it has none to ask. */
async function knownTopicConfigs(admin: Admin, topics: string[]): Promise<Set<string> | undefined> {
  const probe = [STATE_TOPIC, '__consumer_offsets'].find((t) => topics.includes(t)) ?? topics[0];
  if (probe === undefined) return undefined;
  const r = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: probe }], includeSynonyms: false });
  return new Set(r.resources[0]!.configEntries.map((e) => e.configName));
}

const NO_LIMIT = '9223372036854775807';

/**
 * A source topic's configs for a target of a later Kafka: those it does not know are left out and
 * said (4.0 removed message.format.version and message.downconversion.enable, meaningless there, and
 * message.timestamp.difference.max.ms, which 3.6–3.9 apply as the before/after limits not set
 * otherwise: it becomes those). Created with them, a topic would be refused (INVALID_CONFIG).
 */
export function configsForTarget(all: Record<string, string>, known: Set<string> | undefined): { configs: Record<string, string>; dropped?: Record<string, string> } {
  if (!known) return { configs: all };
  const configs: Record<string, string> = {};
  const dropped: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) (known.has(k) ? configs : dropped)[k] = v;
  const difference = dropped['message.timestamp.difference.max.ms'];
  if (difference !== undefined) {
    for (const k of ['message.timestamp.before.max.ms', 'message.timestamp.after.max.ms']) {
      if (known.has(k) && (configs[k] === undefined || configs[k] === NO_LIMIT)) configs[k] = difference;
    }
  }
  return Object.keys(dropped).length ? { configs, dropped } : { configs };
}

async function clusterId(admin: Admin): Promise<string> {
  return (await admin.describeCluster()).clusterId;
}

/** The source topics the selection names (internal "__" topics never). */
export function selectTopics(all: string[], sel: MirrorSelection): string[] {
  const visible = all.filter((t) => !t.startsWith('__'));
  const re = sel.pattern !== undefined ? new RegExp(`^(?:${sel.pattern})$`) : undefined;
  for (const t of sel.topics ?? []) {
    if (!visible.includes(t)) throw new LifeboatError('InvalidInput', `the source has no topic "${t}"${t.startsWith('__') ? ' (internal topics are not mirrored)' : ''}`);
  }
  if (!sel.topics?.length && !re) return visible.sort();
  return visible.filter((t) => sel.topics?.includes(t) || re?.test(t)).sort();
}

export async function planMirror(source: ClusterSpec, target: ClusterSpec, sel: MirrorSelection, opts: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<MirrorTopicPlan[]> {
  try {
    if (sel.pattern !== undefined) new RegExp(sel.pattern);
  } catch (e) {
    throw new LifeboatError('InvalidInput', `topic pattern ${JSON.stringify(sel.pattern)} is not a regular expression: ${(e as Error).message}`);
  }
  const sk = await reachableKafka(source, 'mirror-plan');
  const tk = await reachableKafka(target, 'mirror-plan');
  const sa = sk.admin();
  const ta = tk.admin();
  await sa.connect();
  await ta.connect();
  try {
    if ((await clusterId(sa)) === (await clusterId(ta))) {
      throw new LifeboatError('InvalidInput', `source "${source.name}" and target "${target.name}" are the same Kafka cluster: a mirror needs two clusters`);
    }
    const topics = selectTopics(await sa.listTopics(), sel);
    throwIfAborted(opts.signal);
    const srcMeta = topics.length ? await describeTopics(sa, topics, { cluster: source.name, listed: true }) : [];
    const srcConfigs = await topicConfigs(sa, topics);
    // The state topic first: it is also the topic asked which configs the target's Kafka knows.
    if (!opts.dryRun) await ensureStateTopic(ta);
    const targetTopics = await ta.listTopics();
    const existing = new Set(targetTopics);
    const known = await knownTopicConfigs(ta, targetTopics);
    const tgtConfigs = await topicConfigs(ta, topics.filter((t) => existing.has(t)));
    const mine = topics.some((t) => existing.has(t)) ? await readState(tk) : undefined;
    const brokers = (await ta.describeCluster()).brokers.length;
    const plans: MirrorTopicPlan[] = [];
    for (const m of srcMeta) {
      throwIfAborted(opts.signal);
      const partitions = m.partitions.length;
      const { configs: all, dropped } = configsForTarget(srcConfigs.get(m.name) ?? {}, known);
      const configs: Record<string, string> = {};
      const deferred: Record<string, string> = {};
      for (const [k, v] of Object.entries(all)) (DEFERRED_CONFIGS.includes(k) ? deferred : configs)[k] = v;
      const rf = Math.min(Math.max(...m.partitions.map((p) => p.replicas.length)), brokers);
      // More in-sync replicas than replicas would refuse every write on a smaller target.
      if (configs['min.insync.replicas'] && Number(configs['min.insync.replicas']) > rf) configs['min.insync.replicas'] = String(rf);
      const plan: MirrorTopicPlan = { topic: m.name, partitions, configs, action: 'create', ...(Object.keys(deferred).length ? { deferred } : {}), ...(dropped ? { dropped } : {}) };
      if (existing.has(m.name)) {
        const have = (await describeTopics(ta, [m.name], { cluster: target.name, listed: true }))[0]!.partitions.length;
        if (have > partitions) {
          throw new LifeboatError('UnsafeTarget', `target topic ${m.name} has ${have} partitions, the source's has ${partitions}: delete it or mirror into another cluster`);
        }
        // Data the mirror did not write: a partition with records and no position of any mirror.
        for (const o of await ta.fetchTopicOffsets(m.name)) {
          // Batches a position names may have landed unrecorded (a killed run): the next shard resolves them.
          const known = [...(mine?.positions.values() ?? [])].some((s) => s.topic === m.name && s.partition === o.partition && s.targetNext + (s.sent ?? []).reduce((n, x) => n + x.records, 0) >= Number(o.high));
          if (Number(o.high) > Number(o.low) && !known) {
            throw new LifeboatError('UnsafeTarget', `target topic ${m.name} partition ${o.partition} holds offsets ${o.low}..${Number(o.high) - 1} this mirror did not write: delete the topic (or its records) on the target first`);
          }
        }
        plan.action = have < partitions ? 'add-partitions' : 'exists';
        if (!opts.dryRun && have < partitions) await ta.createPartitions({ topicPartitions: [{ topic: m.name, count: partitions }] });
        // A config changed on the source since the topic was created follows (AlterConfigs replaces the whole set: the target's own go along).
        const on = tgtConfigs.get(m.name) ?? {};
        const changed = Object.fromEntries(Object.entries(configs).filter(([k, v]) => on[k] !== v));
        if (Object.keys(changed).length) {
          plan.changed = changed;
          if (!opts.dryRun) {
            await ta
              .alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: m.name, configEntries: Object.entries({ ...on, ...changed }).map(([name, value]) => ({ name, value })) }] })
              .catch((e: unknown) => {
                throw new LifeboatError('InvalidInput', `cannot set ${Object.keys(changed).join(', ')} of topic ${m.name} on ${target.name} as the source has them: ${(e as Error).message}`);
              });
          }
        }
      } else if (!opts.dryRun) {
        await ta
          .createTopics({
            waitForLeaders: true,
            topics: [
              {
                topic: m.name,
                numPartitions: partitions,
                replicationFactor: rf,
                configEntries: Object.entries({ ...configs, 'message.timestamp.type': 'CreateTime' }).map(([name, value]) => ({ name, value })),
              },
            ],
          })
          .catch((e: unknown) => {
            const why = ((e as { errors?: { type?: string }[] }).errors ?? []).map((x) => x.type).filter(Boolean);
            throw new LifeboatError('InvalidInput', `cannot create topic ${m.name} on ${target.name}: ${(e as Error).message}${why.length ? ` (${why.join(', ')})` : ''}`);
          });
      }
      plans.push(plan);
    }
    if (sel.acls) {
      throwIfAborted(opts.signal);
      const acls = await mirrorAcls(sa, ta, target.name, plans.map((p) => p.topic), opts);
      for (const p of plans) p.acls = acls.byTopic.get(p.topic) ?? [];
      if (acls.warnings.length && plans[0]) plans[0].aclWarnings = acls.warnings;
    }
    return plans;
  } finally {
    await sa.disconnect().catch(() => {});
    await ta.disconnect().catch(() => {});
  }
}

/** Applies the held-back configs (cut-over): AlterConfigs replaces the whole set, so the topic's own go along. */
export async function applyDeferredConfigs(target: ClusterSpec, plans: MirrorTopicPlan[]): Promise<void> {
  const wanted = plans.filter((p) => p.deferred && Object.keys(p.deferred).length);
  if (!wanted.length) return;
  const admin = (await reachableKafka(target, 'mirror-plan')).admin();
  await admin.connect();
  try {
    const current = await topicConfigs(admin, wanted.map((p) => p.topic));
    await admin.alterConfigs({
      validateOnly: false,
      resources: wanted.map((p) => ({
        type: ConfigResourceTypes.TOPIC,
        name: p.topic,
        configEntries: Object.entries({ ...current.get(p.topic), ...p.deferred }).map(([name, value]) => ({ name, value })),
      })),
    });
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
