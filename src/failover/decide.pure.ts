/**
 * The failover decision tree (seed 004 §6.3) as a pure function from observations to a decision:
 *
 *   confirmed by direct probes?      no  → stand down (an alert alone, or one flapping probe, never moves clusters)
 *   how severe? (P0–P3, classify)
 *   repairable in place in budget?   yes → repair (start stopped processes / recover a minority of brokers)
 *   impaired enough to move?         no  → escalate (P2/P3: the cluster still serves every partition)
 *   usable data elsewhere?           no  → escalate (nothing to serve from; a backup set is an operator's restore)
 *   standby ready?                   yes → failover; no → escalate (the seed's "request resources urgently")
 *
 * Every question is recorded as a Branch with the evidence it was answered on (the report lists them).
 * Pure: no Node APIs, no clock (the workflow imports it; "now" is the newest probe's time).
 */
import type { Branch, ClusterObservation, Decision, DecisionResult, FailoverPolicy, Observations, Severity, StandbyObservation } from './types';

/**
 * Mirror positions older than this before the alert do not count as usable data: the mirror writes a
 * position with every fetch answer, so a mirror that wrote none for this long was not keeping up.
 * The seed's default RPO objective (15 min; objectives.rpoMinutes) is the bound.
 */
export const MIRROR_STALE_MS = 15 * 60_000;

/** A repair with less time than this left in its budget cannot finish in it (a broker takes ~1 min to come back). */
export const MIN_REPAIR_MS = 60_000;

/**
 * The severity one probe shows, or null when it shows a healthy cluster. The rule (seed 004 §6.2:
 * P0 everything unavailable, P1 core service impaired, P2 non-core fault, P3 a single anomaly):
 *  - P0: no broker answers, no active controller, no ZooKeeper quorum, or a partition of a critical
 *    topic (spec.topics.critical) offline — producers and consumers of what matters are stopped;
 *  - P1: partitions offline or under min.insync.replicas (acks=all writes refused) in other
 *    topics — data is unavailable or at risk, but not of the critical topics;
 *  - P2: a broker does not answer (or its process is stopped) while every partition has a leader
 *    and enough in-sync replicas — the cluster serves everything with less redundancy;
 *  - P3: degraded with nothing at risk — ZooKeeper servers down with the quorum intact.
 */
export function classify(probe: ClusterObservation): Severity | null {
  return classifyWhy(probe)?.severity ?? null;
}

function classifyWhy(p: ClusterObservation): { severity: Severity; why: string } | null {
  const down = downIds(p);
  if (!p.reachable) return { severity: 'P0', why: `no broker answers (${p.brokers.length} probed)` };
  if (p.controller === null) return { severity: 'P0', why: 'no active controller' };
  if (p.zookeeper && !p.zookeeper.quorum) return { severity: 'P0', why: `no ZooKeeper quorum (${p.zookeeper.reachable} of ${p.zookeeper.total} servers answer)` };
  if (p.criticalOffline.length) return { severity: 'P0', why: `${p.criticalOffline.length} partition(s) of critical topics offline (${refs(p.criticalOffline)})` };
  if (p.offline.length) return { severity: 'P1', why: `${p.offline.length} partition(s) offline (${refs(p.offline)}), none of critical topics` };
  if (p.underMinIsr.length) return { severity: 'P1', why: `${p.underMinIsr.length} partition(s) under min.insync.replicas (${refs(p.underMinIsr)})` };
  if (down.length) return { severity: 'P2', why: `broker(s) ${down.join(', ')} down, every partition led with enough in-sync replicas` };
  if (p.zookeeper && p.zookeeper.reachable < p.zookeeper.total) {
    return { severity: 'P3', why: `${p.zookeeper.total - p.zookeeper.reachable} ZooKeeper server(s) of ${p.zookeeper.total} down, quorum intact` };
  }
  return null;
}

/** A broker that does not answer, or whose process broker control reports stopped. */
const isDown = (b: ClusterObservation['brokers'][number]): boolean => !b.reachable || b.process === 'stopped';
const downIds = (p: ClusterObservation): number[] => p.brokers.filter(isDown).map((b) => b.id);

const refs = (ps: { topic: string; partition: number }[]): string => {
  const shown = ps.slice(0, 5).map((r) => `${r.topic}-${r.partition}`);
  return ps.length > 5 ? `${shown.join(', ')} and ${ps.length - 5} more` : shown.join(', ');
};

/** One line per probe: what it saw. */
export function describeProbe(p: ClusterObservation): string {
  const up = p.brokers.filter((b) => !isDown(b)).length;
  const down = p.brokers.filter(isDown).map((b) => `${b.id}${b.process && b.process !== 'unknown' ? ` (process ${b.process})` : ''}`);
  const parts = [
    `${up}/${p.brokers.length} brokers answer${down.length ? ` (down: ${down.join(', ')})` : ''}`,
    `controller ${p.controller === undefined ? 'unknown' : p.controller === null ? 'none' : p.controller}`,
  ];
  if (p.zookeeper) parts.push(`ZooKeeper ${p.zookeeper.reachable}/${p.zookeeper.total}${p.zookeeper.quorum ? ' (quorum)' : ' (no quorum)'}`);
  parts.push(`offline ${p.offline.length}`, `critical offline ${p.criticalOffline.length}`, `under min ISR ${p.underMinIsr.length}`);
  return `${p.at}: ${parts.join(', ')}`;
}

const ORDER: Severity[] = ['P0', 'P1', 'P2', 'P3'];

/** The decision tree. `obs.probes` in the order they were taken (newest last). */
export function decide(obs: Observations, policy: FailoverPolicy): DecisionResult {
  const branches: Branch[] = [];
  const done = (severity: Severity | null, decision: Decision): DecisionResult => ({ severity, decision, branches });

  // 1. Confirmed? The newest confirmProbes probes must all show a problem.
  const window = obs.probes.slice(-Math.max(1, policy.confirmProbes));
  const seen = window.map((p) => classifyWhy(p));
  const evidence = window.map((p, i) => `${describeProbe(p)} → ${seen[i]?.severity ?? 'healthy'}`).join('; ') || 'no probe taken';
  const question = `Is the failure confirmed by ${policy.confirmProbes} direct probe(s) of Kafka and ZooKeeper?`;
  if (window.length < policy.confirmProbes) {
    branches.push({ question, answer: `no: ${window.length} probe(s) taken, the policy needs ${policy.confirmProbes}`, evidence });
    return done(null, { action: 'stand-down', reason: `not confirmed: ${window.length} of ${policy.confirmProbes} probe(s) taken` });
  }
  const bad = seen.filter((s) => s !== null).length;
  if (bad === 0) {
    branches.push({ question, answer: 'no: every probe found the cluster healthy', evidence });
    return done(null, { action: 'stand-down', reason: `not confirmed: the cluster is healthy in all ${window.length} probe(s)` });
  }
  if (bad < window.length) {
    branches.push({ question, answer: `no: ${bad} of ${window.length} probes found a problem (flapping)`, evidence });
    return done(null, { action: 'stand-down', reason: `not confirmed: only ${bad} of ${window.length} probes found a problem (flapping)` });
  }
  branches.push({ question, answer: `yes: all ${window.length} probes found a problem`, evidence });

  // 2. Severity: the least severe any probe showed — every probe saw at least that much.
  const found = seen as { severity: Severity; why: string }[];
  const least = found.reduce((a, b) => (ORDER.indexOf(b.severity) > ORDER.indexOf(a.severity) ? b : a));
  const newest = window[window.length - 1]!;
  const severity = least.severity;
  branches.push({
    question: 'How severe is it (P0 cluster down … P3 degraded)?',
    answer: severity,
    evidence: `${least.why}${found.some((f) => f.severity !== severity) ? ` (the least severe of the probes: ${found.map((f) => f.severity).join(', ')})` : ''}`,
  });

  // 3. Repair in place within the budget (seed: "can it be recovered within 15 minutes? yes → repair in place").
  const repair = repairInPlace(obs, policy, window, newest);
  branches.push({ question: `Can it be repaired in place within the repair budget (${policy.repairBudgetMinutes} min)?`, answer: repair.answer, evidence: repair.evidence });
  if (repair.decision) return done(severity, repair.decision);

  // 4. Does it warrant moving clusters? P2/P3 still serve every partition: a failover would only cost its RPO.
  const impaired = severity === 'P0' || severity === 'P1';
  branches.push({
    question: 'Is the service impaired enough to move clusters (P0 or P1)?',
    answer: impaired ? `yes: ${severity}` : `no: ${severity}`,
    evidence: impaired ? least.why : `${least.why}: the primary still serves every partition; a failover would lose what was not mirrored for nothing`,
  });
  if (!impaired) {
    return done(severity, { action: 'escalate', reason: `${severity} not repaired in place (${repair.answer}); the primary still serves every partition, so an operator decides` });
  }

  // 5. Usable data elsewhere? The standby's mirror, else the newest verified backup set.
  const alertAt = Date.parse(newest.at) - obs.sinceAlertMs;
  const data = usableData(obs.standby, obs.backup, alertAt);
  branches.push({ question: 'Is there usable data elsewhere (the standby mirror, a verified backup set)?', answer: data.answer, evidence: data.evidence });
  if (!data.mirror) {
    const reason = obs.backup?.newestVerified
      ? `no usable mirror on a standby (${data.answer}); the newest verified backup set ${obs.backup.newestVerified.setId} (${obs.backup.newestVerified.time}) can be restored: an operator decides`
      : `no usable data elsewhere (${data.answer}): an operator decides`;
    return done(severity, { action: 'escalate', reason });
  }

  // 6. Standby ready? Healthy, every broker up, the mirror within maxLagRecords.
  const ready = standbyReady(obs.standby!, policy);
  branches.push({ question: `Is the standby ${obs.standby!.cluster} ready (healthy, brokers up, lag ≤ ${policy.maxLagRecords} records)?`, answer: ready.answer, evidence: ready.evidence });
  if (!ready.ok) return done(severity, { action: 'escalate', reason: `standby ${obs.standby!.cluster} not ready: ${ready.answer.replace(/^no: /, '')}; an operator decides` });
  return done(severity, { action: 'failover', reason: `${severity} confirmed (${least.why}), not repairable in place (${repair.answer.replace(/^no: /, '')}), standby ${obs.standby!.cluster} ready` });
}

function repairInPlace(
  obs: Observations,
  policy: FailoverPolicy,
  window: ClusterObservation[],
  newest: ClusterObservation,
): { answer: string; evidence: string; decision?: Decision } {
  const budgetMs = policy.repairBudgetMinutes * 60_000;
  const leftMs = budgetMs - obs.sinceAlertMs;
  const timing = `${Math.round(obs.sinceAlertMs / 1000)} s since the alert, ${Math.max(0, Math.round(leftMs / 1000))} s of the ${policy.repairBudgetMinutes} min budget left`;
  if (obs.repair) {
    return {
      answer: `no: a repair was already tried (${obs.repair.tried}, ${obs.repair.ok ? 'it ended but the failure persists' : 'it failed'})`,
      evidence: `${obs.repair.tried}: ${obs.repair.detail}`,
    };
  }
  if (budgetMs <= 0) return { answer: 'no: repair in place is off (budget 0)', evidence: timing };
  if (leftMs < Math.min(MIN_REPAIR_MS, budgetMs)) return { answer: 'no: the repair budget is spent', evidence: timing };

  // Down in every probe of the window (a broker that came back meanwhile needs no repair).
  const down = newest.brokers.filter((b) => window.every((p) => p.brokers.some((x) => x.id === b.id && isDown(x))));
  const total = newest.brokers.length;
  const zkOk = !newest.zookeeper || newest.zookeeper.quorum;
  const zkWhy = newest.zookeeper ? `ZooKeeper ${newest.zookeeper.reachable}/${newest.zookeeper.total}${newest.zookeeper.quorum ? '' : ' without quorum'}` : 'no ZooKeeper (KRaft)';
  const ids = down.map((b) => b.id);
  const evidence = `${timing}; down in every probe: ${ids.length ? ids.map((id) => `${id} (process ${down.find((b) => b.id === id)!.process ?? 'unknown'})`).join(', ') : 'none'} of ${total}; ${zkWhy}`;
  if (!zkOk) return { answer: 'no: ZooKeeper has no quorum (no broker repair brings it back)', evidence };
  if (!down.length) return { answer: 'no: every broker answers; nothing a broker repair fixes', evidence };

  const budget = Math.max(0, leftMs);
  // A process broker control reports stopped comes back with a start: the quickest repair there is.
  if (down.every((b) => b.process === 'stopped')) {
    return {
      answer: `yes: start the stopped broker process(es) ${ids.join(', ')}`,
      evidence,
      decision: { action: 'repair', how: 'start-process', brokers: ids, budgetMs: budget, reason: `broker process(es) ${ids.join(', ')} stopped: start them (${Math.round(budget / 1000)} s budget)` },
    };
  }
  // One or a minority down while the rest serve: the brokerRecovery workflow rebuilds them.
  const serving = newest.brokers.filter((b) => !isDown(b)).length;
  if (down.length * 2 < total && serving === total - down.length) {
    return {
      answer: `yes: recover broker(s) ${ids.join(', ')} (a minority; ${serving} of ${total} serve)`,
      evidence,
      decision: { action: 'repair', how: 'broker-recovery', brokers: ids, budgetMs: budget, reason: `broker(s) ${ids.join(', ')} down, ${serving} of ${total} serve: recover them in place (${Math.round(budget / 1000)} s budget)` },
    };
  }
  const why = down.length * 2 >= total ? 'a majority, not all stopped processes: not recoverable in place within the budget' : `the others do not all serve (${serving} of ${total} answer)`;
  return { answer: `no: ${down.length} of ${total} brokers down (${why})`, evidence };
}

function usableData(
  standby: StandbyObservation | undefined,
  backup: Observations['backup'],
  alertAt: number,
): { mirror: boolean; answer: string; evidence: string } {
  const set = backup?.newestVerified;
  const backupLine = set ? `newest verified backup set ${set.setId} (${set.time}, ${set.parts.length} part(s))` : 'no verified backup set';
  if (!standby) return { mirror: false, answer: 'no standby observed', evidence: backupLine };
  const m = standby.mirror;
  const age = m.lastPositionAt === undefined ? undefined : alertAt - m.lastPositionAt;
  const mirrorLine =
    m.lastPositionAt === undefined
      ? `mirror ${m.workflowId}: no positions on ${standby.cluster}`
      : `mirror ${m.workflowId}: ${m.running ? 'running' : 'not running'}, ${m.topics.length} topic(s), newest position ${new Date(m.lastPositionAt).toISOString()} (${Math.round((age ?? 0) / 1000)} s before the alert)`;
  const evidence = `${mirrorLine}; ${backupLine}`;
  if (m.lastPositionAt === undefined || !m.topics.length) return { mirror: false, answer: `no mirror data on standby ${standby.cluster}${set ? ', only a backup set' : ''}`, evidence };
  if (!m.running && age !== undefined && age > MIRROR_STALE_MS) {
    return { mirror: false, answer: `no: the mirror stopped writing positions ${Math.round(age / 60_000)} min before the alert${set ? ', only a backup set' : ''}`, evidence };
  }
  return { mirror: true, answer: `yes: the mirror on ${standby.cluster}${set ? ` and ${set.setId}` : ''}`, evidence };
}

function standbyReady(s: StandbyObservation, policy: FailoverPolicy): { ok: boolean; answer: string; evidence: string } {
  const lag = s.mirror.lagRecords;
  const evidence = `${s.brokersUp}/${s.brokersTotal} brokers up, ${s.healthy ? 'healthy' : 'unhealthy'}${s.problems.length ? ` (${s.problems.join('; ')})` : ''}, mirror lag ${lag === undefined ? 'unknown (the primary does not answer; exact records not mirrored are counted at promotion)' : `${lag} records`}`;
  if (!s.healthy) return { ok: false, answer: `no: unhealthy${s.problems.length ? ` (${s.problems[0]})` : ''}`, evidence };
  if (s.brokersTotal === 0 || s.brokersUp < s.brokersTotal) return { ok: false, answer: `no: ${s.brokersUp} of ${s.brokersTotal} brokers up`, evidence };
  if (lag !== undefined && lag > policy.maxLagRecords) return { ok: false, answer: `no: the mirror lags ${lag} records (max ${policy.maxLagRecords})`, evidence };
  return { ok: true, answer: 'yes', evidence };
}
