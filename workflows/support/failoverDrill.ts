/**
 * The drill workflow's part of a full datacenter-lost drill (issue 16; the plan in
 * src/drills/failoverDrill.pure.ts): workflow code, deterministic.
 *
 *   check    the standby resolved; the mirror primary → standby observed: a running one whose
 *            selection takes the stream topic is used, with none running the drill starts its own,
 *            else one InvalidInput line before anything is touched
 *   prepare  the drill's mirror started (a child: the stream topic only, 1-second rounds); what the
 *            review puts back read (the standby's write fences, `<chroot>/lifeboat` on the primary);
 *            once the stream topic exists, the mirror holds every partition of it
 *   execute  the failover child's input: the standby, no repair in place, an escalation bounded
 *            (drillFailoverPolicy); its outcome: the service moved to the standby, or why the drill fails
 *   measure  the probe loop, verifyCluster and the read-back look at the standby, and a probe counts
 *            only after the failover moved the service there (the standby serves all along)
 *   undo     (review, after the brokers are started again) the drill's mirror stopped; the primary's
 *            fence lifted, the standby's lifted fences put back, `<chroot>/lifeboat` removed if the
 *            fence made it
 *   cleanup  (review, after the stream topic is dropped on the primary) the stream's copy on the
 *            standby dropped with the mirror's positions of it; a mirror that ran before the drill and
 *            that the failover stopped is started again with its own input
 */
import { ApplicationFailure, type ChildWorkflowHandle, condition, ParentClosePolicy, patched, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { LifeboatActivities } from '../../activities';
import type { ClusterSpec } from '../../src/config/spec';
import { DRILL_ESCALATION_MINUTES, DRILL_MIRROR_READY_MS, type DrillMirrorDecision, drillFailoverPolicy, drillMirrorDecision, escalationProblem, failoverDrillFailure, strandedProblem } from '../../src/drills/failoverDrill.pure';
import type { Acl } from '../../src/kafka/acls';
import { mirrorPair, mirrorWorkflowId } from '../../src/kafka/mirrorRun.pure';
import type { SpecRef } from '../../src/report/report.pure';
import type { FailoverResult, FailoverStatus } from '../failover';
import { mirror, type MirrorInput, mirrorStopSignal } from '../mirror';
import { failureOf } from '../recovery/support';
import { standbyRefusal } from '../../src/drills/plan.pure';
import { resolveCluster } from './cluster';

/** A standby marked production refused without the flag (patch: drills started before did not look). */
const STANDBY_REFUSAL_PATCH = 'drill-standby-refusal';
const reads = proxyActivities<LifeboatActivities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 } });
/** The wait for the mirror: its own timeout is final (a killed worker's attempt is retried). */
const waits = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: `${DRILL_MIRROR_READY_MS + 60_000} milliseconds`,
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 2, nonRetryableErrorTypes: ['Unreachable', 'UnsafeTarget'] },
});
const undos = proxyActivities<LifeboatActivities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '30 seconds', retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 10 } });

/** The review's status read of a failover child that gave no result (added while drills may be open: versioned). */
const FAILOVER_ENDED_STATUS_PATCH = 'drill-failover-ended-status';
/** Drills open before the promotion hold existed replay without its release. */
const PROMOTION_RELEASE_PATCH = 'drill-promotion-release';

/** How long the review waits for the drill's own mirror to end after its stop signal. */
const MIRROR_STOP_WAIT_MS = 60_000;

export class FailoverDrill {
  standby!: ClusterSpec;
  private standbySource?: SpecRef;
  private decision!: Exclude<DrillMirrorDecision, { refuse: string }>;
  /** The running mirror's input, when the drill uses one that ran before it. */
  private runningInput?: MirrorInput;
  private ownMirror?: ChildWorkflowHandle<typeof mirror>;
  private ownMirrorEnded = false;
  private before?: { standbyFences: Acl[]; lifeboatZnode?: boolean; fenceMarker?: boolean; standbyEnds?: Record<string, number> };
  /** What the failover child said of itself: its result's status, or (it ended without one) its status query's last answer. */
  status?: FailoverStatus;
  /** When the failover child returned having moved the service to the standby. */
  movedAt?: string;
  /** Why the drill fails after its failover child (it did not move the service). */
  failure?: string;
  /** Why the status of a failover that ended without its result could not be read. */
  private statusUnread?: string;
  /** The failover child's workflow id, once started. */
  private childId?: string;
  /** A failover that ended without its result had run (or was running) client-switch hooks. */
  private clientsMayHaveMoved = false;

  constructor(
    private readonly primary: ClusterSpec,
    private readonly topic: string,
    private readonly note: (line: string) => void,
    /** How long the failover waits for people when it escalates (then it stands down and the drill fails). */
    private readonly escalationMinutes = DRILL_ESCALATION_MINUTES,
    /** The drill's flag: it allows a standby marked production too. */
    private readonly iKnowThisIsProduction = false,
  ) {}

  get mirrorId(): string {
    return mirrorWorkflowId(this.primary.name, this.standby.name);
  }

  /** The standby and the mirror; throws the drill's one-line refusal (InvalidInput) when no mirror can take the stream. Touches nothing (prepare notes the decision). */
  async check(): Promise<void> {
    const bound = escalationProblem(this.escalationMinutes);
    if (bound) throw ApplicationFailure.nonRetryable(bound, 'InvalidInput');
    const s = await resolveCluster({ cluster: this.primary.standby! });
    this.standby = s.spec;
    this.standbySource = s.source;
    // Drills started before it did not look at the standby's environment (replayed so).
    const refusal = standbyRefusal(this.primary, this.standby, this.iKnowThisIsProduction);
    if (refusal && patched(STANDBY_REFUSAL_PATCH)) throw ApplicationFailure.nonRetryable(refusal, 'InvalidInput');
    const obs = await reads.drillMirrorObserveActivity({ workflowId: mirrorWorkflowId(this.primary.name, this.standby.name) });
    const d = drillMirrorDecision(this.primary, this.standby.name, this.topic, obs);
    if ('refuse' in d) throw ApplicationFailure.nonRetryable(d.refuse, 'InvalidInput');
    this.decision = d;
    if (d.use === 'running') this.runningInput = obs.input as unknown as MirrorInput;
  }

  /** Prepare, before the stream: what the review puts back, and the drill's own mirror started (it picks the stream topic up when it appears). */
  async prepare(): Promise<void> {
    this.note(this.decision.note);
    this.before = await reads.drillFailoverBeforeActivity({ primary: this.primary, standby: this.standby });
    this.note(`before the failover: ${this.before.standbyFences.length} write-fence ACLs on ${this.standby.name}; ${this.primary.name}'s /lifeboat znode ${this.before.lifeboatZnode === undefined ? 'not applicable' : this.before.lifeboatZnode ? 'present' : 'absent'}`);
    if (this.decision.use !== 'start') return;
    const d = this.decision;
    this.ownMirror = await startChild(mirror, {
      workflowId: d.workflowId,
      args: [{ source: { spec: this.primary }, target: { spec: this.standby, ...(this.standbySource ? { specSource: this.standbySource } : {}) }, selection: d.selection, shards: d.shards, roundSeconds: d.roundSeconds }],
    });
    this.ownMirror.result().then(
      () => (this.ownMirrorEnded = true),
      () => (this.ownMirrorEnded = true),
    );
    this.note(`mirror ${d.workflowId} started for ${this.topic}`);
  }

  /** Prepare, beside the stream and the backup: the mirror holds every partition of the stream topic (the failover's usable data). */
  async awaitMirror(): Promise<void> {
    const r = await waits.drillMirrorHoldsActivity({ primary: this.primary, workflowId: this.decision.workflowId, topic: this.topic, timeoutMs: DRILL_MIRROR_READY_MS });
    this.note(`mirror ${this.decision.workflowId} holds the ${r.partitions} partitions of ${this.topic} (round ${r.rounds}, lag ${r.lagRecords} records)`);
  }

  /** The failover child is being started under this id (the review asks it for its status if it ends without a result). */
  starting(workflowId: string): void {
    this.childId = workflowId;
  }

  /** The failover child's input. */
  failoverInput(dryRun: boolean) {
    return { primary: { spec: this.primary }, standby: { spec: this.standby, ...(this.standbySource ? { specSource: this.standbySource } : {}) }, autoApprove: true, dryRun, policy: drillFailoverPolicy(this.escalationMinutes) };
  }

  /** The failover child's result: undefined when the service moved to the standby, else why the drill fails. */
  took(r: FailoverResult, at: string): string | undefined {
    this.status = r.status;
    const why = failoverDrillFailure({ outcome: r.status.outcome, reason: r.status.reason, escalated: r.status.decision?.action === 'escalate', pointOfNoReturn: r.status.pointOfNoReturn }, this.standby.name, this.escalationMinutes);
    if (!why) this.movedAt = at;
    this.failure = why;
    return why;
  }

  /**
   * The failover child ended without returning its result (terminated, timed out, its workflow failed,
   * or the drill was stopped while it ran; the drill fails as with any failed recovery child): what it did before (the hooks it ran, the fence it made) read from its status query, so the review
   * undoes that too. Never throws: a status that cannot be read is said, and the fence's marker remains.
   */
  private async ended(workflowId: string): Promise<void> {
    try {
      const s = await reads.drillFailoverStatusActivity({ workflowId });
      if (!s) {
        this.note(`the failover ${workflowId} is not known to Temporal: what it did is unknown beyond the fence's marker`);
        return;
      }
      this.status = s;
      const pending = s.hookPending !== undefined && !(s.hooks ?? []).some((h) => h.index === s.hookPending) ? `, client-switch hook #${s.hookPending + 1} without an outcome` : '';
      // Clients may have moved to the standby (a hook ran or may have): what they wrote there is looked for, as after a failover that returned.
      this.clientsMayHaveMoved = !!pending || (s.hooks ?? []).some((h) => !h.dryRun && h.changed !== false);
      this.note(`the failover ${workflowId} last said: phase ${s.phase}, ${s.pointOfNoReturn ? 'past' : 'before'} its point of no return, fence ${s.fence?.fenced ? 'made' : 'none'}, ${(s.hooks ?? []).length} client-switch hooks ran${pending}`);
    } catch (e) {
      this.note(`the failover ${workflowId}'s status could not be read: ${failureOf(e).message}`);
      this.statusUnread = failureOf(e).message;
    }
  }

  /** A probe of the standby counts once the service moved there. */
  counts(probeAt: string): boolean {
    return this.movedAt !== undefined && Date.parse(probeAt) >= Date.parse(this.movedAt);
  }

  /**
   * Review, after the brokers are started again: the drill's mirror stopped; the target serving again
   * (every broker, every topic of `topicsBefore`, the inventory's); the failover undone. Never throws:
   * failures are returned.
   */
  async undo(topicsBefore?: string[]): Promise<{ done: string[]; failed: string[]; stranded?: string }> {
    const done: string[] = [];
    const failed: string[] = [];
    let stranded: string | undefined;
    // A failover child that gave no result (terminated, timed out, or the drill stopped while it ran): what it did, from its status.
    // Versioned: a drill open across the deploy of this change replays without the status read it never made.
    if (!this.status && this.childId && patched(FAILOVER_ENDED_STATUS_PATCH)) await this.ended(this.childId);
    if (this.ownMirror && !this.ownMirrorEnded) {
      try {
        await this.ownMirror.signal(mirrorStopSignal, { by: 'drill review', reason: 'the drill is over' });
        await condition(() => this.ownMirrorEnded, MIRROR_STOP_WAIT_MS);
        done.push(this.ownMirrorEnded ? `the drill's mirror ${this.mirrorId} stopped` : `the drill's mirror ${this.mirrorId} asked to stop`);
      } catch (e) {
        failed.push(`the drill's mirror ${this.mirrorId} was not stopped: ${failureOf(e).message}`);
      }
    } else if (this.ownMirror) done.push(`the drill's mirror ${this.mirrorId} ended (${this.status?.mirror?.stopped ?? 'stopped'})`);
    if (!this.before) return { done, failed };
    try {
      const fence = this.status?.fence?.record;
      done.push(...(await undos.drillUndoFailoverActivity({ primary: this.primary, standby: this.standby, ...(fence ? { fence } : {}), standbyFencesBefore: this.before.standbyFences, ...(this.before.lifeboatZnode !== undefined ? { lifeboatZnodeBefore: this.before.lifeboatZnode } : {}), ...(this.before.fenceMarker !== undefined ? { fenceMarkerBefore: this.before.fenceMarker } : {}), ...(topicsBefore ? { topicsBefore } : {}) })));
      if (!fence && this.status?.pointOfNoReturn && this.before.fenceMarker !== false) failed.push(`the failover passed its point of no return but left no fence record: check ${this.primary.name}'s ACLs by hand`);
    } catch (e) {
      failed.push(`the failover was not undone: ${failureOf(e).message} — lift ${this.primary.name}'s fence (DENY WRITE User:* on the mirrored topics) and put ${this.standby.name}'s write fences back`);
    }
    // The clients last: pointed back at the primary once it takes writes again. Each hook puts back
    // exactly what it found (a registry node's or file's old bytes, a command run with LIFEBOAT_REVERT=1).
    const hooks = (this.status?.hooks ?? []).filter((h) => !h.dryRun);
    // A hook whose activity gave no outcome (running when the failover ended, or failed without one): whether it switched anything is unknown (a command hook is killed once its activity hears of the run's end, but may have done part of its work).
    const pending = this.status?.hookPending;
    if (pending !== undefined && !hooks.some((h) => h.index === pending)) {
      const hook = this.standby.clientSwitch[pending];
      failed.push(`client-switch hook #${pending + 1}${hook ? ` (${hook.type})` : ''} of ${this.standby.name} gave no outcome (running when the failover ended, or failed without one): whether it switched clients is unknown — check it, and undo it by hand if it did (a command hook: run it with LIFEBOAT_REVERT=1)`);
    }
    if (this.statusUnread) failed.push(`the failover's status could not be read (${this.statusUnread}): its client-switch hooks of ${this.standby.name} may have run — point the clients back at ${this.primary.name} by hand`);
    if (hooks.length) {
      try {
        const reverted = await undos.revertSwitchHooksActivity({ source: this.primary, target: this.standby, outcomes: hooks });
        const bad = reverted.filter((r) => !r.ok);
        if (bad.length) failed.push(`the clients are NOT all switched back to ${this.primary.name}: ${bad.map((r) => `hook #${r.index + 1} (${r.type}): ${r.detail}`).join('; ')}`);
        else done.push(`the clients switched back to ${this.primary.name}: ${reverted.filter((r) => r.reverted).length} of ${hooks.length} client-switch hooks of ${this.standby.name} reverted`);
      } catch (e) {
        failed.push(`the client-switch hooks of ${this.standby.name} were not reverted: ${failureOf(e).message} — point the clients back at ${this.primary.name} by hand`);
      }
    }
    // The failover child's promotion hold ends once its failover is undone; while anything of it stays, so does the hold (no other failover promotes over it).
    if (this.childId && patched(PROMOTION_RELEASE_PATCH)) {
      if (failed.length) failed.push(`the promotion hold of ${this.primary.name} is kept while the failover is not wholly undone: end it with lifeboat failover release --cluster ${this.primary.name} once it is`);
      else {
        try {
          const r = await undos.releasePromotionActivity({ primary: this.primary.name, end: { by: workflowInfo().workflowId, reason: 'the drill undid its failover', holder: this.childId } });
          if (r.released) done.push(`the promotion hold of ${this.primary.name} ended`);
          else if (r.why === 'held by another') done.push(`the promotion hold of ${this.primary.name} is ${r.held.holder}'s, not this drill's failover's: left as it is`);
        } catch (e) {
          failed.push(`the promotion hold of ${this.primary.name} was not ended: ${failureOf(e).message} — end it with lifeboat failover release --cluster ${this.primary.name}`);
        }
      }
    }
    // What the clients wrote to the standby while it had the service is there only: said, never dropped.
    if ((this.movedAt || this.clientsMayHaveMoved) && this.before.standbyEnds) {
      try {
        const w = await reads.drillStandbyWritesActivity({ primary: this.primary, standby: this.standby, exclude: [this.topic], since: this.before.standbyEnds });
        stranded = strandedProblem(this.primary.name, this.standby.name, w.stranded);
        if (!stranded) done.push(`no records written to ${this.standby.name} since the failover past the mirror's copies (${w.partitions} mirrored partitions)`);
      } catch (e) {
        done.push(`records written to ${this.standby.name} since the failover were not looked for: ${failureOf(e).message}`);
      }
    } else if (this.movedAt || this.clientsMayHaveMoved) done.push(`records written to ${this.standby.name} since the failover were not looked for: the mirror's positions could not be read in prepare`);
    return { done, failed, ...(stranded ? { stranded } : {}) };
  }

  /** Review, after the stream topic is dropped on the primary: its copy on the standby dropped; a mirror that ran before started again. Never throws. */
  async cleanup(): Promise<{ done: string[]; failed: string[] }> {
    const done: string[] = [];
    const failed: string[] = [];
    if (!this.decision) return { done, failed };
    try {
      const r = await undos.drillDropStandbyCopyActivity({ standby: this.standby, pair: mirrorPair(this.primary.name, this.standby.name), topic: this.topic });
      done.push(r.deleted ? `the stream's copy on ${this.standby.name} (${r.partitions} partitions) and the mirror's positions of it dropped` : `no copy of the stream on ${this.standby.name}; the mirror's positions of it forgotten`);
    } catch (e) {
      failed.push(`the stream's copy ${this.topic} on ${this.standby.name} was not dropped: ${failureOf(e).message}`);
    }
    if (this.decision.use === 'running' && this.runningInput) {
      try {
        const obs = await reads.drillMirrorObserveActivity({ workflowId: this.decision.workflowId });
        if (obs.running) done.push(`the mirror ${this.decision.workflowId} runs (not stopped by the failover)`);
        else {
          await startChild(mirror, { workflowId: this.decision.workflowId, args: [this.runningInput], parentClosePolicy: ParentClosePolicy.ABANDON });
          done.push(`the mirror ${this.decision.workflowId} started again with its own input (it resumes from its positions on ${this.standby.name})`);
        }
      } catch (e) {
        failed.push(`the mirror ${this.decision.workflowId} was not started again: ${failureOf(e).message} — start it: lifeboat mirror start`);
      }
    }
    return { done, failed };
  }
}
