/**
 * The online migration workflow's vocabulary, pure so the workflow, the CLI and tests share it: its
 * ID, query and signal names, the status it answers, the per-group re-read/skipped arithmetic and
 * the status text `lifeboat migrate status` prints.
 */
import type { Check } from './checks';
import type { FenceRecord } from './fence';
import type { GroupMove } from './groups';
import type { HookOutcome } from './hooks';
import { type TargetWrites, writesCounted } from '../kafka/mirrorWrites.pure';

export const MIGRATION_STATUS_QUERY = 'migrationStatus';
export const MIGRATION_ROLLBACK_SIGNAL = 'rollback';

export const migrationWorkflowId = (source: string, target: string): string => `migrate-${source}-to-${target}`;

export type MigrationPhase =
  | 'starting'
  | 'prechecks'
  | 'backup'
  | 'mirroring'
  | 'planning'
  | 'planned'
  | 'awaiting-approval'
  | 'cut-over'
  | 'verifying'
  | 'done'
  | 'rolling-back'
  | 'rolled-back'
  | 'failed';

export interface MigrationRollbackInput {
  by?: string;
  reason?: string;
}

/** A group's cut-over: what the source had, what the target holds now, and the difference. */
export interface GroupOutcome {
  group: string;
  partitions: number;
  /** Records a consumer on the target would read again (target position before the exact translation), summed. */
  reRead: number;
  /** Records it would skip (target position past the exact translation), summed. */
  skipped: number;
  /** Partitions the translation could not place (must be none). */
  untranslated: number;
  /** Set when the group was active on the source and skipped by choice (activeGroups: 'skip'). */
  skippedActive?: boolean;
}

export interface MigrationStatus {
  workflowId: string;
  source: string;
  target: string;
  phase: MigrationPhase;
  /** Past it (the run ended "done") a rollback is refused. */
  pointOfNoReturn: boolean;
  mirrorWorkflowId: string;
  topics: { topic: string; partitions: number; records: number; bytes: number }[];
  groups: string[];
  /** The mirror's lag while catching up (records), from its durable state. */
  lagRecords?: number;
  /** The fence as planned (dry run) and as made. */
  fencePlan?: FenceRecord;
  fence?: FenceRecord;
  /** The source's state now: writable, fenced (read-only on the migrated topics) or unknown (an unfence failed). */
  sourceLeft: 'writable' | 'fenced' | 'unknown';
  moves?: GroupMove[];
  groupOutcomes?: GroupOutcome[];
  hookPlan?: HookOutcome[];
  hooks?: HookOutcome[];
  /** Fence → hooks done: writes to the migrated topics were refused this long (ms). */
  writeUnavailableMs?: number;
  /** Approval → verified (ms). */
  cutOverMs?: number;
  windowStartedAt?: string;
  windowEndedAt?: string;
  /** When the target's own write fence (input.targetFence, a failback's) was lifted, just before the hooks. */
  targetFenceLiftedAt?: string;
  /** That fence's state: lifted (or being lifted), put back by a rollback, or unknown (its put-back failed). */
  targetFenceLeft?: 'lifted' | 'fenced' | 'unknown';
  /** Why it stopped short (a failed step, a rejection, a rollback signal): type and one line. */
  cause?: { type: string; message: string };
  rollback?: { by: string; reason: string; putBack: string[]; notPutBack: string[] };
  checks?: Check[];
  prechecks?: Check[];
  /** What the pre-checks found that an operator should know but may accept. */
  warnings?: string[];
}

/** Per group: re-read and skipped records of the target's positions against the exact translation. */
export function groupOutcomes(moves: GroupMove[], held: GroupMove[], skippedActive: string[] = []): GroupOutcome[] {
  const heldBy = new Map(held.map((g) => [g.group, g]));
  const out: GroupOutcome[] = moves.map((m) => {
    const h = heldBy.get(m.group);
    let reRead = 0;
    let skipped = 0;
    for (const p of m.partitions) {
      const now = h?.partitions.find((x) => x.topic === p.topic && x.partition === p.partition)?.targetOffset;
      if (now === undefined) continue;
      if (now < p.targetOffset) reRead += p.targetOffset - now;
      if (now > p.targetOffset) skipped += now - p.targetOffset;
    }
    return { group: m.group, partitions: m.partitions.length, reRead, skipped, untranslated: m.untranslated.length };
  });
  for (const g of skippedActive) out.push({ group: g, partitions: 0, reRead: 0, skipped: 0, untranslated: 0, skippedActive: true });
  return out;
}

const ms = (v: number | undefined) => (v === undefined ? '–' : v < 1000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`);

/** The status for people: phase, source state, window, groups, hooks, rollback. */
export function renderMigrationStatus(s: MigrationStatus): string {
  const lines = [
    `${s.workflowId}: ${s.phase}, ${s.source} → ${s.target}${s.pointOfNoReturn ? ' (past the point of no return)' : ''}`,
    `source ${s.source}: ${s.sourceLeft === 'fenced' ? 'FENCED (writes refused on the migrated topics)' : s.sourceLeft === 'writable' ? 'writable' : 'UNKNOWN (see the problems)'}`,
    `topics: ${s.topics.length ? s.topics.map((t) => `${t.topic} (${t.partitions} partitions)`).join(', ') : '–'}`,
  ];
  for (const w of s.warnings ?? []) lines.push(`warning: ${w}`);
  if (s.lagRecords !== undefined) lines.push(`mirror ${s.mirrorWorkflowId}: lag ${s.lagRecords} records`);
  if (s.writeUnavailableMs !== undefined) lines.push(`write-unavailability window: ${ms(s.writeUnavailableMs)}${s.cutOverMs !== undefined ? `; cut-over ${ms(s.cutOverMs)}` : ''}`);
  for (const g of s.groupOutcomes ?? []) {
    lines.push(g.skippedActive ? `group ${g.group}: SKIPPED (active on the source)` : `group ${g.group}: ${g.partitions} partitions, re-read ${g.reRead}, skipped ${g.skipped}${g.untranslated ? `, ${g.untranslated} UNTRANSLATED` : ''}`);
  }
  for (const h of s.hooks ?? s.hookPlan ?? []) lines.push(`hook #${h.index + 1} ${h.type}${h.dryRun ? ' (dry run)' : ''}: ${h.ok ? 'ok' : 'FAILED'} — ${h.description}${h.detail ? `: ${h.detail}` : ''}`);
  if (s.cause) lines.push(`stopped: ${s.cause.message}`);
  if (s.rollback) {
    lines.push(`rolled back (${s.rollback.by}: ${s.rollback.reason})`);
    for (const p of s.rollback.putBack) lines.push(`  put back: ${p}`);
    for (const p of s.rollback.notPutBack) lines.push(`  NOT PUT BACK: ${p}`);
  }
  return lines.join('\n');
}

/** A rollback's line for records clients wrote to the target after they switched: on the target only. */
export function targetWritesLine(source: string, target: string, s: readonly TargetWrites[]): string | undefined {
  if (!s.length) return undefined;
  return `${writesCounted(target, 'after the clients switched', s)} are on ${target} only (counted by offset: transaction markers count too): the rollback switched the clients back to ${source} without them — copy them to ${source} (a mirror ${target} → ${source} of those topics) or run the migration again; clients slow to switch back may add more`;
}
