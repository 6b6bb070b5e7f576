/**
 * Consumer groups at a migration's cut-over: where each group stands on the source (its committed
 * offsets, "the next record to read"), translated exactly through the mirror's durable state on the
 * target (mirroredOffsets: identical offsets, or the per-batch offset map where compaction,
 * transaction markers or aborted records left gaps), and committed on the target as they are. A
 * consumer that starts on the target then reads exactly the record after the last one it read on
 * the source: nothing twice, nothing skipped.
 */
import type { Admin } from 'kafkajs';
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import { fetchCommittedOffsets, reachableKafka, retryTransient, withAdmin } from '../kafka/admin';
import { commitGroupOffsets, isGroupActiveError } from '../kafka/groupOffsets';
import { mirroredOffsets, mirrorPositions } from '../kafka/mirror';
import { sleep } from '../core/poll';

/** Reads again of a group's offsets that came back empty. */
const EMPTY_REREADS = 3;

/** Kafka's group states: Empty, Stable, PreparingRebalance, CompletingRebalance, Dead (no such group). */
export interface GroupState {
  group: string;
  state: string;
  members: number;
}

export interface GroupMove {
  group: string;
  partitions: { topic: string; partition: number; sourceOffset: number; targetOffset: number }[];
  /** Must be empty to commit: offsets the mirror cannot translate (yet), each with the reason. */
  untranslated: { topic: string; partition: number; sourceOffset: number; reason: string }[];
}

/** States in which a group has no member that could commit over us (or refuse our commit). */
const IDLE_STATES = new Set(['Empty', 'Dead']);

async function describe(admin: Admin, groups: string[]): Promise<GroupState[]> {
  if (groups.length === 0) return [];
  const r = await retryTransient(() => admin.describeGroups(groups));
  const byId = new Map(r.groups.map((g) => [g.groupId, g]));
  return groups.map((group) => {
    const g = byId.get(group);
    return { group, state: g?.state ?? 'Dead', members: g?.members.length ?? 0 };
  });
}

export async function groupStates(cluster: ClusterSpec, groups: string[]): Promise<GroupState[]> {
  return withAdmin(await reachableKafka(cluster, 'groups'), cluster.name, (admin) => describe(admin, groups));
}

/** A group's committed offsets on the topics (partitions without a commit left out). */
async function committed(admin: Admin, group: string, topics: string[]): Promise<{ topic: string; partition: number; offset: number }[]> {
  if (topics.length === 0) return [];
  const r = await fetchCommittedOffsets(admin, group, topics);
  return r
    .flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: Number(p.offset) })))
    .filter((o) => o.offset >= 0)
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** Each group's committed offsets on the source (selected topics only), translated exactly for the target. */
export async function translateGroups(source: ClusterSpec, target: ClusterSpec, pair: string, groups: string[], topics: string[]): Promise<GroupMove[]> {
  const offsets = await withAdmin(await reachableKafka(source, 'groups'), source.name, async (admin) => {
    const out = new Map<string, Awaited<ReturnType<typeof committed>>>();
    for (const g of groups) {
      // Each group was named for its offsets on these topics; an answer without any is read again
      // before it counts (a group moved with nothing would silently start over on the target).
      let offsets = await committed(admin, g, topics);
      for (let i = 0; i < EMPTY_REREADS && offsets.length === 0; i++) {
        await sleep(1000);
        offsets = await committed(admin, g, topics);
      }
      out.set(g, offsets);
    }
    return out;
  });
  const translate = await mirroredOffsets(target, pair);
  // Only read when something does not translate: the reason names where the mirror stands.
  let positions: Map<string, { next: number }> | undefined;
  const reasonFor = async (topic: string, partition: number, sourceOffset: number): Promise<string> => {
    positions ??= new Map((await mirrorPositions(source, target, pair)).map((p) => [`${p.topic}/${p.partition}`, p]));
    const p = positions.get(`${topic}/${partition}`);
    if (!p) return `mirror ${pair} has not copied ${topic}-${partition} at all`;
    return `mirror ${pair} has copied ${topic}-${partition} up to source offset ${p.next}, the group is at ${sourceOffset}: let it catch up (drain) first`;
  };
  const moves: GroupMove[] = [];
  for (const group of groups) {
    const move: GroupMove = { group, partitions: [], untranslated: [] };
    const held = offsets.get(group) ?? [];
    if (held.length === 0) {
      move.untranslated.push({ topic: topics.join(','), partition: -1, sourceOffset: -1, reason: `group ${group} has no committed offset on these topics on ${source.name} now: skip it by choice, or commit its position there again` });
    }
    for (const o of held) {
      const t = translate(o.topic, o.partition, o.offset);
      if (t === undefined) move.untranslated.push({ topic: o.topic, partition: o.partition, sourceOffset: o.offset, reason: await reasonFor(o.topic, o.partition, o.offset) });
      else move.partitions.push({ topic: o.topic, partition: o.partition, sourceOffset: o.offset, targetOffset: t });
    }
    moves.push(move);
  }
  return moves;
}

/**
 * Commits the translated offsets on the target. Refuses (UnsafeTarget, naming the groups) when a
 * group is active there: its members would commit over these offsets (and Kafka refuses an admin
 * commit to a group with members). Idempotent. dryRun: returns what it would commit. Otherwise
 * returns, per group, what the target holds afterwards (read back).
 */
export async function commitGroups(target: ClusterSpec, moves: GroupMove[], opts: { dryRun?: boolean } = {}): Promise<GroupMove[]> {
  const incomplete = moves.filter((m) => m.untranslated.length);
  if (incomplete.length) {
    const first = incomplete[0]!.untranslated[0]!;
    throw new LifeboatError(
      'InvalidInput',
      `group${incomplete.length === 1 ? '' : 's'} ${incomplete.map((m) => m.group).join(', ')} cannot be committed: offsets not translated (e.g. ${first.topic}-${first.partition} at ${first.sourceOffset}: ${first.reason})`,
    );
  }
  return withAdmin(await reachableKafka(target, 'groups'), target.name, async (admin) => {
    const active = (await describe(admin, moves.map((m) => m.group))).filter((s) => !IDLE_STATES.has(s.state));
    if (active.length) {
      throw new LifeboatError(
        'UnsafeTarget',
        `consumer group${active.length === 1 ? '' : 's'} ${active.map((s) => `${s.group} (${s.state}, ${s.members} member${s.members === 1 ? '' : 's'})`).join(', ')} ${active.length === 1 ? 'is' : 'are'} active on ${target.name}: stop ${active.length === 1 ? 'its' : 'their'} consumers there first, or their commits would overwrite the migrated offsets`,
        { groups: active.map((s) => s.group) },
      );
    }
    if (opts.dryRun) return moves.map((m) => ({ ...m, partitions: m.partitions.map((p) => ({ ...p })), untranslated: [] }));
    const out: GroupMove[] = [];
    const kafka = await reachableKafka(target, 'groups');
    for (const m of moves) {
      const byTopic = new Map<string, { partition: number; offset: number }[]>();
      for (const p of m.partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), { partition: p.partition, offset: p.targetOffset }]);
      await commitGroupOffsets(kafka, m.group, [...byTopic].map(([topic, partitions]) => ({ topic, partitions }))).catch((e: unknown) => {
        // A consumer that joined after the state check above: the broker refuses a standalone commit to a group with members.
        if (isGroupActiveError(e)) {
          throw new LifeboatError('UnsafeTarget', `consumer group ${m.group} became active on ${target.name} during the commit: stop its consumers there first`, { groups: [m.group] });
        }
        throw e;
      });
      const held = new Map((await committed(admin, m.group, [...byTopic.keys()])).map((o) => [`${o.topic}/${o.partition}`, o.offset]));
      out.push({ group: m.group, partitions: m.partitions.map((p) => ({ ...p, targetOffset: held.get(`${p.topic}/${p.partition}`) ?? -1 })), untranslated: [] });
    }
    return out;
  });
}
