/**
 * The mirror's ACL plan against a scripted source whose group listing is not steady: a group
 * found only through the listing (a PREFIXED group ACL) may be missed, and the plan says so
 * instead of quietly leaving its ACL off the target. Real ACLs are mirrored in acls.int.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, type Admin, ResourcePatternTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { offsetsPartitionOf } from '../../../src/kafka/groupCoordinators';
import { mirrorAcls } from '../../../src/kafka/mirror/acls';
import { PARTITIONS, scriptedCluster, twoGroups } from '../../support/scriptedGroups';

const resource = (type: 'TOPIC' | 'GROUP', name: string, pattern: 'LITERAL' | 'PREFIXED') => ({
  resourceType: AclResourceTypes[type],
  resourceName: name,
  resourcePatternType: ResourcePatternTypes[pattern],
  acls: [{ principal: 'User:app', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW }],
});

/** The scripted source with these ACLs; a target with an authorizer and no ACL. */
function clusters(groupPattern: 'LITERAL' | 'PREFIXED', moving: boolean) {
  const ids = twoGroups();
  const moved = offsetsPartitionOf(ids[0]!, PARTITIONS);
  const { admin } = scriptedCluster(ids, moving ? { moveOnList: () => moved } : {});
  const groupName = groupPattern === 'PREFIXED' ? 'g-' : ids[0]!;
  const source = Object.assign(admin, { describeAcls: async () => ({ resources: [resource('TOPIC', 'orders', 'LITERAL'), resource('GROUP', groupName, groupPattern)] }) }) as Admin;
  const created: unknown[] = [];
  const target = { describeAcls: async () => ({ resources: [] }), createAcls: async ({ acl }: { acl: unknown[] }) => void created.push(...acl) } as unknown as Admin;
  return { source, target, created };
}

describe('the mirror ACL plan while the source\'s group coordinators move', () => {
  it('a PREFIXED group ACL: the listing that kept moving is said in the plan, what was found is still planned', async () => {
    const { source, target } = clusters('PREFIXED', true);
    const planned = await mirrorAcls(source, target, 'next', ['orders'], { dryRun: true });
    expect(planned.byTopic.get('orders')!.map((a) => `${a.resourceType}:${a.patternType}:${a.resourceName} ${a.action}`)).toEqual(['TOPIC:LITERAL:orders create', 'GROUP:PREFIXED:g- create']);
    expect(planned.warnings).toEqual([
      "the source's consumer groups, for their prefixed or wildcard ACLs: the coordinators of __consumer_offsets moved during each of 5 listings of the groups (brokers restarting, leaders rebalancing?): groups may be missing",
    ]);
  });

  it('only LITERAL group ACLs: their groups are asked by name, so a moving listing misses none and warns of nothing', async () => {
    const { source, target, created } = clusters('LITERAL', true);
    const planned = await mirrorAcls(source, target, 'next', ['orders']);
    expect(planned.byTopic.get('orders')!.map((a) => `${a.resourceType}:${a.resourceName} ${a.action}`)).toEqual([`TOPIC:orders create`, `GROUP:${twoGroups()[0]} create`]);
    expect(planned.warnings).toEqual([]);
    expect(created).toHaveLength(2);
  });

  it('a steady listing: no warning', async () => {
    const { source, target } = clusters('PREFIXED', false);
    expect((await mirrorAcls(source, target, 'next', ['orders'], { dryRun: true })).warnings).toEqual([]);
  });
});
