/**
 * Restore of an export into a ZooKeeper root (the same one or another chroot: "/primary" → "/standby").
 * `planRestore` is pure: it compares the export with the target's current tree and says what would be
 * added, changed and removed; `applyRestore` carries a plan out.
 *
 * - Modes: `create-missing` (default) only adds; `overwrite` also rewrites data/ACLs that differ;
 *   `mirror` also deletes what the export does not have (needs `confirm`).
 * - Ephemeral nodes belong to sessions that no longer exist: skipped and listed unless asked for,
 *   and then restored as persistent nodes (an ephemeral would die with the restore's session).
 * - Sequential nodes are created by their exact names (plain creates), so references stay valid; their
 *   parent's sequence counter is then raised to the exported one, so the next sequential child gets
 *   the number it would have got in the source, above every restored one.
 * - Mirror keeps an extra node that holds a live ephemeral (a running session's, e.g. a broker's):
 *   ZooKeeper could not delete it (NOT_EMPTY) and the ephemeral is not ours to delete.
 * - Into the chroot of a running Kafka (a live broker registration or controller there), what that
 *   Kafka owns (kafkaOwned.pure.ts: epochs, partition states, notifications) is created when missing,
 *   never rewritten or deleted, in every mode: listed as kept.
 * - ACLs: a node whose final ACL would not let this session create its children is created with a
 *   temporary ACL (the final one plus CREATE|ADMIN for this session) and tightened after all of its
 *   children exist, deepest first.
 * - Writes go in `multi` batches kept under jute.maxbuffer (1 MiB by default), several in flight
 *   (one session: ZooKeeper applies them in order).
 */
import { createHash, randomBytes } from 'node:crypto';
import { isAbort, throwIfAborted } from '../core/poll';
import { LifeboatError } from '../errors';
import { ACL, exists, Id, multi, Permission, setACL, ZkError, type MultiOp, type ZkAcl, type ZkClient } from './client';
import { zkFailure } from './errors';
import { exportTree } from './export';
import { kafkaConsumesZnode, kafkaOwnsZnode, liveKafkaIn } from './kafkaOwned.pure';
import { comparePaths, depthOf, FORMAT, joinRoot, parentOf, type ZkAclEntry, type ZkNodeEntry, type ZkTreeExport } from './tree';

export type RestoreMode = 'create-missing' | 'overwrite' | 'mirror';
export const RESTORE_MODES: readonly RestoreMode[] = ['create-missing', 'overwrite', 'mirror'];

export interface PlanOptions {
  mode?: RestoreMode;
  includeEphemerals?: boolean;
}

export interface NodeChange {
  path: string;
  data: boolean;
  acl: boolean;
}

export interface RestorePlan {
  mode: RestoreMode;
  sourceRoot: string;
  targetRoot: string;
  sourceZxid: string;
  /** Ancestors of the target root that do not exist yet (created empty, open ACL). */
  ancestors: string[];
  /** Nodes to create (export-relative, parents first). */
  add: ZkNodeEntry[];
  /** Nodes that differ; applied in overwrite/mirror, only reported in create-missing. */
  change: (NodeChange & { entry: ZkNodeEntry })[];
  /** Nodes only in the target; deleted in mirror (deepest first), only reported otherwise. */
  remove: string[];
  /** Nodes only in the target that hold live ephemerals: never deleted. */
  keptForEphemerals: string[];
  /** Nodes that differ or are only in the target and that the Kafka running on it owns: never rewritten or deleted. */
  keptForKafka: string[];
  /** Parents of sequential nodes and the sequence number their next sequential child would get. */
  sequenceCounters: { path: string; next: number }[];
  skippedEphemerals: string[];
  unchanged: number;
}

const canonicalAcl = (acl: ZkAclEntry[]): string =>
  acl
    .map((a) => `${a.scheme}:${a.id}:${a.perms}`)
    .sort()
    .join(',');

/** ZooKeeper appends a 10-digit counter to sequential nodes' names. */
const SEQUENTIAL = /\/[^/]*\d{10}$/;
/**
 * That counter is the number of children ever created; the reported cversion counts creates and
 * deletes (ZooKeeper reports 2 × creates − numChildren).
 */
const nextSequence = (s: { cversion: number; numChildren: number }): number => (s.cversion + s.numChildren) / 2;

export function planRestore(source: ZkTreeExport, current: ZkTreeExport | null, targetRoot: string, opts: PlanOptions = {}): RestorePlan {
  if (source.kind !== 'full') throw new LifeboatError('InvalidInput', 'restore needs a full export (apply increments on their base first)');
  const mode = opts.mode ?? 'create-missing';
  const cur = new Map((current?.nodes ?? []).map((n) => [n.path, n]));
  const plan: RestorePlan = {
    mode,
    sourceRoot: source.root,
    targetRoot,
    sourceZxid: source.zxid,
    ancestors: [],
    add: [],
    change: [],
    remove: [],
    keptForEphemerals: [],
    keptForKafka: [],
    sequenceCounters: [],
    skippedEphemerals: [],
    unchanged: 0,
  };
  const wanted = new Set<string>();
  for (const n of source.nodes) {
    if (n.ephemeral && !opts.includeEphemerals) {
      plan.skippedEphemerals.push(n.path);
      continue;
    }
    wanted.add(n.path);
    const t = cur.get(n.path);
    if (!t) {
      plan.add.push(n);
      continue;
    }
    const data = (t.data ?? '') !== (n.data ?? '');
    const acl = canonicalAcl(t.acl) !== canonicalAcl(n.acl);
    if (data || acl) plan.change.push({ path: n.path, data, acl, entry: n });
    else plan.unchanged++;
  }
  const seqParents = new Set<string>();
  for (const p of wanted) if (SEQUENTIAL.test(p)) seqParents.add(parentOf(p)!);
  for (const n of source.nodes) if (seqParents.has(n.path)) plan.sequenceCounters.push({ path: n.path, next: nextSequence(n.stat) });
  // Ancestors of the target's live ephemerals.
  const holdsEphemeral = new Set<string>();
  for (const t of current?.nodes ?? []) {
    if (t.ephemeral) for (let a = parentOf(t.path); a !== null && !holdsEphemeral.has(a); a = parentOf(a)) holdsEphemeral.add(a);
  }
  for (const t of current?.nodes ?? []) {
    if (wanted.has(t.path)) continue;
    // A skipped ephemeral that is live in the target is not an "extra"; nor is any live ephemeral
    // (it belongs to a running session, e.g. a broker's registration).
    if (t.ephemeral) continue;
    if (plan.skippedEphemerals.includes(t.path)) continue;
    if (holdsEphemeral.has(t.path)) plan.keptForEphemerals.push(t.path);
    else plan.remove.push(t.path);
  }
  if (current && liveKafkaIn(current.nodes)) {
    // A request or notification the export holds and the target lacks was consumed by that Kafka: not replayed.
    const consumed = plan.add.map((a) => a.path).filter(kafkaConsumesZnode);
    plan.add = plan.add.filter((a) => !kafkaConsumesZnode(a.path));
    plan.keptForKafka = [...plan.change.map((c) => c.path), ...plan.remove, ...consumed].filter((p) => kafkaOwnsZnode(p) || kafkaConsumesZnode(p)).sort(comparePaths);
    plan.change = plan.change.filter((c) => !kafkaOwnsZnode(c.path));
    plan.remove = plan.remove.filter((r) => !kafkaOwnsZnode(r));
  }
  plan.add.sort((a, b) => comparePaths(a.path, b.path));
  plan.remove.sort((a, b) => comparePaths(b, a));
  plan.keptForEphemerals.sort(comparePaths);
  return plan;
}

/** The target's current tree, or null when its root does not exist yet. */
export async function readTargetTree(zk: ZkClient, targetRoot: string): Promise<ZkTreeExport | null> {
  try {
    return await exportTree(zk, targetRoot, { maxRounds: 0 });
  } catch (e) {
    if (e instanceof LifeboatError && /does not exist/.test(e.message)) return null;
    throw e;
  }
}

export async function missingAncestors(zk: ZkClient, targetRoot: string): Promise<string[]> {
  const out: string[] = [];
  for (let p = parentOf(targetRoot); p !== null && p !== '/'; p = parentOf(p)) {
    if (await exists(zk, p)) break;
    out.unshift(p);
  }
  return out;
}

/** Plans a restore of `source` into `targetRoot` against what is there now. */
export async function planRestoreLive(zk: ZkClient, source: ZkTreeExport, targetRoot: string, opts: PlanOptions = {}): Promise<RestorePlan> {
  assertAbsolute(targetRoot);
  try {
    const plan = planRestore(source, await readTargetTree(zk, targetRoot), targetRoot, opts);
    plan.ancestors = await missingAncestors(zk, targetRoot);
    return plan;
  } catch (e) {
    throw zkFailure(e, `reading ${targetRoot}`);
  }
}

function assertAbsolute(root: string): void {
  if (!/^\/([^/\0]+(\/[^/\0]+)*)?$/.test(root) || root.split('/').some((s) => s === '.' || s === '..')) {
    throw new LifeboatError('InvalidInput', `target root "${root}" must be an absolute ZooKeeper path without "." or ".." segments`);
  }
}

export interface PlanSummary {
  add: number;
  change: number;
  remove: number;
  skippedEphemerals: number;
  unchanged: number;
  /** What applying would actually do in this mode. */
  writes: { create: number; update: number; delete: number };
}

export function summarizePlan(p: RestorePlan): PlanSummary {
  const rewrites = p.mode !== 'create-missing';
  return {
    add: p.add.length,
    change: p.change.length,
    remove: p.remove.length,
    skippedEphemerals: p.skippedEphemerals.length,
    unchanged: p.unchanged,
    writes: { create: p.add.length + p.ancestors.length, update: rewrites ? p.change.length : 0, delete: p.mode === 'mirror' ? p.remove.length : 0 },
  };
}

/** The dry-run diff for people: one line per path, "+" added, "~" changed, "-" removed. */
export function formatPlan(p: RestorePlan, limit = 200): string {
  const lines: string[] = [`restore ${p.sourceRoot} @ ${p.sourceZxid} → ${p.targetRoot} (mode ${p.mode})`];
  const keep = p.mode === 'create-missing';
  const rows: string[] = [];
  for (const a of p.ancestors) rows.push(`+ ${a} (ancestor of the target root)`);
  for (const n of p.add) rows.push(`+ ${joinRoot(p.targetRoot, n.path)} (${n.stat.dataLength} bytes)`);
  for (const c of p.change) {
    const what = [c.data && 'data', c.acl && 'acl'].filter(Boolean).join(', ');
    rows.push(`~ ${joinRoot(p.targetRoot, c.path)} (${what})${keep ? ' — kept (create-missing)' : ''}`);
  }
  for (const r of p.remove) rows.push(`- ${joinRoot(p.targetRoot, r)}${p.mode === 'mirror' ? '' : ' — kept (only mirror deletes)'}`);
  for (const r of p.keptForEphemerals) rows.push(`- ${joinRoot(p.targetRoot, r)} — kept (holds live ephemeral nodes)`);
  for (const r of p.keptForKafka ?? []) rows.push(`= ${joinRoot(p.targetRoot, r)} — kept (owned by the Kafka running on it)`);
  for (const e of p.skippedEphemerals) rows.push(`  skipped ephemeral ${joinRoot(p.targetRoot, e)}`);
  lines.push(...rows.slice(0, limit));
  if (rows.length > limit) lines.push(`  ... ${rows.length - limit} more`);
  const s = summarizePlan(p);
  lines.push(
    `added ${s.add}, changed ${s.change}, removed ${s.remove}, unchanged ${s.unchanged}, ephemerals skipped ${s.skippedEphemerals}; ` +
      `would write: ${s.writes.create} creates, ${s.writes.update} updates, ${s.writes.delete} deletes`,
  );
  return lines.join('\n');
}

export interface ApplyOptions {
  /** Required for mirror (it deletes). */
  confirm?: boolean;
  /** Credentials this session authenticated with ("user:password" digests): who "we" are in ACLs. */
  digestAuth?: string[];
  /** Byte budget of one multi (jute.maxbuffer is 0xfffff by default; keep headroom). */
  maxBatchBytes?: number;
  maxBatchOps?: number;
  /** multi requests in flight. */
  inflight?: number;
  /** Runs after everything is checked and before the first write (e.g. the cluster-id guard). */
  beforeWrite?: () => Promise<void>;
  onProgress?: (done: number, total: number) => void;
  /**
   * Stops the restore between writes when it aborts (the multis in flight finish; each is atomic),
   * after giving the nodes it created their exported ACLs. Running it again creates the rest.
   */
  signal?: AbortSignal;
}

export interface ApplyResult {
  created: number;
  updated: number;
  deleted: number;
  aclsTightened: number;
  skippedEphemerals: string[];
  /** Parents whose sequence counter was raised to the exported one (so new sequential children number above the restored ones). */
  sequenceCountersRaised: string[];
  /** Parents whose sequence counter could not be raised: this session may not create and delete children there. */
  sequenceCountersLeft: string[];
  durationMs: number;
}

/** ZooKeeper digest id of "user:password": user:base64(sha1("user:password")). */
export const digestId = (userPassword: string): string =>
  `${userPassword.split(':')[0]}:${createHash('sha1').update(userPassword).digest('base64')}`;

/** An empty ACL (or one that grants nothing) would be rejected; ZooKeeper's default is world:anyone ALL. */
const toZkAcl = (acl: ZkAclEntry[]): ZkAcl[] => {
  const entries = acl.filter((a) => a.perms > 0);
  return entries.length > 0 ? entries.map((a) => new ACL(a.perms, new Id(a.scheme, a.id))) : [new ACL(Permission.ALL, new Id('world', 'anyone'))];
};

function grants(acl: ZkAclEntry[], perm: number, ours: Set<string>): boolean {
  return acl.some((a) => (a.perms & perm) === perm && ((a.scheme === 'world' && a.id === 'anyone') || (a.scheme === 'digest' && ours.has(a.id))));
}

const opBytes = (path: string, data: string | null, acl: ZkAclEntry[]): number =>
  64 + Buffer.byteLength(path) + (data ? Math.ceil((data.length * 3) / 4) : 0) + acl.reduce((s, a) => s + 16 + a.scheme.length + a.id.length, 0);

/** Deleting needs the operator's explicit confirmation; callers check it before any preparatory work too. */
export function assertConfirmed(plan: RestorePlan, confirm: boolean | undefined): void {
  if (plan.mode === 'mirror' && plan.remove.length > 0 && !confirm) {
    throw new LifeboatError('InvalidInput', `mirror would delete ${plan.remove.length} node(s) under ${plan.targetRoot}; review the dry run and pass --confirm`);
  }
}

export async function applyRestore(zk: ZkClient, plan: RestorePlan, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const t0 = Date.now();
  assertAbsolute(plan.targetRoot);
  assertConfirmed(plan, opts.confirm);
  const ours = new Set((opts.digestAuth ?? []).map(digestId));
  // Who may create children under a node we are about to create: this session (digest) or anyone.
  // DELETE too: raising a sequence counter creates and deletes a child.
  const tempPerms = Permission.CREATE | Permission.DELETE | Permission.ADMIN;
  const tempGrant: ZkAclEntry[] =
    ours.size > 0 ? [...ours].map((id) => ({ scheme: 'digest', id, perms: tempPerms })) : [{ scheme: 'world', id: 'anyone', perms: tempPerms }];
  const counters = new Set(plan.sequenceCounters.map((c) => c.path));
  const hasNewChildren = new Set<string>();
  /** Absolute paths: a created parent's children to create. */
  const newChildren = new Map<string, string[]>();
  for (const n of plan.add) {
    const p = parentOf(n.path);
    if (p === null) continue;
    hasNewChildren.add(p);
    const abs = joinRoot(plan.targetRoot, p);
    (newChildren.get(abs) ?? newChildren.set(abs, []).get(abs)!).push(joinRoot(plan.targetRoot, n.path));
  }
  const counterPaths = new Set(plan.sequenceCounters.map((c) => joinRoot(plan.targetRoot, c.path)));

  const ops: { op: MultiOp; bytes: number }[] = [];
  for (const a of plan.ancestors) ops.push({ op: { op: 'create', path: a, data: null, acl: toZkAcl([]) }, bytes: opBytes(a, null, []) });
  const tighten: { path: string; acl: ZkAclEntry[] }[] = [];
  for (const n of plan.add) {
    const abs = joinRoot(plan.targetRoot, n.path);
    let acl = n.acl;
    const needs = counters.has(n.path) ? Permission.CREATE | Permission.DELETE : Permission.CREATE;
    if (hasNewChildren.has(n.path) && !grants(n.acl, needs, ours)) {
      acl = [...n.acl, ...tempGrant];
      tighten.push({ path: abs, acl: n.acl });
    }
    ops.push({ op: { op: 'create', path: abs, data: n.data ? Buffer.from(n.data, 'base64') : null, acl: toZkAcl(acl) }, bytes: opBytes(abs, n.data, acl) });
  }
  const aclUpdates: { path: string; acl: ZkAclEntry[] }[] = [];
  let updated = 0;
  if (plan.mode !== 'create-missing') {
    for (const c of plan.change) {
      const abs = joinRoot(plan.targetRoot, c.path);
      if (c.data) ops.push({ op: { op: 'setData', path: abs, data: c.entry.data ? Buffer.from(c.entry.data, 'base64') : null }, bytes: opBytes(abs, c.entry.data, []) });
      if (c.acl) aclUpdates.push({ path: abs, acl: c.entry.acl });
      updated++;
    }
  }
  if (plan.mode === 'mirror') {
    for (const r of plan.remove) {
      const abs = joinRoot(plan.targetRoot, r);
      ops.push({ op: { op: 'remove', path: abs }, bytes: opBytes(abs, null, []) });
    }
  }

  const maxBytes = opts.maxBatchBytes ?? 900_000;
  const maxOps = opts.maxBatchOps ?? 1000;
  const batches: MultiOp[][] = [];
  let cur: MultiOp[] = [];
  let curBytes = 0;
  for (const o of ops) {
    if (cur.length > 0 && (curBytes + o.bytes > maxBytes || cur.length >= maxOps)) {
      batches.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(o.op);
    curBytes += o.bytes;
  }
  if (cur.length > 0) batches.push(cur);

  await opts.beforeWrite?.();
  const counterResult = { raised: [] as string[], left: [] as string[] };
  const total = ops.length + aclUpdates.length + tighten.length;
  let done = 0;
  try {
    const created = new Set<string>();
    await inOrder(batches, opts.inflight ?? 4, async (b) => {
      throwIfAborted(opts.signal);
      await multi(zk, b);
      for (const op of b) if (op.op === 'create') created.add(op.path);
      done += b.length;
      opts.onProgress?.(done, total);
    }).catch(async (e: unknown) => {
      // Cancelled between writes: a node whose new children all exist gets its exported ACL now
      // (its temporary grant would otherwise outlive the restore). One still missing children, or
      // whose sequence counter is still to raise, keeps the grant the re-run needs to finish it.
      if (isAbort(e, opts.signal)) {
        const finished = tighten.filter((t) => created.has(t.path) && !counterPaths.has(t.path) && (newChildren.get(t.path) ?? []).every((c) => created.has(c)));
        await tightenCreated(zk, finished);
      }
      throw e;
    });
    // Before the ACLs are tightened: a temporary grant may be what lets us create and delete here.
    await raiseSequenceCounters(zk, plan, maxOps, counterResult);
    // ACL changes last: setACL is not a multi op in this client; deepest first, so a parent's
    // tightened ACL never stands in the way of a child's.
    const acls = [...aclUpdates, ...tighten].sort((a, b) => depthOf(b.path) - depthOf(a.path));
    // Not cancelled from here on: the ACLs are what makes the restored tree as exported.
    await inOrder(acls, 64, async (a) => {
      await setACL(zk, a.path, toZkAcl(a.acl));
      done++;
    });
  } catch (e) {
    if (isAbort(e, opts.signal)) throw e;
    const err = zkFailure(e, `restore into ${plan.targetRoot} (${done}/${total} writes done; re-run to continue)`);
    if (err instanceof LifeboatError) throw err;
    throw new LifeboatError('InvalidInput', `restore into ${plan.targetRoot} stopped after ${done}/${total} writes: ${(e as Error).message}; re-run to continue`);
  }
  opts.onProgress?.(total, total);
  return {
    created: plan.add.length + plan.ancestors.length,
    updated,
    deleted: plan.mode === 'mirror' ? plan.remove.length : 0,
    aclsTightened: tighten.length,
    skippedEphemerals: plan.skippedEphemerals,
    sequenceCountersRaised: counterResult.raised,
    sequenceCountersLeft: counterResult.left,
    durationMs: Date.now() - t0,
  };
}

/** Sets the exported ACL of these created nodes, deepest first. */
async function tightenCreated(zk: ZkClient, tighten: { path: string; acl: ZkAclEntry[] }[]): Promise<void> {
  for (const a of [...tighten].sort((x, y) => depthOf(y.path) - depthOf(x.path))) {
    await setACL(zk, a.path, toZkAcl(a.acl)).catch((e: unknown) => {
      if (!(e instanceof ZkError && e.code === 'NO_NODE')) throw e;
    });
  }
}

/**
 * Restoring children by name leaves their parent's sequence counter at the number restored, below names
 * already taken (the next sequential create could collide with one). Only creating a child moves it:
 * create and delete a scratch child until it reaches the exported value.
 */
async function raiseSequenceCounters(zk: ZkClient, plan: RestorePlan, maxOps: number, out: { raised: string[]; left: string[] }): Promise<void> {
  for (const c of plan.sequenceCounters) {
    const abs = joinRoot(plan.targetRoot, c.path);
    const st = await exists(zk, abs);
    if (!st || nextSequence(st) >= c.next) continue;
    const scratch = `${abs === '/' ? '' : abs}/lifeboat-sequence-${randomBytes(4).toString('hex')}`;
    let pairs = c.next - nextSequence(st);
    try {
      while (pairs > 0) {
        const n = Math.min(pairs, Math.floor(maxOps / 2));
        const ops: MultiOp[] = [];
        for (let i = 0; i < n; i++) ops.push({ op: 'create', path: scratch, data: null, acl: toZkAcl([]) }, { op: 'remove', path: scratch });
        await multi(zk, ops);
        pairs -= n;
      }
      out.raised.push(c.path);
    } catch (e) {
      if (!(e instanceof ZkError && e.code === 'NO_AUTH')) throw e;
      out.left.push(c.path);
    }
  }
}

/** Runs `fn` over items with up to `inflight` started in order; the first failure stops new starts. */
async function inOrder<T>(items: T[], inflight: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const lane = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, items.length) }, lane));
  if (failure !== null) throw failure;
}

/** An empty full export (for planning a restore of "nothing", e.g. in tests). */
export const emptyExport = (root: string): ZkTreeExport => ({
  format: FORMAT,
  kind: 'full',
  root,
  time: new Date(0).toISOString(),
  zxid: '0x0',
  startZxid: '0x0',
  consistent: true,
  rounds: 0,
  nodeCount: 0,
  nodes: [],
});
