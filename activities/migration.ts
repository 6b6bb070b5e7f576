/**
 * Online migration activities: thin wrappers over src/migration (pre-checks, the write fence, group
 * cut-over, client-switch hooks, verification) plus two waits of the workflow (the mirror caught up,
 * the source's open transactions ended). Every one is idempotent, so a worker killed anywhere costs
 * only a retry: the fence and the group commits converge to the same state, a hook is run one at a
 * time (the workflow knows which ran), reads never write.
 */
import type { ClusterSpec } from '../src/config/spec';
import { sleep } from '../src/core/poll';
import { LifeboatError } from '../src/errors';
import { kafkaFor } from '../src/kafka/client';
import { applyDeferredConfigs, type MirrorTopicPlan, mirrorPositions, type PartitionPosition } from '../src/kafka/mirror';
import { WireClient } from '../src/kafka/wire/client';
import {
  awaitFence,
  type ClientSwitchHook,
  commitGroups,
  fenceWrites,
  type FenceRecord,
  type GroupMove,
  groupStates,
  type GroupState,
  type HookOutcome,
  migrationPrechecks,
  type MigrationSelection,
  type PrecheckResult,
  revertSwitchHooks,
  selectedTopicsNow,
  runSwitchHooks,
  translateGroups,
  unfenceWrites,
  verifyMigration,
  type Check,
} from '../src/migration';
import { targetWritesPastCopies } from '../src/kafka/mirror/settled';
import type { TargetWrites } from '../src/kafka/mirrorWrites.pure';
import type { ActivityDeps } from './deps';
import { checkedSpec } from './errors';
import { withHeartbeat } from './heartbeat';

export interface MigrationPair {
  source: ClusterSpec;
  target: ClusterSpec;
}

/** The partitions a migration moves, per topic (from the pre-checks). */
export interface TopicPartitions {
  topic: string;
  partitions: number;
}

export interface CatchUpInput extends MigrationPair {
  pair: string;
  topics: TopicPartitions[];
  /** Caught up: every partition known to the mirror and at most this many records behind in all. */
  maxLagRecords: number;
}

export interface CatchUpResult {
  lagRecords: number;
  partitions: number;
  positions: PartitionPosition[];
}

const pairOf = (input: MigrationPair) => ({ source: checkedSpec(input.source), target: checkedSpec(input.target) });

export function migrationActivities(_deps: ActivityDeps) {
  return {
    /** Read-only checks of both clusters; problems non-empty means do not start. */
    async migrationPrechecksActivity(input: MigrationPair & { selection: MigrationSelection }): Promise<PrecheckResult> {
      const { source, target } = pairOf(input);
      return withHeartbeat({ phase: 'migration: pre-checks', subject: `${source.name} → ${target.name}` }, (_beat, signal) => migrationPrechecks(source, target, input.selection, { signal }));
    },

    /**
     * A rollback after client-switch hooks ran: the records on the target past the mirror's copies of
     * `topics` (written there by clients that had switched; a read). The rollback switches the clients
     * back without them, so it names them.
     */
    async targetWritesActivity(input: MigrationPair & { topics: string[] }): Promise<TargetWrites[]> {
      const { source, target } = pairOf(input);
      return withHeartbeat({ phase: 'migration: writes on the target since the clients switched', subject: target.name }, async (_beat, signal) => (await targetWritesPastCopies(source, target, { only: input.topics, signal, advice: '' })).writes);
    },

    /** The source's topics the selection matches now (read only; the cut-over's check for topics created since the pre-checks). */
    async selectedTopicsActivity(input: { source: ClusterSpec; selection: MigrationSelection }): Promise<string[]> {
      const source = checkedSpec(input.source);
      return withHeartbeat({ phase: 'migration: the selection now', subject: source.name }, (_beat, signal) => selectedTopicsNow(source, input.selection, signal));
    },

    /**
     * Waits until the mirror has every partition and its lag is small, heartbeating the lag. Reads
     * the mirror's durable state on the target and the source's ends: no copying, no writes.
     */
    async awaitMirrorCatchUpActivity(input: CatchUpInput): Promise<CatchUpResult> {
      const { source, target } = pairOf(input);
      const wanted = input.topics.reduce((n, t) => n + t.partitions, 0);
      const work = input.topics.map((t) => ({ topic: t.topic, partitions: Array.from({ length: t.partitions }, (_, i) => i) }));
      return withHeartbeat({ phase: 'migration: waiting for the mirror to catch up', subject: input.pair }, async (beat, signal) => {
        for (;;) {
          const positions = await mirrorPositions(source, target, input.pair, work).catch(() => [] as PartitionPosition[]);
          const lagRecords = positions.reduce((n, p) => n + Math.max(0, p.sourceEnd - p.next), 0);
          beat({ phase: `migration: mirror lag ${lagRecords} records (${positions.length} of ${wanted} partitions started)`, done: positions.length, total: wanted, unit: 'partitions', subject: input.pair });
          if (positions.length >= wanted && lagRecords <= input.maxLagRecords) return { lagRecords, partitions: positions.length, positions };
          await sleep(1000, signal);
        }
      });
    },

    /** The fence on the source (DENY WRITE on the topics); a dry run says what it would create. Idempotent. */
    async fenceWritesActivity(input: { source: ClusterSpec; topics: string[]; dryRun?: boolean }): Promise<FenceRecord> {
      const source = checkedSpec(input.source);
      return withHeartbeat({ phase: input.dryRun ? 'migration: fence plan' : 'migration: fence writes', subject: source.name }, () => fenceWrites(source, input.topics, { dryRun: input.dryRun }));
    },

    /** Waits until every broker of the source refuses writes; returns the ms waited. */
    async awaitFenceActivity(input: { source: ClusterSpec; fence: FenceRecord; timeoutMs?: number }): Promise<number> {
      const source = checkedSpec(input.source);
      return withHeartbeat({ phase: 'migration: waiting for every broker to refuse writes', subject: source.name }, (_beat, signal) => awaitFence(source, input.fence, { timeoutMs: input.timeoutMs, signal }));
    },

    /** Removes exactly the ACLs the fence created (absent ones are fine: idempotent). */
    async unfenceWritesActivity(input: { source: ClusterSpec; fence: FenceRecord }): Promise<void> {
      const source = checkedSpec(input.source);
      await withHeartbeat({ phase: 'migration: unfence writes', subject: source.name }, () => unfenceWrites(source, input.fence));
    },

    /**
     * After the fence: waits until no transaction is open on the source's topics (last stable
     * offset == high watermark everywhere). An open transaction's producer may still commit after
     * the fence (the commit marker is the coordinator's write, not the producer's), and records it
     * commits after the drain would never reach the target. Times out with one line naming them.
     */
    async awaitSourceSettledActivity(input: { source: ClusterSpec; topics: string[]; timeoutMs: number }): Promise<{ waitedMs: number }> {
      const source = checkedSpec(input.source);
      const began = Date.now();
      return withHeartbeat({ phase: 'migration: waiting for open transactions on the source to end', subject: source.name }, async (_beat, signal) => {
        const client = await WireClient.open(kafkaFor(source, 'migration'), input.topics);
        try {
          for (;;) {
            const open: string[] = [];
            for (const topic of input.topics) {
              const stable = await client.listOffsets(topic, 'committed');
              const high = await client.listOffsets(topic, 'end');
              for (const [p, h] of high) if ((stable.get(p) ?? h) < h) open.push(`${topic}/${p}`);
            }
            if (!open.length) return { waitedMs: Date.now() - began };
            if (Date.now() - began > input.timeoutMs) {
              throw new LifeboatError('UnsafeTarget', `transactions still open on ${source.name} after the fence (${open.slice(0, 5).join(', ')}${open.length > 5 ? ` and ${open.length - 5} more` : ''}): their records could commit after the cut-over; end those producers' transactions and try again`);
            }
            await sleep(200, signal);
          }
        } finally {
          await client.close();
        }
      });
    },

    /** The topic configs the mirror held back while copying (timestamp settings), applied on the target at cut-over. Idempotent. */
    async applyDeferredConfigsActivity(input: { target: ClusterSpec; plans: MirrorTopicPlan[] }): Promise<number> {
      const target = checkedSpec(input.target);
      const wanted = input.plans.filter((p) => p.deferred && Object.keys(p.deferred).length);
      await withHeartbeat({ phase: 'migration: apply the held-back topic configs', done: 0, total: wanted.length, unit: 'topics', subject: target.name }, () => applyDeferredConfigs(target, wanted));
      return wanted.length;
    },

    async groupStatesActivity(input: { cluster: ClusterSpec; groups: string[] }): Promise<GroupState[]> {
      const cluster = checkedSpec(input.cluster);
      return withHeartbeat({ phase: 'migration: group states', subject: cluster.name }, () => groupStates(cluster, input.groups));
    },

    /** Each group's committed source offsets translated exactly through the mirror's offset map (read only). */
    async translateGroupsActivity(input: MigrationPair & { pair: string; groups: string[]; topics: string[] }): Promise<GroupMove[]> {
      const { source, target } = pairOf(input);
      return withHeartbeat({ phase: 'migration: translate group offsets', done: 0, total: input.groups.length, unit: 'groups', subject: input.pair }, () => translateGroups(source, target, input.pair, input.groups, input.topics));
    },

    /** Commits the translated offsets on the target (idempotent: the same offsets again); a dry run only says. */
    async commitGroupsActivity(input: { target: ClusterSpec; moves: GroupMove[]; dryRun?: boolean }): Promise<GroupMove[]> {
      const target = checkedSpec(input.target);
      return withHeartbeat({ phase: 'migration: commit group offsets on the target', done: 0, total: input.moves.length, unit: 'groups', subject: target.name }, () => commitGroups(target, input.moves, { dryRun: input.dryRun }));
    },

    /**
     * Runs the target spec's client-switch hook `index` (one at a time, so the workflow knows which
     * ran). A dry run says what it would do and changes nothing. A failing hook is an answer
     * (ok: false, its detail), not a retried failure: the workflow rolls back.
     */
    async runSwitchHookActivity(input: MigrationPair & { index: number; dryRun?: boolean }): Promise<HookOutcome> {
      const { source, target } = pairOf(input);
      const hook = target.clientSwitch[input.index] as ClientSwitchHook | undefined;
      if (!hook) throw new LifeboatError('InvalidInput', `the target spec ${target.name} has no client-switch hook #${input.index + 1}`);
      return withHeartbeat({ phase: `migration: client-switch hook #${input.index + 1} (${hook.type})${input.dryRun ? ', dry run' : ''}`, subject: target.name }, async (_beat, signal) => {
        try {
          // A command hook is killed when the activity is cancelled (its workflow cancelled or terminated): nothing runs on for nobody.
          const [out] = await runSwitchHooks([hook], { source, target }, { dryRun: input.dryRun, signal });
          if (!out) throw new Error('the hook gave no outcome');
          return { ...out, index: input.index };
        } catch (e) {
          if (e instanceof LifeboatError && (e.type === 'InvalidInput' || e.type === 'InvalidSpec' || e.type === 'HookFailed')) {
            // The failed hook's own outcome (a command that failed part-way says it may have changed something).
            const outcomes = (e.details as { outcomes?: HookOutcome[] } | undefined)?.outcomes;
            const last = Array.isArray(outcomes) ? outcomes.at(-1) : undefined;
            if (last) return { ...last, index: input.index };
            return { index: input.index, type: hook.type, description: hook.type, dryRun: input.dryRun ?? false, ok: false, detail: e.message };
          }
          throw e;
        }
      });
    },

    /** Puts back what the hooks changed (previous registry node or file content; a command with LIFEBOAT_REVERT=1). */
    async revertSwitchHooksActivity(input: MigrationPair & { outcomes: HookOutcome[] }): Promise<HookOutcome[]> {
      const { source, target } = pairOf(input);
      return withHeartbeat({ phase: 'migration: revert the client-switch hooks', subject: target.name }, async () => {
        // One hook at a time, the last one first (index 0 in its own list: any pairing of hooks and outcomes agrees).
        const out: HookOutcome[] = [];
        for (const o of [...input.outcomes].sort((a, b) => b.index - a.index)) {
          const hook = target.clientSwitch[o.index];
          if (!hook) {
            out.push({ ...o, ok: false, detail: `the target spec has no hook #${o.index + 1} any more: not reverted` });
            continue;
          }
          const [r] = await revertSwitchHooks([hook], [{ ...o, index: 0 }], { source, target });
          out.push({ ...(r ?? { ...o, ok: false, detail: 'no outcome' }), index: o.index });
        }
        return out;
      });
    },

    /** Counts and SHA-256 per partition, group positions, a produce/consume probe on the target. */
    async verifyMigrationActivity(input: MigrationPair & { pair: string; topics: string[]; moves: GroupMove[] }): Promise<{ checks: Check[]; problems: string[] }> {
      const { source, target } = pairOf(input);
      return withHeartbeat({ phase: 'migration: verify', done: 0, total: input.topics.length, unit: 'topics', subject: input.pair }, (beat, signal) => {
        let done = 0;
        // After the switch: clients may already write and read on the target.
        return verifyMigration(source, target, input.pair, input.topics, input.moves, {
          clientsMayRun: true,
          signal,
          onProgress: (topic) => beat({ phase: 'migration: verify', done: ++done, total: input.topics.length, unit: 'topics', subject: topic }),
        });
      });
    },
  };
}
