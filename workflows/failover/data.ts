/**
 * The failover's exact data, in workflow code: records not mirrored per partition and the groups'
 * moves, live when the old primary answers, else from its brokers' log dirs on their hosts (EX's
 * activities: activities/failoverData.ts describes the flow). Reads only; every call can run again.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { LifeboatActivities } from '../../activities';
import type { ClusterSpec } from '../../src/config/spec';
import { brokersByHost } from '../../src/failover/data/hosts.pure';
import type { DiskGroups, DiskPartitions, FailoverDivergence, FailoverGroupMove, FailoverGroupMoves } from '../../src/failover/data/types';
import { hostTaskQueue } from '../../src/temporal/taskQueues.pure';
import { failureOf } from '../recovery/support';

/** Control-queue reads: short, retried a few times (a killed worker costs the heartbeat timeout). */
const reads = proxyActivities<LifeboatActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '5 seconds', maximumAttempts: 6 },
});

/** A host's log dirs: its worker may be gone with the host, so the wait is bounded. */
const onHost = (host: string) => ({ taskQueue: hostTaskQueue(host), scheduleToCloseTimeout: '3 minutes', startToCloseTimeout: '2 minutes', heartbeatTimeout: '15 seconds', retry: { initialInterval: '1 second', maximumInterval: '5 seconds', maximumAttempts: 4 } });

export interface ExactData {
  divergence: FailoverDivergence;
  moves: FailoverGroupMove[];
  problems: string[];
}

/**
 * What the standby lacks and where each group goes. `groups`: the groups to move, or 'all' (every
 * group with committed offsets on the topics: an alert names none).
 * Live first; a primary that does not answer is read from disk, host by host (a host that does not
 * answer leaves its partitions unknown, named in the problems).
 */
export async function exactData(primary: ClusterSpec, standby: ClusterSpec, topics: string[], groups: string[] | 'all'): Promise<ExactData> {
  const problems: string[] = [];
  const anyGroups = groups === 'all' || groups.length > 0;
  const first = await reads.failoverDivergenceActivity({ primary, standby, topics });
  if (first.from !== 'unknown' || !first.diskReads?.length) {
    const moves = anyGroups ? movesOf(await reads.failoverGroupMovesActivity({ primary, standby, groups, topics }), primary, standby, problems) : [];
    return { divergence: first, moves, problems };
  }
  // The primary is down: its groups' offsets from __consumer_offsets on disk, then the partitions'
  // ends with cuts at those offsets, then the counts.
  const hosts = brokersByHost(primary);
  const diskGroups: DiskGroups[] = [];
  if (anyGroups) {
    for (const h of hosts) {
      try {
        diskGroups.push(await reads.groupOffsetsFromDiskActivity.executeWithOptions(onHost(h.host), [{ spec: primary, brokerIds: h.brokerIds, groups, topics }]));
      } catch (e) {
        problems.push(`group offsets of ${primary.name} not read on ${h.host}: ${failureOf(e).message}`);
      }
    }
  }
  const planned = diskGroups.length ? await reads.failoverDivergenceActivity({ primary, standby, topics, diskGroups }) : first;
  const disk: DiskPartitions[] = [];
  for (const r of planned.diskReads ?? []) {
    try {
      disk.push(await reads.partitionEndsFromDiskActivity.executeWithOptions(onHost(r.host), [r]));
    } catch (e) {
      problems.push(`log dirs of ${primary.name} not read on ${r.host} (brokers ${r.brokerIds.join(', ')}): ${failureOf(e).message}`);
    }
  }
  for (const d of disk) for (const p of d.problems) problems.push(`${d.host}: ${p}`);
  const divergence = disk.length ? await reads.failoverDivergenceActivity({ primary, standby, topics, disk, diskGroups }) : planned;
  const moves = anyGroups ? movesOf(await reads.failoverGroupMovesActivity({ primary, standby, groups, topics, diskGroups, disk }), primary, standby, problems) : [];
  return { divergence, moves, problems };
}

/**
 * The moves, each listing warning a problem (a group the listing missed is not moved: the mirror
 * copies records, not group offsets). An activity that ran before warnings existed (a run older
 * than this code, replayed) returned the moves alone.
 */
function movesOf(found: FailoverGroupMoves | FailoverGroupMove[], primary: ClusterSpec, standby: ClusterSpec, problems: string[]): FailoverGroupMove[] {
  if (Array.isArray(found)) return found;
  for (const w of found.warnings) {
    problems.push(`listing the groups of ${primary.name}: ${w}; a group missed is not moved: on ${standby.name} it has only offsets it committed there itself (none: its consumers start by their auto.offset.reset); name the groups to move them`);
  }
  return found.moves;
}
