/**
 * The drill's own activities as stubs (beside recoveryStubs.ts's recovery activities), for the drill
 * workflow on Temporal's time-skipping test server: a cluster whose ZooKeeper came back but that
 * serves no reads (the probe never green). The write stream tells the drill it is seeded at once
 * and runs until the drill's stop query says so, as the real one does.
 */
import { Context } from '@temporalio/activity';
import { DRILL_STREAM_SEEDED_SIGNAL, DRILL_STREAM_STOP_QUERY } from '../../../src/drills/ids.pure';
import { stubSpec } from './recoveryStubs';

export const drillSpec = { ...stubSpec, environment: 'staging' as const };
export const NO_READ = 'probe read 0/30 records from lifeboat-probe-0badc0de before timing out';
const now = () => new Date().toISOString();

/** A write stream with no acknowledged write (`seed` false: it never signals) that ends when the drill asks. */
export const streamStub = (seed: boolean) => async () => {
  const { client, info } = Context.current();
  const handle = client.workflow.getHandle(info.workflowExecution!.workflowId);
  const startedAt = now();
  if (seed) await handle.signal(DRILL_STREAM_SEEDED_SIGNAL);
  while (!(await handle.query<boolean>(DRILL_STREAM_STOP_QUERY))) await new Promise((r) => setTimeout(r, 50));
  return { topic: 'lifeboat-drill-stream', startedAt, endedAt: now(), acks: [], failures: { count: 0 } };
};

export const drillStubs = {
  // The cluster's drill lock (its Temporal side: test/drills/lock.int): free.
  drillLockActivity: async (want: { cluster: string; holder: string; holderRunId: string }) => ({ taken: true, hold: { ...want, since: now() } }),
  drillUnlockActivity: async () => true,
  drillOthersRunningActivity: async () => [],
  drillHistoryActivity: async () => [],
  drillNotifyActivity: async () => ({ delivered: 0 }),
  drillInventoryActivity: async () => ({ takenAt: now(), cluster: drillSpec.name, topics: {}, groups: {}, znodes: {}, brokerConfigs: {} }),
  drillStreamTopicActivity: async () => ({ topic: 'lifeboat-drill-stream', partitions: 1, replicationFactor: 1 }),
  drillWriteStreamActivity: async () => ({ topic: 'lifeboat-drill-stream', startedAt: now(), endedAt: now(), acks: [], failures: { count: 0 } }),
  drillApplyFaultActivity: async (input: { fault: unknown }) => ({ fault: input.fault, at: now(), detail: 'chroot deleted (stub)' }),
  drillProbeActivity: async () => ({ green: false, at: now(), detail: `not green: ${NO_READ}` }),
  drillReadBackActivity: async () => ({ partitions: [], zookeeper: null, ends: {} }),
  drillRevertFaultActivity: async (input: { applied: { fault: unknown }; mode: string }) => ({ fault: input.applied.fault, mode: input.mode, alreadyDone: false, detail: 'imported (stub)' }),
  drillDropStreamActivity: async () => ({ dropped: true }),
  drillSaveRecordActivity: async () => ({ snapshot: 'f'.repeat(64), tiers: [] }),
  readDiskTopicsActivity: async (input: { brokerId: number }) => ({ brokerId: input.brokerId, partitions: [] }),
  adoptTopicsActivity: async () => ({ adopted: [], problems: [] }),
  recoverRegistryActivity: async () => ({ services: 0, created: 0, awaitingReregistration: 0, fallbackFiles: [] }),
  drillRegistryInstancesActivity: async () => [],
  drillAwaitRegistryInstancesActivity: async () => ({ expected: 0, back: 0, missing: [], waitedMs: 0 }),
};
