/**
 * Pre-checks of an online migration (read only: nothing is created, changed or committed anywhere).
 * Each check says what it found; `problems` lists what must be fixed before a migration may start
 * (one actionable line each); `warnings` what an operator should know but may accept.
 */
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import type { ClusterSpec } from '../config/spec';
import { LifeboatError, isLifeboatError } from '../errors';
import { throwIfAborted } from '../core/poll';
import { describeTopics, fetchCommittedOffsets, reachableKafka, retryTransient, withAdmin } from '../kafka/admin';
import { listGroupsSteadily } from '../kafka/groupCoordinators';
import { planMirror } from '../kafka/mirror';
import { selectTopics } from '../kafka/mirror/plan';
import { allowEveryoneIfNoAcl, topicAcls } from './fence';
import { isOwnReaderGroup } from '../kafka/ownGroups';

export interface MigrationSelection {
  topics?: string[];
  pattern?: string;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface PrecheckResult {
  checks: Check[];
  /** Non-empty: do not start. Each one actionable line. */
  problems: string[];
  /** Worth an operator's attention, not a reason to refuse (e.g. fewer target brokers than replicas). */
  warnings: string[];
  topics: { topic: string; partitions: number; records: number; bytes: number }[];
  /** Source groups with committed offsets on the selected topics. */
  groups: string[];
  sourceClusterId: string;
  targetClusterId: string;
}

const GiB = 1024 ** 3;
const size = (n: number): string => (n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
/** Head room on the target's disks beyond the copied bytes (indexes, segments rolling, the state topic). */
const DISK_MARGIN = 1.2;

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

/** Bytes of a directory's files (one level: a partition directory holds only files). */
async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir, { withFileTypes: true })) if (f.isFile()) total += (await stat(join(dir, f.name)).catch(() => undefined))?.size ?? 0;
  return total;
}

/**
 * Bytes per topic from the source brokers' log dirs on this host (a partition counted once: its
 * largest replica). Undefined when no log dir of the source is on this host.
 */
async function localTopicBytes(source: ClusterSpec, topics: string[]): Promise<Map<string, number> | undefined> {
  const perPartition = new Map<string, number>();
  let seen = false;
  const wanted = new Set(topics);
  for (const b of source.brokers) {
    for (const dir of b.logDirs) {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
      if (!entries) continue;
      seen = true;
      for (const e of entries) {
        const m = /^(.+)-(\d+)$/.exec(e.name);
        if (!e.isDirectory() || !m || !wanted.has(m[1]!)) continue;
        const bytes = await dirBytes(join(dir, e.name)).catch(() => 0);
        perPartition.set(e.name, Math.max(perPartition.get(e.name) ?? 0, bytes));
      }
    }
  }
  if (!seen) return undefined;
  const out = new Map<string, number>(topics.map((t) => [t, 0]));
  for (const [name, bytes] of perPartition) {
    const t = name.slice(0, name.lastIndexOf('-'));
    out.set(t, (out.get(t) ?? 0) + bytes);
  }
  return out;
}

/** Free bytes of the distinct filesystems holding the target's log dirs on this host (undefined: none here). */
async function localFreeBytes(target: ClusterSpec): Promise<{ free: number; dirs: number } | undefined> {
  const byDevice = new Map<number, number>();
  let dirs = 0;
  for (const b of target.brokers) {
    for (const dir of b.logDirs) {
      const st = await stat(dir).catch(() => undefined);
      if (!st?.isDirectory()) continue;
      const fs = await statfs(dir).catch(() => undefined);
      if (!fs) continue;
      dirs++;
      byDevice.set(st.dev, fs.bavail * fs.bsize);
    }
  }
  return dirs ? { free: [...byDevice.values()].reduce((a, b) => a + b, 0), dirs } : undefined;
}

/** Consumer groups (not Lifeboat's own readers) with committed offsets on any of the topics. */
async function groupsOn(admin: Admin, cluster: string, topics: string[], warnings: string[], signal?: AbortSignal): Promise<string[]> {
  const { groups, warnings: listing } = await listGroupsSteadily(admin, { timeoutMs: 60_000, signal });
  warnings.push(...listing.map((w) => `${cluster}: ${w}`));
  const out: string[] = [];
  for (const g of groups) {
    throwIfAborted(signal);
    if (isOwnReaderGroup(g.groupId)) continue;
    if (g.protocolType && g.protocolType !== 'consumer') continue;
    const offsets = await fetchCommittedOffsets(admin, g.groupId, topics, signal);
    if (offsets.some((t) => t.partitions.some((p) => Number(p.offset) >= 0))) out.push(g.groupId);
  }
  return out.sort();
}

const sameServers = (a: ClusterSpec, b: ClusterSpec): string[] => a.kafka.bootstrapServers.filter((s) => b.kafka.bootstrapServers.includes(s));

export async function migrationPrechecks(source: ClusterSpec, target: ClusterSpec, sel: MigrationSelection, opts: { signal?: AbortSignal } = {}): Promise<PrecheckResult> {
  const checks: Check[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  const check = (name: string, ok: boolean, detail: string, problem?: string, warning?: string) => {
    checks.push({ name, ok, detail });
    if (!ok && problem) problems.push(problem);
    if (!ok && warning) warnings.push(warning);
  };
  const sk = await reachableKafka(source, 'precheck');
  const tk = await reachableKafka(target, 'precheck');
  return withAdmin(sk, source.name, (sa) =>
    withAdmin(tk, target.name, async (ta) => {
      const [sc, tc] = [await retryTransient(() => sa.describeCluster()), await retryTransient(() => ta.describeCluster())];
      const shared = sameServers(source, target);
      const same = sc.clusterId === tc.clusterId || shared.length > 0;
      check(
        'two clusters',
        !same,
        `source ${source.name} is cluster ${sc.clusterId}, target ${target.name} is cluster ${tc.clusterId}`,
        `source "${source.name}" and target "${target.name}" are the same Kafka cluster (${sc.clusterId === tc.clusterId ? `cluster id ${sc.clusterId}` : `bootstrap ${shared.join(', ')}`}): a migration needs two clusters`,
      );
      const result: PrecheckResult = { checks, problems, warnings, topics: [], groups: [], sourceClusterId: sc.clusterId, targetClusterId: tc.clusterId };
      if (same) return result;

      // Topics and their sizes.
      let topics: string[] = [];
      try {
        topics = selectTopics(await retryTransient(() => sa.listTopics()), sel);
      } catch (e) {
        if (!isLifeboatError(e)) throw e;
        check('topics', false, e.message, e.message);
        return result;
      }
      if (topics.length === 0) {
        check('topics', false, 'the selection matches no topic', `the selection (${sel.topics?.length ? `topics ${sel.topics.join(', ')}` : ''}${sel.pattern !== undefined ? ` pattern ${sel.pattern}` : ''}) matches no topic on ${source.name}`);
        return result;
      }
      throwIfAborted(opts.signal);
      const meta = await retryTransient(() => describeTopics(sa, topics, { cluster: source.name, listed: true }));
      const bytes = await localTopicBytes(source, topics);
      let maxRf = 1;
      for (const m of meta) {
        const offsets = await retryTransient(() => sa.fetchTopicOffsets(m.name));
        const records = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
        maxRf = Math.max(maxRf, ...m.partitions.map((p) => p.replicas.length));
        result.topics.push({ topic: m.name, partitions: m.partitions.length, records, bytes: bytes?.get(m.name) ?? 0 });
      }
      result.topics.sort((a, b) => a.topic.localeCompare(b.topic));
      result.groups = await groupsOn(sa, source.name, topics, result.warnings, opts.signal);
      const partitions = result.topics.reduce((n, t) => n + t.partitions, 0);
      const records = result.topics.reduce((n, t) => n + t.records, 0);
      const totalBytes = result.topics.reduce((n, t) => n + t.bytes, 0);
      check(
        'topics and groups',
        true,
        `${topics.length} topic${topics.length === 1 ? '' : 's'}, ${partitions} partitions, ${records} offsets (records plus transaction markers and compacted gaps), ${bytes ? size(totalBytes) : 'size unknown (no source log dir on this host)'}; ${result.groups.length} consumer group${result.groups.length === 1 ? '' : 's'} with offsets on them`,
      );

      // Target capacity: the mirror creates topics with min(source replicas, target brokers).
      const brokers = tc.brokers.length;
      check(
        'target capacity',
        brokers >= maxRf,
        `target ${target.name} has ${brokers} broker${brokers === 1 ? '' : 's'}; the source's topics have up to ${maxRf} replicas`,
        undefined,
        `target ${target.name} has ${brokers} broker${brokers === 1 ? '' : 's'} but source topics have ${maxRf} replicas: the mirror creates them with replication factor ${brokers} (and min.insync.replicas at most ${brokers}); add brokers to the target for the same durability`,
      );

      // Disk on the target, where its log dirs are on this host.
      const free = await localFreeBytes(target);
      if (!free || !bytes) {
        check('target disk', true, `unknown: ${!free ? `no log dir of ${target.name} is on this host` : `no log dir of ${source.name} is on this host (source size unknown)`}`);
      } else {
        const replicas = Math.min(maxRf, brokers);
        const needed = Math.ceil(totalBytes * replicas * DISK_MARGIN);
        check(
          'target disk',
          free.free >= needed,
          `${size(free.free)} free on the target's log dirs here (${free.dirs}); the selection needs about ${size(needed)} (${size(totalBytes)} × ${replicas} replicas + ${Math.round((DISK_MARGIN - 1) * 100)}%)`,
          `target ${target.name} has ${size(free.free)} free on its log dirs, the migrated topics need about ${size(needed)}: free space or add disks first`,
        );
      }

      // Target topics: the mirror's own dry run (other partition counts, data it did not write).
      try {
        const plan = await planMirror(source, target, sel, { dryRun: true, signal: opts.signal });
        const exist = plan.filter((p) => p.action !== 'create').length;
        check('target topics', true, `${plan.length - exist} to create, ${exist} already there (written by this mirror)`);
      } catch (e) {
        if (!isLifeboatError(e)) throw e;
        check('target topics', false, e.message, e.message);
      }

      // Groups of the selection active on the target: a commit there would be refused or overwritten.
      if (result.groups.length) {
        const r = await retryTransient(() => ta.describeGroups(result.groups));
        const active = r.groups.filter((g) => g.state !== 'Empty' && g.state !== 'Dead');
        check(
          'groups idle on target',
          active.length === 0,
          active.length ? `active on ${target.name}: ${active.map((g) => `${g.groupId} (${g.state}, ${g.members.length} members)`).join(', ')}` : `none of the ${result.groups.length} groups is active on ${target.name}`,
          `consumer group${active.length === 1 ? '' : 's'} ${active.map((g) => g.groupId).join(', ')} ${active.length === 1 ? 'is' : 'are'} active on ${target.name}: stop ${active.length === 1 ? 'its' : 'their'} consumers there (they would commit over the migrated offsets)`,
        );
      } else check('groups idle on target', true, 'no groups to move');

      // The fence is an ACL: the source needs an authorizer.
      try {
        await topicAcls(sa, source.name);
        const everyone = await allowEveryoneIfNoAcl(sa, source);
        check(
          'source authorizer',
          true,
          `present (the write fence is possible); allow.everyone.if.no.acl.found ${everyone.value === undefined ? `unknown (${everyone.how})` : `${everyone.value} (${everyone.how})`}`,
        );
      } catch (e) {
        if (!(e instanceof LifeboatError)) throw e;
        check('source authorizer', false, firstLine(e), e.message);
      }
      return result;
    }),
  );
}

/**
 * The source's topics the selection matches now (read only). The cut-over asks again before it fences
 * and before the hooks: a topic created since the pre-checks that a pattern takes (or a named one that
 * was missing) would be mirrored but left writable on the source, its later records stranded there.
 * A named topic deleted since is simply not listed (it can strand nothing).
 */
export async function selectedTopicsNow(source: ClusterSpec, sel: MigrationSelection, signal?: AbortSignal): Promise<string[]> {
  const sk = await reachableKafka(source, 'selection');
  const all = await withAdmin(sk, source.name, (sa) => retryTransient(() => sa.listTopics(), { signal }));
  const present = all.filter((t) => (sel.topics ?? []).includes(t));
  return [...new Set([...present, ...(sel.pattern !== undefined ? selectTopics(all, { pattern: sel.pattern }) : [])])].sort();
}
