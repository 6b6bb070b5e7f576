/**
 * Kafka ACLs by name, as an operator reads them (TOPIC, PREFIXED, WRITE, DENY), shared by the
 * mirror's ACL copy and a migration's write fence: conversion from and to kafkajs's numeric
 * codes, how a resource pattern binds a name, and the write fence's own two shapes.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';

export interface Acl {
  resourceType: string;
  resourceName: string;
  patternType: string;
  principal: string;
  host: string;
  operation: string;
  permission: 'ALLOW' | 'DENY';
}

/** DescribeAcls's answer, as kafkajs gives it. */
export interface DescribedResource {
  resourceType: number;
  resourceName: string;
  resourcePatternType: number;
  acls: { principal: string; host: string; operation: number; permissionType: number }[];
}

const names = (e: object) => Object.fromEntries(Object.entries(e).map(([k, v]) => [v as number, k])) as Record<number, string>;
const RESOURCE = names(AclResourceTypes);
const PATTERN = names(ResourcePatternTypes);
const OPERATION = names(AclOperationTypes);
const PERMISSION = names(AclPermissionTypes);
const code = (e: object, name: string): number => {
  const v = (e as Record<string, number>)[name];
  if (v === undefined) throw new Error(`unknown ACL code "${name}"`);
  return v;
};

export const aclsOf = (resources: DescribedResource[]): Acl[] =>
  resources.flatMap((r) =>
    r.acls.map((a) => ({
      resourceType: RESOURCE[r.resourceType] ?? String(r.resourceType),
      resourceName: r.resourceName,
      patternType: PATTERN[r.resourcePatternType] ?? String(r.resourcePatternType),
      principal: a.principal,
      host: a.host,
      operation: OPERATION[a.operation] ?? String(a.operation),
      permission: PERMISSION[a.permissionType] as Acl['permission'],
    })),
  );

/** The ACL binding kafkajs's createAcls and deleteAcls take. */
export const toKafkajsAcl = (a: Acl) => ({
  resourceType: code(AclResourceTypes, a.resourceType),
  resourceName: a.resourceName,
  resourcePatternType: code(ResourcePatternTypes, a.patternType),
  principal: a.principal,
  host: a.host,
  operation: code(AclOperationTypes, a.operation),
  permissionType: code(AclPermissionTypes, a.permission),
});

/** Whether an ACL's resource pattern covers a name (how the authorizer matches). */
export const binds = (a: Acl, name: string): boolean =>
  a.patternType === 'PREFIXED' ? name.startsWith(a.resourceName) : a.resourceName === name || a.resourceName === '*';

export const aclText = (a: Acl): string =>
  `${a.permission} ${a.operation} ${a.principal}@${a.host} on ${a.resourceType.toLowerCase()} ${a.patternType === 'PREFIXED' ? `${a.resourceName}* (prefixed)` : a.resourceName}`;

/**
 * A migration's write fence on a topic (src/migration/fence.ts): DENY WRITE for User:* from any
 * host, LITERAL on the topic, and the ALLOW ALL for User:* it sets beside it where the topic had no
 * ACL. The shape alone says it (an everyone-read-only topic set by hand looks the same).
 */
export function fenceShape(a: Acl): 'deny-write' | 'allow-all' | undefined {
  if (a.resourceType !== 'TOPIC' || a.patternType !== 'LITERAL' || a.principal !== 'User:*' || a.host !== '*' || a.resourceName === '*') return undefined;
  if (a.permission === 'DENY' && a.operation === 'WRITE') return 'deny-write';
  if (a.permission === 'ALLOW' && a.operation === 'ALL') return 'allow-all';
  return undefined;
}

/** A cluster without an authorizer answers ACL requests with SECURITY_DISABLED (kafkajs may wrap it). */
export function isSecurityDisabled(e: unknown): boolean {
  const err = e as { type?: string; message?: string; cause?: unknown; originalError?: unknown } | undefined;
  if (!err || typeof err !== 'object') return false;
  if (err.type === 'SECURITY_DISABLED' || /security features are disabled|SECURITY_DISABLED/i.test(err.message ?? '')) return true;
  return isSecurityDisabled(err.cause) || isSecurityDisabled(err.originalError);
}
