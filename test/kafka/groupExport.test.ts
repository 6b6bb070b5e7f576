/**
 * The group read's own logic against a scripted cluster (the real moves are in the drill tests):
 * a coordinator that moves while the groups are listed answers from a new leader that has not
 * loaded them yet, without error and without those groups (a CI drill saw every group of the
 * primary "removed" when the controller moved the leaders back to their preferred brokers
 * seconds after the review had started them again).
 */
import { describe, expect, it } from 'vitest';
import { listGroupsSteadily, offsetsPartitionOf } from '../../src/kafka/groupCoordinators';
import { readGroups } from '../../src/kafka/groupExport';
import { PARTITIONS, scriptedCluster, twoGroups } from '../support/scriptedGroups';

describe('reading the groups while coordinators move', () => {
  it('a move during the listing reads again: every group, no warning', async () => {
    const ids = twoGroups();
    const { admin, lists } = scriptedCluster(ids, { moveOnList: (call) => (call === 1 ? offsetsPartitionOf(ids[0]!, PARTITIONS) : undefined) });
    const warnings: string[] = [];
    const groups = await readGroups(admin, warnings);
    expect(groups.map((g) => [g.groupId, g.offsets[0]?.offset])).toEqual([
      [ids[0], '10'],
      [ids[1], '11'],
    ]);
    expect(warnings).toEqual([]);
    expect(lists()).toBe(2);
  });

  it('a coordinator that unloaded under the listing and came back at the same leader: seen by the probe after, listed again', async () => {
    const ids = twoGroups();
    const { admin, lists } = scriptedCluster(ids, { moveOnList: (call) => (call === 1 ? offsetsPartitionOf(ids[0]!, PARTITIONS) : undefined), unloadedProbes: 2 });
    const warnings: string[] = [];
    expect((await readGroups(admin, warnings)).map((g) => g.groupId)).toEqual(ids);
    expect(warnings).toEqual([]);
    expect(lists()).toBe(2);
  });

  it('an offline partition: its groups said to be missing, within the time given; a group reported twice read once', async () => {
    const ids = twoGroups();
    const offline = offsetsPartitionOf(ids[0]!, PARTITIONS);
    const { admin } = scriptedCluster(ids, { offline: [offline], twice: [ids[1]!] });
    const t0 = Date.now();
    const listing = await listGroupsSteadily(admin, { timeoutMs: 1_500 });
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(listing.groups.map((g) => g.groupId)).toEqual(ids);
    expect(listing.warnings).toEqual([`the coordinators of __consumer_offsets partitions ${offline} had not loaded their groups within 1.5 s (offline?): groups stored there may be missing`]);
  });

  it('coordinators still at rest: one read', async () => {
    const ids = twoGroups();
    const { admin, lists } = scriptedCluster(ids, {});
    const warnings: string[] = [];
    expect((await readGroups(admin, warnings)).map((g) => g.groupId)).toEqual(ids);
    expect(warnings).toEqual([]);
    expect(lists()).toBe(1);
  });

  it('moving during every read: bounded, and the export says groups may be missing', async () => {
    const ids = twoGroups();
    const { admin, lists } = scriptedCluster(ids, { moveOnList: () => offsetsPartitionOf(ids[0]!, PARTITIONS) });
    const warnings: string[] = [];
    const groups = await readGroups(admin, warnings);
    expect(groups.map((g) => g.groupId)).toEqual([ids[1]]);
    expect(lists()).toBe(5);
    expect(warnings).toEqual(['the coordinators of __consumer_offsets moved during each of 5 listings of the groups (brokers restarting, leaders rebalancing?): groups may be missing']);
  });
});
