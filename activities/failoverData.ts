/**
 * The failover's exact data (src/failover/data): what the standby lacks, where each consumer group
 * goes, and the old primary's write fence. Thin wrappers; every one is idempotent (reads never
 * write; the fence records what it added in ZooKeeper so a retry returns the same record).
 *
 * Flow when the primary answers: failoverDivergenceActivity → failoverGroupMovesActivity →
 * commitGroupsActivity (the migration's) with the moves.
 * Flow when its brokers are down (disks intact):
 *   1. groupOffsetsFromDiskActivity on each broker host (hostTaskQueue(host); brokersByHost(spec));
 *   2. failoverDivergenceActivity({ primary, standby, topics, diskGroups }) → from 'unknown' with `diskReads`;
 *   3. partitionEndsFromDiskActivity(read) on hostTaskQueue(read.host) for each of `diskReads`;
 *   4. failoverDivergenceActivity({ primary, standby, topics, disk }) → from 'disk';
 *   5. failoverGroupMovesActivity({ primary, standby, groups, topics, diskGroups, disk }).
 * `groups: 'all'` (an alert names no group): every group with committed offsets on the topics — pass
 * 'all' to groupOffsetsFromDiskActivity too, so that the disk reads find them.
 */
import type { ClusterSpec } from '../src/config/spec';
import { failoverDivergence, failoverGroupMoves } from '../src/failover/data/divergence';
import { partitionEndsFromDisk } from '../src/failover/data/disk';
import { groupOffsetsFromDisk } from '../src/failover/data/groupsDisk';
import { fencePrimary, liftWriteFences, unfencePrimary } from '../src/failover/data/fence';
import type { FenceRecord } from '../src/migration/fence';
import type {
  DiskGroups,
  DiskPartitions,
  DiskReadInput,
  FailoverDivergence,
  FailoverGroupMoves,
  GroupMovesInput,
  GroupOffsetsInput,
  PrimaryFence,
} from '../src/failover/data/types';
import type { ActivityDeps } from './deps';
import { checkedSpec } from './errors';
import { withHeartbeat } from './heartbeat';

export function failoverDataActivities(_deps: ActivityDeps) {
  return {
    /**
     * Records the standby lacks, per partition, exactly (control queue).
     * In: { primary, standby (specs), topics? (default: the mirror's), disk? (partitionEndsFromDiskActivity results),
     *       diskGroups? (groupOffsetsFromDiskActivity results: their offsets become cuts of the disk reads) }.
     * Out: FailoverDivergence — from 'live' when the primary answers; 'disk' with `disk`; else 'unknown' with
     * `diskReads` (run them on their hosts and call again with the results).
     */
    async failoverDivergenceActivity(input: { primary: ClusterSpec; standby: ClusterSpec; topics?: string[]; disk?: DiskPartitions[]; diskGroups?: DiskGroups[] }): Promise<FailoverDivergence> {
      const [primary, standby] = [checkedSpec(input.primary), checkedSpec(input.standby)];
      return withHeartbeat({ phase: 'failover: records not mirrored', subject: `${primary.name} → ${standby.name}` }, (_beat, signal) =>
        failoverDivergence(primary, standby, { topics: input.topics, disk: input.disk, diskGroups: input.diskGroups, signal }),
      );
    },

    /**
     * ON THE BROKER'S HOST (hostTaskQueue(host)): partition ends from the replicas' log dirs, read
     * only, and records counted from `from` to the end (and to each cut).
     * In: DiskReadInput { spec, brokerIds (of this host), topics, from?, cuts? }. Out: DiskPartitions.
     */
    async partitionEndsFromDiskActivity(input: DiskReadInput): Promise<DiskPartitions> {
      const spec = checkedSpec(input.spec);
      return withHeartbeat({ phase: 'failover: partition ends from disk', subject: `brokers ${input.brokerIds.join(', ')}` }, (_beat, signal) =>
        partitionEndsFromDisk(spec, input.brokerIds, input.topics, { from: input.from, cuts: input.cuts, fromStart: input.fromStart, signal }),
      );
    },

    /**
     * ON THE BROKER'S HOST: the groups' committed offsets from `__consumer_offsets` in the log dirs
     * (last commit wins, tombstones delete, aborted transactional commits ignored), read only.
     * In: GroupOffsetsInput { spec, brokerIds, groups, topics?, offsetsPartitions? }; groups 'all':
     * every partition of __consumer_offsets here replayed, each group with offsets on `topics` returned.
     * Out: DiskGroups.
     */
    async groupOffsetsFromDiskActivity(input: GroupOffsetsInput): Promise<DiskGroups> {
      const spec = checkedSpec(input.spec);
      return withHeartbeat({ phase: 'failover: group offsets from disk', subject: `brokers ${input.brokerIds.join(', ')}` }, (_beat, signal) =>
        groupOffsetsFromDisk(spec, input.brokerIds, input.groups, { topics: input.topics, offsetsPartitions: input.offsetsPartitions, signal }),
      );
    },

    /**
     * Each group's offsets on the primary translated for the standby through the mirror's offset
     * map (control queue). An offset past the mirrored position goes to the standby's end of what
     * was mirrored; the records in between are named in `consumedNotMirrored`.
     * In: GroupMovesInput { primary, standby, groups, topics?, diskGroups?, disk? } (disk ones when the primary is down).
     * groups 'all': every group with committed offsets on the topics (live: the primary's group list;
     * from disk: the groups of `diskGroups`, read with groups 'all'); groups without any are left out.
     * Out: FailoverGroupMoves { moves (GroupMove: pass them to commitGroupsActivity as `moves`),
     * warnings (the live listing of the primary's groups did not settle: groups may be missing) }.
     */
    async failoverGroupMovesActivity(input: GroupMovesInput): Promise<FailoverGroupMoves> {
      const [primary, standby] = [checkedSpec(input.primary), checkedSpec(input.standby)];
      const warnings: string[] = [];
      const moves = await withHeartbeat({ phase: 'failover: translate group offsets', subject: input.groups === 'all' ? 'every group on the topics' : `${input.groups.length} groups` }, (_beat, signal) =>
        failoverGroupMoves(primary, standby, input.groups, { topics: input.topics, diskGroups: input.diskGroups, disk: input.disk, signal, warnings }),
      );
      return { moves, warnings };
    },

    /**
     * Fences writes to the topics on the old primary (DENY WRITE for User:*): through its brokers
     * when they answer (the migration's fence), else written into its ZooKeeper so the brokers come
     * back fenced. Idempotent. In: { primary, topics, dryRun? }. Out: PrimaryFence (`via` says which).
     */
    async fencePrimaryActivity(input: { primary: ClusterSpec; topics: string[]; dryRun?: boolean }): Promise<PrimaryFence> {
      const primary = checkedSpec(input.primary);
      return withHeartbeat({ phase: 'failover: fence the old primary', subject: primary.name }, () => fencePrimary(primary, input.topics, { dryRun: input.dryRun }));
    },

    /** Removes exactly what fencePrimaryActivity added (through the brokers or ZooKeeper). Idempotent. In: { primary, fence }. */
    async unfencePrimaryActivity(input: { primary: ClusterSpec; fence: PrimaryFence }): Promise<void> {
      const primary = checkedSpec(input.primary);
      await withHeartbeat({ phase: 'failover: unfence the old primary', subject: primary.name }, () => unfencePrimary(primary, input.fence));
    },

    /** Lifts the write fences (a migration's or failback's, by their shape) on the standby's topics before clients move there. In: { standby, topics, dryRun? }; out: what was lifted. Idempotent. */
    async liftStandbyFencesActivity(input: { standby: ClusterSpec; topics: string[]; dryRun?: boolean }): Promise<FenceRecord> {
      const standby = checkedSpec(input.standby);
      return withHeartbeat({ phase: 'failover: lift the write fences on the standby', subject: standby.name }, () => liftWriteFences(standby, input.topics, { dryRun: input.dryRun }));
    },
  };
}
