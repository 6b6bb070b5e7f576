/**
 * offlineMigration — a ZooKeeper-mode cluster's topics moved to another ZooKeeper-mode cluster as
 * files (§6.4 of the seed, done safely), with the target's broker ids, chroot and cluster id:
 *
 *   plan (read both; refusals) → [dry run ends] → approval → capture the source (offsets,
 *   fingerprints, group offsets) → stop the source brokers → backup set of their log dirs (and
 *   ZooKeeper) into the source's repository → stop the target brokers → restore the partitions onto
 *   the target hosts → write the topics' ZooKeeper metadata under the target's chroot → start the
 *   target → commit the groups' offsets → verify → source left stopped (or started: restartSource)
 *
 * The target's own topics are kept and never overwritten (a name clash is refused in the plan).
 * Once the source has stopped it stays stopped unless `restartSource`: clients must not write to
 * both. A failure after the stop says in the report what is stopped.
 */
import { ApplicationFailure, patched, uuid4, workflowInfo } from '@temporalio/workflow';
import { offlineMigrationSetIdOf } from '../../src/backup/plan.pure';
import type { ClusterSpec } from '../../src/config/spec';
import type { OfflinePlan } from '../../src/migration/offline/plan';
import { bytesToRestore } from '../../src/migration/offline/plan.pure';
import { backupPartDetail, checksDetail, stopBrokersDetail } from '../../src/report/details.pure';
import { type DataCheck, megabytes, type RunReport } from '../../src/report/report.pure';
import { type ClusterRef, resolveCluster } from '../support/cluster';
import { RunTracker } from '../support/tracker';
import { control, failureOf, LONG, onHost } from '../recovery/support';

export interface OfflineMigrationInput {
  source: ClusterRef;
  target: ClusterRef;
  /** Source broker id → target broker id (default: source brokers in id order onto the target brokers, round robin). */
  brokerMap?: Record<string, number>;
  dryRun?: boolean;
  autoApprove?: boolean;
  approvalTimeoutMinutes?: number;
  /** Start the source brokers again at the end (default: they stay stopped). */
  restartSource?: boolean;
}

export interface OfflineMigrationResult extends RunReport {
  plan?: OfflinePlanSummary;
}

export interface OfflinePlanSummary {
  brokersToStop: { cluster: string; brokers: number[] }[];
  brokerMap: Record<string, number>;
  topics: string[];
  partitions: number;
  bytesToCopy: number;
  bytesToRestore: number;
  rfChanges: OfflinePlan['rfChanges'];
  skipped: OfflinePlan['skipped'];
  groups: string[];
  copyFrom: string;
  topicIds: string;
  groupOffsets: string;
  warnings: string[];
}

const long = (host?: string) => (host ? onHost(host) : LONG);
/** The set is named after the run (was a random id retention could not tie to a running migration). */
const OFFLINE_SET_OF_RUN_PATCH = 'offline-migration-set-of-run';

export async function offlineMigration(input: OfflineMigrationInput): Promise<OfflineMigrationResult> {
  if (!input?.source || !input.target) throw ApplicationFailure.nonRetryable('give "source" and "target" ({ "cluster": "<name>" } or { "spec": {...} })', 'InvalidInput');
  const { spec: source } = await resolveCluster(input.source);
  const { spec: target } = await resolveCluster(input.target);
  const srcIds = source.brokers.map((b) => b.id);
  const dstIds = target.brokers.map((b) => b.id);
  const t = new RunTracker(
    'offlineMigration',
    source.name,
    [
      { name: 'plan', title: `Plan: ${source.name} → ${target.name} (topics, broker map, sizes; refusals)` },
      { name: 'capture-source', title: `Read ${source.name}'s offsets, records (SHA-256) and group offsets` },
      { name: 'stop-source', title: `Stop ${source.name}'s brokers ${srcIds.join(', ')}` },
      { name: 'backup', title: `Back up their log dirs (brokers stopped) into ${source.name}'s repository` },
      { name: 'stop-target', title: `Stop ${target.name}'s brokers ${dstIds.join(', ')}` },
      { name: 'restore', title: `Restore the partitions onto ${target.name}'s hosts with its broker ids` },
      { name: 'write-metadata', title: `Write the topics' metadata under ${target.name}'s ZooKeeper chroot` },
      { name: 'start-target', title: `Start ${target.name} and wait until it serves` },
      { name: 'commit-groups', title: `Commit the consumer groups' offsets on ${target.name}` },
      { name: 'verify', title: 'Verify offsets, records (SHA-256) and group offsets per partition' },
      { name: 'restart-source', title: `Start ${source.name}'s brokers again (only with restartSource)` },
    ],
    input.dryRun ?? false,
  );
  const checks: DataCheck[] = [];
  let summary: OfflinePlanSummary | undefined;
  const report = (outcome: RunReport['outcome']): OfflineMigrationResult => ({ ...t.report(outcome, { checks }), ...(summary ? { plan: summary } : {}) });

  try {
    const plan = await t.step(
      'plan',
      async () => {
        const p = await control.offlinePlanActivity({ source, target, brokerMap: input.brokerMap });
        const sizes = await Promise.all(source.brokers.map((b) => control.logDirBytesActivity.executeWithOptions(onHost(b.host, '10 minutes'), [{ spec: source, brokerId: b.id }])));
        const moved = new Set(p.topics.flatMap((x) => x.partitions.map((q) => `${x.name}-${q.partition}`)));
        const bytesToCopy = sizes.reduce((n, s) => n + Object.entries(s.partitions).filter(([tp]) => moved.has(tp)).reduce((m, [, b]) => m + b, 0), 0);
        summary = {
          brokersToStop: [
            { cluster: source.name, brokers: srcIds },
            { cluster: target.name, brokers: dstIds },
          ],
          brokerMap: p.brokerMap,
          topics: p.topics.map((x) => x.name),
          partitions: moved.size,
          bytesToCopy,
          bytesToRestore: bytesToRestore(p.topics, sizes),
          rfChanges: p.rfChanges,
          skipped: p.skipped,
          groups: p.groups,
          copyFrom: 'each partition from its source replica with the highest log end; every target replica gets that copy',
          topicIds: 'kept: the copied partition.metadata files carry them, and ZooKeeper on the target gets the same ids',
          groupOffsets: `__consumer_offsets is not copied (the target keeps its own); the groups' offsets are committed on ${target.name} through the admin API`,
          warnings: p.warnings,
        };
        return p;
      },
      (p) => {
        const map = Object.entries(p.brokerMap).map(([s, d]) => `${s}→${d}`).join(', ');
        const rf = p.rfChanges.length ? `; replication factor ${[...new Set(p.rfChanges.map((c) => `${c.from}→${c.to}`))].join(', ')} for ${p.rfChanges.length} topics` : '';
        return `${p.topics.length} topics, ${summary!.partitions} partitions, ${megabytes(summary!.bytesToCopy)} to copy, ${megabytes(summary!.bytesToRestore)} to restore; broker map ${map}${rf}; ${p.groups.length} groups`;
      },
    );
    for (const w of plan.warnings) t.problem(w);
    if (plan.problems.length) {
      for (const p of plan.problems) t.problem(p);
      throw ApplicationFailure.nonRetryable(plan.problems[0]!, 'InvalidInput');
    }
    if (t.dryRun) {
      for (const s of t.steps) if (s.status === 'pending') t.skip(s.name, 'dry run');
      t.finish('planned');
      return report('planned');
    }

    await t.approve(
      'stop-source',
      `stop ${source.name}'s brokers ${srcIds.join(', ')} and ${target.name}'s brokers ${dstIds.join(', ')}, and move ${plan.topics.length} topics (${megabytes(summary!.bytesToCopy)}) onto ${target.name}? ${source.name} stays stopped${input.restartSource ? ' until the end' : ''}.`,
      { autoApprove: input.autoApprove ?? false, timeoutMs: (input.approvalTimeoutMinutes ?? 30) * 60_000 },
    );

    const topics = plan.topics.map((x) => x.name);
    const capture = await t.step(
      'capture-source',
      () => control.captureSourceActivity.executeWithOptions(LONG, [{ source, topics, groups: plan.groups }]),
      (c) => `${Object.values(c.fingerprints).reduce((n, ps) => n + Object.values(ps).reduce((m, f) => m + f.records, 0), 0)} records fingerprinted, ${c.groups.length} groups read`,
    );

    await t.step('stop-source', () => Promise.all(source.brokers.map((b) => control.stopBrokerActivity.executeWithOptions(onHost(b.host), [{ spec: source, brokerId: b.id }]))), stopBrokersDetail);

    // Named after the run, so that retention, asking Temporal which runs go on, keeps it while it is
    // written; the original run's id, which a reset keeps (the set written before it stays this run's).
    const setId = patched(OFFLINE_SET_OF_RUN_PATCH) ? offlineMigrationSetIdOf(workflowInfo().originalExecutionRunId) : `offline-${uuid4().replace(/-/g, '').slice(0, 12)}`;
    const parts = ['zookeeper', ...source.brokers.map((b) => `logdirs:${b.id}`)];
    const set = { setId, tier: 'manual' as const, parts };
    // ZooKeeper first: it may create the repository, which parts running side by side must not race to do.
    const part = (name: string) => {
      const host = source.brokers.find((b) => `logdirs:${b.id}` === name)?.host;
      return control.backupPartActivity.executeWithOptions(long(host), [{ spec: source, set, part: name, options: { logdirMode: 'hot' } }]);
    };
    await t.step(
      'backup',
      async () => [await part('zookeeper'), ...(await Promise.all(parts.slice(1).map(part)))],
      (r) => `set ${setId}: ${r.map(backupPartDetail).join('; ')}`,
    );

    const copies = await control.planCopiesActivity.executeWithOptions(LONG, [{ source, setId, plan }]);
    if (copies.missing.length) {
      for (const m of copies.missing) t.problem(m);
      throw ApplicationFailure.nonRetryable(`no copy of ${copies.missing.length} partitions in set ${setId}: ${copies.missing[0]}`, 'DataLost');
    }

    await t.step('stop-target', () => Promise.all(target.brokers.map((b) => control.stopBrokerActivity.executeWithOptions(onHost(b.host), [{ spec: target, brokerId: b.id }]))), stopBrokersDetail);

    const migration = (brokerId: number) => ({ id: t.kind + ':' + setId, targetClusterId: plan.targetClusterId, copies: copies.byTarget[String(brokerId)] ?? [] });
    await t.step(
      'restore',
      () =>
        Promise.all(
          target.brokers.map((b) => control.restoreMigratedPartitionsActivity.executeWithOptions(onHost(b.host), [{ source, target, brokerId: b.id, migration: migration(b.id) }])),
        ),
      (r) => r.map((x) => `broker ${x.brokerId}: ${x.partitions} partitions, ${x.files} files, ${megabytes(x.bytes)}${x.resumedFiles ? ` (${x.resumedFiles} files already there)` : ''}`).join('; '),
    );

    const written = await t.step(
      'write-metadata',
      () => control.writeTargetMetadataActivity({ target, plan }),
      (r) => `${r.topics} topics, ${r.partitions} partitions, ${plan.topics.filter((x) => x.acl).length} topics' ACLs under ${target.zookeeper?.chroot ?? '/'}`,
    );
    for (const name of written.keptAcls) t.problem(`${target.name} already had ACLs on topic ${name}: they were kept, the source's were not written`);

    await t.step(
      'start-target',
      async () => {
        await Promise.all(target.brokers.map((b) => control.startBrokerActivity.executeWithOptions(onHost(b.host, '10 minutes'), [{ spec: target, brokerId: b.id }])));
        return control.waitForServingActivity({ spec: target });
      },
      (s) => `${s.brokers.length} brokers, ${s.partitions} partitions online`,
    );

    await t.step('commit-groups', () => control.commitGroupOffsetsActivity({ target, capture }), (r) => `${r.groups} groups, ${r.partitions} partition offsets`);

    const ends: Record<string, Record<string, number>> = {};
    for (const list of Object.values(copies.byTarget)) for (const c of list) (ends[c.topic] ??= {})[String(c.partition)] = c.end;
    for (const [topic, ps] of Object.entries(capture.fingerprints)) {
      for (const [p, f] of Object.entries(ps)) {
        const end = ends[topic]?.[p];
        if (end !== undefined && end !== f.to) t.problem(`${topic}-${p}: the copy ends at ${end}, the source served up to ${f.to} when it was read: records were written between the read and the stop`);
      }
    }
    const verified = await t.step(
      'verify',
      () => control.verifyOfflineMigrationActivity.executeWithOptions(LONG, [{ target, capture, ends }]),
      (v) => checksDetail(v.checks),
    );
    checks.push(...verified.checks);
    for (const p of verified.problems) t.problem(`verification: ${p}`);

    if (input.restartSource) await restartSource(t, source);
    else t.skip('restart-source', `${source.name}'s brokers ${srcIds.join(', ')} are left stopped (restartSource starts them again)`);

    const outcome = checks.every((c) => c.ok) ? 'succeeded' : 'failed';
    t.finish(outcome);
    return report(outcome);
  } catch (e) {
    const stopped = t.statusOf('stop-source') === 'done' || t.statusOf('stop-source') === 'failed';
    const targetDown = t.statusOf('stop-target') === 'done' && t.statusOf('start-target') !== 'done';
    const said: string[] = [];
    if (stopped && input.restartSource && t.statusOf('start-target') !== 'done') {
      // Nothing serves the data yet on the target: the source is the copy to go back to.
      const restarted = await restartSource(t, source).then(() => true, () => false);
      said.push(restarted ? `${source.name}'s brokers ${srcIds.join(', ')} were started again` : `${source.name}'s brokers could not be started again: start them by hand`);
    } else if (stopped) said.push(`${source.name}'s brokers ${srcIds.join(', ')} are left stopped`);
    // A target stopped for the restore stays stopped: what it holds now is half a migration.
    if (targetDown) said.push(`${target.name}'s brokers ${dstIds.join(', ')} are left stopped (its own data untouched)`);
    const left = said.join('; ');
    if (!left) throw e;
    t.problem(left);
    // The run's one line says what it leaves stopped, with the failure's own type.
    const f = failureOf(e);
    throw ApplicationFailure.create({ type: f.type, message: `${f.message}; ${left}`, nonRetryable: true });
  } finally {
    await t.settle();
  }
}

async function restartSource(t: RunTracker, source: ClusterSpec): Promise<void> {
  await t.step(
    'restart-source',
    async () => {
      await Promise.all(source.brokers.map((b) => control.startBrokerActivity.executeWithOptions(onHost(b.host, '10 minutes'), [{ spec: source, brokerId: b.id }])));
      return control.waitForServingActivity({ spec: source });
    },
    (s) => `${s.brokers.length} brokers serving again`,
  );
}
