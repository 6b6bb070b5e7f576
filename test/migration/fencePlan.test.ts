/** The write fence's plan (pure): which ACLs it sets beside which existing ones. */
import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { protocolError } from '../../src/kafka/wire/transport';
import { planFence, topicAcls } from '../../src/migration/fence';

const acl = (resourceName: string, patternType: string, principal: string, operation: string, permission: 'ALLOW' | 'DENY', resourceType = 'TOPIC') => ({
  resourceType,
  resourceName,
  patternType,
  principal,
  host: '*',
  operation,
  permission,
});
const shapes = (p: ReturnType<typeof planFence>) => p.acls.map((a) => `${a.resourceName} ${a.permission} ${a.operation}`);

describe('planFence', () => {
  it('adds an ALLOW ALL only where no ACL binds the topic (literal, wildcard or prefixed)', () => {
    const existing = [
      acl('orders', 'LITERAL', 'User:bob', 'READ', 'ALLOW'),
      acl('pay', 'PREFIXED', 'User:bob', 'READ', 'ALLOW'),
      acl('orders', 'LITERAL', 'User:*', 'READ', 'ALLOW', 'GROUP'), // a group's ACL is not the topic's
    ];
    const p = planFence(['orders', 'payments', 'clicks', 'clicks'], existing, true);
    expect(shapes(p)).toEqual(['clicks DENY WRITE', 'clicks ALLOW ALL', 'orders DENY WRITE', 'payments DENY WRITE']);
    expect(p.notes).toEqual([expect.stringContaining('orders: no ALLOW added (1 ACL of its own'), expect.stringContaining('payments: no ALLOW added')]);
    expect(shapes(planFence(['clicks'], [acl('*', 'LITERAL', 'User:ann', 'ALL', 'DENY')], true))).toEqual(['clicks DENY WRITE']);
  });

  it("recognises its own ACLs: a second run plans the same set", () => {
    const first = planFence(['clicks', 'orders'], [acl('orders', 'LITERAL', 'User:bob', 'READ', 'ALLOW')], true);
    const after = [acl('orders', 'LITERAL', 'User:bob', 'READ', 'ALLOW'), ...first.acls.map((a) => acl(a.resourceName, 'LITERAL', a.principal, a.operation, a.permission))];
    expect(planFence(['clicks', 'orders'], after, true)).toEqual(first);
  });

  it('never widens access: no ALLOW where the brokers refuse resources without ACLs, or when that is unknown', () => {
    expect(shapes(planFence(['clicks'], [], false))).toEqual(['clicks DENY WRITE']);
    const unknown = planFence(['clicks'], [], undefined, 'hidden');
    expect(shapes(unknown)).toEqual(['clicks DENY WRITE']);
    expect(unknown.notes[0]).toMatch(/unknown: hidden; pass allowEveryoneIfNoAcl/);
  });

  it('a cluster without an authorizer is one line (the error kafkajs gives for SECURITY_DISABLED)', async () => {
    const admin = { describeAcls: () => Promise.reject(protocolError(54)) } as unknown as Admin;
    await expect(topicAcls(admin, 'old')).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(/^cluster "old" has no authorizer \(authorizer.class.name is not set\)/) });
  });
});
