/**
 * Verification of a recovered cluster against the backup set: every topic with its partition count,
 * every partition's end offset at least what the log-dir copies held, every consumer group's
 * committed offsets (verifyAgainstSet); and against what the backup measured: the newest records
 * of every partition bit for bit (content fingerprints), and a produce/consume rate comparable to
 * the backup-time probe's (verifyBaseline: a broker on a wrong disk, throttles left on).
 */
import type { BackupSet, Baseline } from '../backup/parts';
import { BASELINE_PATH } from '../backup/parts';
import type { ClusterSpec } from '../config/spec';
import type { PartitionCover } from '../host/logdirs';
import { isAbort, poll } from '../core/poll';
import { describeTopics, fetchCommittedOffsets, reachableKafka, withAdmin } from '../kafka/admin';
import { kafkaFor } from '../kafka/client';
import { compareFingerprints, fingerprintRanges } from '../kafka/fingerprint';
import { readMetadataComponent } from '../kafka/metadataStore';
import { throughputProbe } from '../kafka/probe';
import { priorityOrder } from '../kafka/topicRestore';
import { isLifeboatError } from '../errors';
import type { DataCheck } from '../report/report.pure';
import { withRepo } from './repo';

/**
 * The recovered cluster against the set: every topic with its partition count, every partition's
 * end offset at least what the log-dir copies held, and every consumer group's committed offsets.
 */
export async function verifyAgainstSet(
  spec: ClusterSpec,
  set: BackupSet,
  opts: { settleMs?: number; groupsTranslated?: boolean; signal?: AbortSignal } = {},
): Promise<DataCheck[]> {
  // Brokers that just started learn the metadata from the controller a moment later: ask again for
  // a while; after that the checks as they stand are the answer (failed ones included).
  let last: DataCheck[] | undefined;
  try {
    return await poll(
      async () => {
        last = await verifyOnce(spec, set, opts.groupsTranslated ?? false);
        return last.every((c) => c.ok) ? last : undefined;
      },
      {
        what: `${spec.name} to match backup set ${set.setId}`,
        timeoutMs: opts.settleMs ?? 30_000,
        intervalMs: 2000,
        signal: opts.signal,
        // What the repository or the cluster says for certain (a corrupt snapshot, no Kafka) is the
        // answer now; not TopicDeleted, which a broker behind on a topic just restored can answer.
        fatal: (e) => isLifeboatError(e) && e.type !== 'TopicDeleted',
      },
    );
  } catch (e) {
    if (last && !isAbort(e, opts.signal)) return last;
    throw e;
  }
}

async function verifyOnce(spec: ClusterSpec, set: BackupSet, groupsTranslated: boolean): Promise<DataCheck[]> {
  const checks: DataCheck[] = [];
  const metaSnap = set.snapshots['kafka-metadata'];
  const md = metaSnap ? await withRepo(spec, async (repo) => readMetadataComponent(await repo.openSnapshot(metaSnap.id))) : undefined;
  // Highest copied end offset per partition over all replicas.
  const copied = new Map<string, number>();
  for (const [part, meta] of Object.entries(set.snapshots)) {
    if (!part.startsWith('logdirs:')) continue;
    for (const perHost of Object.values((meta.points.logdirs ?? {}) as Record<string, Record<string, PartitionCover>>)) {
      for (const [tp, cover] of Object.entries(perHost)) copied.set(tp, Math.max(copied.get(tp) ?? 0, cover.end));
    }
  }
  await withAdmin(kafkaFor(spec, 'verify'), spec.name, async (admin) => {
    const live = new Set(await admin.listTopics());
    if (md) {
      const topics = md.topics.filter((t) => !t.name.startsWith('__'));
      const missing = topics.filter((t) => !live.has(t.name)).map((t) => t.name);
      checks.push({ subject: 'topics present', expected: topics.length, actual: topics.length - missing.length, ok: missing.length === 0 });
      const present = topics.filter((t) => live.has(t.name));
      const described = present.length ? await describeTopics(admin, present.map((t) => t.name), { cluster: spec.name, listed: true }) : [];
      const wrong = present.filter((t) => described.find((d) => d.name === t.name)?.partitions.length !== t.partitions);
      checks.push({ subject: 'partition counts', expected: present.length, actual: present.length - wrong.length, ok: wrong.length === 0 });
    }
    const byTopic = new Map<string, number[]>();
    for (const tp of copied.keys()) {
      const m = /^(.+)-(\d+)$/.exec(tp)!;
      if (m[1]!.startsWith('__') || !live.has(m[1]!)) continue;
      byTopic.set(m[1]!, [...(byTopic.get(m[1]!) ?? []), Number(m[2])]);
    }
    // One row per topic: its records up to what the copies held (end offsets), critical topics first.
    for (const topic of priorityOrder([...byTopic.keys()], spec.topics.critical)) {
      let short = 0;
      let total = 0;
      for (const o of await admin.fetchTopicOffsets(topic)) {
        const want = copied.get(`${topic}-${o.partition}`);
        if (want === undefined) continue;
        total++;
        if (Number(o.high) < want) short++;
      }
      checks.push({ subject: `topic ${topic}: partitions reaching the copied end offset`, expected: total, actual: total - short, ok: short === 0 });
    }
    // After a logical restore, groups were set through the offset map (checked there), not as captured.
    if (md && !groupsTranslated) {
      let groupsOk = 0;
      // Only offsets on topics the set holds: a group can keep offsets of a topic deleted before the
      // backup (the broker does not always purge them). A set topic missing now fails "topics present".
      const captured = new Set(md.topics.map((t) => t.name));
      const groups = md.groups.map((g) => ({ ...g, offsets: g.offsets.filter((o) => captured.has(o.topic)) })).filter((g) => g.offsets.length > 0);
      for (const g of groups) {
        const topics = [...new Set(g.offsets.map((o) => o.topic))].filter((t) => live.has(t));
        const got = topics.length ? await fetchCommittedOffsets(admin, g.groupId, topics) : [];
        const have = new Map(got.flatMap((t) => t.partitions.map((p) => [`${t.topic}-${p.partition}`, p.offset])));
        if (g.offsets.every((o) => have.get(`${o.topic}-${o.partition}`) === o.offset)) groupsOk++;
      }
      checks.push({ subject: 'consumer groups with their committed offsets', expected: groups.length, actual: groupsOk, ok: groupsOk === groups.length });
    }
  });
  return checks;
}

export async function verifyBaseline(spec: ClusterSpec, set: BackupSet, onProgress?: (topic: string) => void): Promise<{ checks: DataCheck[]; problems: string[] }> {
  const snap = set.snapshots.baseline;
  if (!snap) return { checks: [], problems: [] };
  const baseline = await withRepo(spec, async (repo) => (await repo.openSnapshot(snap.id)).readJson<Baseline>(BASELINE_PATH));
  const kafka = await reachableKafka(spec, 'verify');
  const ranges = Object.fromEntries(
    Object.entries(baseline.fingerprints).map(([t, parts]) => [t, Object.fromEntries(Object.entries(parts).map(([p, f]) => [p, { from: f.from, to: f.to }]))]),
  );
  const actual = await fingerprintRanges(kafka, ranges, onProgress);
  const bad = compareFingerprints(baseline.fingerprints, actual);
  const total = Object.values(baseline.fingerprints).reduce((n, t) => n + Object.keys(t).length, 0);
  const records = Object.values(baseline.fingerprints).reduce((n, t) => n + Object.values(t).reduce((m, f) => m + f.records, 0), 0);
  // Throughput right after a restart is noisy (cold caches, JIT) and reading 5 MB back takes a few
  // milliseconds, so the verdict rests on produce (acks=all) throughput: below half the backup-time
  // rate is reported as a problem, below a tenth (a throttle left on, a broker on a failing disk) fails.
  const base = baseline.throughput;
  const now = await throughputProbe(kafka, { records: base.records, recordBytes: Math.round(base.bytes / Math.max(1, base.records)) });
  const ratio = now.produceMBps / Math.max(0.1, base.produceMBps);
  const slow = ratio < 0.5 ? [`produce throughput at ${Math.round(ratio * 100)}% of the backup-time rate (${now.produceMBps} vs ${base.produceMBps} MB/s)`] : [];
  return {
    checks: [
      { subject: `newest records identical (${records} records, SHA-256 per partition)`, expected: total, actual: total - bad.length, ok: bad.length === 0 },
      {
        subject: 'throughput vs the backup-time probe (produce / consume MB/s)',
        expected: `${base.produceMBps} / ${base.consumeMBps}`,
        actual: `${now.produceMBps} / ${now.consumeMBps} (produce ${Math.round(ratio * 100)}%)`,
        ok: ratio >= 0.1,
      },
    ],
    problems: [...bad.slice(0, 20).map((b) => `data differs from the backup: ${b}`), ...slow],
  };
}
