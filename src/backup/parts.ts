/**
 * A cluster backup is a *set* of snapshots, one per part, taken by separate activities (some on
 * the brokers' hosts): `zookeeper`, `kafka-metadata`, `configs:<broker>`, `logdirs:<broker>`,
 * `topics`. Each snapshot carries the tags `set:<id>`, `part:<part>` and `tier:<tier>` and, in
 * its extra facts, the parts the set was planned with, so a set is complete exactly when every
 * planned part has its snapshot. A part that is run twice (an activity retried after its commit)
 * finds its snapshot and returns it: the repository never holds two copies of one part of a set.
 */
import { ConfigResourceTypes } from 'kafkajs';
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { captureConfigs } from '../host/brokerConfigs';
import { writeConfigsComponent } from '../host/brokerConfigsStore';
import { copyLogDirs, type LogDirManifest } from '../host/logdirs';
import { reachableKafka, withAdmin } from '../kafka/admin';
import { kafkaFor } from '../kafka/client';
import { exportMetadata } from '../kafka/metadata';
import { writeMetadataComponent } from '../kafka/metadataStore';
import { backupTopics } from '../kafka/topicBackup';
import { listTopicsChecked } from '../kafka/topicListing';
import { SELECTED_TOPICS } from './coverage.pure';
import { type Fingerprints, fingerprintRanges, type RangeMap } from '../kafka/fingerprint';
import { type ThroughputResult, throughputProbe } from '../kafka/probe';
import type { ComponentName, Repository, SnapshotMeta } from '../repository/types';
import { captureRegistry } from '../registry/registry';
import { writeRegistryComponent } from '../registry/storage';
import type { ZkWaiting } from '../zookeeper/client';
import { exportTree } from '../zookeeper/export';
import { withZkSession } from '../zookeeper/errors';
import { materializeZkTree, writeZkComponent } from '../zookeeper/storage';
import type { ZkTreeExport } from '../zookeeper/tree';
import { brokerOfPart, type BackupTier, PART_PATTERN } from './plan.pure';


/**
 * How long the zookeeper part waits for a session: a ZooKeeper restart fits in it, and with the
 * CLI, the run and the repository around it a backup of a dead ensemble still fails within 30 s.
 */
export const ZK_WAIT_MS = 15_000;

export interface BackupSetRef {
  setId: string;
  tier: BackupTier;
  /** Every part of the set, as planned. */
  parts: string[];
}

export interface PartOptions {
  incremental?: boolean;
  logdirMode?: 'hot' | 'cold';
  /** Topics for the logical `topics` part (default: every topic but internal and disposable ones). */
  topics?: string[];
  onProgress?: (p: Record<string, unknown>) => void;
  /** Stops the part between batches or files when it aborts (the activity's cancellation); nothing is sealed then. */
  signal?: AbortSignal;
}

export interface PartResult {
  part: string;
  snapshot: string;
  time: string;
  bytes: number;
  newBytes: number;
  files: number;
  durationMs: number;
  /** True when the part had already been stored by an earlier attempt. */
  reused: boolean;
  summary: string;
}

export function componentOf(part: string): ComponentName {
  if (!PART_PATTERN.test(part)) throw new LifeboatError('InvalidInput', `unknown backup part "${part}" (zookeeper, kafka-metadata, topics, baseline, registry, configs:<broker>, logdirs:<broker>)`);
  return part.split(':')[0] as ComponentName;
}

export function setTags(ref: BackupSetRef, part: string): string[] {
  return [`set:${ref.setId}`, `part:${part}`, `tier:${ref.tier}`];
}

export const tagValue = (meta: SnapshotMeta, key: string): string | undefined =>
  meta.tags.find((t) => t.startsWith(`${key}:`))?.slice(key.length + 1);

export async function findPart(repo: Repository, cluster: string, setId: string, part: string): Promise<SnapshotMeta | undefined> {
  return (await repo.snapshots({ cluster, tags: [`set:${setId}`, `part:${part}`] })).at(-1);
}

/** The parts of `parts` that set `setId` does not hold in `repo` (in `parts`' order). */
export async function missingParts(repo: Repository, cluster: string, setId: string, parts: string[]): Promise<string[]> {
  const held = new Set((await repo.snapshots({ cluster, tags: [`set:${setId}`] })).map((s) => tagValue(s, 'part')));
  return parts.filter((p) => !held.has(p));
}

function resultOf(meta: SnapshotMeta, part: string, reused: boolean): PartResult {
  return {
    part,
    snapshot: meta.id,
    time: meta.time,
    bytes: meta.summary.bytes,
    newBytes: meta.summary.newBytes,
    files: meta.summary.files,
    durationMs: meta.summary.durationMs,
    reused,
    summary: String(meta.extra.summary ?? ''),
  };
}

/** Takes one part of a backup set into `repo`, or returns the snapshot an earlier attempt stored. */
export async function backupPart(spec: ClusterSpec, repo: Repository, ref: BackupSetRef, part: string, opts: PartOptions = {}): Promise<PartResult> {
  const component = componentOf(part);
  if (!ref.parts.includes(part)) throw new LifeboatError('InvalidInput', `part ${part} is not in the plan of set ${ref.setId}`);
  const done = await findPart(repo, spec.name, ref.setId, part);
  if (done) return resultOf(done, part, true);

  const base = { cluster: spec.name, components: [component], tags: setTags(ref, part), extra: { set: { id: ref.setId, tier: ref.tier, parts: ref.parts } } };
  const broker = brokerOfPart(part);
  if (broker !== undefined && !spec.brokers.some((b) => b.id === broker)) {
    throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${broker}`);
  }

  switch (component) {
    case 'zookeeper': {
      const zkc = spec.zookeeper;
      if (!zkc) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no zookeeper section`);
      const root = zkc.chroot || '/';
      let baseTree: ZkTreeExport | undefined;
      let parent: string | undefined;
      if (opts.incremental) {
        const last = (await repo.snapshots({ cluster: spec.name, component: 'zookeeper' })).filter((s) => !s.tags.includes('pre-restore')).at(-1);
        if (last) {
          const m = await materializeZkTree(repo, last.id);
          if (m.tree.root === root) [baseTree, parent] = [m.tree, last.id];
        }
      }
      const auth = zkAuthOf(spec);
      // A ZooKeeper restart is waited out here; one still down after the wait fails the part as Unreachable.
      const connectOpts = { auth, timeoutMs: ZK_WAIT_MS, onWaiting: (w: ZkWaiting) => opts.onProgress?.({ waiting: w.waiting, waitedMs: w.waitedMs }) };
      const exp = await withZkSession(zkc.connect, connectOpts, (zk) => exportTree(zk, root, { base: baseTree, onProgress: (n) => opts.onProgress?.({ znodes: n }), signal: opts.signal }));
      const summary = `${exp.kind} export of ${root} at zxid ${exp.zxid}, ${exp.nodeCount} znodes`;
      const { meta } = await repo.saveSnapshot({ ...base, parent, extra: { ...base.extra, summary } }, (w) => writeZkComponent(w, exp));
      return resultOf(meta, part, false);
    }
    case 'kafka-metadata': {
      // The listing checked against ZooKeeper: a broker just started lists no topic (topicListing.ts).
      const exp = await exportMetadata(await reachableKafka(spec), { name: spec.name, listTopics: (a) => listTopicsChecked(spec, a, { relevant: (t) => !t.startsWith('__'), signal: opts.signal }) });
      const summary = `${exp.topics.length} topics, ${exp.groups.length} groups, ${exp.acls.length} ACLs`;
      const { meta } = await repo.saveSnapshot({ ...base, extra: { ...base.extra, summary } }, (w) => writeMetadataComponent(w, exp));
      return resultOf(meta, part, false);
    }
    case 'configs': {
      const captures = await captureConfigs(spec, [broker!]);
      const files = captures.reduce((n, c) => n + c.manifest.files.length, 0);
      const summary = `${files} config files of broker ${broker}`;
      const { meta } = await repo.saveSnapshot({ ...base, extra: { ...base.extra, summary } }, (w) => writeConfigsComponent(w, captures));
      return resultOf(meta, part, false);
    }
    case 'logdirs': {
      const mode = opts.logdirMode ?? 'hot';
      let manifest: LogDirManifest | undefined;
      // The broker's previous copy: its unchanged files (closed segments) are taken over, not read again.
      const previous = (await repo.snapshots({ cluster: spec.name, component: 'logdirs' })).filter((s) => s.tags.includes(`part:${part}`)).at(-1);
      const { meta } = await repo.saveSnapshot({ ...base, tags: [...base.tags, mode], ...(previous ? { reuseFrom: previous.id } : {}) }, async (w) => {
        manifest = await copyLogDirs(spec, broker!, w, { mode, onProgress: (p) => opts.onProgress?.({ ...p }), signal: opts.signal });
        w.setPoints('logdirs', { [manifest.host]: manifest.partitions });
        w.setExtra('summary', `${mode} copy of broker ${broker}: ${manifest.files} files, ${Object.keys(manifest.partitions).length} partitions`);
      });
      return resultOf(meta, part, false);
    }
    case 'topics': {
      let parent: { id: string; points?: Record<string, Record<string, number>> } | undefined;
      if (opts.incremental) {
        const prev = (await repo.snapshots({ cluster: spec.name, component: 'topics' })).at(-1);
        if (prev) parent = { id: prev.id, points: (prev.points as { topics?: Record<string, Record<string, number>> }).topics };
      }
      // Every topic but internal ones and those matching a disposable pattern of the spec.
      const disposable = spec.topics.disposable.map((p) => new RegExp(p));
      const kept = (t: string) => !t.startsWith('__') && !disposable.some((r) => r.test(t));
      const topics = opts.topics ?? (await withAdmin(kafkaFor(spec, 'backup'), spec.name, (a) => listTopicsChecked(spec, a, { relevant: kept, signal: opts.signal }))).filter(kept).sort();
      const { meta } = await repo.saveSnapshot({ ...base, ...(parent ? { parent: parent.id } : {}) }, async (w) => {
        const r = await backupTopics(kafkaFor(spec, 'backup'), w, {
          topics,
          from: parent?.points,
          onProgress: (p) => opts.onProgress?.({ ...p }),
          signal: opts.signal,
        });
        // Topics an operator named (--topics) are not every broker's data: the set does not cover a full recovery (heldParts).
        w.setExtra('topics', { records: r.records, bytes: r.bytes, durationMs: r.durationMs, ...(opts.topics ? { selected: true } : {}) });
        w.setExtra('summary', `${r.topics.length} topics, ${r.records} records`);
      });
      return resultOf(meta, part, false);
    }
    case 'registry': {
      const zkc = spec.zookeeper;
      if (!zkc || !spec.registry) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} needs zookeeper and registry sections for a registry backup`);
      const auth = zkAuthOf(spec);
      const roots = { curator: spec.registry.curator ?? null, dubbo: spec.registry.dubbo ?? null };
      const cap = await withZkSession(zkc.connect, { auth }, (zk) => captureRegistry(zk, roots));
      const summary = `${cap.registry.services.length} services, ${cap.registry.instance_count} instances at zxid ${cap.registry.zxid}`;
      const { meta } = await repo.saveSnapshot({ ...base, extra: { ...base.extra, summary } }, (w) => writeRegistryComponent(w, cap));
      return resultOf(meta, part, false);
    }
    case 'baseline': {
      const baseline = await takeBaseline(spec, repo, ref, opts);
      const fingerprinted = Object.values(baseline.fingerprints).reduce((n, t) => n + Object.keys(t).length, 0);
      const summary = `${fingerprinted} partitions fingerprinted; throughput ${baseline.throughput.produceMBps} MB/s produce, ${baseline.throughput.consumeMBps} MB/s consume`;
      const { meta } = await repo.saveSnapshot({ ...base, extra: { ...base.extra, summary } }, async (w) => {
        await w.writeJson(BASELINE_PATH, baseline);
      });
      return resultOf(meta, part, false);
    }
    default:
      throw new LifeboatError('InvalidInput', `part ${part} cannot be backed up`);
  }
}

export interface BackupSet {
  setId: string;
  tier: string;
  time: string;
  parts: string[];
  /** part → snapshot meta, for the parts that are stored. */
  snapshots: Record<string, SnapshotMeta>;
  complete: boolean;
}

/**
 * What a set's stored parts restore, for coverage (coverage.pure.ts): its part names, but a logical
 * topics part of the topics an operator named (`--topics`) is `topics-selected`, not `topics`, which
 * stands for every broker's data. (Restores still find that part under `topics` in `snapshots`.)
 */
export function heldParts(set: BackupSet): string[] {
  return Object.entries(set.snapshots).map(([part, meta]) => (part === 'topics' && (meta.extra.topics as { selected?: boolean } | undefined)?.selected ? SELECTED_TOPICS : part));
}

/** The cluster's backup sets, oldest first (snapshots without a set tag are not part of any). */
export async function listBackupSets(repo: Repository, cluster: string): Promise<BackupSet[]> {
  const sets = new Map<string, BackupSet>();
  for (const s of await repo.snapshots({ cluster })) {
    const setId = tagValue(s, 'set');
    const part = tagValue(s, 'part');
    if (!setId || !part) continue;
    let set = sets.get(setId);
    if (!set) {
      const planned = (s.extra.set as { parts?: string[] } | undefined)?.parts ?? [];
      set = { setId, tier: tagValue(s, 'tier') ?? 'manual', time: s.time, parts: planned, snapshots: {}, complete: false };
      sets.set(setId, set);
    }
    set.snapshots[part] = s;
    if (s.time < set.time) set.time = s.time;
  }
  const all = [...sets.values()];
  for (const s of all) s.complete = s.parts.length > 0 && s.parts.every((p) => s.snapshots[p]);
  return all.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

export const BASELINE_PATH = 'baseline/baseline.json';

export interface Baseline {
  /** The newest records of each partition the set's log-dir copies hold (up to TAIL_RECORDS). */
  fingerprints: Fingerprints;
  /** Topics left out, and why (compacted topics change under compaction; internal ones are not data). */
  skipped: Record<string, string>;
  throughput: ThroughputResult;
}

const TAIL_RECORDS = 1000;

/** Fingerprints the tail of every partition the set's log-dir copies cover, and measures a probe. */
async function takeBaseline(spec: ClusterSpec, repo: Repository, ref: BackupSetRef, opts: PartOptions): Promise<Baseline> {
  const ends = new Map<string, { start: number; end: number }>();
  for (const part of ref.parts.filter((p) => p.startsWith('logdirs:'))) {
    const snap = await findPart(repo, spec.name, ref.setId, part);
    if (!snap) throw new LifeboatError('InvalidInput', `baseline of set ${ref.setId} needs part ${part} first`);
    for (const perHost of Object.values((snap.points.logdirs ?? {}) as Record<string, Record<string, { start: number; end: number }>>)) {
      for (const [tp, c] of Object.entries(perHost)) {
        const prev = ends.get(tp);
        ends.set(tp, { start: Math.max(prev?.start ?? 0, c.start), end: Math.max(prev?.end ?? 0, c.end) });
      }
    }
  }
  const kafka = await reachableKafka(spec, 'baseline');
  const disposable = spec.topics.disposable.map((p) => new RegExp(p));
  const skipped: Record<string, string> = {};
  const ranges: RangeMap = {};
  const topics = [...new Set([...ends.keys()].map((tp) => /^(.+)-\d+$/.exec(tp)![1]!))];
  const configs = await withAdmin(kafka, spec.name, async (admin) => {
    const live = new Set(await admin.listTopics());
    const asked = topics.filter((t) => live.has(t) && !t.startsWith('__'));
    const r = asked.length ? await admin.describeConfigs({ includeSynonyms: false, resources: asked.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })) }) : { resources: [] };
    return new Map(r.resources.map((x) => [x.resourceName, x.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue ?? 'delete']));
  });
  for (const [tp, c] of ends) {
    const [, topic, p] = /^(.+)-(\d+)$/.exec(tp)!;
    if (topic!.startsWith('__')) skipped[topic!] = 'internal';
    else if (disposable.some((r) => r.test(topic!))) skipped[topic!] = 'disposable';
    else if (!configs.has(topic!)) skipped[topic!] = 'deleted since the copy';
    else if (configs.get(topic!)!.includes('compact')) skipped[topic!] = 'compacted (its content changes by design)';
    else if (c.end > c.start) (ranges[topic!] ??= {})[p!] = { from: Math.max(c.start, c.end - TAIL_RECORDS), to: c.end };
  }
  const fingerprints = await fingerprintRanges(kafka, ranges, (topic) => opts.onProgress?.({ fingerprinting: topic }));
  return { fingerprints, skipped, throughput: await throughputProbe(kafka) };
}
