/**
 * Where an offline migration puts each partition: pure, so the workflow's dry run, the activities
 * and the unit tests compute the same placement.
 *
 * Each source replica goes to the target broker the broker map names; a partition's target replicas
 * are the distinct brokers its source replicas map to, in the source's order (the first is the
 * preferred leader), topped up with the least-loaded other target brokers until there are
 * min(RF, target brokers). With fewer target brokers than source brokers the replication factor
 * drops; every target replica receives the same copy: the source replica with the highest log end.
 */

export interface SourcePartition {
  topic: string;
  partition: number;
  /** Source broker ids, preferred leader first. */
  replicas: number[];
}

export interface PlacedPartition extends SourcePartition {
  /** Target broker ids, preferred leader first. */
  targetReplicas: number[];
}

export type BrokerMap = Record<string, number>;

/** `1=1,2=1,3=2` → { 1: 1, 2: 1, 3: 2 }; one line naming the bad item otherwise. */
export function parseBrokerMap(raw: string): BrokerMap {
  const map: BrokerMap = {};
  for (const item of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^(\d+)=(\d+)$/.exec(item);
    if (!m) throw new Error(`item "${item}" is not <source id>=<target id> (e.g. 1=1,2=1,3=2)`);
    if (map[m[1]!] !== undefined && map[m[1]!] !== Number(m[2])) throw new Error(`names source broker ${m[1]} twice`);
    map[m[1]!] = Number(m[2]);
  }
  return map;
}

/** The map to use: the given one checked against both clusters, or source broker i → the i-th target broker (round robin). */
export function resolveBrokerMap(sourceIds: number[], targetIds: number[], given?: BrokerMap): { map: BrokerMap; problems: string[] } {
  const problems: string[] = [];
  const src = [...sourceIds].sort((a, b) => a - b);
  const dst = [...targetIds].sort((a, b) => a - b);
  if (!given) return { map: Object.fromEntries(src.map((id, i) => [String(id), dst[i % dst.length]!])), problems };
  const missing = src.filter((id) => given[String(id)] === undefined);
  if (missing.length) problems.push(`the broker map does not cover source broker${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: give every source broker a target (e.g. --broker-map ${src.map((id) => `${id}=${dst[0]}`).join(',')})`);
  const unknownSrc = Object.keys(given).filter((k) => !src.includes(Number(k)));
  if (unknownSrc.length) problems.push(`the broker map names source broker${unknownSrc.length > 1 ? 's' : ''} ${unknownSrc.join(', ')} that the source spec does not have`);
  const unknownDst = [...new Set(Object.values(given))].filter((v) => !dst.includes(v));
  if (unknownDst.length) problems.push(`the broker map names target broker${unknownDst.length > 1 ? 's' : ''} ${unknownDst.join(', ')} that the target spec does not have`);
  return { map: given, problems };
}

/** Every partition's target replicas (see the module comment). */
export function placePartitions(parts: SourcePartition[], map: BrokerMap, targetIds: number[]): PlacedPartition[] {
  const load = new Map<number, number>(targetIds.map((id) => [id, 0]));
  const sorted = [...parts].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  return sorted.map((p) => {
    const rf = Math.min(p.replicas.length, targetIds.length);
    const chosen: number[] = [];
    for (const r of p.replicas) {
      const t = map[String(r)];
      if (t !== undefined && !chosen.includes(t) && chosen.length < rf) chosen.push(t);
    }
    while (chosen.length < rf) {
      const next = targetIds.filter((id) => !chosen.includes(id)).sort((a, b) => load.get(a)! - load.get(b)! || a - b)[0]!;
      chosen.push(next);
    }
    for (const id of chosen) load.set(id, load.get(id)! + 1);
    return { ...p, targetReplicas: chosen };
  });
}

/** "rf 3 → 1" changes, per topic (a topic's partitions share one RF in practice; the largest is reported). */
export function rfChanges(placed: PlacedPartition[]): { topic: string; from: number; to: number }[] {
  const by = new Map<string, { from: number; to: number }>();
  for (const p of placed) {
    const c = by.get(p.topic) ?? { from: 0, to: 0 };
    by.set(p.topic, { from: Math.max(c.from, p.replicas.length), to: Math.max(c.to, p.targetReplicas.length) });
  }
  return [...by].filter(([, c]) => c.from !== c.to).map(([topic, c]) => ({ topic, ...c }));
}

/** The source replica to copy from: the highest log end (ties: the preferred order), among replicas with a copy. */
export function copySource(replicas: number[], ends: Record<string, number | undefined>): number | undefined {
  let best: number | undefined;
  for (const r of replicas) {
    const e = ends[String(r)];
    if (e === undefined) continue;
    if (best === undefined || e > ends[String(best)]!) best = r;
  }
  return best;
}

export const partitionDir = (topic: string, partition: number): string => `${topic}-${partition}`;

/** Bytes restored on the target: per partition the largest source replica, once per target replica. */
export function bytesToRestore(topics: { name: string; partitions: { partition: number; targetReplicas: number[] }[] }[], sizes: { partitions: Record<string, number> }[]): number {
  let total = 0;
  for (const t of topics) {
    for (const p of t.partitions) {
      const largest = Math.max(0, ...sizes.map((s) => s.partitions[partitionDir(t.name, p.partition)] ?? 0));
      total += largest * p.targetReplicas.length;
    }
  }
  return total;
}
