/** A drill's measurements (issue 16): the write stream and its read-back (RPO), the independent probe (RTO). Thin: src/drills/stream.ts, readBack.ts, probe.ts. */
import { Context } from '@temporalio/activity';
import type { ClusterSpec } from '../src/config/spec';
import { LifeboatError } from '../src/errors';
import { DRILL_STREAM_SEEDED_SIGNAL, DRILL_STREAM_STOP_QUERY } from '../src/drills/ids.pure';
import { drillProbe } from '../src/drills/probe';
import { readBack } from '../src/drills/readBack';
import type { StreamLog } from '../src/drills/records';
import type { StreamEnds } from '../src/drills/rpo.pure';
import { dropStream, ensureStreamTopic, packStream, runWriteStream, unpackStream } from '../src/drills/stream';
import type { PartitionEvidence, ZookeeperEvidence } from '../src/drills/types';
import type { ActivityDeps } from './deps';

export function drillMeasureActivities(_deps: ActivityDeps) {
  return {
    /**
     * Creates the stream topic if missing (idempotent): `partitions` (default 3), replication factor
     * min(3, brokers), min.insync.replicas 2 when it has 3 replicas. Returns the topic as it is.
     */
    async drillStreamTopicActivity(input: { spec: ClusterSpec; drillId: string; partitions?: number }): Promise<{ topic: string; partitions: number; replicationFactor: number }> {
      return ensureStreamTopic(input.spec, input.drillId, input.partitions);
    },

    /**
     * Writes sequence-numbered records (acks=all) and, with `zookeeper`, the znode
     * `<chroot>/lifeboat-drill/<drill id>`, until the drill's workflow answers true to its
     * DRILL_STREAM_STOP_QUERY (asked every 500 ms); heartbeats its acks and resumes from them.
     */
    async drillWriteStreamActivity(input: { spec: ClusterSpec; drillId: string; topic: string; intervalMs?: number; zookeeper?: boolean }): Promise<StreamLog> {
      const ctx = Context.current();
      const workflowId = ctx.info.workflowExecution?.workflowId;
      if (!workflowId) throw new LifeboatError('InvalidInput', 'drillWriteStreamActivity runs only inside a drill workflow (it asks that workflow when to stop)');
      const resume = unpackStream((ctx.info.heartbeatDetails as { stream?: unknown } | undefined)?.stream);
      const subject = `${input.spec.name}: ${input.topic}`;
      const heartbeat = (s: Parameters<typeof packStream>[0]) =>
        ctx.heartbeat({ phase: 'drill write stream', done: s.log.acks.length, unit: 'acks', subject: `${subject}, ${s.log.failures.count} failed sends`, stream: packStream(s) });
      return runWriteStream({
        spec: input.spec,
        drillId: input.drillId,
        topic: input.topic,
        intervalMs: input.intervalMs,
        zookeeper: input.zookeeper,
        resume,
        reconcile: ctx.info.attempt > 1,
        shouldStop: async () => (await ctx.client.workflow.getHandle(workflowId).query<boolean>(DRILL_STREAM_STOP_QUERY)) === true,
        onProgress: heartbeat,
        // The drill's faults wait for this (bounded): a signal lost on the way costs that wait, nothing else.
        onSeeded: () => void ctx.client.workflow.getHandle(workflowId).signal(DRILL_STREAM_SEEDED_SIGNAL).catch(() => undefined),
        signal: ctx.cancellationSignal,
      });
    },

    /** Reads the stream back after recovery: per partition the last ack before the fault and the intact run (and the znode's). */
    async drillReadBackActivity(input: { spec: ClusterSpec; log: StreamLog; faultAt: string }): Promise<{ partitions: PartitionEvidence[]; zookeeper?: ZookeeperEvidence | null; streamStartedAt: string; ends: StreamEnds }> {
      const r = { ...(await readBack(input.spec, input.log, input.faultAt)), streamStartedAt: input.log.startedAt };
      // A KRaft cluster keeps no ZooKeeper: say so (null), so the score does not count it as unmeasured.
      return input.spec.zookeeper || r.zookeeper ? r : { ...r, zookeeper: null };
    },

    /** One independent probe (produce and consume on a probe topic, every broker live, ZooKeeper answers); never throws for a down cluster: green false. */
    async drillProbeActivity(input: { spec: ClusterSpec; timeoutMs?: number }): Promise<{ green: boolean; at: string; detail: string }> {
      return drillProbe(input.spec, { timeoutMs: input.timeoutMs });
    },

    /**
     * Deletes the stream topic (the drill's own; after the inventory is compared) and, given the drill
     * id, the ZooKeeper stream's znode (and `<chroot>/lifeboat-drill` once empty). Absent is done.
     * With `ifEnds` (a read-back's), deletes nothing when the topic's ends moved since: `changed` says how.
     */
    async drillDropStreamActivity(input: { spec: ClusterSpec; topic: string; drillId?: string; ifEnds?: StreamEnds }): Promise<{ dropped: boolean; changed?: string }> {
      return dropStream(input.spec, input.topic, input.drillId, input.ifEnds ? { ifEnds: input.ifEnds } : {});
    },
  };
}
