/**
 * The one-line detail a report shows for each step, made from what the step's activity returned
 * (pure: the workflows call these, so workflow code formats no sizes and parses no part names).
 * Parameters are the fields each text needs, so any result that has them fits.
 */
import { megabytes } from './report.pure';

/** choose-set: the chosen set, what it covers, how much of its data was read, how many newer sets were passed over. */
export function chosenSetDetail(c: {
  set: { setId: string; time: string; parts: string[] };
  coverage?: string;
  dataRead?: { mode: string; chunks: number; chunksRead: number; bytesRead: number; packsChecked: number };
  rejected: unknown[];
}): string {
  const read = c.dataRead;
  return (
    `set ${c.set.setId} of ${c.set.time} (${c.set.parts.length} parts${c.coverage ? `, ${c.coverage}` : ''})` +
    (read ? `; data read (${read.mode}): ${read.chunksRead} of ${read.chunks} chunks, ${megabytes(read.bytesRead)}, ${read.packsChecked} pack headers` : '') +
    (c.rejected.length ? `, ${c.rejected.length} newer set(s) passed over` : '')
  );
}

export function stopBrokersDetail(r: { wasRunning: boolean }[]): string {
  return `${r.filter((x) => x.wasRunning).length} were running`;
}

export function adoptDetail(r: { adopted: { name: string; kind: string; partitions: number }[]; problems: string[] }): string {
  const what = r.adopted.length ? `${r.adopted.length} registered again from the disks: ${r.adopted.map((a) => `${a.name} (${a.kind}, ${a.partitions} partitions)`).join(', ')}` : 'every topic on the disks is in ZooKeeper';
  return `${what}${r.problems.length ? `; ${r.problems.length} not as the set had them (see problems)` : ''}`;
}

export function zookeeperDetail(r: { created: number; updated: number; deleted: number; preRestoreSnapshot?: string }): string {
  return `${r.created} created, ${r.updated} updated, ${r.deleted} deleted${r.preRestoreSnapshot ? `; what was there kept as ${r.preRestoreSnapshot.slice(0, 12)}` : ''}`;
}

export function registryDetail(r: { services: number; created: number; awaitingReregistration: number; fallbackFiles: string[] }, fallbackDir?: string): string {
  return (
    `${r.services} services, ${r.created} nodes created; ${r.awaitingReregistration} instances wait for their services to register again` +
    (r.fallbackFiles.length ? `; static address files in ${fallbackDir}` : '')
  );
}

export function configsDetail(r: { action: 'restored' | 'unchanged' }[]): string {
  return `${r.filter((x) => x.action === 'restored').length} restored, ${r.filter((x) => x.action === 'unchanged').length} unchanged`;
}

/** restore-data: every broker's log-dir restore summed up. */
export function logDirsDetail(r: { files: number; bytes: number; movedAside: string[]; resumedFiles: number }[]): string {
  const resumed = r.reduce((n, x) => n + x.resumedFiles, 0);
  return (
    `${r.reduce((n, x) => n + x.files, 0)} files, ${megabytes(r.reduce((n, x) => n + x.bytes, 0))}; ` +
    `previous contents moved aside on ${r.filter((x) => x.movedAside.length).length} broker(s)` +
    (resumed ? `; ${resumed} files already restored by an interrupted attempt` : '')
  );
}

/** One broker's log dirs restored from a set (brokerRecovery). */
export function brokerLogDirsDetail(r: { files: number; bytes: number }, set: { setId: string; time: string }): string {
  return `${r.files} files (${megabytes(r.bytes)}) from set ${set.setId} of ${set.time}`;
}

export function topicsDetail(r: { records: number; writtenNow: number; groupsSet: number; offsetMapFile: string }): string {
  return `${r.records} records${r.writtenNow < r.records ? ` (${r.records - r.writtenNow} written by an earlier attempt)` : ''}, ${r.groupsSet} consumer groups set through the offset map ${r.offsetMapFile}`;
}

export function checksDetail(checks: { ok: boolean }[]): string {
  const bad = checks.filter((c) => !c.ok).length;
  return bad ? `${bad} checks failed` : 'all checks passed';
}

/** A backup part: what it stored, new bytes of all bytes. */
export function backupPartDetail(r: { part: string; summary: string; bytes: number; newBytes: number; reused: boolean }): string {
  return `${r.summary || r.part}: ${megabytes(r.newBytes)} new of ${megabytes(r.bytes)}${r.reused ? ' (stored by an earlier attempt)' : ''}`;
}

export function offsiteDetail(r: { copied: number; bytes: number }): string {
  return `${r.copied} snapshots copied, ${megabytes(r.bytes)} sent`;
}

export function retentionDetail(r: { primary: { keep: unknown[]; remove: unknown[]; prunedBytes: number } }): string {
  return `kept ${r.primary.keep.length} sets, removed ${r.primary.remove.length} (${megabytes(r.primary.prunedBytes)} freed)`;
}
