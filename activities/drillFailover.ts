/**
 * A full datacenter-lost drill's activities (issue 16): the mirror primary → standby as Temporal knows
 * it, waiting for it to hold the stream topic, what prepare records for the review (the standby's
 * write fences, the `<chroot>/lifeboat` znode), the failover undone (the primary's fence lifted, the
 * standby's fences put back) and the stream's copy on the standby dropped. Thin: src/drills/failoverDrill.ts.
 */
import { Context } from '@temporalio/activity';
import type { ClusterSpec } from '../src/config/spec';
import { awaitMirrorHolds, awaitServingAgain, dropStandbyCopy, lifeboatZnodeExists, observeDrillMirror, putFencesBack, readFenceMarker, readFailoverStatus, removeEmptyLifeboatZnode, standbyFences } from '../src/drills/failoverDrill';
import { type DrillMirrorObservation, fencesToRestore } from '../src/drills/failoverDrill.pure';
import { mirroredTargetEnds, targetWritesPastCopies } from '../src/kafka/mirror/settled';
import type { TargetWrites } from '../src/kafka/mirrorWrites.pure';
import { unfencePrimary } from '../src/failover/data/fence';
import type { PrimaryFence } from '../src/failover/data/types';
import type { FailoverStatus } from '../src/failover/run.pure';
import type { Acl } from '../src/kafka/acls';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

export function drillFailoverActivities(_deps: ActivityDeps) {
  return {
    /** The mirror workflow of the pair: running or not, with the running run's input. A read. */
    async drillMirrorObserveActivity(input: { workflowId: string }): Promise<DrillMirrorObservation> {
      return observeDrillMirror(Context.current().client, input.workflowId);
    },

    /** What the drill's failover child last said of itself (its status query), when it ended without returning its result. A read. */
    async drillFailoverStatusActivity(input: { workflowId: string }): Promise<FailoverStatus | undefined> {
      return readFailoverStatus(Context.current().client, input.workflowId);
    },

    /** The standby's mirrored partitions with records past the forward mirror's copies (the clients' since the failover); `exclude`: the drill's stream. A read. */
    async drillStandbyWritesActivity(input: { primary: ClusterSpec; standby: ClusterSpec; exclude: string[]; since: Record<string, number> }): Promise<{ stranded: TargetWrites[]; partitions: number }> {
      return withHeartbeat({ phase: 'drill: writes on the standby since the failover', subject: input.standby.name }, async (_beat, signal) => {
        const r = await targetWritesPastCopies(input.primary, input.standby, { exclude: input.exclude, since: input.since, signal });
        return { stranded: r.writes, partitions: r.partitions };
      });
    },

    /** What the review needs to put back: the standby's write fences and whether `<chroot>/lifeboat` exists on the primary. A read. */
    async drillFailoverBeforeActivity(input: { primary: ClusterSpec; standby: ClusterSpec }): Promise<{ standbyFences: Acl[]; lifeboatZnode?: boolean; fenceMarker?: boolean; standbyEnds?: Record<string, number> }> {
      // The standby's ends of the mirrored partitions: what is past them after the failover is the clients' (none when the mirror's positions cannot be read).
      const [fences, znode, marker, mirrored] = await Promise.all([standbyFences(input.standby), lifeboatZnodeExists(input.primary), readFenceMarker(input.primary), mirroredTargetEnds(input.primary, input.standby).catch(() => undefined)]);
      return { standbyFences: fences, ...(znode !== undefined ? { lifeboatZnode: znode } : {}), ...(marker !== undefined ? { fenceMarker: marker !== null } : {}), ...(mirrored ? { standbyEnds: mirrored.ends } : {}) };
    },

    /** Waits (heartbeating) until the mirror holds every partition of the stream topic with a position. */
    async drillMirrorHoldsActivity(input: { primary: ClusterSpec; workflowId: string; topic: string; timeoutMs: number }): Promise<{ lagRecords: number; rounds: number; partitions: number }> {
      const client = Context.current().client;
      return withHeartbeat({ phase: 'drill: the mirror takes the stream topic', subject: input.topic }, (beat, signal) =>
        awaitMirrorHolds(client, input.primary, input.workflowId, input.topic, {
          timeoutMs: input.timeoutMs,
          signal,
          onPoll: (s) => beat({ phase: `drill: the mirror takes the stream topic (${s ? `${s.state}, round ${s.rounds}` : 'not answering'})`, subject: input.topic }),
        }),
      );
    },

    /**
     * Undoes what the drill's failover changed: the primary's fence lifted (exactly the ACLs its record
     * names), the standby's write fences it lifted put back, and `<chroot>/lifeboat` removed when the
     * drill found it absent and it is empty again. Idempotent. Returns one line per thing done.
     */
    async drillUndoFailoverActivity(input: {
      primary: ClusterSpec;
      standby: ClusterSpec;
      fence?: PrimaryFence;
      standbyFencesBefore: Acl[];
      lifeboatZnodeBefore?: boolean;
      /** Whether the fence's marker existed before the drill: when not, a marker found now is the drill's failover's (stopped before it returned its record). */
      fenceMarkerBefore?: boolean;
      topicsBefore?: string[];
    }): Promise<string[]> {
      return withHeartbeat({ phase: 'drill: undo the failover', subject: input.primary.name }, async (_beat, signal) => {
        const done: string[] = [];
        // The brokers were just started again: serving (every broker, the topics the inventory had) before anything else reads them.
        // Best effort: a target that does not serve again shows in the inventory compared next.
        if (input.topicsBefore) done.push(await awaitServingAgain(input.primary, input.topicsBefore, { timeoutMs: 180_000, signal }).catch((e: unknown) => `NOT serving again: ${(e as Error).message}`));
        // No record from the failover (the drill stopped while it ran): the fence its marker names, when the marker is the drill's.
        const marker = !input.fence && input.fenceMarkerBefore === false ? await readFenceMarker(input.primary) : undefined;
        const fence = input.fence ?? marker ?? undefined;
        if (fence && !fence.dryRun) {
          await unfencePrimary(input.primary, fence);
          done.push(`${input.primary.name}'s fence lifted: ${fence.acls.length} ACLs on ${fence.topics.length} topics (${fence.via ?? 'admin'}${input.fence ? '' : ', from its marker'})`);
        }
        if (input.standbyFencesBefore.length) {
          const missing = fencesToRestore(input.standbyFencesBefore, await standbyFences(input.standby));
          await putFencesBack(input.standby, missing);
          done.push(missing.length ? `${missing.length} write-fence ACLs put back on ${input.standby.name}: ${[...new Set(missing.map((a) => a.resourceName))].join(', ')}` : `${input.standby.name}'s write fences all in place`);
        }
        if (input.lifeboatZnodeBefore === false && (await removeEmptyLifeboatZnode(input.primary))) done.push(`${input.primary.name}'s /lifeboat znode (made for the fence's marker) removed`);
        return done;
      });
    },

    /** The stream's copy on the standby: the mirror's positions of it forgotten, the topic deleted. Idempotent. */
    async drillDropStandbyCopyActivity(input: { standby: ClusterSpec; pair: string; topic: string }): Promise<{ deleted: boolean; partitions: number }> {
      return dropStandbyCopy(input.standby, input.pair, input.topic);
    },
  };
}
