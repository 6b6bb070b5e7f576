/**
 * ACLs mirrored with the topics (MirrorSelection.acls): every ACL of the source that binds a selected
 * topic — LITERAL on its name, PREFIXED whose prefix it starts with, the wildcard `*` — and every
 * ACL binding a consumer group with committed offsets on a selected topic (a group needs READ on
 * itself to go on consuming on the target after a switch). Copied as they are: every operation
 * (WRITE and ALL too), ALLOW and DENY, principals and hosts unchanged, PREFIXED stays PREFIXED
 * (MirrorMaker 2 drops WRITE, turns ALL into READ and keeps only LITERAL).
 *
 * Not copied: a migration's write fence (fenceShape: the DENY WRITE for User:* on a topic and the
 * ALLOW ALL for User:* the fence sets beside it) — copied, it would refuse every write on the
 * target after the switch; such ACLs are reported as 'skipped'. ACLs removed on the source are not
 * removed on the target: a source being retired loses its ACLs, and the live target must not
 * follow.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, type Admin, ResourcePatternTypes } from 'kafkajs';
import { LifeboatError } from '../../errors';
import { type Acl, aclText, aclsOf, binds, fenceShape, isSecurityDisabled, toKafkajsAcl } from '../acls';
import { fetchCommittedOffsets, retryTransient } from '../admin';
import { listGroupsSteadily } from '../groupCoordinators';

export { aclText, binds, fenceShape };

/** The ACLs the mirror copies: on topics and groups, LITERAL or PREFIXED. */
export interface MirrorAcl extends Acl {
  resourceType: 'TOPIC' | 'GROUP';
  patternType: 'LITERAL' | 'PREFIXED';
}

export interface MirrorAclPlan extends MirrorAcl {
  /** create: created by this plan (would be, in a dry run); exists: the target has it; skipped: a migration's write fence, never copied. */
  action: 'create' | 'exists' | 'skipped';
}


const key = (a: MirrorAcl): string => [a.resourceType, a.patternType, a.resourceName, a.principal, a.host, a.operation, a.permission].join('\u0000');



/** The topic names a write fence stands on (its DENY WRITE for User:*). */
function fencedTopics(acls: MirrorAcl[]): Set<string> {
  return new Set(acls.filter((a) => fenceShape(a) === 'deny-write').map((a) => a.resourceName));
}


/** The topic and group ACLs of a cluster (undefined: it has no authorizer). */
export async function readMirrorableAcls(admin: Admin): Promise<MirrorAcl[] | undefined> {
  try {
    const r = await retryTransient(() =>
      admin.describeAcls({ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }),
    );
    return aclsOf(r.resources).filter((a): a is MirrorAcl => (a.resourceType === 'TOPIC' || a.resourceType === 'GROUP') && (a.patternType === 'LITERAL' || a.patternType === 'PREFIXED'));
  } catch (e) {
    if (isSecurityDisabled(e)) return undefined;
    throw e;
  }
}

/**
 * The groups some ACL binds with a committed offset on any of the topics (only those are asked: one
 * request each). A LITERAL ACL names its group: asked directly, since a broker whose coordinator
 * partitions are moving (a restart, a leader election) leaves its groups out of ListGroups for a while.
 */
async function groupsOn(admin: Admin, topics: string[], acls: MirrorAcl[], signal?: AbortSignal): Promise<{ groups: Map<string, Set<string>>; warnings: string[] }> {
  const out = new Map<string, Set<string>>();
  // Only a PREFIXED or wildcard ACL finds its groups through the listing (a LITERAL one names its
  // group): a listing that may have missed groups leaves their ACLs off the target, which the plan says.
  const listed = acls.some((a) => a.patternType === 'PREFIXED' || a.resourceName === '*');
  const { groups, warnings } = listed ? await listGroupsSteadily(admin, { timeoutMs: 60_000, signal }) : { groups: [], warnings: [] };
  const named = acls.filter((a) => a.patternType === 'LITERAL' && a.resourceName !== '*').map((a) => a.resourceName);
  const candidates = [...new Set([...groups.map((g) => g.groupId).filter((g) => acls.some((a) => binds(a, g))), ...named])].sort();
  for (const groupId of candidates) {
    const offsets = await fetchCommittedOffsets(admin, groupId, topics, signal);
    const on = offsets.filter((t) => t.partitions.some((p) => Number(p.offset) >= 0)).map((t) => t.topic);
    if (on.length) out.set(groupId, new Set(on));
  }
  return { groups: out, warnings: warnings.map((w) => `the source's consumer groups, for their prefixed or wildcard ACLs: ${w}`) };
}

/** Per topic the ACLs it brings; warnings: why some may be missing (a group listing that was not steady). */
export interface MirrorAclsPlanned {
  byTopic: Map<string, MirrorAclPlan[]>;
  warnings: string[];
}

/**
 * Plans (and, unless dryRun, creates on the target) the ACLs binding the topics and their groups.
 * Returns per topic the ACLs it brings, each with what this plan does with it; an ACL binding
 * several topics (a prefix, the wildcard) is listed under each and created once. Idempotent.
 */
export async function mirrorAcls(sa: Admin, ta: Admin, targetName: string, topics: string[], opts: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<MirrorAclsPlanned> {
  const out = new Map<string, MirrorAclPlan[]>(topics.map((t) => [t, []]));
  if (!topics.length) return { byTopic: out, warnings: [] };
  const source = await readMirrorableAcls(sa);
  if (!source?.length) return { byTopic: out, warnings: [] }; // no authorizer, or no ACL, on the source: nothing to copy
  const targetAcls = await readMirrorableAcls(ta);
  if (!targetAcls) {
    throw new LifeboatError('InvalidInput', `the target ${targetName} has no authorizer, so the source's ACLs cannot be mirrored onto it: set authorizer.class.name on its brokers, or mirror without ACLs`);
  }
  const fenced = fencedTopics(source);
  const skip = (a: MirrorAcl) => {
    const shape = fenceShape(a);
    return shape === 'deny-write' || (shape === 'allow-all' && fenced.has(a.resourceName));
  };
  const groupAcls = source.filter((a) => a.resourceType === 'GROUP');
  const { groups, warnings } = groupAcls.length ? await groupsOn(sa, topics, groupAcls, opts.signal) : { groups: new Map<string, Set<string>>(), warnings: [] };
  const have = new Set(targetAcls.map(key));
  const wanted = new Map<string, MirrorAclPlan>();
  const plan = (a: MirrorAcl): MirrorAclPlan => {
    const k = key(a);
    let p = wanted.get(k);
    if (!p) wanted.set(k, (p = { ...a, action: skip(a) ? 'skipped' : have.has(k) ? 'exists' : 'create' }));
    return p;
  };
  const byName = (a: MirrorAcl, b: MirrorAcl) => key(a).localeCompare(key(b));
  for (const t of topics) {
    const list = out.get(t)!;
    for (const a of source.filter((x) => x.resourceType === 'TOPIC' && binds(x, t)).sort(byName)) list.push(plan(a));
    const mine = [...groups].filter(([, on]) => on.has(t)).map(([g]) => g);
    for (const a of groupAcls.filter((x) => mine.some((g) => binds(x, g))).sort(byName)) list.push(plan(a));
  }
  const create = [...wanted.values()].filter((p) => p.action === 'create');
  if (create.length && !opts.dryRun) {
    await ta
      .createAcls({
        acl: create.map(toKafkajsAcl),
      })
      .catch((e: unknown) => {
        throw new LifeboatError('InvalidInput', `cannot create ${create.length} ACL(s) on ${targetName} (first: ${aclText(create[0]!)}): ${(e as Error).message}`);
      });
  }
  // Each listed once per topic, in a stable order (the same object under several topics: copied).
  for (const [t, list] of out) out.set(t, list.map((p) => ({ ...p })));
  return { byTopic: out, warnings };
}
