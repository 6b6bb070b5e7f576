/** A drill's plan (src/drills/plan.pure.ts): scenario × type → faults, recovery children, runbook, chaos; the target check. */
import { describe, expect, it } from 'vitest';
import { type ClusterSpec, parseSpec } from '../../src/config/spec';
import { LifeboatError } from '../../src/errors';
import { agentWaitProblem, applyStages, drillPlan, faultStages, recoveryRunbook, revertModeOf, revertStages, standbyRefusal, targetRefusal } from '../../src/drills/plan.pure';
import { SCENARIOS } from '../../src/drills/records';

const specOf = (brokers: number, more: Record<string, unknown> = {}): ClusterSpec =>
  parseSpec({
    name: 'stage',
    kafka: { bootstrapServers: ['127.0.0.1:1'] },
    zookeeper: { connect: '127.0.0.1:2', chroot: '/stage' },
    brokers: Array.from({ length: brokers }, (_, i) => i + 1).map((id) => ({ id, host: `h${id}`, logDirs: [`/d/${id}`], configDir: `/c/${id}`, control: { type: 'systemd', unit: `kafka-${id}` } })),
    repository: { path: '/r', password: { env: 'UNUSED' } },
    environment: 'staging',
    ...more,
  });
const three = specOf(3);
const one = specOf(1);

/** The one InvalidInput line a plan throws. */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LifeboatError);
    expect((e as LifeboatError).type).toBe('InvalidInput');
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('no refusal');
}

describe('drill target', () => {
  it('staging and development are drilled; production or no environment only with iKnowThisIsProduction', () => {
    expect(targetRefusal(three)).toBeNull();
    expect(targetRefusal(specOf(3, { environment: 'development' }))).toBeNull();
    // A datacenter-lost drill fails over to the standby: a standby marked production needs the flag too.
    const prodStandby = { ...specOf(1, { environment: 'production' }), name: 'dr-site' };
    expect(standbyRefusal(three, prodStandby)).toBe(`the drill of ${three.name} fails over to its standby: cluster dr-site is marked environment: production: a drill injects real faults; drill a staging cluster (environment: staging), or pass --i-know-this-is-production`);
    expect(standbyRefusal(three, prodStandby, true)).toBeNull();
    expect(standbyRefusal(three, specOf(1, { environment: 'staging' }))).toBeNull();
    const prod = specOf(3, { environment: 'production' });
    expect(targetRefusal(prod)).toMatch(/marked environment: production.*--i-know-this-is-production/);
    expect(targetRefusal(prod, true)).toBeNull();
    expect(targetRefusal(specOf(3, { environment: undefined }))).toMatch(/not marked as a drill target/);
  });
});

describe('drill plan', () => {
  it('cluster-lost, full: every broker killed and its log dirs moved aside, then the chroot; fullClusterRecovery with its gate', () => {
    const p = drillPlan(three, 'cluster-lost', 'full');
    expect(p.dryRun).toBe(false);
    expect(p.faults).toEqual([
      { kind: 'broker-kill', brokerId: 1 },
      { kind: 'broker-kill', brokerId: 2 },
      { kind: 'broker-kill', brokerId: 3 },
      { kind: 'broker-disk', brokerId: 1 },
      { kind: 'broker-disk', brokerId: 2 },
      { kind: 'broker-disk', brokerId: 3 },
      { kind: 'zookeeper-chroot' },
    ]);
    expect(p.recovery).toEqual([{ workflow: 'fullClusterRecovery', id: 'recovery', stepPrefix: '' }]);
    expect(p.runbook.map((s) => s.id)).toEqual([
      'choose-set',
      'stop-brokers',
      'restore-zookeeper',
      'restore-registry',
      'restore-configs',
      'adopt-topics',
      'restore-data',
      'start-brokers',
      'wait-serving',
      'restore-topics',
      'preferred-election',
      'verify',
    ]);
    expect(p.runbook.filter((s) => s.gate).map((s) => s.id)).toEqual(['stop-brokers']);
    // No registry in the spec: its step is optional; one of the two data paths runs.
    // adopt-topics runs only when ZooKeeper is restored while brokers keep their disks.
    expect(p.runbook.filter((s) => s.optional).map((s) => s.id)).toEqual(['restore-registry', 'adopt-topics', 'restore-data', 'restore-topics']);
    expect(p.fallbackNeeded).toBe(false);
    expect(p.chaos).toBeUndefined();
  });

  it('a one-broker cluster can lose the whole cluster (the lab standby), not one broker', () => {
    expect(drillPlan(one, 'cluster-lost', 'full').faults).toHaveLength(3);
    expect(refusal(() => drillPlan(one, 'broker-killed', 'full'))).toMatch(/at least 2 brokers.*stage has 1/);
    expect(refusal(() => drillPlan(one, 'cluster-lost', 'partial'))).toMatch(/partial drill.*at least 2 brokers/);
    expect(refusal(() => drillPlan(specOf(2), 'brokers-lost', 'full'))).toMatch(/at least 3 brokers/);
  });

  it('tabletop: the same recovery and runbook, no fault, every child in dry run', () => {
    const full = drillPlan(three, 'cluster-lost', 'full');
    const t = drillPlan(three, 'cluster-lost', 'tabletop');
    expect(t.dryRun).toBe(true);
    expect(t.faults).toEqual([]);
    expect(t.recovery).toEqual(full.recovery);
    expect(t.runbook).toEqual(full.runbook);
    expect(t.notes.join(' ')).toMatch(/no fault is applied \(planned: broker 1 killed/);
  });

  it('partial: one broker killed and brought back by brokerRecovery, whatever the large scenario', () => {
    for (const s of ['cluster-lost', 'brokers-lost', 'backup-corrupt'] as const) {
      const p = drillPlan(three, s, 'partial');
      expect(p.faults).toEqual([{ kind: 'broker-kill', brokerId: 3 }]);
      expect(p.recovery).toEqual([{ workflow: 'brokerRecovery', id: 'recovery-broker-3', stepPrefix: '', brokerId: 3 }]);
      expect(p.runbook.map((x) => x.id)).toEqual(['check-cluster', 'plan', 'restore-logdirs', 'start-broker', 'wait-isr', 'preferred-election', 'verify']);
    }
    // A scenario that is one step already runs as it is.
    expect(drillPlan(three, 'broker-disk-wiped', 'partial').faults).toEqual([{ kind: 'broker-disk', brokerId: 3 }]);
  });

  it('brokers-lost: all but one killed, one brokerRecovery each, their steps prefixed in one runbook', () => {
    const p = drillPlan(three, 'brokers-lost', 'full');
    expect(p.faults).toEqual([{ kind: 'broker-kill', brokerId: 2 }, { kind: 'broker-kill', brokerId: 3 }]);
    expect(p.recovery.map((c) => [c.brokerId, c.stepPrefix])).toEqual([[2, 'broker-2/'], [3, 'broker-3/']]);
    expect(p.runbook).toHaveLength(14);
    expect(p.runbook[7]!.id).toBe('broker-3/check-cluster');
    expect(new Set(p.runbook.map((s) => s.id)).size).toBe(14);
  });

  it('backup-corrupt: the newest set damaged first, then the cluster lost; the fallback is needed', () => {
    const p = drillPlan(three, 'backup-corrupt', 'full');
    expect(p.faults[0]).toEqual({ kind: 'backup-corrupt' });
    expect(p.faults.slice(1)).toEqual(drillPlan(three, 'cluster-lost', 'full').faults);
    expect(p.fallbackNeeded).toBe(true);
    expect(p.recovery[0]!.workflow).toBe('fullClusterRecovery');
  });

  it('zookeeper-data-lost restores the zookeeper part only; registry-lost needs a registry, datacenter-lost a standby', () => {
    const z = drillPlan(three, 'zookeeper-data-lost', 'full');
    expect(z.faults).toEqual([{ kind: 'zookeeper-chroot' }]);
    expect(z.recovery[0]!.parts).toEqual(['zookeeper']);
    // Only ZooKeeper asked: the configs step is optional, ZooKeeper's is required.
    expect(z.runbook.find((s) => s.id === 'restore-configs')?.optional).toBe(true);
    expect(z.runbook.find((s) => s.id === 'restore-zookeeper')?.optional).toBe(false);
    // The brokers keep their disks, newer than the set's ZooKeeper: its topics are registered again before they start.
    expect(z.runbook.map((s) => s.id).slice(2, 7)).toEqual(['restore-zookeeper', 'restore-registry', 'restore-configs', 'adopt-topics', 'restore-data']);
    expect(refusal(() => drillPlan(three, 'registry-lost', 'full'))).toMatch(/no registry section/);
    const withRegistry = specOf(3, { registry: { curator: '/services' } });
    const r = drillPlan(withRegistry, 'registry-lost', 'full');
    expect(r.faults).toEqual([{ kind: 'registry' }]);
    expect(r.recovery).toEqual([{ workflow: 'restoreState', id: 'recovery-registry', stepPrefix: '', parts: ['registry'], needsSetId: true }]);
    expect(r.runbook.find((s) => s.gate)?.id).toBe('restore-registry');
    expect(refusal(() => drillPlan(three, 'datacenter-lost', 'full'))).toMatch(/names no standby/);
    // Full: every broker killed, the failover child (the workflow checks the mirror and undoes the failover); chaos refused.
    const full = drillPlan(specOf(3, { standby: 'dr' }), 'datacenter-lost', 'full');
    expect(full.faults).toEqual([1, 2, 3].map((brokerId) => ({ kind: 'broker-kill', brokerId })));
    expect(full.recovery).toEqual([{ workflow: 'failover', id: 'recovery-failover', stepPrefix: '' }]);
    expect(full.notes.join(' ')).toMatch(/undoes the failover/);
    expect(refusal(() => drillPlan(specOf(3, { standby: 'dr' }), 'datacenter-lost', 'chaos'))).toMatch(/chaos datacenter-lost drill is not supported: every broker .* run it as full, tabletop or partial$/);
    const d = drillPlan(specOf(3, { standby: 'dr' }), 'datacenter-lost', 'tabletop');
    expect(d.recovery[0]!.workflow).toBe('failover');
    expect(d.faults).toEqual([]);
    expect(d.runbook.find((s) => s.gate)?.id).toBe('approve');
    expect(drillPlan(specOf(3, { standby: 'dr' }), 'datacenter-lost', 'partial').faults.every((f) => f.kind === 'broker-kill')).toBe(true);
  });

  it('every scenario either plans or refuses with one line, for every type', () => {
    const specs = [one, three, specOf(3, { registry: { curator: '/services' }, standby: 'dr' })];
    for (const spec of specs) {
      for (const s of SCENARIOS) {
        for (const type of ['tabletop', 'partial', 'full', 'chaos'] as const) {
          let p;
          try {
            p = drillPlan(spec, s, type, { random: () => 0.5 });
          } catch {
            refusal(() => drillPlan(spec, s, type, { random: () => 0.5 }));
            continue;
          }
          expect(p.runbook.length).toBeGreaterThan(0);
          expect(new Set(p.runbook.map((x) => x.id)).size).toBe(p.runbook.length);
          if (type === 'tabletop') expect(p.faults).toEqual([]);
          else expect(p.faults.length).toBeGreaterThan(0);
        }
      }
    }
    expect(refusal(() => drillPlan(three, 'meteor' as never, 'full'))).toMatch(/unknown drill scenario "meteor"/);
    expect(refusal(() => drillPlan(three, 'cluster-lost', 'drill' as never))).toMatch(/unknown drill type/);
  });

  it('chaos: a broker killed at a step after the first, chosen by the random given (the same random, the same plan)', () => {
    const seq = (xs: number[]) => {
      let i = 0;
      return () => xs[i++ % xs.length]!;
    };
    const a = drillPlan(three, 'cluster-lost', 'chaos', { random: seq([0, 0.99]) });
    expect(a.chaos).toEqual({ atStep: 'stop-brokers', fault: { kind: 'broker-kill', brokerId: 3 } });
    const b = drillPlan(three, 'cluster-lost', 'chaos', { random: seq([0.99, 0]) });
    expect(b.chaos).toEqual({ atStep: 'verify', fault: { kind: 'broker-kill', brokerId: 1 } });
    expect(drillPlan(three, 'cluster-lost', 'chaos', { random: seq([0.5, 0.5]) })).toEqual(drillPlan(three, 'cluster-lost', 'chaos', { random: seq([0.5, 0.5]) }));
    expect(drillPlan(three, 'cluster-lost', 'chaos', { chaosStep: 'restore-data' }).chaos?.atStep).toBe('restore-data');
    expect(refusal(() => drillPlan(three, 'cluster-lost', 'chaos', { chaosStep: 'nope' }))).toMatch(/chaos step "nope" is not a step of the recovery/);
    // The chaos drill's first faults are the full drill's.
    expect(a.faults).toEqual(drillPlan(three, 'cluster-lost', 'full').faults);
  });

  it('reverts: discard after a verified recovery, restore otherwise; a damaged backup pack is always written back', () => {
    expect(revertModeOf({ kind: 'broker-disk', brokerId: 1 }, true)).toBe('discard');
    expect(revertModeOf({ kind: 'broker-disk', brokerId: 1 }, false)).toBe('restore');
    expect(revertModeOf({ kind: 'zookeeper-chroot' }, true)).toBe('discard');
    expect(revertModeOf({ kind: 'backup-corrupt' }, true)).toBe('restore');
  });

  it('a runbook can be asked of one child alone (its steps prefixed)', () => {
    expect(recoveryRunbook(three, { workflow: 'brokerRecovery', id: 'x', stepPrefix: 'b2/', brokerId: 2 })[0]).toEqual({ id: 'b2/check-cluster', title: 'Check the other brokers' });
  });
});

describe('fault stages', () => {
  it('cluster-lost on three brokers: one stage of a kill→disk chain per broker, then the chroot alone', () => {
    const k = (brokerId: number) => ({ kind: 'broker-kill' as const, brokerId });
    const d = (brokerId: number) => ({ kind: 'broker-disk' as const, brokerId });
    expect(faultStages(drillPlan(three, 'cluster-lost', 'full').faults)).toEqual([
      [
        [k(1), d(1)],
        [k(2), d(2)],
        [k(3), d(3)],
      ],
      [[{ kind: 'zookeeper-chroot' }]],
    ]);
  });

  it("a fault that is not a broker's keeps its place: backup-corrupt before the brokers, the chroot after", () => {
    const stages = faultStages(drillPlan(one, 'backup-corrupt', 'full').faults);
    expect(stages).toEqual([[[{ kind: 'backup-corrupt' }]], [[{ kind: 'broker-kill', brokerId: 1 }, { kind: 'broker-disk', brokerId: 1 }]], [[{ kind: 'zookeeper-chroot' }]]]);
  });

  it('every fault of every scenario is in exactly one chain, each chain in the plan order', () => {
    for (const scenario of SCENARIOS) {
      let faults;
      try {
        faults = drillPlan(three, scenario, 'full').faults;
      } catch {
        continue; // a scenario this spec cannot drill
      }
      const stages = faultStages(faults);
      expect(stages.flat(2)).toHaveLength(faults.length);
      expect(new Set(stages.flat(2))).toEqual(new Set(faults));
      for (const chain of stages.flat(1)) expect(chain).toEqual(faults.filter((f) => chain.includes(f)));
    }
    expect(faultStages([])).toEqual([]);
  });
});

describe('apply stages', () => {
  const k = (brokerId: number) => ({ kind: 'broker-kill' as const, brokerId });
  const d = (brokerId: number) => ({ kind: 'broker-disk' as const, brokerId });
  const chroot = { kind: 'zookeeper-chroot' as const };

  it('cluster-lost: every kill first, then the disks beside the chroot', () => {
    expect(applyStages(drillPlan(three, 'cluster-lost', 'full').faults)).toEqual([[[k(1)], [k(2)], [k(3)]], [[d(1)], [d(2)], [d(3)], [chroot]]]);
    expect(applyStages(drillPlan(one, 'backup-corrupt', 'full').faults)).toEqual([[[{ kind: 'backup-corrupt' }]], [[k(1)]], [[d(1)], [chroot]]]);
  });

  it('a chroot after brokers that are not all killed first waits for every broker fault, as before', () => {
    expect(applyStages([d(1), k(2), chroot])).toEqual([[[d(1)], [k(2)]], [[chroot]]]);
    expect(applyStages([k(1), k(2)])).toEqual([[[k(1)], [k(2)]]]);
    expect(applyStages([k(1), chroot])).toEqual([[[k(1)]], [[chroot]]]);
  });

  it('every fault of every scenario once, after its own broker\'s kill and the chroot after every kill', () => {
    for (const scenario of SCENARIOS) {
      let faults;
      try {
        faults = drillPlan(three, scenario, 'full').faults;
      } catch {
        continue;
      }
      const stages = applyStages(faults);
      expect(stages.flat(2)).toHaveLength(faults.length);
      expect(new Set(stages.flat(2))).toEqual(new Set(faults));
      const stageOf = (f: (typeof faults)[number]) => stages.findIndex((s) => s.flat().includes(f));
      for (const f of faults) {
        const id = 'brokerId' in f ? f.brokerId : undefined;
        const kill = faults.find((x) => x.kind === 'broker-kill' && 'brokerId' in x && x.brokerId === id);
        if (f.kind === 'broker-disk' && kill) expect(stageOf(f)).toBeGreaterThan(stageOf(kill));
        if (f.kind === 'zookeeper-chroot') for (const x of faults) if (x.kind === 'broker-kill') expect(stageOf(f)).toBeGreaterThan(stageOf(x));
      }
    }
    expect(applyStages([])).toEqual([]);
  });
});

describe('revert stages', () => {
  const k = (brokerId: number) => ({ kind: 'broker-kill' as const, brokerId });
  const d = (brokerId: number) => ({ kind: 'broker-disk' as const, brokerId });
  const chroot = { kind: 'zookeeper-chroot' as const };

  it('restore: the apply\'s stages backwards, each chain backwards (the chroot back before any broker starts)', () => {
    expect(revertStages(drillPlan(three, 'cluster-lost', 'full').faults, false)).toEqual([
      [[chroot]],
      [
        [d(1), k(1)],
        [d(2), k(2)],
        [d(3), k(3)],
      ],
    ]);
    expect(revertStages(drillPlan(one, 'backup-corrupt', 'full').faults, false)).toEqual([[[chroot]], [[d(1), k(1)]], [[{ kind: 'backup-corrupt' }]]]);
  });

  it('discard: one stage, every chain at once; a broker\'s faults stay one chain, backwards, even across stages (a chaos kill)', () => {
    expect(revertStages(drillPlan(three, 'cluster-lost', 'full').faults, true)).toEqual([[[chroot], [d(3), k(3)], [d(2), k(2)], [d(1), k(1)]]]);
    // cluster-lost on one broker, then the chaos kill of the same broker: never two starts of it at once.
    expect(revertStages([k(1), d(1), chroot, k(1)], true)).toEqual([[[k(1), d(1), k(1)], [chroot]]]);
    expect(revertStages([], true)).toEqual([]);
  });

  it('discard with `apart`: a fault whose revert never starts its broker is a chain of its own; restore ignores it', () => {
    // The disks found their brokers down (killed before them): discarded beside the kills' reverts.
    const apart = (f: { kind: string }) => f.kind === 'broker-disk';
    expect(revertStages(drillPlan(three, 'cluster-lost', 'full').faults, true, (f) => f, { apart })).toEqual([[[chroot], [d(3)], [d(2)], [d(1)], [k(3)], [k(2)], [k(1)]]]);
    // The kills that may start a broker stay one chain (a chaos kill of the same broker: never two starts at once).
    expect(revertStages([k(1), d(1), chroot, k(1)], true, (f) => f, { apart })).toEqual([[[k(1), k(1)], [chroot], [d(1)]]]);
    expect(revertStages(drillPlan(three, 'cluster-lost', 'full').faults, false, (f) => f, { apart })).toEqual(revertStages(drillPlan(three, 'cluster-lost', 'full').faults, false));
  });

  it('every fault of every scenario is reverted exactly once in either mode, each broker\'s faults backwards', () => {
    for (const scenario of SCENARIOS) {
      let faults;
      try {
        faults = drillPlan(three, scenario, 'chaos', { chaosStep: undefined, random: () => 0.5 }).faults;
      } catch {
        continue;
      }
      for (const discarding of [false, true]) {
        const order = revertStages(faults, discarding).flat(2);
        expect(order).toHaveLength(faults.length);
        expect(new Set(order)).toEqual(new Set(faults));
        for (const id of [1, 2, 3]) {
          const mine = faults.filter((f) => 'brokerId' in f && f.brokerId === id);
          expect(order.filter((f) => mine.includes(f))).toEqual([...mine].reverse());
        }
      }
    }
  });
});

describe('agentWaitProblem', () => {
  it('takes whole seconds from 1 to 3600 and refuses anything else in one line', () => {
    expect(agentWaitProblem(1)).toBeUndefined();
    expect(agentWaitProblem(3600)).toBeUndefined();
    for (const bad of [0, 3601, 1.5, '60', null]) expect(agentWaitProblem(bad)).toMatch(/^agentWaitSeconds: expected whole seconds from 1 to 3600 .*, got /);
  });
});
