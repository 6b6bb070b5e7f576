/**
 * A full datacenter-lost drill (issue 16): every broker of the target killed, the `failover` child
 * moves the service to the spec's standby, the drill measures the STANDBY, and the review undoes the
 * failover so the target is left as found. The pure part:
 *
 *  - the mirror the failover needs (its decision tree fails over only onto a standby with a mirror's
 *    fresh positions, src/failover/decide.pure.ts): a running mirror primary → standby whose
 *    selection takes the drill's write-stream topic is used as it is; with none running, the drill
 *    starts one of its own (the stream topic only, 1-second rounds) and stops it after; a running
 *    mirror whose selection does not take the topic cannot be used nor a second one started (one
 *    run per pair): the drill is refused in one line before anything is touched;
 *  - the failover's policy in a drill: no repair in place (the drill is of the data centre lost),
 *    and an escalation for people bounded: nobody approving it within the bound stands the failover
 *    down and fails the drill with a problem that says so;
 *  - what the review must undo, from what the failover reported and what prepare saw.
 *
 * Pure: no Node APIs, no clock; the workflow and unit tests share it.
 */
import type { ClusterSpec } from '../config/spec';
import type { FailoverPolicy } from '../failover/types';
import type { Acl } from '../kafka/acls';
import type { MirrorSelection } from '../kafka/mirror/plan';
import { type TargetWrites, writesCounted } from '../kafka/mirrorWrites.pure';

/** How long the drill's failover waits for people when it escalates (their approval never comes in a drill). */
export const DRILL_ESCALATION_MINUTES = 2;
/** The mirror the drill starts: 1-second rounds, so positions are fresh and the stream's tail is copied within about a second. */
export const DRILL_MIRROR_ROUND_SECONDS = 1;
/** How long prepare waits for the mirror to hold every partition of the stream topic. */
export const DRILL_MIRROR_READY_MS = 90_000;

/** The mirror primary → standby as prepare found it (Temporal: the pair's workflow, its input). */
export interface DrillMirrorObservation {
  workflowId: string;
  running: boolean;
  /** The running run's input (the selection it copies), when it runs. */
  input?: { selection?: MirrorSelection; [k: string]: unknown };
}

export type DrillMirrorDecision =
  | { use: 'running'; workflowId: string; note: string }
  | { use: 'start'; workflowId: string; selection: MirrorSelection; roundSeconds: number; shards: number; note: string }
  | { refuse: string };

/** Whether a mirror selection takes the topic (the mirror's own rule: names, or the pattern anchored at both ends). */
export function selectionTakes(sel: MirrorSelection | undefined, topic: string): boolean {
  if (!sel) return false;
  if (sel.topics?.includes(topic)) return true;
  if (sel.pattern === undefined) return false;
  try {
    return new RegExp(`^(?:${sel.pattern})$`).test(topic);
  } catch {
    return false;
  }
}

/** The mirror a full datacenter-lost drill fails over with, or the one line that refuses the drill. */
export function drillMirrorDecision(primary: ClusterSpec, standby: string, streamTopic: string, mirror: DrillMirrorObservation): DrillMirrorDecision {
  if (!mirror.running) {
    return {
      use: 'start',
      workflowId: mirror.workflowId,
      // A pattern, not the name: the mirror refuses a named topic the source does not have yet, and the stream creates it in prepare.
      selection: { pattern: escapeRegExp(streamTopic) },
      roundSeconds: DRILL_MIRROR_ROUND_SECONDS,
      shards: 1,
      note: `no mirror ${primary.name} → ${standby} runs: the drill starts ${mirror.workflowId} for its stream topic ${streamTopic} (${DRILL_MIRROR_ROUND_SECONDS}-second rounds) and stops it in the review`,
    };
  }
  const sel = mirror.input?.selection;
  if (selectionTakes(sel, streamTopic)) {
    return { use: 'running', workflowId: mirror.workflowId, note: `the running mirror ${mirror.workflowId} takes the stream topic ${streamTopic} (${selectionText(sel)}): the failover stops it, the review starts it again with the same input` };
  }
  return {
    refuse: `a full datacenter-lost drill of ${primary.name} needs the mirror to ${standby} to copy its write stream ${streamTopic}, but ${mirror.workflowId} runs with a selection that does not take it (${selectionText(sel)}) and a second mirror of the pair cannot run: give that mirror a pattern that takes drill-.* topics, stop it for the drill, or run the drill as tabletop or partial`,
  };
}

/** The topic as a regular expression that matches only itself. */
export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const selectionText = (sel: MirrorSelection | undefined): string =>
  !sel ? 'no selection' : [sel.topics?.length ? `topics ${sel.topics.slice(0, 5).join(', ')}${sel.topics.length > 5 ? ', …' : ''}` : '', sel.pattern !== undefined ? `pattern ${sel.pattern}` : ''].filter(Boolean).join(', ') || 'nothing selected';

/** Why an escalation bound cannot be used (a drill refuses it before anything is touched), or undefined. */
export function escalationProblem(minutes: number): string | undefined {
  return Number.isFinite(minutes) && minutes > 0 && minutes <= 60 ? undefined : `escalationMinutes: expected minutes above 0 and at most 60 (how long the drill's failover waits for people before it stands down), got ${JSON.stringify(minutes)}`;
}

/** The failover child's policy overrides in a drill. */
export function drillFailoverPolicy(escalationMinutes = DRILL_ESCALATION_MINUTES): Partial<FailoverPolicy> {
  return { repairBudgetMinutes: 0, approvalTimeoutMinutes: escalationMinutes, onApprovalTimeout: 'stand-down' };
}

/** What the failover child reported that the drill needs (a slice of FailoverStatus). */
export interface FailoverOutcomeSlice {
  outcome?: string;
  reason?: string;
  escalated?: boolean;
  pointOfNoReturn: boolean;
}

/**
 * Why the drill fails after its failover child, or undefined when the service moved to the standby.
 * An escalation nobody answered within the bound is named as such (people were needed).
 */
export function failoverDrillFailure(s: FailoverOutcomeSlice, standby: string, escalationMinutes = DRILL_ESCALATION_MINUTES): string | undefined {
  if (s.outcome === 'failed over') return undefined;
  if (s.escalated) return `the failover escalated to people and nobody approved it within the drill's bound (${escalationMinutes} min): it stood down, the service never moved to ${standby} (${s.reason ?? 'no reason given'})`;
  return `the failover did not move the service to ${standby}: ${s.outcome ?? 'no outcome'}${s.reason ? ` (${s.reason})` : ''}`;
}

/** The standby's write fences (fence-shaped topic ACLs) that are gone: the ones a failover lifted, for the review to put back. */
export function fencesToRestore(before: readonly Acl[], now: readonly Acl[]): Acl[] {
  const key = (a: Acl) => `${a.resourceType} ${a.patternType} ${a.resourceName} ${a.principal} ${a.host} ${a.operation} ${a.permission}`;
  const present = new Set(now.map(key));
  return before.filter((a) => !present.has(key(a)));
}

/** The review's P1 when clients wrote to the standby while it had the service: those records are there only. */
export function strandedProblem(primary: string, standby: string, s: readonly TargetWrites[]): string | undefined {
  if (s.length === 0) return undefined;
  return `${writesCounted(standby, 'while it had the service', s)} are on ${standby} only: the review switched the clients back to ${primary} without them; copy them back with lifeboat failback (it quarantines ${primary}'s own tail first) before the mirror ${primary} → ${standby} runs again`;
}
