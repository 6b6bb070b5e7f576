/**
 * verifyCluster — is the cluster back? Against a backup set: every topic with its partition count,
 * end offsets at least what the log-dir copies held, committed group offsets, the newest records
 * bit for bit and the throughput against the backup-time baseline; and always: every broker serving
 * and a produce/consume probe. Read-only apart from the probe's scratch topic, so no approval gate.
 * Without a set it checks only serving and the probe (a failover's or drill's "is it up?").
 */
import { workflowInfo } from '@temporalio/workflow';
import { specReadingFrom } from '../../src/backup/tiers.pure';
import { dataPathOf, recoverySteps, restoredSubset } from '../../src/recovery/plan.pure';
import { checksDetail } from '../../src/report/details.pure';
import type { DataCheck, RunReport } from '../../src/report/report.pure';
import { type ClusterRef, resolveCluster } from '../support/cluster';
import { RunTracker } from '../support/tracker';
import { chooseStepIfNeeded, control, failureOf, setOf, type SetRef, upCheck, VERIFY_PROBE_TIMEOUT_MS } from './support';

export interface VerifyClusterInput extends ClusterRef, SetRef {
  /** Verify only what these parts restored (the set's other parts say nothing about the cluster). */
  parts?: string[];
  /** Consumer groups were set through an offset map (a logical restore); default: when the set holds topics, not log dirs. */
  groupsTranslated?: boolean;
  /** Records the probe writes and reads back (default 30). */
  probeRecords?: number;
  dryRun?: boolean;
}

export async function verifyCluster(input: VerifyClusterInput): Promise<RunReport> {
  const resolved = await resolveCluster(input);
  const source = resolved.source;
  // Reassigned once the set is known: a set chosen in a tier after the primary is read there.
  let spec = resolved.spec;
  const t = new RunTracker('verifyCluster', spec.name, [...chooseStepIfNeeded(input, input.parts), ...recoverySteps.verify()], input.dryRun ?? false, source);
  const checks: DataCheck[] = [];
  try {
    const chosen = await setOf(t, spec, input, input.parts);
    spec = specReadingFrom(spec, chosen?.readFrom);
    const set = chosen && restoredSubset(chosen, input.parts);
    const snapshot = chosen && { id: chosen.setId, time: chosen.time };
    if (t.dryRun) {
      t.skip('verify', 'dry run');
      t.finish('planned');
      return t.report('planned', { snapshot });
    }
    await t.step(
      'verify',
      async () => {
        // "Is it up?" first, bounded (upCheck): a cluster that does not serve fails its checks within
        // about two minutes, and the set's checks (which would wait on it too) are not run.
        const health = await upCheck.clusterHealthActivity({ spec }).catch((e: unknown) => new Error(failureOf(e).message));
        const serving = health instanceof Error ? 0 : spec.brokers.filter((b) => health.brokers.includes(b.id)).length;
        const records = input.probeRecords ?? 30;
        const probe = await upCheck.produceConsumeProbeActivity({ spec, records, timeoutMs: VERIFY_PROBE_TIMEOUT_MS }).catch((e: unknown) => new Error(failureOf(e).message));
        const upChecks: DataCheck[] = [
          { subject: 'brokers serving', expected: spec.brokers.length, actual: health instanceof Error ? `none answered (${health.message})` : serving, ok: serving === spec.brokers.length },
          probe instanceof Error
            ? { subject: 'produce/consume probe', expected: records, actual: `failed (${probe.message})`, ok: false }
            : { subject: 'produce/consume probe', expected: probe.produced, actual: probe.consumed, ok: probe.ok },
        ];
        if (set && upChecks.every((c) => c.ok)) {
          const groupsTranslated = input.groupsTranslated ?? dataPathOf(set) === 'topics';
          checks.push(...(await control.verifyAgainstSetActivity({ spec, set, groupsTranslated })));
          const baseline = await control.verifyBaselineActivity({ spec, set });
          checks.push(...baseline.checks);
          for (const p of baseline.problems) t.problem(p);
        } else if (set) t.problem(`the checks against set ${set.setId} were not run: the cluster does not serve`);
        checks.push(...upChecks);
        for (const c of checks.filter((x) => !x.ok)) t.problem(`verification: ${c.subject} expected ${c.expected}, got ${c.actual}`);
        return checks;
      },
      checksDetail,
    );
    const outcome = checks.every((c) => c.ok) ? 'succeeded' : 'failed';
    t.finish(outcome);
    return t.report(outcome, { snapshot, checks });
  } finally {
    await t.settle();
  }
}

/** The workflow ID of a parent's verifyCluster. */
export const verifyClusterId = (): string => `${workflowInfo().workflowId}/verify-cluster-1`;
