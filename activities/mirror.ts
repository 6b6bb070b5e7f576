/**
 * Mirror activities: plan the topics on the target, and run one shard of partitions for a round.
 * Both run on the control queue (any worker): the engine's durable state lives on the target, so a
 * shard retried on another worker resumes exactly where the killed one stopped.
 */
import type { ClusterSpec } from '../src/config/spec';
import { isLifeboatError } from '../src/errors';
import { type MirrorSelection, type MirrorTopicPlan, mirrorShard, type PartitionPosition, planMirror, type ShardResult, type ShardWork } from '../src/kafka/mirror';
import { type DataLostRange, dataLostOf, partitionKey } from '../src/kafka/mirrorRun.pure';
import type { ActivityDeps } from './deps';
import { checkedSpec } from './errors';
import { withHeartbeat } from './heartbeat';

export interface MirrorPlanInput {
  source: ClusterSpec;
  target: ClusterSpec;
  selection: MirrorSelection;
  dryRun?: boolean;
}

export interface MirrorShardInput {
  source: ClusterSpec;
  target: ClusterSpec;
  pair: string;
  shard: ShardWork[];
  /** The round's deadline (ms since epoch): the shard copies until then; 'caught-up' (a drain): until
   *  every partition reached the source's end read when the shard started. */
  until: number | 'caught-up';
}

export interface MirrorShardOutcome {
  positions: PartitionPosition[];
  caughtUp: boolean;
  /** Partitions stopped on source data lost before it was copied (the rest of the shard ran on). */
  dataLost: DataLostRange[];
}

export function mirrorActivities(_deps: ActivityDeps) {
  return {
    /** Creates or extends the selected topics on the target (idempotent); a dry run only plans. */
    async planMirrorActivity(input: MirrorPlanInput): Promise<MirrorTopicPlan[]> {
      const source = checkedSpec(input.source);
      const target = checkedSpec(input.target);
      return withHeartbeat({ phase: input.dryRun ? 'mirror: plan (dry run)' : 'mirror: plan', subject: `${source.name} → ${target.name}` }, (_beat, signal) =>
        planMirror(source, target, input.selection, { dryRun: input.dryRun, signal }),
      );
    },

    /**
     * Copies the shard's partitions until the round's deadline, heartbeating records copied and lag.
     * Lost source data (DataLost) is an answer, not a failure: the shard's other topics ran on and
     * the workflow stops that partition and shows the range.
     */
    async mirrorShardActivity(input: MirrorShardInput): Promise<MirrorShardOutcome> {
      const source = checkedSpec(input.source);
      const target = checkedSpec(input.target);
      const latest = new Map<string, PartitionPosition>();
      const first = new Map<string, number>();
      const count = input.shard.reduce((n, w) => n + w.partitions.length, 0);
      const subject = input.shard.map((w) => `${w.topic}[${w.partitions.join(',')}]`).join(' ');
      const phase = `mirror ${count} partition${count === 1 ? '' : 's'}`;
      return withHeartbeat({ phase, done: 0, unit: 'records', subject }, async (beat, signal) => {
        const onProgress = (ps: PartitionPosition[]) => {
          for (const p of ps) {
            const k = partitionKey(p.topic, p.partition);
            if (!first.has(k)) first.set(k, p.records);
            latest.set(k, p);
          }
          let done = 0;
          let lag = 0;
          for (const [k, p] of latest) {
            done += p.records - (first.get(k) ?? p.records);
            lag += Math.max(0, p.sourceEnd - p.next);
          }
          // Typed Progress for every reader, and the positions themselves for `lifeboat mirror status` (live lag mid-round).
          const details = { phase: `${phase}, lag ${lag} records`, done, unit: 'records', subject, positions: [...latest.values()] };
          beat(details);
        };
        // Every part settles before the activity answers: a retry must never copy beside a part still running.
        const settled = await Promise.allSettled(
          input.shard.map(async (work) => {
            try {
              const r = await mirrorShard(source, target, input.pair, work, { until: input.until, signal, onProgress });
              return { ...r, dataLost: [] as DataLostRange[] };
            } catch (e) {
              if (!isLifeboatError(e) || (e.type as string) !== 'DataLost') throw e;
              const lost = dataLostOf(e.message, e.details, work.partitions.map((partition) => ({ topic: work.topic, partition })));
              const positions = [...latest.values()].filter((p) => p.topic === work.topic && work.partitions.includes(p.partition));
              return { positions, caughtUp: false, dataLost: lost };
            }
          }),
        );
        const failed = settled.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
        const results = settled.map((r) => (r as PromiseFulfilledResult<MirrorShardOutcome & ShardResult>).value);
        return {
          positions: results.flatMap((r) => r.positions),
          caughtUp: results.every((r) => r.caughtUp),
          dataLost: results.flatMap((r) => r.dataLost),
        };
      });
    },
  };
}
