/**
 * Failback's shared names and shapes (pure: the workflow, the CLI and the activities import them).
 *
 * Failback brings the clients back from the standby to the repaired old primary: the records
 * written on the old primary and never mirrored (the divergent tail) go to a quarantine topic on
 * the standby, the mirror runs in reverse (standby → primary, its offsets mapped onto the primary's
 * existing log), and a migration's gated cut-over switches the clients back.
 */
import type { FenceRecord } from '../../migration/fence';
import type { MigrationStatus } from '../../migration/onlineRun.pure';

export const FAILBACK_STATUS_QUERY = 'failbackStatus';

/** Prefix of every quarantine header. */
export const ORIGINAL_HEADERS = {
  topic: 'lifeboat.original.topic',
  partition: 'lifeboat.original.partition',
  offset: 'lifeboat.original.offset',
  timestamp: 'lifeboat.original.timestamp',
} as const;

/** The quarantine topic of a primary's topic, on the standby: `lifeboat.quarantine.<primary>.<topic>`. */
export const quarantineTopic = (primary: string, topic: string): string => `lifeboat.quarantine.${primary}.${topic}`;

/** The child migration standby → primary of a failback. */
export const failbackMigrationId = (failbackId: string): string => `${failbackId}-migration`;

/** One partition's divergent tail: what the old primary holds past the mirror's position. */
export interface TailPartition {
  topic: string;
  partition: number;
  /** The mirror's position on the old primary (first offset not mirrored) … */
  from: number;
  /** … to the old primary's end (exclusive): the tail is [from, to). */
  to: number;
  /** Data records in [from, to) on the old primary (transaction markers and aborted records left out). */
  records: number;
  /** Records of [from, to) the quarantine topic holds after the export (equal to `records` when done; dry run: 0). */
  quarantined: number;
  /** Records of this run written now (a re-run after a kill writes only the rest). */
  writtenNow: number;
  /** Offsets of [from, to) that retention deleted before they could be read (never silently dropped: reported). */
  lost?: { from: number; to: number };
  quarantineTopic: string;
}

/** The reverse mirror's starting point per partition, written on the old primary (mirror state, pair standby→primary). */
export interface SeedPartition {
  topic: string;
  partition: number;
  /** First standby offset the reverse mirror copies (where the forward mirror's records end on the standby). */
  standbyFrom: number;
  /** Where those records land on the primary (its end after the divergent tail). */
  primaryFrom: number;
  /** Runs of the forward map inverted: standby offsets [0, standbyFrom) → their original primary offsets. */
  mappedRuns: number;
  action: 'seeded' | 'kept' | 'would-seed';
}

export interface FailbackCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface FailbackChecks {
  checks: FailbackCheck[];
  problems: string[];
  warnings: string[];
  /** The mirrored topics (the forward mirror's positions on the standby) and their partitions. */
  topics: { topic: string; partitions: number }[];
  /** Topics of the old primary without the write fence now. */
  unfenced: string[];
  mirrorRunning: boolean | 'unknown';
}

export type FailbackPhase = 'checks' | 'fence' | 'quarantine' | 'seed' | 'migration' | 'unfence' | 'done' | 'planned' | 'failed';

export interface FailbackStatus {
  workflowId: string;
  primary: string;
  standby: string;
  phase: FailbackPhase;
  dryRun: boolean;
  checks?: FailbackChecks;
  /** The fence on the old primary held during the failback (lifted at the end). */
  fence?: FenceRecord;
  fencedBy?: 'failover' | 'failback';
  tail?: TailPartition[];
  seed?: SeedPartition[];
  migrationWorkflowId: string;
  migration?: MigrationStatus;
  /** Whether the old primary's topics are writable again at the end. */
  primaryLeft?: 'fenced' | 'writable' | 'unknown';
  problems: string[];
}

/** Totals of the tail for a line of text. */
export function tailTotals(tail: TailPartition[]): { partitions: number; records: number; quarantined: number; lost: number } {
  return {
    partitions: tail.length,
    records: tail.reduce((n, t) => n + t.records, 0),
    quarantined: tail.reduce((n, t) => n + t.quarantined, 0),
    lost: tail.reduce((n, t) => n + (t.lost ? t.lost.to - t.lost.from : 0), 0),
  };
}

/** The tail as a table, one partition a line (the report and the CLI). */
export function renderTail(tail: TailPartition[]): string {
  if (!tail.length) return 'divergent tail: none (no mirrored partition)';
  const lines = tail.map(
    (t) =>
      `  ${`${t.topic}-${t.partition}`.padEnd(32)} [${t.from}, ${t.to})  ${String(t.records).padStart(8)} records  quarantined ${String(t.quarantined).padStart(8)}  → ${t.quarantineTopic}${t.lost ? `  LOST ${t.lost.from}..${t.lost.to - 1} (deleted by retention)` : ''}`,
  );
  const s = tailTotals(tail);
  return [`divergent tail: ${s.records} records over ${tail.filter((t) => t.records > 0).length} of ${s.partitions} partitions`, ...lines].join('\n');
}

export function renderFailbackStatus(s: FailbackStatus): string {
  const out = [`failback ${s.standby} → ${s.primary} (${s.workflowId}): ${s.phase}${s.dryRun ? ' (dry run)' : ''}`];
  if (s.checks) for (const c of s.checks.checks) out.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  if (s.fence) out.push(`fence on ${s.primary}: ${s.fence.acls.length} ACLs on ${s.fence.topics.length} topics (${s.fencedBy === 'failover' ? 'already there' : 'set by this failback'})`);
  if (s.tail) out.push(renderTail(s.tail));
  if (s.seed?.length) out.push(`reverse mirror ${s.standby} → ${s.primary}: ${s.seed.map((p) => `${p.topic}-${p.partition} ${s.standby}@${p.standbyFrom}→${s.primary}@${p.primaryFrom} (${p.action})`).join(', ')}`);
  if (s.migration) out.push(`migration ${s.migrationWorkflowId}: ${s.migration.phase}`);
  else out.push(`migration ${s.migrationWorkflowId}: ${s.dryRun ? 'not started (dry run)' : 'not started yet'}`);
  if (s.primaryLeft) out.push(`${s.primary} left ${s.primaryLeft}`);
  for (const p of s.problems) out.push(`problem: ${p}`);
  return out.join('\n');
}
