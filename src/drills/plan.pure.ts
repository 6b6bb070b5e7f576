/**
 * A drill's plan (seed 004 §8.2–8.3): for a scenario and a drill type, the faults to apply, the
 * recovery child workflow(s) that answer them with their input, the runbook (the recovery's steps in
 * order, with approval gates and optional steps) the process is scored against, and for a chaos
 * drill the second fault and the recovery step it lands on.
 *
 *   tabletop  every child in dry run, no fault: the plan and each workflow's decisions, nothing touched
 *   partial   one step for real: one broker's fault and its brokerRecovery (scenarios that are one step
 *             already — one broker, ZooKeeper, the registry — run as they are)
 *   full      the scenario's faults and its recovery
 *   chaos     full, plus a broker killed at a random step of the running recovery
 *
 * Pure: no Node APIs, no clock; randomness comes in as a function (the workflow's deterministic one).
 */
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import type { FaultSpec, Scenario } from './records';
import { SCENARIOS } from './records';
import type { DrillType, RunbookStep } from './types';

export const DRILL_TYPES: readonly DrillType[] = ['tabletop', 'partial', 'full', 'chaos'];

/** The recovery workflows a drill runs as children. */
export type RecoveryWorkflow = 'fullClusterRecovery' | 'brokerRecovery' | 'restoreState' | 'failover';

/** One recovery child: which workflow, its ID suffix, the input beyond the cluster and the run options the drill adds. */
export interface RecoveryCall {
  workflow: RecoveryWorkflow;
  /** Appended to the drill's workflow ID: `<drill>/<id>`. */
  id: string;
  /** Prefix of this child's steps in the runbook and the evidence ('' when the drill runs one child). */
  stepPrefix: string;
  /** brokerRecovery: the broker. */
  brokerId?: number;
  /** fullClusterRecovery / restoreState: the parts to restore (default all). */
  parts?: string[];
  /** restoreState: it needs the set (the one prepare made or checked). */
  needsSetId?: boolean;
}

export interface ChaosPlan {
  /** The runbook step (with its prefix) at which the second fault is applied, once the recovery reaches it. */
  atStep: string;
  fault: FaultSpec;
}

export interface DrillPlan {
  scenario: Scenario;
  type: DrillType;
  /** Every child in dry run, no fault (tabletop). */
  dryRun: boolean;
  /** Faults in the order they are applied (reverted in the reverse order). */
  faults: FaultSpec[];
  recovery: RecoveryCall[];
  runbook: RunbookStep[];
  chaos?: ChaosPlan;
  /** Steps whose not running is a degradation not applied (failover's registry degradation). */
  degradationSteps: string[];
  /** The scenario needs a fallback to work (the newest set is corrupt). */
  fallbackNeeded: boolean;
  /** One line per decision, for the report. */
  notes: string[];
}

export interface PlanOptions {
  /** Deterministic random in [0, 1) (the workflow's Math.random). */
  random?: () => number;
  /** A chaos drill's step, instead of a random one (tests, a repeat of an earlier drill). */
  chaosStep?: string;
}

/** The environments a drill may target without `iKnowThisIsProduction`. */
export const DRILL_ENVIRONMENTS = ['staging', 'development'] as const;

/**
 * A datacenter-lost drill fails over to the standby (its fences lifted, its clients switched, the
 * stream mirrored onto it): the standby must be a drill target too. Null when it may be.
 */
export function standbyRefusal(primary: ClusterSpec, standby: ClusterSpec, iKnowThisIsProduction?: boolean): string | null {
  const r = targetRefusal(standby, iKnowThisIsProduction);
  return r && `the drill of ${primary.name} fails over to its standby: ${r}`;
}

/** Null when the spec may be drilled; else the one line that says why not and what to do. */
export function targetRefusal(spec: ClusterSpec, iKnowThisIsProduction?: boolean): string | null {
  const env = spec.environment;
  if (env && (DRILL_ENVIRONMENTS as readonly string[]).includes(env)) return null;
  if (iKnowThisIsProduction) return null;
  return `cluster ${spec.name} is ${env ? `marked environment: ${env}` : 'not marked as a drill target (no environment in its spec)'}: a drill injects real faults; drill a staging cluster (environment: staging), or pass --i-know-this-is-production`;
}

const bad = (message: string): never => {
  throw new LifeboatError('InvalidInput', message);
};

/** The runbook of one recovery child, its step ids prefixed. */
export function recoveryRunbook(spec: ClusterSpec, call: RecoveryCall): RunbookStep[] {
  const p = call.stepPrefix;
  const s = (id: string, title: string, more: Partial<RunbookStep> = {}): RunbookStep => ({ id: p + id, title, ...more });
  const asked = (part: string) => !call.parts?.length || call.parts.includes(part);
  switch (call.workflow) {
    case 'fullClusterRecovery':
      return [
        s('choose-set', 'Choose the newest backup set that covers the cluster and verifies'),
        s('stop-brokers', 'Stop every broker', { gate: true }),
        s('restore-zookeeper', 'Restore ZooKeeper', { optional: !spec.zookeeper || !asked('zookeeper') }),
        s('restore-registry', 'Restore the service registry', { optional: !spec.registry || !asked('registry') }),
        s('restore-configs', 'Restore broker configs', { optional: !!call.parts?.length && !call.parts.some((x) => x.startsWith('configs:')) }),
        // ZooKeeper restored while brokers keep their disks: the disks' newer topics registered again.
        s('adopt-topics', "Register the topics the brokers' disks hold and the restored ZooKeeper lacks", { optional: true }),
        // One of the two data paths runs, as the set holds log-dir copies or topics.
        s('restore-data', 'Restore log dirs', { optional: true }),
        s('start-brokers', 'Start brokers'),
        s('wait-serving', 'Wait until every broker serves'),
        s('restore-topics', 'Restore topics and group offsets', { optional: true }),
        s('preferred-election', 'Preferred leader election'),
        s('verify', 'Verify against the backup set'),
      ];
    case 'brokerRecovery':
      return [
        s('check-cluster', 'Check the other brokers'),
        s('plan', `List the partitions broker ${call.brokerId} carries`),
        s('restore-logdirs', `Restore broker ${call.brokerId}'s log dirs if its disks are lost`, { optional: true, gate: true }),
        s('start-broker', `Start broker ${call.brokerId}`),
        s('wait-isr', `Wait until broker ${call.brokerId} is back in every ISR`),
        s('preferred-election', 'Preferred leader election'),
        s('verify', 'Verify (health, produce/consume probe)'),
      ];
    case 'restoreState':
      return [
        s('choose-set', 'Choose the backup set and verify it'),
        s('restore-zookeeper', 'Restore ZooKeeper', { optional: !asked('zookeeper') }),
        // restoreState asks before its first write: the registry, when only the registry is restored.
        s('restore-registry', 'Restore the service registry', { gate: true }),
        s('restore-configs', 'Restore broker configs', { optional: true }),
      ];
    case 'failover':
      return [
        s('confirm', 'Confirm with direct probes'),
        s('decide', 'Classify and decide'),
        s('repair', 'Repair in place', { optional: true }),
        s('assess', 'Data elsewhere: the standby, the newest verified set'),
        s('approve', 'Approval', { gate: true }),
        s('stop-mirror', 'Stop the mirror', { optional: true }),
        s('fence', 'Fence the primary'),
        s('divergence', 'Records not mirrored (RPO)'),
        s('groups', 'Consumer group offsets on the standby', { optional: true }),
        s('lift-fence', 'Lift write fences on the standby', { optional: true }),
        s('degrade', 'Registry degradation while switching', { optional: !spec.registry }),
        s('hooks', 'Switch the clients', { optional: true }),
        s('verify', 'Verify the standby'),
        s('lift-degradation', 'Registry degradation lifted', { optional: !spec.registry }),
      ];
  }
}

const brokerFaults = (spec: ClusterSpec, ids: number[], kinds: ('broker-kill' | 'broker-disk')[]): FaultSpec[] =>
  kinds.flatMap((kind) => ids.filter((id) => spec.brokers.some((b) => b.id === id)).map((brokerId) => ({ kind, brokerId }) as FaultSpec));

/** A scenario whose recovery is brokerRecovery needs other brokers serving. */
function needBrokers(spec: ClusterSpec, n: number, what: string): void {
  if (spec.brokers.length < n) bad(`${what} needs a cluster of at least ${n} brokers (the others keep serving while it recovers); ${spec.name} has ${spec.brokers.length}: drill cluster-lost instead`);
}

/** The plan of a drill: faults, recovery children, runbook, chaos. Throws one InvalidInput line for a drill that cannot run on this spec. */
export function drillPlan(spec: ClusterSpec, scenario: Scenario, type: DrillType, opts: PlanOptions = {}): DrillPlan {
  if (!(SCENARIOS as readonly string[]).includes(scenario)) bad(`unknown drill scenario ${JSON.stringify(scenario)}: expected one of ${SCENARIOS.join(', ')}`);
  if (!DRILL_TYPES.includes(type)) bad(`unknown drill type ${JSON.stringify(type)}: expected one of ${DRILL_TYPES.join(', ')}`);
  if (spec.brokers.length === 0) bad(`cluster spec ${spec.name} lists no brokers`);
  if (!spec.repository) bad(`cluster spec ${spec.name} has no repository section: a drill restores from backup sets`);
  const notes: string[] = [];
  const ids = spec.brokers.map((b) => b.id);
  const last = ids[ids.length - 1]!;
  const zk = spec.zookeeper ? [{ kind: 'zookeeper-chroot' } as FaultSpec] : [];
  const fullCluster: RecoveryCall = { workflow: 'fullClusterRecovery', id: 'recovery', stepPrefix: '' };
  const oneBroker = (brokerId: number, prefix = ''): RecoveryCall => ({ workflow: 'brokerRecovery', id: `recovery-broker-${brokerId}`, stepPrefix: prefix, brokerId });

  let faults: FaultSpec[];
  let recovery: RecoveryCall[];
  let fallbackNeeded = false;
  // A partial drill of a scenario that is more than one step: one broker's fault and its recovery.
  const partialOfMany = type === 'partial' && ['brokers-lost', 'cluster-lost', 'backup-corrupt', 'datacenter-lost'].includes(scenario);
  if (partialOfMany) {
    needBrokers(spec, 2, `a partial drill (one broker killed and recovered while the others serve)`);
    faults = brokerFaults(spec, [last], ['broker-kill']);
    recovery = [oneBroker(last)];
    notes.push(`partial drill of ${scenario}: one step for real — broker ${last} killed and brought back by brokerRecovery`);
  } else {
    switch (scenario) {
      case 'broker-killed':
        needBrokers(spec, 2, 'broker-killed');
        faults = brokerFaults(spec, [last], ['broker-kill']);
        recovery = [oneBroker(last)];
        break;
      case 'broker-disk-wiped':
        needBrokers(spec, 2, 'broker-disk-wiped');
        faults = brokerFaults(spec, [last], ['broker-disk']);
        recovery = [oneBroker(last)];
        break;
      case 'brokers-lost': {
        needBrokers(spec, 3, 'brokers-lost');
        // All but one: several brokers, the cluster still has one to recover against.
        const lost = ids.slice(1);
        faults = brokerFaults(spec, lost, ['broker-kill']);
        recovery = lost.map((id) => oneBroker(id, `broker-${id}/`));
        break;
      }
      case 'cluster-lost':
        faults = [...brokerFaults(spec, ids, ['broker-kill', 'broker-disk']), ...zk];
        recovery = [fullCluster];
        break;
      case 'zookeeper-data-lost':
        if (!spec.zookeeper) bad(`cluster ${spec.name} has no ZooKeeper (KRaft): the zookeeper-data-lost scenario does not apply`);
        faults = zk;
        recovery = [{ ...fullCluster, parts: ['zookeeper'] }];
        break;
      case 'backup-corrupt':
        // The newest set is damaged first, then the cluster is lost: the recovery must fall back.
        faults = [{ kind: 'backup-corrupt' }, ...brokerFaults(spec, ids, ['broker-kill', 'broker-disk']), ...zk];
        recovery = [fullCluster];
        fallbackNeeded = true;
        break;
      case 'registry-lost':
        if (!spec.registry) bad(`cluster ${spec.name} has no registry section: the registry-lost scenario does not apply`);
        faults = [{ kind: 'registry' }];
        recovery = [{ workflow: 'restoreState', id: 'recovery-registry', stepPrefix: '', parts: ['registry'], needsSetId: true }];
        break;
      case 'datacenter-lost':
        if (!spec.standby) bad(`cluster ${spec.name} names no standby: the datacenter-lost scenario fails over to it`);
        // A chaos drill would kill a broker of a cluster whose brokers are all dead already: refused.
        if (type === 'chaos') bad(`a chaos datacenter-lost drill is not supported: every broker of ${spec.name} is killed already, a second fault adds nothing; run it as full, tabletop or partial`);
        faults = brokerFaults(spec, ids, ['broker-kill']);
        recovery = [{ workflow: 'failover', id: 'recovery-failover', stepPrefix: '' }];
        notes.push(
          type === 'full'
            ? `datacenter-lost fails over to ${spec.standby} (a mirror takes the write stream; the probe, verify and read-back measure ${spec.standby}); the review starts the brokers again and undoes the failover: the fence lifted, ${spec.standby}'s fences and the mirror as they were`
            : `datacenter-lost fails over to ${spec.standby}`,
        );
        break;
    }
  }

  const dryRun = type === 'tabletop';
  if (dryRun) {
    notes.push(`tabletop: no fault is applied (planned: ${faults.map(faultText).join('; ')}); every child runs as a dry run`);
    faults = [];
  }
  const runbook = recovery.flatMap((c) => recoveryRunbook(spec, c));
  let chaos: ChaosPlan | undefined;
  if (type === 'chaos') {
    // Any step after the first: the recovery is under way when the second fault lands.
    const candidates = runbook.slice(1).map((s) => s.id);
    const atStep = opts.chaosStep ?? candidates[Math.floor(Math.min(0.999999, Math.max(0, (opts.random ?? (() => 0))())) * candidates.length)]!;
    if (!runbook.some((s) => s.id === atStep)) bad(`chaos step ${JSON.stringify(atStep)} is not a step of the recovery: one of ${candidates.join(', ')}`);
    const brokerId = ids[Math.floor(Math.min(0.999999, Math.max(0, (opts.random ?? (() => 0))())) * ids.length)]!;
    chaos = { atStep, fault: { kind: 'broker-kill', brokerId } };
    notes.push(`chaos: broker ${brokerId} is killed when the recovery reaches ${atStep}`);
  }
  const degradationSteps = recovery.some((c) => c.workflow === 'failover') && spec.registry ? ['degrade'] : [];
  return { scenario, type, dryRun, faults, recovery, runbook, chaos, degradationSteps, fallbackNeeded, notes };
}

/** How long a registry-lost drill waits for the services to register their instances again (seconds). */
export const DRILL_REGISTRY_WAIT_SECONDS = 60;

/** A registry wait the drill refuses (one line), or undefined; bounded below the activity's own timeout. */
export function registryWaitProblem(seconds: unknown): string | undefined {
  return typeof seconds === 'number' && Number.isInteger(seconds) && seconds >= 1 && seconds <= 240
    ? undefined
    : `registryWaitSeconds: expected whole seconds from 1 to 240 (how long a registry-lost drill waits for the services to register again), got ${JSON.stringify(seconds)}`;
}

/** How long a fault on a broker's host waits for that host's Lifeboat agent to take it (seconds); its revert waits five times as long. */
export const DRILL_AGENT_WAIT_SECONDS = 120;

/** An agent wait the drill refuses (one line), or undefined. */
export function agentWaitProblem(seconds: unknown): string | undefined {
  return typeof seconds === 'number' && Number.isInteger(seconds) && seconds >= 1 && seconds <= 3600
    ? undefined
    : `agentWaitSeconds: expected whole seconds from 1 to 3600 (how long a fault waits for its host's agent; a revert waits five times as long), got ${JSON.stringify(seconds)}`;
}

/** A fault in one line (reports, the status). */
export function faultText(f: FaultSpec): string {
  switch (f.kind) {
    case 'broker-kill':
      return `broker ${f.brokerId} killed`;
    case 'broker-disk':
      return `broker ${f.brokerId}'s log dirs moved aside`;
    case 'zookeeper-chroot':
      return 'ZooKeeper chroot deleted (exported first)';
    case 'registry':
      return 'registry roots deleted (exported first)';
    case 'backup-corrupt':
      return 'one pack of the newest backup set damaged';
  }
}

/** Broker faults run on the broker's host; the others on the control queue. */
export const faultBrokerId = (f: FaultSpec): number | undefined => (f.kind === 'broker-kill' || f.kind === 'broker-disk' ? f.brokerId : undefined);

/**
 * How a fault is reverted: `discard` after a recovery that was verified (what it restored stays,
 * what the fault kept aside is dropped), `restore` otherwise. A damaged backup pack is always
 * written back: a repository must never be left corrupt by a drill.
 */
export function revertModeOf(f: FaultSpec, recoveredAndVerified: boolean): 'restore' | 'discard' {
  if (f.kind === 'backup-corrupt') return 'restore';
  return recoveredAndVerified ? 'discard' : 'restore';
}

/** What DRILL_STATUS_QUERY answers while a drill runs (and after: the record's id and score). */
export interface DrillStatus {
  drillId: string;
  cluster: string;
  scenario: Scenario;
  type: DrillType;
  dryRun: boolean;
  phase: 'prepare' | 'start' | 'execute' | 'verify' | 'review' | 'done' | 'skipped';
  startedAt: string;
  /** Each fault: recorded before it was applied (`applied` false until its activity returned). */
  faults: { fault: FaultSpec; applied: boolean; at: string; detail: string }[];
  reverts: { fault: FaultSpec; mode: 'restore' | 'discard'; alreadyDone: boolean; detail: string }[];
  faultAt?: string;
  firstGreenProbeAt?: string | null;
  /** The recovery children: workflow ID, workflow, current step, outcome once ended. */
  recovery: { workflowId: string; workflow: string; step?: string; outcome?: string }[];
  /** Set by the stop signal or a cancellation. */
  stopped?: string;
  notes: string[];
  /** Once the review scored it. */
  score?: number;
  /** The repository snapshot holding the record, once saved. */
  recordSnapshot?: string;
}

/**
 * The faults as stages the drill applies one after the other; a stage is chains that run at once,
 * each chain in order. Consecutive broker faults form one stage with a chain per broker (a broker's
 * kill before its disk, as the plan orders them; different brokers at once, as a real disaster
 * takes them); any other fault is a stage of its own, in the plan's place (the chroot is exported and
 * deleted only after every broker fault before it is done). The reverts run the stages backwards,
 * each chain reversed.
 */
export function faultStages(faults: readonly FaultSpec[]): FaultSpec[][][];
/** The same for anything that carries a fault (the workflow's records of applied faults). */
export function faultStages<T>(items: readonly T[], faultOf: (t: T) => FaultSpec): T[][][];
export function faultStages<T>(items: readonly T[], faultOf: (t: T) => FaultSpec = (t) => t as FaultSpec): T[][][] {
  const stages: T[][][] = [];
  let brokers: Map<number, T[]> | undefined;
  for (const f of items) {
    const id = faultBrokerId(faultOf(f));
    if (id === undefined) {
      brokers = undefined;
      stages.push([[f]]);
      continue;
    }
    if (!brokers) {
      brokers = new Map();
      stages.push([]);
    }
    const chain = brokers.get(id);
    if (chain) chain.push(f);
    else {
      const c = [f];
      brokers.set(id, c);
      stages[stages.length - 1]!.push(c);
    }
  }
  return stages;
}

/**
 * The stages the drill applies (faultStages, one step quicker): a ZooKeeper fault right after a stage of
 * broker chains that each begin with a kill runs beside the rest of those chains once every kill is done.
 * A killed broker's next fault (its disk) touches only its host; the chroot's export and deletion need
 * every broker down, not its disk gone. The reverts keep faultStages' order (a restore brings the chroot
 * back before a disk's revert starts its broker).
 */
export function applyStages(faults: readonly FaultSpec[]): FaultSpec[][][] {
  const stages = faultStages(faults);
  const out: FaultSpec[][][] = [];
  for (let i = 0; i < stages.length; i++) {
    const stage = stages[i]!;
    const next = stages[i + 1];
    const zk = next?.length === 1 && next[0]!.length === 1 && (next[0]![0]!.kind === 'zookeeper-chroot' || next[0]![0]!.kind === 'registry') ? next[0]![0]! : undefined;
    const killsFirst = stage.length > 0 && stage.every((chain) => chain[0]!.kind === 'broker-kill' && faultBrokerId(chain[0]!) !== undefined);
    if (!zk || !killsFirst) {
      out.push(stage);
      continue;
    }
    out.push(stage.map((chain) => [chain[0]!]));
    out.push([...stage.flatMap((chain) => (chain.length > 1 ? [chain.slice(1)] : [])), [zk]]);
    i++;
  }
  return out;
}

/**
 * The reverts in the order they run: stages one after the other, the chains of a stage at once, each
 * chain in order. `restore` (something is put back): the apply's stages backwards, each chain backwards
 * (the chroot back before the brokers start; a broker's disk back before it starts). `discard` (after a
 * verified recovery: each revert only drops what its fault kept, starts a broker that is not running,
 * or writes a damaged pack back; none needs another's): one stage, a chain per broker (its faults
 * backwards: one broker is never started twice at once) and one per other fault, all at once.
 * `apart` (discard): a broker's fault whose revert never starts the broker (a disk fault that found it
 * down, the kill before it: wasRunning false) is a chain of its own, beside the one that does.
 */
export function revertStages(faults: readonly FaultSpec[], discarding: boolean): FaultSpec[][][];
export function revertStages<T>(items: readonly T[], discarding: boolean, faultOf: (t: T) => FaultSpec, opts?: { apart?: (t: T) => boolean }): T[][][];
export function revertStages<T>(items: readonly T[], discarding: boolean, faultOf: (t: T) => FaultSpec = (t) => t as FaultSpec, opts: { apart?: (t: T) => boolean } = {}): T[][][] {
  if (!discarding) return faultStages(items, faultOf).reverse().map((stage) => stage.map((chain) => [...chain].reverse()));
  const chains: T[][] = [];
  const byBroker = new Map<number, T[]>();
  for (const item of [...items].reverse()) {
    const id = opts.apart?.(item) ? undefined : faultBrokerId(faultOf(item));
    const chain = id === undefined ? undefined : byBroker.get(id);
    if (chain) chain.push(item);
    else {
      const c = [item];
      if (id !== undefined) byBroker.set(id, c);
      chains.push(c);
    }
  }
  return chains.length ? [chains] : [];
}
