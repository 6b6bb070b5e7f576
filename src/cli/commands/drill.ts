/**
 * `lifeboat drill run|plan|stop|schedule|history|report` (issue 16). history and report are
 * drillHistory.ts's.
 *
 * run starts the `drill` workflow (workflows/drill.ts) under drillWorkflowId; plan prints what a
 * run would do without starting anything; stop sends DRILL_STOP_SIGNAL to one drill or to every
 * running one (visibility: LifeboatKind=drill) and waits until each has reverted and ended; schedule
 * installs the §8.5 cadence (src/drills/schedule.ts). A spec not marked staging or development is
 * refused here already (one line, exit 2) unless --i-know-this-is-production; a target named by
 * --cluster is checked by the workflow, which has its spec.
 *
 * Exit codes (run --follow): 0 the drill ran and left the cluster as it found it; 3 it was skipped
 * (another drill ran on the cluster) or the inventory after it differs. stop: 0 every drill ended,
 * 3 one still runs when the wait ends.
 */
import { userInfo } from 'node:os';
import { loadSpecCatalog } from '../../config/catalog';
import { clusterName, type ClusterSpec, loadSpec } from '../../config/spec';
import { stopAllDrills, stopDrill, type StopOutcome } from '../../drills/control';
import { DRILL_KIND, DRILL_STATUS_QUERY, drillWorkflowId } from '../../drills/ids.pure';
import { type DrillRecord, type Scenario, SCENARIOS } from '../../drills/records';
import {
  applyDrillSchedules,
  checkDrillTarget,
  deleteDrillSchedules,
  type DrillScheduleState,
  listDrillSchedules,
  planDrillSchedules,
  SCHEDULED_DRILL_TYPES,
  type ScheduledDrillType,
} from '../../drills/schedule';
import { type DrillPlan, drillPlan, type DrillStatus, faultText } from '../../drills/plan.pure';
import type { DrillType } from '../../drills/types';
import { EXIT, LifeboatError } from '../../errors';
import { workflowUiLink } from '../../temporal/connection';
import { connectTemporal, followRun, startRun, type TemporalClient, type WorkflowArgs } from '../../temporal/runs';
import { sleep } from '../../core/poll';
import { LIFEBOAT_CLUSTER, LIFEBOAT_KIND } from '../../temporal/searchAttributes';
import { BadValue, choice, commandLine, describe, dryRun, flag, int, json, list, spec as specOption, text, type OptValues } from '../options';
import { type Output, output } from '../output';
import { printScheduleChanges } from '../scheduleChanges';
import * as records from './drillHistory';

/** The drill workflow's input (workflows/drill.ts). */
type DrillInput = WorkflowArgs<'drill'>[0];

export const summary = 'DR drills against a staging cluster: run, plan, stop, schedule, history, report';

export const DRILL_TYPES = ['tabletop', 'partial', 'full', 'chaos'] as const satisfies readonly DrillType[];

const USAGE = `usage: lifeboat drill run|plan|stop|schedule|history|report [options] (each takes --help)
  run      start a drill: lifeboat drill run (--cluster <name> | --spec <file>) --scenario <s> [--type full]
  plan     what a drill would do, nothing started: lifeboat drill plan (--cluster | --spec) --scenario <s> [--type]
  stop     stop a drill and revert: lifeboat drill stop <workflow-id> | --all [--cluster <name>] [--reason <text>]
  schedule the §8.5 cadence as Temporal Schedules: lifeboat drill schedule apply|list|delete (--cluster | --spec)
  history  the drills of a cluster and their trend (lifeboat drill history --help)
  report   one drill's report (lifeboat drill report --help)`;

const cluster = text('cluster', '<name>', 'the target, by name: a spec the worker was started with');
const target = describe(specOption, 'the target, by spec file (instead of --cluster)');
const production = flag('i-know-this-is-production', 'drill a cluster whose spec is not marked environment: staging or development');

const RUN = commandLine(
  'lifeboat drill run',
  `usage:
  lifeboat drill run (--cluster <name> | --spec <cluster.yaml>) --scenario <scenario> [--type tabletop|partial|full|chaos]
                     [--dry-run] [--i-know-this-is-production] [--use-newest-set] [--escalation-minutes <m>]
                     [--registry-wait <seconds>] [--agent-wait <seconds>] [--reverts-checked] [--follow] [--json]
  lifeboat drill plan (--cluster <name> | --spec <cluster.yaml>) --scenario <scenario> [--type ...] [--json]
scenarios: ${SCENARIOS.join(', ')}
The drill's workflow ID is drill-<cluster>-<scenario>-<UTC time>; stop it with lifeboat drill stop <id>.`,
  [
    cluster,
    target,
    choice('scenario', SCENARIOS, 'what is lost'),
    choice('type', DRILL_TYPES, 'tabletop (a dry run, nothing touched), partial (one step for real), full (default), chaos'),
    describe(dryRun, 'the tabletop drill: --type tabletop'),
    production,
    flag('use-newest-set', "check the newest backup set in prepare instead of making a fresh one (the measured RPO is then the set's age)"),
    int('escalation-minutes', '<m>', "datacenter-lost: how long the drill's failover waits for people when it escalates before it stands down (1-60, default 2)", 1),
    int('registry-wait', '<seconds>', 'registry-lost: how long verify waits for the services to register their instances again (1-240, default 60)', 1),
    int('agent-wait', '<seconds>', "how long a fault on a broker's host waits for that host's Lifeboat agent (1-3600, default 120); its revert waits five times as long, then counts as failed", 1),
    flag('reverts-checked', 'the last drill left faults in place (a revert failed) and you checked the target since: apply the faults anyway'),
    flag('follow', 'wait for the drill and show its progress and result'),
    json,
  ],
);

type RunValues = OptValues<typeof RUN.options>;

/** The drill a `run` (or `plan`) asks for: its workflow ID and input (no connection; unit-tested). */
export function startRequest(values: RunValues, now: Date): { workflowId: string; cluster: string; input: DrillInput } {
  if (values.cluster && values.spec) throw RUN.error('give --cluster <name> or --spec <file>, not both');
  if (!values.cluster && !values.spec) throw RUN.error('the target is required: --cluster <name> (or --spec <cluster.yaml>)');
  if (!values.scenario) throw RUN.error(`--scenario is required: one of ${SCENARIOS.join(', ')}`);
  if (values['dry-run'] && values.type && values.type !== 'tabletop') throw RUN.error(`--dry-run is the tabletop drill; it does not go with --type ${values.type}`);
  const type: DrillType = values['dry-run'] ? 'tabletop' : (values.type ?? 'full');
  const escalation = values['escalation-minutes'];
  if (escalation !== undefined && escalation > 60) throw RUN.error(`--escalation-minutes is at most 60, got ${escalation}`);
  const registryWait = values['registry-wait'];
  if (registryWait !== undefined && registryWait > 240) throw RUN.error(`--registry-wait is at most 240 seconds, got ${registryWait}`);
  const agentWait = values['agent-wait'];
  if (agentWait !== undefined && agentWait > 3600) throw RUN.error(`--agent-wait is at most 3600 seconds, got ${agentWait}`);
  const spec: ClusterSpec | undefined = values.spec ? loadSpec(values.spec) : undefined;
  if (spec) checkDrillTarget(spec, values['i-know-this-is-production']);
  const name = spec?.name ?? clusterName(values.cluster!);
  const input: DrillInput = {
    ...(spec ? { spec } : { cluster: name }),
    scenario: values.scenario,
    type,
    ...(values['i-know-this-is-production'] ? { iKnowThisIsProduction: true } : {}),
    ...(values['use-newest-set'] ? { useNewestSet: true } : {}),
    ...(escalation !== undefined ? { escalationMinutes: escalation } : {}),
    ...(registryWait !== undefined ? { registryWaitSeconds: registryWait } : {}),
    ...(agentWait !== undefined ? { agentWaitSeconds: agentWait } : {}),
    ...(values['reverts-checked'] ? { revertsChecked: true } : {}),
  };
  return { workflowId: drillWorkflowId(name, values.scenario, now.toISOString()), cluster: name, input };
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'history') return records.history(rest);
  if (sub === 'report') return records.report(rest);
  if (!sub || sub === '--help' || sub === '-h') {
    (sub ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return sub ? EXIT.OK : EXIT.USAGE;
  }
  if (sub === 'run') return runDrill(rest);
  if (sub === 'plan') return planDrill(rest);
  if (sub === 'stop') return stop(rest);
  if (sub === 'schedule') return schedule(rest);
  throw new LifeboatError('InvalidInput', `unknown subcommand "drill ${sub}" (run, plan, stop, schedule, history, report; see "lifeboat drill --help")`);
}

async function withTemporal(fn: (t: TemporalClient) => Promise<number>): Promise<number> {
  const t = await connectTemporal();
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}

// ───────────────────────────── run, plan ─────────────────────────────

async function runDrill(argv: string[]): Promise<number> {
  const { values, positionals } = RUN.parse(argv);
  if (positionals.length) throw RUN.error(`unexpected argument "${positionals[0]}"`);
  const out = output(values.json ?? false);
  const { workflowId, cluster: name, input } = startRequest(values, new Date());
  return withTemporal(async (t) => {
    await startRun(t.client, 'drill', {
      workflowId,
      args: [input],
      summary: `${input.type} drill of ${name}: ${input.scenario}`,
      memo: { cluster: name, type: input.type, scenario: input.scenario },
      // Set at the start, so `drill stop --all` and other drills' checks see it at once.
      typedSearchAttributes: [
        { key: LIFEBOAT_CLUSTER, value: name },
        { key: LIFEBOAT_KIND, value: DRILL_KIND },
      ],
    });
    const ui = workflowUiLink(t.settings, workflowId);
    if (!values.follow) {
      out.result(
        { workflowId, cluster: name, scenario: input.scenario, type: input.type, ...(ui ? { ui } : {}) },
        `started ${workflowId} (${input.type} drill of ${name}: ${input.scenario})\nfollow it: lifeboat status ${workflowId}\nstop it and revert: lifeboat drill stop ${workflowId}`,
      );
      return EXIT.OK;
    }
    const record = await followDrill(t, workflowId, out);
    out.result({ ...record }, recordText(record, name));
    return record.skipped || record.inventoryDifferences?.length ? EXIT.PARTIAL : EXIT.OK;
  });
}

/** One line for a drill's status: its phase, the faults applied, the recovery child's step. */
export function statusLine(s: DrillStatus): string {
  const applied = s.faults.filter((f) => f.applied).length;
  const child = s.recovery.find((r) => !r.outcome) ?? s.recovery.at(-1);
  return [
    `phase ${s.phase}`,
    ...(s.faults.length ? [`faults applied ${applied}/${s.faults.length}`] : []),
    ...(child ? [`${child.workflow}${child.step ? ` at ${child.step}` : ''}${child.outcome ? ` (${child.outcome})` : ''}`] : []),
    ...(s.reverts.length ? [`reverted ${s.reverts.length}`] : []),
    ...(s.stopped ? [`stopping: ${s.stopped}`] : []),
  ].join(', ');
}

/** Waits for a drill's record, showing a line on stderr whenever its status (DRILL_STATUS_QUERY) changes. */
async function followDrill(t: TemporalClient, workflowId: string, out: Output): Promise<DrillRecord> {
  const ui = workflowUiLink(t.settings, workflowId);
  out.progress(`${workflowId}: ${ui ?? ''}`, { workflowId, ui });
  const stop = new AbortController();
  const watching = (async () => {
    let last = '';
    const handle = t.client.workflow.getHandle(workflowId);
    while (!stop.signal.aborted) {
      try {
        const s = await handle.query<DrillStatus>(DRILL_STATUS_QUERY);
        const line = statusLine(s);
        if (line !== last && !stop.signal.aborted) {
          last = line;
          out.progress(`${workflowId}: ${line}`, { workflowId, phase: s.phase });
        }
      } catch {
        /* not started yet, ended, or the worker busy: progress never ends the wait */
      }
      await sleep(1000, stop.signal).catch(() => undefined);
    }
  })();
  try {
    return await followRun<'drill'>(t.client, workflowId);
  } finally {
    stop.abort();
    await watching;
  }
}

const seconds = (s: number | null | undefined) => (s === null || s === undefined ? 'not measured' : `${Math.round(s)} s`);

/** A drill's result for people: score, what was measured, problems, what it left behind. */
export function recordText(r: DrillRecord, cluster: string): string {
  const head = `${r.id}: ${r.type} drill of ${r.cluster}, ${r.scenario}`;
  if (r.skipped) return `${head}\nskipped: ${r.skipped}`;
  const byClass = new Map<string, number>();
  for (const p of r.problems ?? []) byClass.set(p.class, (byClass.get(p.class) ?? 0) + 1);
  const problems = byClass.size ? [...byClass].sort().map(([c, n]) => `${c} ${n}`).join(', ') : 'none';
  const diffs = r.inventoryDifferences ?? [];
  return [
    `${head}: score ${r.score.total}/100`,
    `RTO ${seconds(r.rtoSeconds)}, RPO ${seconds(r.rpoSeconds)}`,
    `problems: ${problems}`,
    `inventory after the drill: ${diffs.length ? `${diffs.length} difference(s): ${diffs.slice(0, 5).map((d) => `${d.area} ${d.key} ${d.change}`).join('; ')}` : 'as before'}`,
    `faults reverted: ${(r.reverts ?? []).map((x) => `${x.fault.kind} (${x.mode})`).join(', ') || 'none'}`,
    `report: lifeboat drill report ${r.id} --cluster ${cluster}`,
  ].join('\n');
}

async function planDrill(argv: string[]): Promise<number> {
  const { values, positionals } = RUN.parse(argv);
  if (positionals.length) throw RUN.error(`unexpected argument "${positionals[0]}"`);
  if (values.follow) throw RUN.error('plan starts nothing to follow; drop --follow');
  const out = output(values.json ?? false);
  const { workflowId, cluster: name, input } = startRequest(values, new Date());
  const { spec, ...shown } = input;
  const doc = { workflowId, cluster: name, input: { ...shown, ...(spec ? { spec: spec.name } : {}) } };
  const head = `a ${input.type} drill of ${name}: ${input.scenario} (nothing started)\nworkflow ID: ${workflowId}`;
  // A cluster named by --cluster: its spec from LIFEBOAT_SPECS_DIR when this machine has them (as drill history finds it).
  const dirSpecs = process.env.LIFEBOAT_SPECS_DIR;
  const target = spec ?? (dirSpecs ? loadSpecCatalog({ dir: dirSpecs }).get(name).spec : undefined);
  if (!target) {
    // Only the worker has the spec; the steps depend on it.
    out.result(doc, `${head}\ninput: ${JSON.stringify(doc.input)}\nthe faults and steps depend on the cluster's spec: give --spec <cluster.yaml> (or set LIFEBOAT_SPECS_DIR) to see them`);
    return EXIT.OK;
  }
  if (!spec) checkDrillTarget(target, input.iKnowThisIsProduction);
  const plan = drillPlan(target, input.scenario, input.type);
  out.result({ ...doc, plan }, planText(head, plan));
  return EXIT.OK;
}

/** The plan for people: faults, the recovery children, the runbook's steps (gates, optional), the notes. */
export function planText(head: string, plan: DrillPlan): string {
  return [
    head,
    `faults (in order; reverted in reverse): ${plan.faults.map(faultText).join('; ') || 'none'}`,
    `recovery: ${plan.recovery.map((c) => `${c.workflow}${c.brokerId !== undefined ? ` (broker ${c.brokerId})` : ''}${c.parts ? ` parts ${c.parts.join(',')}` : ''}`).join(', ')}${plan.dryRun ? ', every child as a dry run' : ''}`,
    'runbook:',
    ...plan.runbook.map((st, i) => `  ${String(i + 1).padStart(2)}. ${st.id}${st.title ? ` — ${st.title}` : ''}${st.gate ? ' [approval]' : ''}${st.optional ? ' [optional]' : ''}`),
    ...(plan.chaos ? [`chaos: ${faultText(plan.chaos.fault)} at ${plan.chaos.atStep}`] : []),
    ...(plan.fallbackNeeded ? ['the recovery must fall back to an older backup set'] : []),
    ...plan.notes.map((n) => `note: ${n}`),
  ].join('\n');
}

// ───────────────────────────── stop ─────────────────────────────

const STOP = commandLine(
  'lifeboat drill stop',
  `usage:
  lifeboat drill stop <workflow-id> [--reason <text>] [--timeout <s>] [--json]
  lifeboat drill stop --all [--cluster <name>] [--reason <text>] [--timeout <s>] [--json]
Each drill reverts its faults at once and ends, recorded as stopped; the command waits for each.`,
  [
    flag('all', 'every running drill (Temporal visibility: LifeboatKind = drill)'),
    describe(cluster, 'with --all: only the drills of this cluster'),
    text('reason', '<text>', 'why (recorded by the drill)'),
    int('timeout', '<s>', 'how long to wait for each drill to end (default 120)', 1),
    json,
  ],
);

function stopText(o: StopOutcome): string {
  if (o.alreadyEnded) return `${o.workflowId}: not running (${o.status})`;
  if (o.error) return `${o.workflowId}: ${o.error}`;
  const reverts = o.reverts ? `; reverted: ${o.reverts.map((r) => `${r.fault} (${r.mode}${r.alreadyDone ? ', already' : ''})`).join(', ') || 'nothing applied'}` : '';
  return `${o.workflowId}: ${o.status} ${((o.tookMs ?? 0) / 1000).toFixed(1)} s after the stop${reverts}`;
}

async function stop(argv: string[]): Promise<number> {
  const { values, positionals } = STOP.parse(argv);
  const out = output(values.json ?? false);
  if (values.all && positionals.length) throw STOP.error('give a workflow ID or --all, not both');
  if (!values.all && !positionals.length) throw STOP.error('a drill workflow ID is required (or --all)');
  if (positionals.length > 1) throw STOP.error(`one workflow ID, got ${positionals.length}: ${positionals.join(' ')}`);
  if (values.cluster && !values.all) throw STOP.error('--cluster goes with --all');
  const name = values.cluster ? clusterName(values.cluster) : undefined;
  const opts = {
    reason: values.reason ?? `stopped with lifeboat drill stop${values.all ? ' --all' : ''}`,
    by: userInfo().username,
    timeoutMs: (values.timeout ?? 120) * 1000,
    onEvent: (line: string) => out.progress(line),
  };
  return withTemporal(async (t) => {
    const outcomes = values.all ? await stopAllDrills(t.client, name, opts) : [await stopDrill(t.client, positionals[0]!, opts)];
    if (values.all && !outcomes.length) {
      out.result([], `no drill running${name ? ` on ${name}` : ''}`);
      return EXIT.OK;
    }
    out.result(outcomes, outcomes.map(stopText).join('\n'));
    return outcomes.some((o) => o.status === 'running') ? EXIT.PARTIAL : EXIT.OK;
  });
}

// ───────────────────────────── schedule ─────────────────────────────

/** `--scenarios partial=broker-killed,full=cluster-lost`. */
function scenarioPair(raw: string): [ScheduledDrillType, Scenario] {
  const m = /^([a-z]+)=([a-z-]+)$/.exec(raw);
  if (!m) throw new BadValue(`takes <type>=<scenario> pairs, got ${JSON.stringify(raw)}`);
  if (!(SCHEDULED_DRILL_TYPES as readonly string[]).includes(m[1]!)) throw new BadValue(`names a drill type ${SCHEDULED_DRILL_TYPES.join(', ')}, got ${JSON.stringify(m[1])}`);
  if (!(SCENARIOS as readonly string[]).includes(m[2]!)) throw new BadValue(`names a scenario (${SCENARIOS.join(', ')}), got ${JSON.stringify(m[2])}`);
  return [m[1] as ScheduledDrillType, m[2] as Scenario];
}

const SCHEDULE = commandLine(
  'lifeboat drill schedule',
  `usage:
  lifeboat drill schedule apply  (--cluster <name> | --spec <cluster.yaml>) [--types tabletop,partial,full]
                                 [--scenarios <type>=<scenario>,..] [--timezone <IANA>] [--i-know-this-is-production]
                                 [--prune] [--dry-run] [--json]
  lifeboat drill schedule list   [--cluster <name> | --spec <cluster.yaml>] [--json]
  lifeboat drill schedule delete (--cluster <name> | --spec <cluster.yaml>) [--types ..] [--json]
cadence (§8.5): tabletop monthly (first Tuesday, 10:00; scenario cluster-lost), partial quarterly (second Tuesday
of Jan/Apr/Jul/Oct, 10:00; broker-killed), full half-yearly (third Tuesday of Mar/Sep, 10:00; cluster-lost); times
in --timezone (default UTC). Schedule IDs: lifeboat-drill-<cluster>-<type>. Overlap SKIP, catch-up window 1 day;
a scheduled drill that finds another drill running on the cluster is recorded as skipped.
Pause, unpause or trigger one: lifeboat schedule pause|unpause|trigger lifeboat-drill-<cluster>-<type> [--note <text>].`,
  [
    cluster,
    target,
    list('types', '<t,..>', 'apply, delete: the drill types (default: all three)', (raw) => {
      if (!(SCHEDULED_DRILL_TYPES as readonly string[]).includes(raw)) throw new BadValue(`takes ${SCHEDULED_DRILL_TYPES.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw as ScheduledDrillType;
    }),
    list('scenarios', '<type>=<s>,..', "apply: a type's scenario instead of the default", scenarioPair),
    text('timezone', '<IANA>', 'apply: the time zone of the times (default UTC)'),
    production,
    flag('prune', "apply: delete the cluster's drill schedules of types not in --types"),
    dryRun,
    json,
  ],
);

type ScheduleValues = OptValues<typeof SCHEDULE.options>;

function scheduleTarget(values: ScheduleValues, required: boolean): { cluster?: string; spec?: ClusterSpec } {
  if (values.cluster && values.spec) throw SCHEDULE.error('give --cluster <name> or --spec <file>, not both');
  if (values.spec) {
    const spec = loadSpec(values.spec);
    return { cluster: spec.name, spec };
  }
  if (values.cluster) return { cluster: clusterName(values.cluster) };
  if (required) throw SCHEDULE.error('the target is required: --cluster <name> (or --spec <cluster.yaml>)');
  return {};
}

async function schedule(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    (sub ? process.stdout : process.stderr).write(`${SCHEDULE.usage}\n`);
    return sub ? EXIT.OK : EXIT.USAGE;
  }
  const allowed: Record<string, string[]> = {
    apply: ['cluster', 'spec', 'types', 'scenarios', 'timezone', 'i-know-this-is-production', 'prune', 'dry-run', 'json'],
    list: ['cluster', 'spec', 'json'],
    delete: ['cluster', 'spec', 'types', 'json'],
  };
  const ok = allowed[sub];
  if (!ok) throw SCHEDULE.error(`unknown subcommand "drill schedule ${sub}" (apply, list, delete)`);
  const { values, positionals } = SCHEDULE.parse(rest);
  const out = output(values.json ?? false);
  if (positionals.length) throw SCHEDULE.error(`unexpected argument "${positionals[0]}"`);
  const extra = Object.keys(values).filter((k) => values[k as keyof ScheduleValues] !== undefined && !ok.includes(k));
  if (extra.length) throw SCHEDULE.error(`drill schedule ${sub} does not take ${extra.map((k) => `--${k}`).join(', ')}`);
  const t = scheduleTarget(values, sub !== 'list');

  if (sub === 'apply') {
    const plan = planDrillSchedules(t.spec ? { spec: t.spec } : { cluster: t.cluster! }, {
      types: values.types,
      scenarios: values.scenarios ? Object.fromEntries(values.scenarios) : undefined,
      timezone: values.timezone,
      iKnowThisIsProduction: values['i-know-this-is-production'],
    });
    return withTemporal(async (c) => {
      const changes = await applyDrillSchedules(c.client, t.cluster!, plan, { prune: values.prune, dryRun: values['dry-run'] });
      printScheduleChanges(out, t.cluster!, changes);
      return EXIT.OK;
    });
  }
  if (sub === 'list') {
    return withTemporal(async (c) => {
      const states = await listDrillSchedules(c.client, t.cluster);
      out.result(states, states.length ? states.map(formatState).join('\n') : `no drill schedules${t.cluster ? ` of ${t.cluster}` : ''} (lifeboat drill schedule apply --cluster <name> installs them)`);
      // A drill the schedule could not start in time is not silent: list says so and exits 3.
      return states.some((s) => s.missedCatchupWindow > 0) ? EXIT.PARTIAL : EXIT.OK;
    });
  }
  return withTemporal(async (c) => {
    const deleted = await deleteDrillSchedules(c.client, t.cluster!, values.types);
    out.result(
      deleted.map((id) => ({ id, action: 'delete' })),
      deleted.length ? deleted.map((id) => `${id}: deleted`).join('\n') : `no drill schedules of ${t.cluster} to delete`,
    );
    return EXIT.OK;
  });
}


function formatState(s: DrillScheduleState): string {
  const missed = s.missedCatchupWindow ? `  MISSED ${s.missedCatchupWindow} drill(s) beyond the catch-up window` : '';
  return [
    `${s.id} (${s.type}${s.scenario ? `, ${s.scenario}` : ''}, ${s.paused ? 'PAUSED' : 'active'}${s.note ? `: ${s.note}` : ''})`,
    `  ${s.description}; overlap ${s.overlap}, catch-up window ${Math.round(s.catchupWindowMs / 3_600_000)}h`,
    `  next: ${s.paused ? '(paused) ' : ''}${s.nextRuns.join(', ') || '—'}`,
    `  last: ${s.lastRun ? `${s.lastRun.status} ${s.lastRun.workflowId} at ${s.lastRun.startedAt}` : 'never run'}${s.running.length ? `; running ${s.running.join(', ')}` : ''}`,
    `  runs ${s.actionsTaken}, skipped (overlap) ${s.skippedOverlap}, missed (catch-up) ${s.missedCatchupWindow}${missed}`,
  ].join('\n');
}
