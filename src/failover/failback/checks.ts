/**
 * Failback's checks (read only): the old primary answers and is healthy (every broker of its spec,
 * every mirrored partition led with its full ISR), which of its mirrored topics carry the write
 * fence, the standby answers, and the forward mirror (primary → standby) is not running — its
 * positions must hold still while the tail is cut off at them.
 */
import type { ClusterSpec } from '../../config/spec';
import { isLifeboatError } from '../../errors';
import { fenceShape } from '../../kafka/acls';
import { partitionStates, reachableKafka, retryTransient, withAdmin } from '../../kafka/admin';
import { mirrorPair, mirrorWorkflowId } from '../../kafka/mirrorRun.pure';
import { topicAcls } from '../../migration/fence';
import { connectTemporal } from '../../temporal/runs';
import { forwardPartitions } from '../../kafka/mirror/settled';
import type { FailbackCheck, FailbackChecks } from './run.pure';

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

/** RUNNING, another state, 'absent', or 'unknown' (Temporal not reachable from here). */
async function workflowState(workflowId: string): Promise<string> {
  let t: Awaited<ReturnType<typeof connectTemporal>> | undefined;
  try {
    t = await connectTemporal();
    const d = await t.client.workflow.getHandle(workflowId).describe();
    return d.status.name;
  } catch (e) {
    if ((e as Error).name === 'WorkflowNotFoundError' || /not found/i.test(firstLine(e))) return 'absent';
    return 'unknown';
  } finally {
    await t?.close().catch(() => undefined);
  }
}

export async function failbackChecks(primary: ClusterSpec, standby: ClusterSpec, opts: { topics?: string[]; signal?: AbortSignal } = {}): Promise<FailbackChecks> {
  const checks: FailbackCheck[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  const out: FailbackChecks = { checks, problems, warnings, topics: [], unfenced: [], mirrorRunning: 'unknown' };
  const check = (name: string, ok: boolean, detail: string, problem?: string) => {
    checks.push({ name, ok, detail });
    if (!ok && problem) problems.push(problem);
  };

  // The forward mirror's positions on the standby: which topics were mirrored, and where it stopped.
  let fwd: Awaited<ReturnType<typeof forwardPartitions>> = [];
  try {
    fwd = await forwardPartitions(primary, standby, { topics: opts.topics, signal: opts.signal });
    const topics = [...new Set(fwd.map((f) => f.topic))].sort();
    out.topics = topics.map((topic) => ({ topic, partitions: fwd.filter((f) => f.topic === topic).length }));
    const missing = (opts.topics ?? []).filter((t) => !topics.includes(t));
    check(
      'mirror positions',
      topics.length > 0 && missing.length === 0,
      topics.length ? `${fwd.length} partitions of ${topics.length} topics mirrored (${topics.slice(0, 5).join(', ')}${topics.length > 5 ? ', …' : ''})${missing.length ? `; never mirrored: ${missing.join(', ')}` : ''}` : 'none',
      !topics.length
        ? `${standby.name} holds no position of the mirror ${mirrorPair(primary.name, standby.name)}: nothing was mirrored from ${primary.name}, so there is no divergent tail to tell apart (is this the right pair?)`
        : missing.length
          ? `topics never mirrored ${primary.name} → ${standby.name}: ${missing.join(', ')}`
          : undefined,
    );
  } catch (e) {
    if (!isLifeboatError(e)) throw e;
    check('mirror positions', false, firstLine(e), firstLine(e));
  }

  // The forward mirror must be stopped: its positions are where the tail starts.
  const mirrorId = mirrorWorkflowId(primary.name, standby.name);
  const state = await workflowState(mirrorId);
  out.mirrorRunning = state === 'unknown' ? 'unknown' : state === 'RUNNING';
  if (state === 'unknown') {
    warnings.push(`Temporal did not say whether ${mirrorId} runs (not reachable from the worker): make sure it is stopped`);
    check('forward mirror stopped', true, `unknown (Temporal not reachable from the worker)`);
  } else {
    check(
      'forward mirror stopped',
      state !== 'RUNNING',
      state === 'absent' ? `${mirrorId}: no such run` : `${mirrorId}: ${state.toLowerCase()}`,
      `the mirror ${mirrorId} still runs: stop it first (lifeboat mirror stop ${mirrorId}) — its position is where the divergent tail starts`,
    );
  }

  // The old primary: every broker back, the mirrored partitions led with their full ISR.
  try {
    const pk = await reachableKafka(primary, 'failback-checks');
    await withAdmin(pk, primary.name, async (admin) => {
      const cluster = await retryTransient(() => admin.describeCluster());
      const up = cluster.brokers.map((b) => b.nodeId);
      const down = primary.brokers.map((b) => b.id).filter((id) => !up.includes(id));
      check('old primary brokers', down.length === 0, `${up.length} of ${primary.brokers.length} brokers answer${down.length ? `; down: ${down.join(', ')}` : ''}`, `brokers ${down.join(', ')} of ${primary.name} are down: repair it first (lifeboat recover), then fail back`);
      const topics = out.topics.map((t) => t.topic);
      if (topics.length) {
        const existing = await retryTransient(() => admin.listTopics());
        const gone = topics.filter((t) => !existing.includes(t));
        if (gone.length) check('old primary topics', false, `missing: ${gone.join(', ')}`, `topics ${gone.join(', ')} are gone from ${primary.name}: their divergent tail is lost and the reverse mirror has no topic to write; recreate them from a backup first`);
        const present = topics.filter((t) => existing.includes(t));
        const parts = present.length ? await partitionStates(admin, present, { cluster: primary.name, listed: true }) : [];
        const bad = parts.filter((p) => p.leader < 0 || p.isr.length < p.replicas.length);
        check(
          'old primary healthy',
          bad.length === 0,
          bad.length ? `${bad.length} partitions without a leader or with a short ISR, e.g. ${bad[0]!.topic}-${bad[0]!.partition} (leader ${bad[0]!.leader}, ISR ${bad[0]!.isr.length}/${bad[0]!.replicas.length})` : `${parts.length} partitions led, every ISR full`,
          `${primary.name} is not healthy (${bad.length} partitions without a leader or with a short ISR, e.g. ${bad[0]?.topic}-${bad[0]?.partition}): wait for it to recover`,
        );
        // The fence: a DENY WRITE for User:* on each topic (the migration's and the failover's shape).
        try {
          const acls = await topicAcls(admin, primary.name);
          const fenced = new Set(acls.filter((a) => fenceShape(a) === 'deny-write').map((a) => a.resourceName));
          out.unfenced = present.filter((t) => !fenced.has(t));
          check('old primary fenced', true, out.unfenced.length ? `${present.length - out.unfenced.length} of ${present.length} topics fenced; the failback fences ${out.unfenced.join(', ')} first` : `all ${present.length} topics fenced for applications`);
        } catch (e) {
          if (!isLifeboatError(e)) throw e;
          check('old primary fenced', false, firstLine(e), firstLine(e));
        }
      }
    });
  } catch (e) {
    if (!isLifeboatError(e)) throw e;
    check('old primary reachable', false, firstLine(e), `${primary.name} does not answer (${firstLine(e)}): repair it first, then fail back`);
  }

  // The standby: it serves the clients and receives the quarantine.
  try {
    await withAdmin(await reachableKafka(standby, 'failback-checks'), standby.name, async (admin) => {
      const c = await retryTransient(() => admin.describeCluster());
      check('standby reachable', true, `${c.brokers.length} brokers answer`);
    });
  } catch (e) {
    if (!isLifeboatError(e)) throw e;
    check('standby reachable', false, firstLine(e), `${standby.name} does not answer (${firstLine(e)})`);
  }
  return out;
}
