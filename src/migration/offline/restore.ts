/**
 * The target side of an offline migration, on a target broker's host: partition directories from
 * the source brokers' log-dir copies (in the source's repository) put into the stopped target
 * broker's log dirs beside its own partitions, which are never touched.
 *
 * - meta.properties stays the target's (broker.id, cluster.id of the target); a log dir without
 *   one gets it written, so the broker starts as itself and not as the source broker the data came from.
 * - The copied partitions' entries of the source broker's checkpoint files (recovery point, high
 *   watermark, log start offset) are merged into the target log dir's files; cleaner offsets are not
 *   (a missing entry means "clean from the start"), so the target keeps its own for its partitions.
 * - Resumable: a marker beside the first log dir lists the partition directories this migration
 *   created; a killed attempt continues them (files already there whole are skipped). A partition
 *   directory that exists and is not on that list is the target's own: UnsafeTarget, nothing written.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterSpec } from '../../config/spec';
import { LifeboatError } from '../../errors';
import { brokerControlFor } from '../../host/brokerControl';
import { type EntryToRestore, parseProperties, registeredInZookeeper, restoreEntries } from '../../host/logdirs';
import { checkEntryPath } from '../../repository/repo';
import type { SnapshotReader } from '../../repository/types';
import { withRepo } from '../../recovery/repo';
import { partitionDir } from './plan.pure';

export interface PartitionCopy {
  topic: string;
  partition: number;
  /** The source broker whose copy is used (highest log end), its set snapshot and host. */
  fromBroker: number;
  snapshotId: string;
  fromHost: string;
  /** The source log dir index the partition lives in. */
  dir: number;
  /** Log end of that copy (what the target must serve after the start). */
  end: number;
}

export interface TargetRestoreResult {
  brokerId: number;
  partitions: number;
  files: number;
  bytes: number;
  /** Files an interrupted attempt had already put in place. */
  resumedFiles: number;
  /** meta.properties files written (log dirs that had none). */
  metaWritten: number;
}

const CHECKPOINTS = ['recovery-point-offset-checkpoint', 'replication-offset-checkpoint', 'log-start-offset-checkpoint'] as const;

interface Marker {
  migration: string;
  started: string[];
}

const markerOf = (logDir: string) => `${logDir.replace(/\/+$/, '')}.lifeboat-migration.json`;

async function writeAtomic(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

/** Kafka's offset checkpoint file: version 0, a count, then "topic partition offset" lines. */
export function parseCheckpoint(text: string): Map<string, string> {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const out = new Map<string, string>();
  for (const l of lines.slice(2)) {
    const [topic, partition, offset] = l.split(/\s+/);
    if (topic && partition && offset) out.set(`${topic} ${partition}`, offset);
  }
  return out;
}

export const formatCheckpoint = (entries: Map<string, string>): string => `0\n${entries.size}\n${[...entries].map(([k, v]) => `${k} ${v}\n`).join('')}`;

export async function restoreMigratedPartitions(
  source: ClusterSpec,
  target: ClusterSpec,
  brokerId: number,
  migration: { id: string; targetClusterId: string; copies: PartitionCopy[] },
  opts: { signal?: AbortSignal; onProgress?: (p: { files: number; bytes: number; partitions: number }) => void } = {},
): Promise<TargetRestoreResult> {
  const b = target.brokers.find((x) => x.id === brokerId);
  if (!b) throw new LifeboatError('InvalidInput', `the target spec ${target.name} has no broker ${brokerId}`);
  const control = brokerControlFor(target, brokerId);
  if ((await control.status()) === 'running' || (await registeredInZookeeper(target, brokerId))) {
    throw new LifeboatError('UnsafeTarget', `broker ${brokerId} of ${target.name} is running (${control.describe}): stop it before partitions are put into its log dirs`);
  }
  const result: TargetRestoreResult = { brokerId, partitions: 0, files: 0, bytes: 0, resumedFiles: 0, metaWritten: 0 };

  // meta.properties: the target's identity, never the source's.
  for (const dir of b.logDirs) {
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'meta.properties');
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) {
      await writeAtomic(file, `version=0\nbroker.id=${brokerId}\ncluster.id=${migration.targetClusterId}\n`);
      result.metaWritten++;
      continue;
    }
    const meta = parseProperties(text);
    if (meta['cluster.id'] && meta['cluster.id'] !== migration.targetClusterId) {
      throw new LifeboatError('ClusterIdMismatch', `${file} says cluster.id ${meta['cluster.id']}, ZooKeeper of ${target.name} ${migration.targetClusterId}: this log dir is not ${target.name}'s`);
    }
    if (meta['broker.id'] !== undefined && meta['broker.id'] !== String(brokerId)) {
      throw new LifeboatError('InvalidSpec', `${file} belongs to broker ${meta['broker.id']}, not broker ${brokerId} of ${target.name}: check the target spec's logDirs`);
    }
  }

  const markerFile = markerOf(b.logDirs[0]!);
  const previous = await readFile(markerFile, 'utf8').then((t) => JSON.parse(t) as Marker, () => undefined).catch(() => undefined);
  const marker: Marker = previous?.migration === migration.id ? previous : { migration: migration.id, started: [] };
  const destDir = (c: PartitionCopy) => b.logDirs[Math.min(c.dir, b.logDirs.length - 1)]!;

  // Every partition's place checked before anything is written.
  for (const c of migration.copies) {
    const name = partitionDir(c.topic, c.partition);
    const there = await stat(join(destDir(c), name)).then(() => true, () => false);
    if (there && !marker.started.includes(name)) {
      throw new LifeboatError('UnsafeTarget', `${join(destDir(c), name)} already exists on broker ${brokerId} of ${target.name} and is not this migration's: the target's own data is never overwritten`);
    }
  }
  marker.started = [...new Set([...marker.started, ...migration.copies.map((c) => partitionDir(c.topic, c.partition))])];
  await writeAtomic(markerFile, JSON.stringify(marker));

  // Checkpoint entries per target log dir, gathered from the copies' source checkpoint files.
  const merged = new Map<string, Map<string, Map<string, string>>>();
  const bySnapshot = new Map<string, PartitionCopy[]>();
  for (const c of migration.copies) bySnapshot.set(c.snapshotId, [...(bySnapshot.get(c.snapshotId) ?? []), c]);
  await withRepo(source, async (repo) => {
    for (const [snapshotId, copies] of bySnapshot) {
      const reader: SnapshotReader = await repo.openSnapshot(snapshotId);
      const files: EntryToRestore[] = [];
      const sourceCheckpoints = new Map<string, Map<string, string>>();
      for (const c of copies) {
        const name = partitionDir(c.topic, c.partition);
        const prefix = `logdirs/${c.fromHost}/${c.dir}/`;
        for (const e of reader.list(`${prefix}${name}`)) {
          if (e.type !== 'file' || !e.path.startsWith(`${prefix}${name}/`)) continue;
          files.push({ e, dest: join(destDir(c), ...checkEntryPath(e.path.slice(prefix.length)).split('/')) });
        }
        for (const cp of CHECKPOINTS) {
          const key = `${prefix}${cp}`;
          if (!sourceCheckpoints.has(key)) sourceCheckpoints.set(key, reader.exists(key) ? parseCheckpoint((await reader.readBuffer(key)).toString()) : new Map());
          const value = sourceCheckpoints.get(key)!.get(`${c.topic} ${c.partition}`);
          if (value === undefined) continue;
          const perDir = merged.get(destDir(c)) ?? new Map<string, Map<string, string>>();
          merged.set(destDir(c), perDir);
          const entries = perDir.get(cp) ?? new Map<string, string>();
          perDir.set(cp, entries);
          entries.set(`${c.topic} ${c.partition}`, value);
        }
      }
      const base = { files: result.files, bytes: result.bytes };
      const r = await restoreEntries(reader, files, {
        resume: true,
        signal: opts.signal,
        onProgress: (p) => opts.onProgress?.({ files: base.files + p.files, bytes: base.bytes + p.bytes, partitions: result.partitions }),
      });
      result.files += r.files;
      result.bytes += r.bytes;
      result.resumedFiles += r.resumedFiles;
      result.partitions += copies.length;
    }
  });

  for (const [dir, perDir] of merged) {
    for (const [cp, entries] of perDir) {
      const file = join(dir, cp);
      const current = parseCheckpoint(await readFile(file, 'utf8').catch(() => ''));
      for (const [k, v] of entries) current.set(k, v);
      await writeAtomic(file, formatCheckpoint(current));
    }
  }
  return result;
}
