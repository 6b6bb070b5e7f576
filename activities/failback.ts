/**
 * Failback activities: thin wrappers over src/failover/failback. The checks read only; the
 * quarantine and the reverse mirror's seed are idempotent (a retry after a killed worker writes
 * nothing twice), and both honour a dry run (counted and planned, nothing written).
 */
import type { ClusterSpec } from '../src/config/spec';
import { type FailbackChecks, failbackChecks, quarantineTail, type SeedPartition, seedReverseMirror, type TailPartition } from '../src/failover/failback';
import type { ActivityDeps } from './deps';
import { checkedSpec } from './errors';
import { withHeartbeat } from './heartbeat';

export interface FailbackPair {
  /** The old primary (repaired). */
  primary: ClusterSpec;
  /** The standby (serving the clients now). */
  standby: ClusterSpec;
  /** Only these mirrored topics (default: every topic the mirror primary → standby copied). */
  topics?: string[];
}

const pairOf = (input: FailbackPair) => ({ primary: checkedSpec(input.primary), standby: checkedSpec(input.standby) });

export function failbackActivities(_deps: ActivityDeps) {
  return {
    /** Read only: the old primary healthy and which topics are fenced, the forward mirror stopped, the mirrored topics. */
    async failbackChecksActivity(input: FailbackPair): Promise<FailbackChecks> {
      const { primary, standby } = pairOf(input);
      return withHeartbeat({ phase: 'failback: checks', subject: `${standby.name} → ${primary.name}` }, (_beat, signal) => failbackChecks(primary, standby, { ...(input.topics ? { topics: input.topics } : {}), signal }));
    },

    /** The divergent tail of every mirrored partition, counted and (unless dryRun) copied to the quarantine topics on the standby. */
    async failbackQuarantineActivity(input: FailbackPair & { dryRun?: boolean }): Promise<TailPartition[]> {
      const { primary, standby } = pairOf(input);
      return withHeartbeat({ phase: `failback: divergent tail${input.dryRun ? ' (count only)' : ' to quarantine'}`, subject: primary.name }, (beat, signal) =>
        quarantineTail(primary, standby, {
          ...(input.topics ? { topics: input.topics } : {}),
          dryRun: input.dryRun ?? false,
          signal,
          onProgress: (done, total, subject) => beat({ phase: 'failback: divergent tail', done, total, unit: 'partitions', subject }),
        }),
      );
    },

    /** The reverse mirror's positions (standby → primary) over the primary's existing log (see seed.ts). */
    async failbackSeedActivity(input: FailbackPair & { dryRun?: boolean }): Promise<SeedPartition[]> {
      const { primary, standby } = pairOf(input);
      return withHeartbeat({ phase: 'failback: seed the reverse mirror', subject: `${standby.name} → ${primary.name}` }, (_beat, signal) =>
        seedReverseMirror(primary, standby, { ...(input.topics ? { topics: input.topics } : {}), dryRun: input.dryRun ?? false, signal }),
      );
    },
  };
}
