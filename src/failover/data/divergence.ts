/**
 * What the standby lacks at a failover, exactly, and where each consumer group goes on it.
 *
 * The mirror's position of a partition (`next` in its state on the standby, pair primary→standby)
 * is the first source offset the standby does not have; everything before it was copied. The
 * records not mirrored are the records a read_committed consumer would get from [next, end) of the
 * primary: counted live from its brokers, or from the replicas' log dirs when they are down (the
 * host activities of disk.ts, merged here: per partition the replica with the highest end).
 *
 * A group's offset at or below `next` translates exactly through the mirror's offset map. One
 * beyond it (the group read records the mirror never copied) goes to the standby's end of what was
 * mirrored, and the records in between are named as consumed and not mirrored: they exist only in
 * the primary's divergent tail (failback quarantines them).
 *
 * Groups 'all' (a failover started by an alert names none): every group with committed offsets on
 * the topics, live from the primary's group list, or from the disk reads made with groups 'all'.
 */
import type { ClusterSpec } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { fetchCommittedOffsets, reachableKafka, withAdmin } from '../../kafka/admin';
import { listGroupsSteadily } from '../../kafka/groupCoordinators';
import { kafkaFor } from '../../kafka/client';
import { mirroredOffsets } from '../../kafka/mirror';
import { settlePositions } from '../../kafka/mirror/shard';
import { type MirrorState, type PartitionState, readState } from '../../kafka/mirror/state';
import { mirrorPair } from '../../kafka/mirrorRun.pure';
import { WireClient } from '../../kafka/wire/client';
import { brokersByHost } from './hosts.pure';
import { countLive } from './live';
import { byTip } from './segments';
import type {
  ConsumedNotMirrored,
  DiskGroups,
  DiskPartition,
  DiskPartitions,
  DiskReadInput,
  FailoverDivergence,
  FailoverGroupMove,
  PartitionDivergenceDetail,
  PartitionOffset,
  RecordCount,
} from './types';

const key = (topic: string, partition: number): string => `${topic}/${partition}`;

/**
 * The mirror's positions of the pair on the standby, keyed "topic/partition", for the topics
 * (default: all it mirrors), settled: batches a position names as sent without an answer (the
 * mirror was stopped or cancelled before it recorded where they landed) are looked for on the
 * standby, so the positions say what the standby holds.
 */
async function positionsOf(standby: ClusterSpec, pair: string, topics: string[] | undefined, signal?: AbortSignal): Promise<{ state: MirrorState; positions: Map<string, PartitionState>; topics: string[] }> {
  const kafka = kafkaFor(standby, 'failover-data');
  const state = await readState(kafka, pair, signal);
  const wanted = topics && new Set(topics);
  const positions = new Map<string, PartitionState>();
  for (const p of state.positions.values()) if (!wanted || wanted.has(p.topic)) positions.set(key(p.topic, p.partition), p);
  const names = topics ?? [...new Set([...positions.values()].map((p) => p.topic))].sort();
  if (names.length === 0) throw new LifeboatError('InvalidInput', `the mirror ${pair} has no position on ${standby.name}: nothing was mirrored (name the topics, or check that the mirror ran into this standby)`);
  await settlePositions(kafka, positions.values(), signal);
  return { state, positions, topics: names };
}

/** Per partition, the disk reading Kafka keeps over every host (newest epoch, then highest end; undefined: no host has it). */
export function mergeDisk(disk: DiskPartitions[]): Map<string, DiskPartition & { host: string }> {
  const out = new Map<string, DiskPartition & { host: string }>();
  for (const d of disk) {
    for (const p of d.partitions) {
      const k = key(p.topic, p.partition);
      const cur = out.get(k);
      const order = cur ? byTip(p, cur) : -1;
      if (order < 0 || (order === 0 && p.count && !cur!.count)) out.set(k, { ...p, host: d.host });
    }
  }
  return out;
}

/** Group offsets beyond the mirrored position: the cuts a disk read must count up to. */
function cutsOf(diskGroups: DiskGroups[] | undefined, positions: Map<string, PartitionState>): PartitionOffset[] {
  const out: PartitionOffset[] = [];
  for (const g of mergeGroups(diskGroups ?? []).values()) {
    for (const o of g.offsets) {
      const next = positions.get(key(o.topic, o.partition))?.next ?? 0;
      if (o.offset > next) out.push(o);
    }
  }
  return out;
}

/** Per group, the host's reading of its __consumer_offsets partition that Kafka keeps (newest epoch, then highest end). */
export function mergeGroups(diskGroups: DiskGroups[]): Map<string, DiskGroups['groups'][number]> {
  const out = new Map<string, DiskGroups['groups'][number]>();
  for (const h of diskGroups) {
    for (const g of h.groups) {
      if (g.brokerId === undefined) continue;
      const cur = out.get(g.group);
      if (!cur || byTip({ end: g.end ?? -1, epoch: g.epoch }, { end: cur.end ?? -1, epoch: cur.epoch }) < 0) out.set(g.group, g);
    }
  }
  return out;
}

function totalsOf(partitions: PartitionDivergenceDetail[]): FailoverDivergence['totals'] {
  const t = { partitions: partitions.length, notMirrored: 0, aborted: 0, open: 0, unknown: 0 };
  for (const p of partitions) {
    if (p.notMirrored === null) t.unknown++;
    else t.notMirrored += p.notMirrored;
    t.aborted += p.count?.aborted ?? 0;
    t.open += p.count?.open ?? 0;
  }
  return t;
}

const divergenceOf = (topic: string, partition: number, mirrored: number, primaryEnd: number | null, count: RecordCount | undefined, from: PartitionDivergenceDetail['from']): PartitionDivergenceDetail => ({
  topic,
  partition,
  primaryEnd,
  mirrored,
  notMirrored: count ? count.records : null,
  from,
  ...(count ? { count } : {}),
});

export interface DivergenceOptions {
  topics?: string[];
  disk?: DiskPartitions[];
  diskGroups?: DiskGroups[];
  signal?: AbortSignal;
}

/** Records not mirrored per partition (see the file comment): live, from `disk`, or the disk reads to make. */
export async function failoverDivergence(primary: ClusterSpec, standby: ClusterSpec, opts: DivergenceOptions = {}): Promise<FailoverDivergence> {
  const pair = mirrorPair(primary.name, standby.name);
  const { positions, topics } = await positionsOf(standby, pair, opts.topics, opts.signal);
  const base = { pair, primary: primary.name, standby: standby.name };
  const mirroredAt = (topic: string, partition: number): number => positions.get(key(topic, partition))?.next ?? 0;
  // Settled by positionsOf (a batch not found on the standby after the settle window never landed): a
  // position still naming batches is one the settling could not judge.
  const lost = [...positions.values()].filter((p) => p.sent?.length);

  if (opts.disk) {
    const merged = mergeDisk(opts.disk);
    const keys = new Set([...positions.keys(), ...[...merged.values()].filter((p) => topics.includes(p.topic)).map((p) => key(p.topic, p.partition))]);
    const partitions: PartitionDivergenceDetail[] = [];
    const refs = [...keys].map((k) => ({ topic: k.slice(0, k.lastIndexOf('/')), partition: Number(k.slice(k.lastIndexOf('/') + 1)) }));
    for (const { topic, partition } of refs.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)) {
      const k = key(topic, partition);
      const mirrored = mirroredAt(topic, partition);
      const d = merged.get(k);
      if (!d) {
        partitions.push({ ...divergenceOf(topic, partition, mirrored, null, undefined, 'unknown'), problem: `no replica of ${topic}-${partition} was found in the primary's log dirs` });
        continue;
      }
      const counted = d.from === mirrored ? d.count : undefined;
      const entry = { ...divergenceOf(topic, partition, mirrored, d.end, counted, 'disk'), disk: { host: d.host, brokerId: d.brokerId } };
      if (!counted) entry.problem = `the disk read of ${topic}-${partition} counted from ${d.from ?? 'nowhere'}, the mirror is at ${mirrored}: read again`;
      partitions.push(entry);
    }
    return { ...base, from: 'disk', partitions, totals: totalsOf(partitions), ...problemsOf(lost), at: new Date().toISOString() };
  }

  // Live, when the primary answers.
  let client: WireClient | undefined;
  try {
    client = await WireClient.open(await reachableKafka(primary, 'failover-data'), topics, opts.signal);
  } catch (e) {
    if (!(e instanceof LifeboatError && e.type === 'Unreachable') && !/ECONNREFUSED|Connection|connect|timed out/i.test(`${(e as Error).name} ${(e as Error).message}`)) throw e;
  }
  if (client) {
    try {
      const partitions: PartitionDivergenceDetail[] = [];
      for (const topic of topics) {
        let ends: Map<number, number>;
        try {
          ends = await client.listOffsets(topic, 'end');
        } catch {
          ends = new Map();
        }
        const all = new Set([...ends.keys(), ...[...positions.values()].filter((p) => p.topic === topic).map((p) => p.partition)]);
        for (const partition of [...all].sort((a, b) => a - b)) {
          const mirrored = mirroredAt(topic, partition);
          const end = ends.get(partition);
          if (end === undefined) {
            partitions.push({ ...divergenceOf(topic, partition, mirrored, null, undefined, 'unknown'), problem: `${topic}-${partition} has no leader on ${primary.name}` });
            continue;
          }
          try {
            const { total } = end > mirrored ? await countLive(client, topic, partition, mirrored, end, [], opts.signal) : { total: { records: 0, aborted: 0, open: 0, markers: 0 } };
            partitions.push(divergenceOf(topic, partition, mirrored, end, total, 'live'));
          } catch (e) {
            if (opts.signal?.aborted) throw e;
            // A primary failing while it is read: its log dirs say the rest.
            partitions.push({ ...divergenceOf(topic, partition, mirrored, end, undefined, 'unknown'), problem: `${topic}-${partition} could not be read on ${primary.name}: ${(e as Error).message}` });
          }
        }
      }
      if (partitions.every((p) => p.from === 'live')) return { ...base, from: 'live', partitions, totals: totalsOf(partitions), ...problemsOf(lost), at: new Date().toISOString() };
    } finally {
      await client.close();
    }
  }

  // The primary does not answer (or not for every partition): the disk reads to make, one per host.
  const from: PartitionOffset[] = [...positions.values()].map((p) => ({ topic: p.topic, partition: p.partition, offset: p.next }));
  const cuts = cutsOf(opts.diskGroups, positions);
  const diskReads: (DiskReadInput & { host: string })[] = brokersByHost(primary).map((h) => ({ host: h.host, spec: primary, brokerIds: h.brokerIds, topics, from, fromStart: true, cuts }));
  const partitions = [...positions.values()]
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
    .map((p) => ({ ...divergenceOf(p.topic, p.partition, p.next, null, undefined, 'unknown'), problem: `${primary.name} does not answer: read its log dirs` }));
  return { ...base, from: 'unknown', partitions, totals: totalsOf(partitions), diskReads, ...problemsOf(lost), at: new Date().toISOString() };
}

/** Positions whose last batches were sent with no answer (a mirror not stopped cleanly): the standby may hold records past them. */
function problemsOf(lost: PartitionState[]): { problems?: string[] } {
  if (lost.length === 0) return {};
  return {
    problems: lost.map(
      (p) =>
        `${p.topic}-${p.partition}: the mirror's last batch (from source offset ${p.next}) was sent without an answer; the standby may hold it past its position ${p.targetNext}: run the mirror once more (it settles that) or check the standby's end`,
    ),
  };
}

export interface GroupMovesOptions {
  topics?: string[];
  diskGroups?: DiskGroups[];
  disk?: DiskPartitions[];
  signal?: AbortSignal;
  /** Receives why the live listing of the primary's groups ('all') may have missed some. */
  warnings?: string[];
}

/**
 * The groups with offsets on the topics in disk readings (groupOffsetsFromDisk, 'all'), each from
 * its newest reading: a group missing from a newer replica of its partition than the one that
 * names it had its offsets deleted there, and is left out.
 */
export function groupsOnDisk(diskGroups: DiskGroups[], topics: string[]): Map<string, PartitionOffset[]> {
  const newest = new Map<number, { end: number; epoch?: number }>();
  for (const h of diskGroups) {
    for (const r of h.read ?? []) {
      const cur = newest.get(r.partition);
      if (!cur || byTip(r, cur) < 0) newest.set(r.partition, r);
    }
  }
  const out = new Map<string, PartitionOffset[]>();
  for (const g of [...mergeGroups(diskGroups).values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0))) {
    const offsets = g.offsets.filter((o) => topics.includes(o.topic));
    const top = newest.get(g.offsetsPartition);
    if (offsets.length && (!top || byTip(top, { end: g.end ?? -1, epoch: g.epoch }) >= 0)) out.set(g.group, offsets);
  }
  return out;
}

/**
 * How long the primary's groups are listed (listGroupsSteadily) in a failover: a primary reachable
 * but degraded (coordinators offline, leaders moving) must not hold the failover for minutes. A
 * group missed there is not moved (the mirror copies records, not group offsets): the listing's
 * warnings say so in the report.
 */
const FAILOVER_LISTING_MS = 15_000;

/** Each group's offsets translated for the standby (see the file comment). */
export async function failoverGroupMoves(primary: ClusterSpec, standby: ClusterSpec, wanted: string[] | 'all', opts: GroupMovesOptions = {}): Promise<FailoverGroupMove[]> {
  const pair = mirrorPair(primary.name, standby.name);
  const { state, positions, topics } = await positionsOf(standby, pair, opts.topics, opts.signal);
  const translate = await mirroredOffsets(standby, pair, state);
  const fromDisk = opts.diskGroups !== undefined;

  // The groups' offsets on the primary.
  let held = new Map<string, PartitionOffset[]>();
  if (fromDisk && wanted === 'all') held = groupsOnDisk(opts.diskGroups!, topics);
  else if (fromDisk) {
    const merged = mergeGroups(opts.diskGroups!);
    for (const g of wanted) held.set(g, (merged.get(g)?.offsets ?? []).filter((o) => topics.includes(o.topic)));
  } else {
    await withAdmin(await reachableKafka(primary, 'failover-groups'), primary.name, async (admin) => {
      let names = wanted;
      if (names === 'all') {
        const listing = await listGroupsSteadily(admin, { timeoutMs: FAILOVER_LISTING_MS, signal: opts.signal });
        names = listing.groups.map((g) => g.groupId).sort();
        opts.warnings?.push(...listing.warnings);
      }
      for (const g of names) {
        const r = await fetchCommittedOffsets(admin, g, topics, opts.signal);
        const offsets = r.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: Number(p.offset) }))).filter((o) => o.offset >= 0);
        // 'all': a group without offsets on the topics is not on them (not moved, not reported).
        if (wanted !== 'all' || offsets.length) held.set(g, offsets);
      }
    });
  }
  const groups = wanted === 'all' ? [...held.keys()] : wanted;

  // Records in [mirrored, group offset): from the disk reads' cuts, or read live.
  const disk = opts.disk && mergeDisk(opts.disk);
  let client: WireClient | undefined;
  const consumed = async (topic: string, partition: number, mirrored: number, offset: number): Promise<number | null> => {
    if (disk) {
      const d = disk.get(key(topic, partition));
      if (!d || d.from !== mirrored) return null;
      return d.cuts?.find((c) => c.offset === offset)?.count.records ?? null;
    }
    if (fromDisk) return null;
    client ??= await WireClient.open(await reachableKafka(primary, 'failover-groups'), topics, opts.signal);
    return (await countLive(client, topic, partition, mirrored, offset, [], opts.signal)).total.records;
  };

  const moves: FailoverGroupMove[] = [];
  try {
    for (const group of groups) {
      const move: FailoverGroupMove = { group, partitions: [], untranslated: [], consumedNotMirrored: [], from: fromDisk ? 'disk' : 'live' };
      const offsets = (held.get(group) ?? []).sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      if (fromDisk && !mergeGroups(opts.diskGroups!).has(group)) {
        move.untranslated.push({ topic: topics.join(','), partition: -1, sourceOffset: -1, reason: `group ${group}: no log dirs read hold its partition of __consumer_offsets: read them on the host that has it (groupOffsetsFromDiskActivity)` });
      } else if (offsets.length === 0) {
        move.untranslated.push({ topic: topics.join(','), partition: -1, sourceOffset: -1, reason: `group ${group} has no committed offset on these topics on ${primary.name}${fromDisk ? ' (its __consumer_offsets on disk)' : ''}: leave it out, or its consumers start by their auto.offset.reset on ${standby.name}` });
      }
      for (const o of offsets) {
        const st = positions.get(key(o.topic, o.partition));
        if (!st) {
          move.untranslated.push({ topic: o.topic, partition: o.partition, sourceOffset: o.offset, reason: `mirror ${pair} has not copied ${o.topic}-${o.partition} at all` });
          continue;
        }
        const at = Math.min(o.offset, st.next);
        const t = translate(o.topic, o.partition, at);
        if (t === undefined) {
          move.untranslated.push({ topic: o.topic, partition: o.partition, sourceOffset: o.offset, reason: `mirror ${pair} cannot translate ${o.topic}-${o.partition} offset ${at}` });
          continue;
        }
        move.partitions.push({ topic: o.topic, partition: o.partition, sourceOffset: o.offset, targetOffset: t });
        if (o.offset > st.next) {
          const c: ConsumedNotMirrored = { topic: o.topic, partition: o.partition, sourceOffset: o.offset, mirrored: st.next, records: await consumed(o.topic, o.partition, st.next, o.offset) };
          move.consumedNotMirrored.push(c);
        }
      }
      moves.push(move);
    }
  } finally {
    await client?.close();
  }
  return moves;
}
