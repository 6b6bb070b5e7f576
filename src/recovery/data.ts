/**
 * A broker's data in a recovery from log-dir copies: the (stopped) broker's log dirs put back from
 * the set, resumable after a killed worker. The logical path (topics, record by record) is logical.ts.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import { restoreLogDirs } from '../host/logdirs';
import { withRepo } from './repo';

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
