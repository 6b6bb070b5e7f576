/**
 * Exports a ZooKeeper subtree: data, ACLs, full stat and the ephemeral flag of every node, with many
 * requests in flight (one session, replies come back in order, so the wire stays full).
 *
 * Consistency: every read leaves a one-shot watch. ZooKeeper delivers a watch event before any reply
 * that reflects a later change, so once a final read answers at zxid Z and no watch has fired,
 * every node read still holds its state at Z. Nodes whose watch fired are re-read (with new
 * watches) in rounds until a round ends quiet; the export then represents Z exactly. If changes keep
 * arriving for `maxRounds`, the export is marked `consistent: false` (a fuzzy snapshot over
 * [startZxid, zxid], like ZooKeeper's own). ACL changes fire no watch; that is the one blind spot.
 *
 * Incremental (`base` = the parent tree, materialized): nodes whose mzxid/czxid are above the
 * parent's zxid or whose ACL version moved are read in full; unchanged ones cost one getChildren and
 * one exists; deletions are found by diffing the children of nodes whose pzxid moved.
 */
import {
  bufToBigInt,
  currentZxid,
  exists,
  existsWatched,
  getACL,
  getChildrenWatched,
  getDataWatched,
  ZkError,
  zxidHex,
  type ZkAcl,
  type ZkClient,
  type ZkStat,
  type ZkWatcher,
} from './client';
import { zkFailure } from './errors';
import { LifeboatError } from '../errors';
import { comparePaths, FORMAT, joinRoot, parentOf, type ZkAclEntry, type ZkNodeEntry, type ZkNodeStat, type ZkTreeExport } from './tree';

export interface ExportOptions {
  /** The parent export, materialized to a full tree: makes this export incremental. */
  base?: ZkTreeExport;
  /** Nodes read at once (each is 2-3 requests). */
  concurrency?: number;
  /** Re-read rounds before giving up on a quiet point. */
  maxRounds?: number;
  /**
   * Nodes read with watches. Every watch costs ZooKeeper heap (two per node); past this many, nodes
   * are read without watches and checked afterwards by a stat pass instead (default 20 000).
   */
  watchLimit?: number;
  onProgress?: (nodesRead: number) => void;
}

const EVENT_CHILDREN_CHANGED = 4;

export function statToJson(s: ZkStat): ZkNodeStat {
  return {
    czxid: zxidHex(bufToBigInt(s.czxid)),
    mzxid: zxidHex(bufToBigInt(s.mzxid)),
    pzxid: zxidHex(bufToBigInt(s.pzxid)),
    ctime: Number(s.ctime.readBigInt64BE(0)),
    mtime: Number(s.mtime.readBigInt64BE(0)),
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: zxidHex(bufToBigInt(s.ephemeralOwner)),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  };
}

// The library's ACL objects carry `permission` (its typings say `perms`).
export const aclToJson = (acl: ZkAcl[]): ZkAclEntry[] =>
  acl.map((a) => ({ perms: (a as unknown as { permission?: number }).permission ?? a.perms, scheme: a.id.scheme, id: a.id.id }));

const isNoNode = (e: unknown): boolean => e instanceof ZkError && e.code === 'NO_NODE';

/** Runs `work` over a growing queue with at most `limit` in flight. */
class Pump<T> {
  private queue: T[] = [];
  private active = 0;
  private failed: unknown = null;
  private done!: () => void;
  private fail!: (e: unknown) => void;
  readonly finished: Promise<void>;

  constructor(
    private readonly limit: number,
    private readonly work: (item: T) => Promise<void>,
  ) {
    this.finished = new Promise((res, rej) => {
      this.done = res;
      this.fail = rej;
    });
  }

  push(item: T): void {
    this.queue.push(item);
    this.pump();
  }

  /** Call once after the initial pushes, so an empty run still finishes. */
  start(): Promise<void> {
    this.pump();
    return this.finished;
  }

  private pump(): void {
    while (this.failed === null && this.active < this.limit && this.queue.length > 0) {
      const item = this.queue.pop()!;
      this.active++;
      this.work(item).then(
        () => {
          this.active--;
          this.pump();
        },
        (e) => {
          this.failed = e;
          this.fail(e);
        },
      );
    }
    if (this.failed === null && this.active === 0 && this.queue.length === 0) this.done();
  }
}

export async function exportTree(zk: ZkClient, root: string, opts: ExportOptions = {}): Promise<ZkTreeExport> {
  try {
    return await exportTreeInner(zk, root, opts);
  } catch (e) {
    throw zkFailure(e, `export of ${root}`);
  }
}

async function exportTreeInner(zk: ZkClient, root: string, opts: ExportOptions): Promise<ZkTreeExport> {
  const base = opts.base;
  if (base && base.kind !== 'full') throw new LifeboatError('InvalidInput', 'an incremental export needs the parent tree materialized to a full export');
  const baseZxid = base ? BigInt(base.zxid) : 0n;
  const baseNodes = new Map((base?.nodes ?? []).map((n) => [n.path, n]));
  const baseChildren = new Map<string, string[]>();
  if (base) {
    for (const n of base.nodes) {
      const p = parentOf(n.path);
      if (p !== null) (baseChildren.get(p) ?? baseChildren.set(p, []).get(p)!).push(n.path);
    }
  }

  const prefix = root === '/' ? '' : root;
  const rel = (abs: string): string => (abs === root ? '/' : abs.slice(prefix.length));
  const nodes = new Map<string, ZkNodeEntry>();
  const children = new Map<string, Set<string>>();
  const dirtyData = new Set<string>();
  const dirtyChildren = new Set<string>();
  const deleted = new Set<string>();
  /** Nodes read without a watch: verified by the stat pass at the end. */
  const unwatched = new Set<string>();
  const watchLimit = opts.watchLimit ?? 20_000;
  const watcher: ZkWatcher = (ev) => {
    const p = ev.getPath();
    if (p !== root && !p.startsWith(`${prefix}/`)) return;
    (ev.getType() === EVENT_CHILDREN_CHANGED ? dirtyChildren : dirtyData).add(rel(p));
  };

  const dropSubtree = (r: string): void => {
    for (const c of children.get(r) ?? []) dropSubtree(c);
    children.delete(r);
    nodes.delete(r);
    if (baseNodes.has(r)) deleted.add(r);
  };

  let read = 0;
  const readFull = async (r: string, abs: string, w: ZkWatcher | undefined): Promise<ZkNodeEntry> => {
    const [{ data, stat }, { acl }] = await Promise.all([getDataWatched(zk, abs, w), getACL(zk, abs)]);
    // Without ADMIN on a node, ZooKeeper answers getACL with digest hashes replaced by "x";
    // restoring that would lock the owner out, so refuse rather than store it.
    if (acl.some((a) => a.id.scheme === 'digest' && a.id.id.endsWith(':x'))) {
      throw new LifeboatError('InvalidInput', `ZooKeeper redacted the digest ACL of ${abs} (this session lacks ADMIN on it); authenticate as an identity with ADMIN (--auth user:password) to back it up`);
    }
    return { path: r, data: data && data.length > 0 ? data.toString('base64') : null, acl: aclToJson(acl), stat: statToJson(stat), ephemeral: bufToBigInt(stat.ephemeralOwner) !== 0n };
  };

  /** Reads one node (and lists its children); returns the children to visit next. */
  const visit = async (r: string, listChildren: boolean): Promise<string[]> => {
    const abs = joinRoot(root, r);
    const w = read < watchLimit ? watcher : undefined;
    if (w) unwatched.delete(r);
    else unwatched.add(r);
    try {
      let listed: { children: string[]; stat: ZkStat } | null = null;
      if (listChildren) listed = await getChildrenWatched(zk, abs, w);
      const prev = baseNodes.get(r);
      const s = listed?.stat;
      const unchanged =
        prev && s && bufToBigInt(s.mzxid) <= baseZxid && bufToBigInt(s.czxid) <= baseZxid && s.aversion === prev.stat.aversion;
      if (unchanged) {
        if (w) await existsWatched(zk, abs, w); // data watch without fetching the data
        nodes.set(r, { ...prev, stat: statToJson(s) });
      } else {
        nodes.set(r, await readFull(r, abs, w));
      }
      read++;
      if (read % 5000 === 0) opts.onProgress?.(read);
      if (!listed) return [];
      // ZooKeeper's own /zookeeper (quota, config) is server state, not data to back up.
      const names = root === '/' && r === '/' ? listed.children.filter((c) => c !== 'zookeeper') : listed.children;
      const kids = names.map((c) => (r === '/' ? `/${c}` : `${r}/${c}`));
      const known = children.get(r);
      const kidSet = new Set(kids);
      children.set(r, kidSet);
      // Children that vanished since we last listed (re-read round) or since the parent snapshot.
      if (known) for (const k of known) if (!kidSet.has(k)) dropSubtree(k);
      if (base && bufToBigInt(listed.stat.pzxid) > baseZxid) {
        for (const k of baseChildren.get(r) ?? []) if (!kidSet.has(k)) deleted.add(k);
      }
      return known ? kids.filter((k) => !known.has(k)) : kids;
    } catch (e) {
      if (isNoNode(e)) {
        if (r === '/') throw new LifeboatError('InvalidInput', `ZooKeeper path ${root} does not exist`);
        dropSubtree(r);
        return [];
      }
      throw e;
    }
  };

  const walk = async (start: { path: string; list: boolean }[]): Promise<void> => {
    const pump: Pump<{ path: string; list: boolean }> = new Pump(opts.concurrency ?? 128, async (item) => {
      for (const c of await visit(item.path, item.list)) pump.push({ path: c, list: true });
    });
    for (const s of start) pump.push(s);
    await pump.start();
  };

  const startZxid = await currentZxid(zk);
  await walk([{ path: '/', list: true }]);
  let zxid = await currentZxid(zk);
  let rounds = 0;
  const maxRounds = opts.maxRounds ?? 5;
  while ((dirtyData.size > 0 || dirtyChildren.size > 0) && rounds < maxRounds) {
    rounds++;
    // Back off a little so a burst of writes can finish before the next re-read.
    await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** (rounds - 1), 1000)));
    const work = new Map<string, boolean>();
    for (const p of dirtyData) work.set(p, false);
    for (const p of dirtyChildren) work.set(p, true);
    dirtyData.clear();
    dirtyChildren.clear();
    // Only nodes still in the tree (a deleted parent already dropped its subtree).
    await walk([...work].filter(([p]) => nodes.has(p) || p === '/').map(([path, list]) => ({ path, list: list || !children.has(path) })));
    zxid = await currentZxid(zk);
  }
  let consistent = dirtyData.size === 0 && dirtyChildren.size === 0;

  // Nodes read without watches: a stat pass finds what changed since it was read (data, ACL or
  // children), re-reads that, and repeats. zxids only grow, so a node whose stat is unchanged at
  // its recheck held that state from its read through the pass's start: a pass that finds nothing
  // (and no watch fired meanwhile) makes the export exact at the zxid the pass started from.
  if (unwatched.size > 0) {
    let quiet = false;
    for (let pass = 0; pass <= maxRounds && !quiet; pass++) {
      const before = await currentZxid(zk);
      const changed: { path: string; list: boolean }[] = [];
      const check = new Pump<string>(opts.concurrency ?? 128, async (r) => {
        const known = nodes.get(r);
        if (!known) return;
        const st = await exists(zk, joinRoot(root, r));
        if (!st) return void changed.push({ path: r, list: false });
        const moved = (a: Buffer, b: string) => bufToBigInt(a) !== BigInt(b);
        if (moved(st.mzxid, known.stat.mzxid) || moved(st.czxid, known.stat.czxid) || st.aversion !== known.stat.aversion || moved(st.pzxid, known.stat.pzxid)) {
          changed.push({ path: r, list: true });
        }
      });
      for (const r of unwatched) check.push(r);
      await check.start();
      if (changed.length > 0) {
        rounds++;
        await walk(changed);
      }
      quiet = changed.length === 0;
      zxid = quiet ? before : await currentZxid(zk);
    }
    consistent = quiet && dirtyData.size === 0 && dirtyChildren.size === 0;
  }

  let out = [...nodes.values()];
  if (base) {
    out = out.filter((n) => {
      const prev = baseNodes.get(n.path);
      return !prev || BigInt(n.stat.mzxid) > baseZxid || BigInt(n.stat.czxid) > baseZxid || n.stat.aversion !== prev.stat.aversion;
    });
    for (const p of nodes.keys()) deleted.delete(p);
  }
  out.sort((a, b) => comparePaths(a.path, b.path));
  opts.onProgress?.(read);
  const header = {
    format: FORMAT,
    kind: base ? ('incremental' as const) : ('full' as const),
    root,
    time: new Date().toISOString(),
    zxid: zxidHex(zxid),
    startZxid: zxidHex(startZxid),
    consistent,
    rounds,
    nodeCount: out.length,
  };
  if (!base) return { ...header, nodes: out };
  // Only the topmost deleted paths: a deleted parent implies its subtree.
  const del = [...deleted].filter((d) => {
    for (let a = parentOf(d); a !== null; a = parentOf(a)) if (deleted.has(a)) return false;
    return true;
  });
  return { ...header, parentZxid: base.zxid, deleted: del.sort(comparePaths), nodes: out };
}
