/**
 * What the source serves just before it stops (per partition: log start, end, record count and
 * SHA-256 of every record — the fingerprint helpers of src/kafka/fingerprint — and the groups'
 * committed offsets), the groups committed again on the target, and the target compared with it
 * all once it serves: the same offsets, the same bytes, the same group positions.
 */
import type { ClusterSpec } from '../../config/spec';
import { isAbort, poll } from '../../core/poll';
import { isLifeboatError } from '../../errors';
import { fetchCommittedOffsets, retryTransient, withAdmin } from '../../kafka/admin';
import { kafkaFor } from '../../kafka/client';
import { commitGroupOffsets } from '../../kafka/groupOffsets';
import { compareFingerprints, fingerprintRanges, type Fingerprints, type RangeMap } from '../../kafka/fingerprint';
import type { DataCheck } from '../../report/report.pure';
import { type GroupOffsets, readGroupOffsets } from './plan';

export interface SourceCapture {
  /** topic → partition → [log start, end) fingerprinted. */
  fingerprints: Fingerprints;
  groups: GroupOffsets[];
  at: string;
}

async function offsetRanges(spec: ClusterSpec, topics: string[], signal?: AbortSignal): Promise<RangeMap> {
  return withAdmin(kafkaFor(spec, 'offline-migration'), spec.name, async (admin) => {
    const ranges: RangeMap = {};
    for (const topic of topics) {
      const offsets = await retryTransient(() => admin.fetchTopicOffsets(topic), { timeoutMs: 60_000, signal });
      ranges[topic] = Object.fromEntries(offsets.map((o) => [String(o.partition), { from: Number(o.low), to: Number(o.high) }]));
    }
    return ranges;
  });
}

export async function captureSource(
  source: ClusterSpec,
  topics: string[],
  groups: string[],
  opts: { signal?: AbortSignal; onProgress?: (topic: string) => void } = {},
): Promise<SourceCapture> {
  const at = new Date().toISOString();
  const ranges = await offsetRanges(source, topics, opts.signal);
  const fingerprints = await fingerprintRanges(kafkaFor(source, 'offline-migration'), ranges, opts.onProgress);
  return { fingerprints, groups: await readGroupOffsets(source, groups, topics), at };
}

/**
 * Commits the groups' source offsets on the target: standalone commits (refused while a group has
 * members; kafkajs's setOffsets could return without committing when its consumer's seek failed).
 * Idempotent.
 */
export async function commitCapturedOffsets(target: ClusterSpec, groups: GroupOffsets[], opts: { signal?: AbortSignal } = {}): Promise<{ groups: number; partitions: number }> {
  const kafka = kafkaFor(target, 'offline-migration');
  let partitions = 0;
  for (const g of groups) {
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const o of g.offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partition: o.partition, offset: o.offset }]);
    await commitGroupOffsets(kafka, g.group, [...byTopic].map(([topic, parts]) => ({ topic, partitions: parts })), opts);
    partitions += g.offsets.length;
  }
  return { groups: groups.length, partitions };
}

/** The target against the capture and the copies' log ends; waits a while for a target that just started. */
export async function verifyTarget(
  target: ClusterSpec,
  expected: { capture: SourceCapture; ends: Record<string, Record<string, number>> },
  opts: { signal?: AbortSignal; settleMs?: number } = {},
): Promise<{ checks: DataCheck[]; problems: string[] }> {
  let last: { checks: DataCheck[]; problems: string[] } | undefined;
  try {
    return await poll(
      async () => {
        last = await verifyOnce(target, expected, opts.signal);
        return last.checks.every((c) => c.ok) ? last : undefined;
      },
      { what: `${target.name} to serve the migrated data`, timeoutMs: opts.settleMs ?? 60_000, intervalMs: 2000, signal: opts.signal, fatal: isLifeboatError },
    );
  } catch (e) {
    if (last && !isAbort(e, opts.signal)) return last;
    throw e;
  }
}

async function verifyOnce(target: ClusterSpec, expected: { capture: SourceCapture; ends: Record<string, Record<string, number>> }, signal?: AbortSignal) {
  const checks: DataCheck[] = [];
  const problems: string[] = [];
  const { capture, ends } = expected;
  const topics = Object.keys(capture.fingerprints);
  const actualRanges = await offsetRanges(target, topics, signal);

  let total = 0;
  let same = 0;
  for (const topic of topics) {
    for (const [p, fp] of Object.entries(capture.fingerprints[topic]!)) {
      total++;
      const a = actualRanges[topic]?.[p];
      const end = ends[topic]?.[p] ?? fp.to;
      if (a && a.from === fp.from && a.to === end) same++;
      else problems.push(`${topic}-${p}: ${target.name} serves [${a?.from ?? '?'}, ${a?.to ?? '?'}), the source had [${fp.from}, ${end})`);
    }
  }
  checks.push({ subject: 'partitions with the same log start and end offsets', expected: total, actual: same, ok: same === total });

  // The same ranges read from the target, record by record.
  const ranges: RangeMap = Object.fromEntries(topics.map((t) => [t, Object.fromEntries(Object.entries(capture.fingerprints[t]!).map(([p, f]) => [p, { from: f.from, to: f.to }]))]));
  const actual = await fingerprintRanges(kafkaFor(target, 'offline-migration'), ranges);
  const bad = compareFingerprints(capture.fingerprints, actual);
  problems.push(...bad);
  const records = Object.values(capture.fingerprints).reduce((n, ps) => n + Object.values(ps).reduce((m, f) => m + f.records, 0), 0);
  checks.push({ subject: `partitions with the same records and SHA-256 (${records} records)`, expected: total, actual: total - bad.length, ok: bad.length === 0 });

  const groupsOk = await withAdmin(kafkaFor(target, 'offline-migration'), target.name, async (admin) => {
    let ok = 0;
    for (const g of capture.groups) {
      const now = await fetchCommittedOffsets(admin, g.group, [...new Set(g.offsets.map((o) => o.topic))], signal);
      const have = new Map(now.flatMap((t) => t.partitions.map((p) => [`${t.topic}-${p.partition}`, p.offset])));
      const diff = g.offsets.filter((o) => have.get(`${o.topic}-${o.partition}`) !== o.offset);
      if (diff.length === 0) ok++;
      else problems.push(`group ${g.group}: ${diff.map((o) => `${o.topic}-${o.partition} at ${have.get(`${o.topic}-${o.partition}`) ?? 'none'}, expected ${o.offset}`).join('; ')}`);
    }
    return ok;
  });
  checks.push({ subject: 'consumer groups with the same committed offsets', expected: capture.groups.length, actual: groupsOk, ok: groupsOk === capture.groups.length });
  return { checks, problems };
}
