/**
 * The logical data path of a full recovery, for sets that hold topics (records) instead of log-dir
 * copies: after the brokers serve again, every topic's records are produced back (critical topics
 * first, resumable without duplicates through the offset map), then the consumer groups' committed
 * offsets are set through that map, so each group resumes at the first record it had not read.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { BackupSet } from '../backup/parts';
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import { reachableKafka } from '../kafka/admin';
import { waitForAgreement } from '../kafka/ready';
import { readClusterState } from '../kafka/clusterState';
import { applyPlan, planApply } from '../kafka/metadata';
import { readMetadataComponent } from '../kafka/metadataStore';
import { loadOffsetMap } from '../kafka/offsetMap';
import { restoreMapTranslator } from '../kafka/offsets';
import type { TopicManifest } from '../kafka/topicBackup';
import { type RestoreProgress, restoreTopics, snapshotTopics, topicChain } from '../kafka/topicRestore';
import type { DataCheck } from '../report/report.pure';
import { withRepo } from './repo';

export interface LogicalRestoreResult {
  /** Records of the set in the target, whichever attempt wrote them. */
  records: number;
  /** Of those, written by this attempt (less than records when a retried activity resumed). */
  writtenNow: number;
  offsetMapFile: string;
  groupsSet: number;
  checks: DataCheck[];
}

export async function restoreTopicsFromSet(
  spec: ClusterSpec,
  set: BackupSet,
  opts: { offsetMapDir?: string; onProgress?: (p: RestoreProgress) => void } = {},
): Promise<LogicalRestoreResult> {
  const snap = set.snapshots.topics;
  if (!snap) throw new LifeboatError('InvalidInput', `backup set ${set.setId} has no topics part`);
  const offsetMapFile = join(opts.offsetMapDir ?? join(homedir(), '.cache', 'lifeboat', 'offset-maps'), `${spec.name}-${snap.id.slice(0, 12)}.map`);
  const kafka = await reachableKafka(spec, 'restore');
  const { result, expected } = await withRepo(spec, async (repo) => {
    const chain = await topicChain(repo, snap.id, spec.name);
    // Records the set holds per topic (over the incremental chain): what must be there afterwards.
    const expected = new Map<string, number>();
    for (const s of chain) {
      for (const t of await snapshotTopics(s)) {
        const m = await s.readJson<TopicManifest>(`topics/${t}/topic.json`);
        expected.set(t, (expected.get(t) ?? 0) + Object.values(m.parts).reduce((n, p) => n + p.records, 0));
      }
    }
    // Brokers that just started learn the topics ZooKeeper holds a moment later; a topic they do
    // not list yet would be created again (and refused). Give the metadata time to arrive.
    const known = new Set((await readClusterState(spec)).partitions.map((p) => p.topic));
    const names = (await snapshotTopics(chain[chain.length - 1]!)).filter((t) => known.has(t));
    if (names.length) await waitForAgreement(spec, { topics: names, timeoutMs: 30_000 });
    const result = await restoreTopics(kafka, { snapshots: chain, offsetMapFile, critical: spec.topics.critical, onProgress: opts.onProgress });
    return { result, expected };
  });
  // Counted from the offset map: it holds every record in the target, whichever attempt wrote it
  // (a retried activity finds the first attempt's records mapped and restores none again).
  const map = await loadOffsetMap(offsetMapFile);
  const mapped = (topic: string) =>
    Object.values(map.topics[topic]?.partitions ?? {}).reduce((n, p) => n + p.runs.reduce((m, r) => m + r[2], 0), 0);
  const checks: DataCheck[] = result.topics.map((t) => ({
    subject: `topic ${t.target}: records restored`,
    expected: expected.get(t.topic) ?? 0,
    actual: mapped(t.topic),
    ok: mapped(t.topic) === (expected.get(t.topic) ?? 0),
  }));

  let groupsSet = 0;
  const metaSnap = set.snapshots['kafka-metadata'];
  if (metaSnap) {
    const exp = await withRepo(spec, async (repo) => readMetadataComponent(await repo.openSnapshot(metaSnap.id)));
    const translator = restoreMapTranslator(map);
    const restored = new Set(result.topics.map((t) => t.topic));
    const plan = await planApply(exp, kafka, { name: spec.name, offsetTranslator: translator, topics: (t) => restored.has(t), acls: () => false });
    const applied = await applyPlan(kafka, plan, { name: spec.name });
    groupsSet = applied.groupsSet.length;
    const wanted = plan.groups.filter((g) => g.action === 'set-offsets').length;
    checks.push({
      subject: 'consumer groups set through the offset map',
      expected: wanted,
      actual: groupsSet,
      ok: groupsSet === wanted && applied.failures.length === 0,
    });
  }
  const records = result.topics.reduce((n, t) => n + mapped(t.topic), 0);
  return { records, writtenNow: result.records, offsetMapFile, groupsSet, checks };
}
