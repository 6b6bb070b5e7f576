/**
 * The steps of a full-cluster recovery from a backup set, each safe to run twice:
 * choose a set that verifies, restore ZooKeeper (keeping what is there first), restore a broker's
 * configs and log dirs, wait for the cluster to serve again, and check it against the set.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { coverageGap, coverageLabel, coverageOf, type SetRequirement } from '../backup/coverage.pure';
import { type DataReadResult, isLargePart, readPartsData, type VerifyData } from '../backup/coverageData';
import { type BackupSet, listBackupSets } from '../backup/parts';
import { invalidParts } from '../backup/plan.pure';
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { captureBrokerConfigs, diffConfigs, restoreBrokerConfigs } from '../host/brokerConfigs';
import { readConfigsComponent, writeConfigsComponent } from '../host/brokerConfigsStore';
import { brokerControlFor } from '../host/brokerControl';
import { type PartitionCover, registeredInZookeeper, restoreLogDirs } from '../host/logdirs';
import { sleep } from '../host/processes';
import { withAdmin } from '../kafka/admin';
import { kafkaFor } from '../kafka/client';
import { readClusterState } from '../kafka/clusterState';
import { readMetadataComponent } from '../kafka/metadataStore';
import { priorityOrder } from '../kafka/topicRestore';
import { checkRepository } from '../repository/check';
import { openRepositoryForSpec } from '../repository';
import { preRestoreSnapshot } from '../repository/preRestore';
import type { LocalRepository } from '../repository/repo';
import type { SnapshotMeta } from '../repository/types';
import { withZkSession } from '../zookeeper/errors';
import { keepZkTarget } from '../zookeeper/preRestore';
import { applyRestore, planRestoreLive, type RestoreMode, summarizePlan } from '../zookeeper/restore';
import { materializeZkTree } from '../zookeeper/storage';

export async function withRepo<T>(spec: ClusterSpec, fn: (repo: LocalRepository) => Promise<T>): Promise<T> {
  const repo = await openRepositoryForSpec(spec);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}


function needZk(spec: ClusterSpec): NonNullable<ClusterSpec['zookeeper']> {
  if (!spec.zookeeper) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no zookeeper section`);
  return spec.zookeeper;
}

// ---- choosing the set ----

export interface ChosenSet {
  set: BackupSet;
  /** Newer sets that were passed over, and why. */
  rejected: { setId: string; time: string; reason: string }[];
  /** What the chosen set covers ("full" or "partial: ..."), and how much of its data was read. */
  coverage?: string;
  dataRead?: { mode: VerifyData; chunks: number; chunksRead: number; bytesRead: number; packsChecked: number };
}

export interface SetCheckOptions {
  /** How much of the large parts (log dirs, topics) to read: a sample (default) or all of it. */
  verifyData?: VerifyData;
  sampleBytes?: number;
  /** Chunks already read (good or bad) by an earlier set of the same choice. */
  verified?: Set<string>;
  bad?: Map<string, string>;
  onProgress?: (m: string) => void;
  /** Check only these parts (what the recovery will restore); default: every part of the set. */
  only?: string[];
}

/**
 * Problems of one set: structure of every snapshot it needs (its parts and their parent chains),
 * a full read of its small parts (ZooKeeper, metadata, configs, registry, baseline) and a read of
 * its large parts' data (log dirs, topics: a sample or all of it, see backup/coverageData.ts).
 */
export async function setProblems(repo: LocalRepository, set: BackupSet, damaged: Set<string>, opts: SetCheckOptions = {}): Promise<string[]> {
  const r = await checkSet(repo, set, damaged, opts);
  return r.problems;
}

async function checkSet(repo: LocalRepository, set: BackupSet, damaged: Set<string>, opts: SetCheckOptions): Promise<{ problems: string[]; data?: DataReadResult }> {
  const problems: string[] = [];
  const all = new Map((await repo.snapshots()).map((s) => [s.id, s]));
  const large: { part: string; meta: SnapshotMeta }[] = [];
  for (const [part, meta] of Object.entries(set.snapshots)) {
    if (opts.only && !opts.only.includes(part)) continue;
    for (let s: SnapshotMeta | undefined = meta; s; s = s.parent ? all.get(s.parent) : undefined) {
      if (damaged.has(s.id)) problems.push(`${part}: snapshot ${s.id.slice(0, 12)} is damaged`);
      if (s.parent && !all.has(s.parent)) problems.push(`${part}: parent snapshot ${s.parent.slice(0, 12)} is missing`);
      if (isLargePart(part)) large.push({ part, meta: s });
    }
    if (isLargePart(part)) continue;
    try {
      const reader = await repo.openSnapshot(meta.id);
      for (const f of reader.list()) if (f.type === 'file') await reader.readBuffer(f.path);
      if (part === 'zookeeper') await materializeZkTree(repo, meta.id);
    } catch (e) {
      problems.push(`${part}: ${(e as Error).message}`);
    }
  }
  if (large.length === 0) return { problems };
  opts.onProgress?.(`reading the data of set ${set.setId} (${opts.verifyData ?? 'sample'})`);
  const data = await readPartsData(repo, large, { mode: opts.verifyData ?? 'sample', sampleBytes: opts.sampleBytes, verified: opts.verified, bad: opts.bad, onProgress: opts.onProgress });
  problems.push(...data.problems);
  return { problems, data };
}

export interface ChooseOptions {
  setId?: string;
  exclude?: string[];
  /** What the set must cover: the whole cluster (default), one broker, or the parts an operator named. */
  require?: SetRequirement;
  verifyData?: VerifyData;
  sampleBytes?: number;
  onProgress?: (m: string) => void;
}

const requirementText = (req: SetRequirement) =>
  req.kind === 'cluster' ? 'a full recovery' : req.kind === 'broker' ? `a recovery of broker ${req.brokerId}` : `the parts asked for (${req.parts.join(',')})`;

/**
 * The newest complete set that covers what the recovery needs and verifies (or the one asked
 * for), with the newer ones passed over and why. Its data is read here, before any approval.
 */
export async function chooseBackupSet(spec: ClusterSpec, opts: ChooseOptions = {}): Promise<ChosenSet> {
  const req = opts.require ?? { kind: 'cluster' };
  const brokerIds = spec.brokers.map((b) => b.id);
  if (req.kind === 'parts') {
    const bad = invalidParts(spec, req.parts);
    if (bad.length) throw new LifeboatError('InvalidInput', `unknown parts for ${spec.name}: ${bad.join(', ')} (zookeeper, kafka-metadata, registry, topics, configs:<broker>, logdirs:<broker>)`);
  }
  return withRepo(spec, async (repo) => {
    const sets = await listBackupSets(repo, spec.name);
    if (sets.length === 0) throw new LifeboatError('SnapshotNotFound', `the repository of ${spec.name} (${repo.path}) holds no backup set: run a backup first`);
    const coverage = (s: BackupSet) => coverageOf(Object.keys(s.snapshots), brokerIds, req);
    let candidates = sets.filter((s) => s.complete).reverse();
    if (opts.setId) {
      const wanted = sets.find((s) => s.setId === opts.setId || s.setId.startsWith(opts.setId!));
      if (!wanted) throw new LifeboatError('SnapshotNotFound', `no backup set ${opts.setId} of ${spec.name} (newest: ${sets.at(-1)!.setId})`);
      if (!wanted.complete) throw new LifeboatError('CorruptBackup', `backup set ${wanted.setId} is incomplete (missing ${wanted.parts.filter((p) => !wanted.snapshots[p]).join(', ')})`);
      const c = coverage(wanted);
      if (!c.full) {
        const hint = req.kind === 'cluster' ? '; to restore only what it holds, name the parts (recover cluster --parts ...)' : '';
        throw new LifeboatError('InvalidInput', `backup set ${wanted.setId} ${coverageGap(c, req)}${hint}`);
      }
      candidates = [wanted];
    }
    const check = await checkRepository(repo, { progress: opts.onProgress });
    const damaged = new Set(check.damagedSnapshots);
    const rejected: ChosenSet['rejected'] = [];
    const shared = { verified: new Set<string>(), bad: new Map<string, string>() };
    // Only what the recovery restores must read back: a damaged logdirs:3 does not stop a restore of configs:1.
    const only = req.kind === 'parts' ? req.parts : req.kind === 'broker' ? [`logdirs:${req.brokerId}`] : undefined;
    for (const set of candidates) {
      if (opts.exclude?.includes(set.setId)) {
        rejected.push({ setId: set.setId, time: set.time, reason: 'failed during an earlier restore attempt' });
        continue;
      }
      const c = coverage(set);
      if (!c.full) {
        rejected.push({ setId: set.setId, time: set.time, reason: coverageGap(c, req) });
        continue;
      }
      opts.onProgress?.(`verifying set ${set.setId}`);
      const { problems, data } = await checkSet(repo, set, damaged, { verifyData: opts.verifyData, sampleBytes: opts.sampleBytes, onProgress: opts.onProgress, only, ...shared });
      if (problems.length === 0) {
        // Newer sets that are incomplete: a backup that failed or runs now, or a snapshot file that is unreadable.
        const newerIncomplete = opts.setId ? [] : sets.filter((s) => !s.complete && s.time > set.time);
        for (const s of newerIncomplete) {
          rejected.push({ setId: s.setId, time: s.time, reason: `incomplete: no readable ${s.parts.filter((p) => !s.snapshots[p]).join(', ')} (a backup that failed or still runs, or a damaged snapshot file)` });
        }
        rejected.sort((x, y) => (x.time < y.time ? 1 : -1));
        const dataRead = data && { mode: opts.verifyData ?? 'sample', chunks: data.chunks, chunksRead: data.chunksRead, bytesRead: data.bytesRead, packsChecked: data.packsChecked };
        return { set, rejected, coverage: coverageLabel(coverageOf(Object.keys(set.snapshots), brokerIds)), ...(dataRead ? { dataRead } : {}) };
      }
      rejected.push({ setId: set.setId, time: set.time, reason: [...new Set(problems)].slice(0, 3).join('; ') });
    }
    const list = rejected.map((r) => `${r.setId}: ${r.reason}`).join(' | ');
    // Nothing damaged, only nothing that covers enough: "not found", not a corrupt backup.
    if (candidates.length && candidates.every((c) => !coverage(c).full)) {
      throw new LifeboatError('SnapshotNotFound', `no backup set of ${spec.name} covers ${requirementText(req)}: ${list}`);
    }
    throw new LifeboatError('CorruptBackup', `no backup set of ${spec.name} can be used (${candidates.length ? `none that covers ${requirementText(req)} verifies` : 'none is complete'}): ${list || 'no complete set'}`);
  });
}

// ---- brokers ----

/**
 * Stops a broker and waits until ZooKeeper has forgotten it: a killed broker stays registered
 * until its session expires, and its log dirs must not be replaced while it might be live.
 */
export async function stopBrokerAndWait(spec: ClusterSpec, brokerId: number, timeoutMs = 120_000): Promise<{ wasRunning: boolean }> {
  const control = brokerControlFor(spec, brokerId);
  const wasRunning = (await control.status()) === 'running';
  if (wasRunning) await control.stop();
  const deadline = Date.now() + timeoutMs;
  while (spec.zookeeper && (await registeredInZookeeper(spec, brokerId))) {
    if (Date.now() > deadline) throw new Error(`broker ${brokerId} is still registered in ZooKeeper ${Math.round(timeoutMs / 1000)} s after it stopped`);
    await sleep(1000);
  }
  return { wasRunning };
}

// ---- ZooKeeper ----

export interface ZkRestoreResult {
  created: number;
  updated: number;
  deleted: number;
  skippedEphemerals: number;
  preRestoreSnapshot?: string;
}

export async function restoreZookeeper(spec: ClusterSpec, snapshotId: string, opts: { mode?: RestoreMode; onProgress?: (done: number, total: number) => void } = {}): Promise<ZkRestoreResult> {
  const zkc = needZk(spec);
  const root = zkc.chroot || '/';
  const { tree } = await withRepo(spec, (repo) => materializeZkTree(repo, snapshotId));
  return withZkSession(zkc.connect, { auth: zkAuthOf(spec) }, async (zk) => {
    // overwrite: creates what is missing and puts back what changed, deletes nothing.
    const plan = await planRestoreLive(zk, tree, root, { mode: opts.mode ?? 'overwrite' });
    const w = summarizePlan(plan).writes;
    if (w.create + w.update + w.delete === 0) return { created: 0, updated: 0, deleted: 0, skippedEphemerals: plan.skippedEphemerals?.length ?? 0 };
    const pre = await keepZkTarget(zk, plan, spec, `recovery of ${root}`);
    const r = await applyRestore(zk, plan, { confirm: true, onProgress: opts.onProgress });
    return { created: r.created, updated: r.updated, deleted: r.deleted, skippedEphemerals: r.skippedEphemerals.length, preRestoreSnapshot: pre?.id };
  });
}

// ---- configs ----

export interface ConfigRestoreResult {
  brokerId: number;
  action: 'unchanged' | 'restored';
  files: string[];
  preRestoreSnapshot?: string;
}

/** Puts a broker's config files back as the set has them; files that differ are kept first. */
export async function restoreConfigs(spec: ClusterSpec, brokerId: number, snapshotId: string): Promise<ConfigRestoreResult> {
  const broker = spec.brokers.find((b) => b.id === brokerId);
  if (!broker) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${brokerId}`);
  const saved = (await withRepo(spec, async (repo) => readConfigsComponent(await repo.openSnapshot(snapshotId)))).find((c) => c.manifest.brokerId === brokerId);
  if (!saved) throw new LifeboatError('CorruptBackup', `snapshot ${snapshotId.slice(0, 12)} holds no configs of broker ${brokerId}`);
  const current = await captureBrokerConfigs(spec.name, broker).catch(() => undefined);
  if (current && !diffConfigs(saved, current).changed) return { brokerId, action: 'unchanged', files: [] };
  let pre: SnapshotMeta | undefined;
  if (current) pre = await preRestoreSnapshot(spec, `config restore of broker ${brokerId}`, 'configs', (w) => writeConfigsComponent(w, [current]));
  const plan = await restoreBrokerConfigs(saved, { overwrite: true });
  return { brokerId, action: 'restored', files: plan.files.map((f) => f.name), preRestoreSnapshot: pre?.id };
}

// ---- log dirs ----

export interface LogDirRestoreResult {
  brokerId: number;
  files: number;
  bytes: number;
  movedAside: string[];
  /** Files an interrupted attempt had already restored whole (this attempt continued it). */
  resumedFiles: number;
  /** True when an earlier attempt had already finished this restore. */
  alreadyDone: boolean;
  warnings: string[];
}

/** Whole or not at all: a worker killed mid-write must not leave half a marker. */
async function writeMarker(file: string, value: unknown): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(value));
  await rename(`${file}.tmp`, file);
}

const markerOf = (logDir: string) => `${logDir.replace(/\/+$/, '')}.lifeboat-restore.json`;

/**
 * Restores one (stopped) broker's log dirs. A marker beside the first log dir records a restore of
 * this snapshot in progress or done, so a retried activity continues (or skips) it instead of
 * moving the restored data aside and starting again.
 */
export async function restoreBrokerLogDirs(
  spec: ClusterSpec,
  brokerId: number,
  snapshotId: string,
  opts: { onProgress?: (p: { files: number; bytes: number }) => void } = {},
): Promise<LogDirRestoreResult> {
  const broker = spec.brokers.find((b) => b.id === brokerId);
  if (!broker) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${brokerId}`);
  const marker = markerOf(broker.logDirs[0]!);
  // Unreadable (a write cut short by a kill) counts as absent; writes go through a rename, so that is rare.
  const previous = await readFile(marker, 'utf8').then(
    (t) => JSON.parse(t) as { snapshot: string; state?: 'in-progress' | 'done'; result?: LogDirRestoreResult },
    () => undefined,
  ).catch(() => undefined);
  // The marker sits outside the log dir: "done" only counts while the restored data is still there.
  const stillThere = await readFile(join(broker.logDirs[0]!, 'meta.properties')).then(() => true, () => false);
  if (previous?.snapshot === snapshotId && previous.state !== 'in-progress' && previous.result && stillThere) return { ...previous.result, alreadyDone: true };
  // An attempt of this same restore was interrupted (worker killed): continue it instead of moving its work aside.
  const resume = previous?.snapshot === snapshotId && previous.state === 'in-progress';
  await writeMarker(marker, { snapshot: snapshotId, state: 'in-progress', at: new Date().toISOString() });
  const r = await withRepo(spec, async (repo) => restoreLogDirs(spec, brokerId, await repo.openSnapshot(snapshotId), { onProgress: opts.onProgress, resume }));
  const result: LogDirRestoreResult = { brokerId, files: r.files, bytes: r.bytes, movedAside: r.movedAside, resumedFiles: r.resumedFiles, alreadyDone: false, warnings: r.warnings };
  await writeMarker(marker, { snapshot: snapshotId, state: 'done', at: new Date().toISOString(), result });
  return result;
}

// ---- waiting and verifying ----

/** Waits until every broker of the spec is registered and no partition is offline. */
export async function waitForServing(spec: ClusterSpec, opts: { timeoutMs?: number; onProgress?: (p: { brokers: number[]; offline: number }) => void } = {}): Promise<{ brokers: number[]; partitions: number }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  const want = spec.brokers.map((b) => b.id).sort((a, b) => a - b);
  for (;;) {
    const s = await readClusterState(spec).catch(() => undefined);
    if (s) {
      const offline = s.partitions.filter((p) => p.leader < 0).length;
      opts.onProgress?.({ brokers: s.brokers, offline });
      if (want.every((id) => s.brokers.includes(id)) && offline === 0 && s.controller !== null) return { brokers: s.brokers, partitions: s.partitions.length };
    }
    if (Date.now() > deadline) throw new Error(`${spec.name} is not serving ${Math.round((opts.timeoutMs ?? 600_000) / 1000)} s after the brokers started`);
    await sleep(1000);
  }
}

export interface RecoveryCheck {
  subject: string;
  expected: string | number;
  actual: string | number;
  ok: boolean;
}

/**
 * The recovered cluster against the set: every topic with its partition count, every partition's
 * end offset at least what the log-dir copies held, and every consumer group's committed offsets.
 */
export async function verifyAgainstSet(spec: ClusterSpec, set: BackupSet, opts: { settleMs?: number; groupsTranslated?: boolean } = {}): Promise<RecoveryCheck[]> {
  // Brokers that just started learn the metadata from the controller a moment later: ask again for a while.
  const deadline = Date.now() + (opts.settleMs ?? 30_000);
  for (;;) {
    const checks = await verifyOnce(spec, set, opts.groupsTranslated ?? false);
    if (checks.every((c) => c.ok) || Date.now() > deadline) return checks;
    await sleep(2000);
  }
}

async function verifyOnce(spec: ClusterSpec, set: BackupSet, groupsTranslated: boolean): Promise<RecoveryCheck[]> {
  const checks: RecoveryCheck[] = [];
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
      const described = present.length ? (await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) })).topics : [];
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
      const groups = md.groups.filter((g) => g.offsets.length > 0);
      for (const g of groups) {
        const topics = [...new Set(g.offsets.map((o) => o.topic))].filter((t) => live.has(t));
        const got = topics.length ? await admin.fetchOffsets({ groupId: g.groupId, topics }) : [];
        const have = new Map(got.flatMap((t) => t.partitions.map((p) => [`${t.topic}-${p.partition}`, p.offset])));
        if (g.offsets.every((o) => have.get(`${o.topic}-${o.partition}`) === o.offset)) groupsOk++;
      }
      checks.push({ subject: 'consumer groups with their committed offsets', expected: groups.length, actual: groupsOk, ok: groupsOk === groups.length });
    }
  });
  return checks;
}
