/** Failback's pure parts: names, the inverted offset map, the tail's text, the CLI's start request. */
import { describe, expect, it } from 'vitest';
import { startRequest } from '../../../src/cli/commands/failback';
import { failbackMigrationId, invertRuns, quarantineTopic, renderTail, tailTotals, type TailPartition } from '../../../src/failover/failback';
import { failbackWorkflowId } from '../../../src/failover/ids.pure';
import { translateOffset } from '../../../src/kafka/offsetMap';

describe('names', () => {
  it('quarantine topic and child migration', () => {
    expect(quarantineTopic('primary', 'orders')).toBe('lifeboat.quarantine.primary.orders');
    expect(failbackMigrationId(failbackWorkflowId('primary', 'standby'))).toBe('failback-standby-to-primary-migration');
  });
});

describe('invertRuns', () => {
  it('maps standby offsets back to the primary offsets they came from, sorted by the standby offset', () => {
    // Forward: primary 0..99 → standby 0..99; primary 102..149 (a transaction marker and an aborted record skipped) → standby 100..147.
    const inverted = invertRuns([
      [0, 0, 100],
      [102, 100, 48],
    ]);
    expect(inverted).toEqual([
      [0, 0, 100],
      [100, 102, 48],
    ]);
    // The seed adds the clients' records after the primary's end (here 160, past a 10-record tail): standby 148.. → primary 160..
    const map = { topics: { t: { target: 't', partitions: { '0': { runs: [...inverted, [148, 160, 20] as [number, number, number]], end: 180 } } } } };
    expect(translateOffset(map, 't', 0, 50)).toBe(50);
    expect(translateOffset(map, 't', 0, 100)).toBe(102);
    expect(translateOffset(map, 't', 0, 148)).toBe(160); // read every mirrored record: the tail is skipped
    expect(translateOffset(map, 't', 0, 150)).toBe(162);
    expect(translateOffset(map, 't', 0, 168)).toBe(180);
  });
});

describe('tail text', () => {
  const tail: TailPartition[] = [
    { topic: 'orders', partition: 0, from: 100, to: 107, records: 7, quarantined: 7, writtenNow: 7, quarantineTopic: 'lifeboat.quarantine.primary.orders' },
    { topic: 'orders', partition: 1, from: 100, to: 100, records: 0, quarantined: 0, writtenNow: 0, quarantineTopic: 'lifeboat.quarantine.primary.orders' },
    { topic: 'orders', partition: 2, from: 90, to: 120, records: 25, quarantined: 25, writtenNow: 0, quarantineTopic: 'lifeboat.quarantine.primary.orders', lost: { from: 90, to: 95 } },
  ];
  it('totals and one line per partition', () => {
    expect(tailTotals(tail)).toEqual({ partitions: 3, records: 32, quarantined: 32, lost: 5 });
    const text = renderTail(tail);
    expect(text.split('\n')[0]).toBe('divergent tail: 32 records over 2 of 3 partitions');
    expect(text).toContain('orders-0');
    expect(text).toContain('[100, 107)');
    expect(text).toContain('LOST 90..94');
  });
});

describe('lifeboat failback start request', () => {
  it('by name, the ID per pair (a dry run under its own)', () => {
    expect(startRequest({ primary: 'primary', standby: 'standby' })).toEqual({
      workflowId: 'failback-standby-to-primary',
      primary: 'primary',
      standby: 'standby',
      input: { primary: { cluster: 'primary' }, standby: { cluster: 'standby' }, dryRun: false, autoApprove: false },
    });
    const dry = startRequest({ primary: 'primary', standby: 'standby', 'dry-run': true, 'auto-approve': true, topics: ['a', 'b'] });
    expect(dry.workflowId).toBe('failback-standby-to-primary-plan');
    expect(dry.input).toMatchObject({ dryRun: true, autoApprove: true, topics: ['a', 'b'] });
  });
  it('refuses bad input in one line', () => {
    expect(() => startRequest({})).toThrow(/--primary <name>/);
    expect(() => startRequest({ primary: 'primary' })).toThrow(/--standby <name>/);
    expect(() => startRequest({ primary: 'primary', standby: 'primary' })).toThrow(/two clusters/);
    expect(() => startRequest({ primary: 'Primary!', standby: 'standby' })).toThrow(/lower-case/);
    expect(() => startRequest({ primary: 'primary', 'primary-spec': 'x.yaml', standby: 'standby' })).toThrow(/not both/);
  });
});
