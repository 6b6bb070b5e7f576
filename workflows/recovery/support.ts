/**
 * What the recovery workflows share: their activity options (control queue, and each broker's
 * host queue for its disks), the checks of an input before anything runs, the backup set a child
 * restores (handed down by its parent, or chosen by id when it runs alone), and the failure type
 * inside a child's or an activity's failure.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { LifeboatActivities } from '../../activities';
import { requirementOf } from '../../src/backup/coverage.pure';
import type { BackupSet } from '../../src/backup/parts';
import { invalidParts } from '../../src/backup/plan.pure';
import { fromTierDetail, fromTierProblem } from '../../src/backup/tiers.pure';
import type { ClusterSpec } from '../../src/config/spec';
import type { ChosenSet } from '../../src/recovery/choose';
import { recoverySteps } from '../../src/recovery/plan.pure';
import { chosenSetDetail } from '../../src/report/details.pure';
import { hostTaskQueue } from '../../src/temporal/taskQueues.pure';
import type { RunTracker } from '../support/tracker';

export type Chosen = ChosenSet;

const RETRY = { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 };
const HOST_RETRY = { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 };

/** Cluster-wide steps on the control queue. */
export const control = proxyActivities<LifeboatActivities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '20 seconds', retry: RETRY });

/**
 * "Is it up?" reads (health, the produce/consume probe) in a verify: bounded, two attempts, and the
 * caller turns a failure into a failed check. On the control options a probe that cannot read back
 * (60 s each) was retried ten times: a drill whose target never served again sat in verify 8+ minutes.
 */
export const upCheck = proxyActivities<LifeboatActivities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '20 seconds', retry: { initialInterval: '2 seconds', maximumAttempts: 2 } });
/** How long a verify's probe waits to read its records back (its two attempts stay under two minutes). */
export const VERIFY_PROBE_TIMEOUT_MS = 45_000;

/** Long steps: reading all of a large set, restoring a host's log dirs. */
export const LONG = { startToCloseTimeout: '4 hours', heartbeatTimeout: '20 seconds', retry: HOST_RETRY };

/** Options of an activity that runs on a broker's host (its files, its process). */
export const onHost = (host: string, startToCloseTimeout = LONG.startToCloseTimeout) => ({ ...LONG, startToCloseTimeout, taskQueue: hostTaskQueue(host) });

/** Gate and plan options every recovery workflow takes. */
export interface RunOptions {
  /** Return the plan without touching anything. */
  dryRun?: boolean;
  /** Skip the approval gate before the destructive steps (a parent that asked already passes true). */
  autoApprove?: boolean;
  approvalTimeoutMinutes?: number;
}

/** The backup set a child restores: the set itself (from a parent), or its id (run alone: chosen and verified first). */
export interface SetRef {
  set?: BackupSet;
  setId?: string;
}

/** A spec that a recovery can work on, and parts it can restore; else one non-retryable failure. */
export function checkRecoverable(spec: ClusterSpec, parts: string[] | undefined): void {
  if (spec.brokers.length === 0) throw ApplicationFailure.nonRetryable(`cluster spec ${spec.name} lists no brokers`, 'InvalidSpec');
  if (!spec.repository) throw ApplicationFailure.nonRetryable(`cluster spec ${spec.name} has no repository section`, 'InvalidSpec');
  const bad = parts?.length ? invalidParts(spec, parts) : [];
  if (bad.length) throw ApplicationFailure.nonRetryable(`parts that cannot be restored for ${spec.name}: ${bad.join(', ')}`, 'InvalidInput');
}

/** The choose-set step when a child runs alone with a set id (its plan then starts with it). */
export const chooseStepIfNeeded = (ref: SetRef, parts?: string[]) => (ref.set ? [] : ref.setId ? [recoverySteps.choose(parts)] : []);

/** A set as a child restores it; `readFrom`: the repository tier it was chosen in, when not the primary. */
export type SetToRestore = BackupSet & { readFrom?: string };

/**
 * The set of `ref`: as handed down, or chosen by id (verified, its data sampled) as the choose-set
 * step — in a tier after the primary when the primary cannot give it (the fallback chain; the
 * child then reads it there: specReadingFrom(spec, set.readFrom)).
 */
export async function setOf(t: RunTracker, spec: ClusterSpec, ref: SetRef, parts?: string[]): Promise<SetToRestore | undefined> {
  if (ref.set) return ref.set;
  if (!ref.setId) return undefined;
  const chosen = await t.step('choose-set', () => control.chooseBackupSetActivity({ spec, setId: ref.setId, require: requirementOf(parts) }), (c) => chosenSetDetail(c) + fromTierDetail(c));
  if (!chosen.fromTier) return chosen.set;
  t.problem(fromTierProblem(chosen.set.setId, chosen.fromTier));
  return { ...chosen.set, readFrom: chosen.fromTier.tier };
}

/** The set of `ref`, which this workflow cannot do without. */
export async function requiredSet(t: RunTracker, spec: ClusterSpec, ref: SetRef, parts?: string[]): Promise<SetToRestore> {
  const set = await setOf(t, spec, ref, parts);
  if (!set) throw ApplicationFailure.nonRetryable(`${t.kind} needs a backup set: give "setId" (or "set" from chooseBackupSetActivity)`, 'InvalidInput');
  return set;
}

/** The Lifeboat failure type inside a failure (child workflow → activity → application failure), and its message. */
export function failureOf(e: unknown): { type?: string; message: string } {
  let type: string | undefined;
  let message = e instanceof Error ? e.message : String(e);
  for (let c = e as { cause?: unknown; type?: unknown; message?: string } | undefined; c; c = c.cause as typeof c) {
    if (c instanceof ApplicationFailure && typeof c.type === 'string') type ??= c.type;
    if (c.message) message = c.message;
  }
  return { type, message };
}
