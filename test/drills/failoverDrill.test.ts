/** The pure part of a full datacenter-lost drill: the mirror it fails over with (or its one-line refusal), the failover's policy in a drill, why a drill fails after its failover, the standby's fences to put back. */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/spec';
import { drillFailoverPolicy, drillMirrorDecision, escalationProblem, failoverDrillFailure, fencesToRestore, selectionTakes, strandedProblem } from '../../src/drills/failoverDrill.pure';
import { writesPastCopies } from '../../src/kafka/mirrorWrites.pure';
import { failoverPolicy } from '../../src/failover/policy.pure';
import type { Acl } from '../../src/kafka/acls';

const primary = parseSpec({
  name: 'prod',
  standby: 'dr',
  kafka: { bootstrapServers: ['127.0.0.1:1'] },
  brokers: [{ id: 1, host: 'h1', logDirs: ['/x'], configDir: '/c', control: { type: 'systemd', unit: 'kafka' } }],
});
const topic = 'lifeboat-drill-drill-prod-datacenter-lost-1';
const id = 'mirror-prod-to-dr';

describe('full datacenter-lost drill, pure', () => {
  it('selections: names, or the pattern anchored at both ends as the mirror matches it', () => {
    expect(selectionTakes({ topics: [topic] }, topic)).toBe(true);
    expect(selectionTakes({ pattern: 'lifeboat-drill-.*' }, topic)).toBe(true);
    expect(selectionTakes({ pattern: 'drill' }, topic)).toBe(false);
    expect(selectionTakes({ pattern: '(' }, topic)).toBe(false);
    expect(selectionTakes({ topics: ['orders'] }, topic)).toBe(false);
    expect(selectionTakes(undefined, topic)).toBe(false);
  });

  it('no mirror runs: the drill starts its own for the stream topic; one that takes it is used; one that does not refuses in one line', () => {
    expect(drillMirrorDecision(primary, 'dr', topic, { workflowId: id, running: false })).toMatchObject({ use: 'start', workflowId: id, roundSeconds: 1, shards: 1 });
    const own = drillMirrorDecision(primary, 'dr', topic, { workflowId: id, running: false });
    // A pattern that takes the stream topic and nothing else (the mirror refuses a named topic the source does not have yet).
    expect('selection' in own && selectionTakes(own.selection, topic)).toBe(true);
    expect('selection' in own && selectionTakes(own.selection, `${topic}x`)).toBe(false);
    expect('selection' in own && selectionTakes(own.selection, 'lifeboat-drill-drill-prodXdatacenter-lost-1')).toBe(false);
    expect(drillMirrorDecision(primary, 'dr', topic, { workflowId: id, running: true, input: { selection: { pattern: 'lifeboat-drill-.*|orders' } } })).toMatchObject({ use: 'running', workflowId: id });
    const r = drillMirrorDecision(primary, 'dr', topic, { workflowId: id, running: true, input: { selection: { topics: ['orders', 'payments'] } } });
    expect('refuse' in r && r.refuse).toMatch(/^a full datacenter-lost drill of prod needs the mirror to dr to copy its write stream .* runs with a selection that does not take it \(topics orders, payments\)/);
    expect('refuse' in r && r.refuse.includes('\n')).toBe(false);
  });

  it("the failover's policy in a drill: no repair in place, an escalation stands down after the bound (a valid policy)", () => {
    const p = failoverPolicy(primary, drillFailoverPolicy(3));
    expect(p).toMatchObject({ repairBudgetMinutes: 0, approvalTimeoutMinutes: 3, onApprovalTimeout: 'stand-down' });
    expect(failoverPolicy(primary, drillFailoverPolicy(0.25)).approvalTimeoutMinutes).toBe(0.25);
    for (const ok of [0.25, 2, 60]) expect(escalationProblem(ok)).toBeUndefined();
    for (const bad of [0, -1, 61, Number.NaN]) expect(escalationProblem(bad)).toMatch(/^escalationMinutes: expected minutes above 0 and at most 60/);
  });

  it('the drill fails unless the service moved; an escalation nobody answered says so', () => {
    expect(failoverDrillFailure({ outcome: 'failed over', pointOfNoReturn: true }, 'dr')).toBeUndefined();
    expect(failoverDrillFailure({ outcome: 'stood down', reason: 'approval timed out', escalated: true, pointOfNoReturn: false }, 'dr', 2)).toMatch(/^the failover escalated to people and nobody approved it within the drill's bound \(2 min\): it stood down, the service never moved to dr/);
    expect(failoverDrillFailure({ outcome: 'stood down', reason: 'not confirmed', pointOfNoReturn: false }, 'dr')).toBe('the failover did not move the service to dr: stood down (not confirmed)');
  });

  it('fences to put back: those before that are gone now', () => {
    const fence = (t: string, permission: string, operation: string): Acl => ({ resourceType: 'TOPIC', resourceName: t, patternType: 'LITERAL', principal: 'User:*', host: '*', operation, permission }) as Acl;
    const before = [fence('a', 'DENY', 'WRITE'), fence('a', 'ALLOW', 'ALL'), fence('b', 'DENY', 'WRITE')];
    expect(fencesToRestore(before, [fence('b', 'DENY', 'WRITE')])).toEqual(before.slice(0, 2));
    expect(fencesToRestore(before, before)).toEqual([]);
    expect(fencesToRestore([], before)).toEqual([]);
  });
});

describe('writes on the standby since the failover', () => {
  const forward = [
    { topic: 'orders', partition: 0, targetNext: 100 },
    { topic: 'orders', partition: 1, targetNext: 50 },
    { topic: 'orders', partition: 2, targetNext: 10 },
    { topic: 'gone', partition: 0, targetNext: 7 },
  ];

  it('counts what is past both the mirror\'s copies and where the standby ended when the drill began', () => {
    const ends = { 'orders/0': 103, 'orders/1': 50, 'orders/2': 14 };
    // orders-2 already held 2 records past the mirror's copies before the drill: only the 2 after are the drill's clients'.
    const s = writesPastCopies(forward, ends, { 'orders/0': 100, 'orders/2': 12 });
    expect(s).toEqual([
      { topic: 'orders', partition: 0, from: 100, end: 103 },
      { topic: 'orders', partition: 2, from: 12, end: 14 },
    ]);
    expect(strandedProblem('primary', 'standby', s)).toBe(
      '5 records written to standby while it had the service (orders-0: 3 (offsets 100-102), orders-2: 2 (offsets 12-13)) are on standby only: the review switched the clients back to primary without them; copy them back with lifeboat failback (it quarantines primary\'s own tail first) before the mirror primary → standby runs again',
    );
    expect(writesPastCopies(forward, { 'orders/0': 100, 'orders/1': 50 })).toEqual([]);
    expect(strandedProblem('primary', 'standby', [])).toBeUndefined();
  });
});
