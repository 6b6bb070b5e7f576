/**
 * Exports a ZooKeeper subtree: data, ACLs, full stat and the ephemeral flag of every node.
 *
 * Reads go over a sibling session (wire.ts) with the same servers and credentials as `zk`. On
 * ZooKeeper 3.6+ data and stat come in multiRead batches and children are listed only for nodes whose
 * stat says they have some, so a leaf costs one getACL plus a share of a batch; requests stay in flight
 * up to a window of nodes.
 *
 * Consistency (3.6+): one persistent recursive watch on the root, set before the first read. ZooKeeper
 * delivers a notification before any reply that reflects a later change, so once a round trip answers
 * at zxid Z, every change up to Z has been announced; announced nodes (and the parents of created or
 * deleted ones) are re-read in rounds until a round ends quiet, and the export then represents Z
 * exactly. If changes keep arriving for `maxRounds`, it is marked `consistent: false` (a fuzzy
 * snapshot over [startZxid, zxid], like ZooKeeper's own). ACL changes fire no watch: the one blind spot.
 *
 * Servers before 3.6 (or `protocol: '3.5'`) get plain per-node reads and, instead of the watch, stat
 * recheck passes: a node whose stat is unchanged at its recheck held its read state through the
 * pass's start, so a pass that finds nothing changed makes the export exact at that zxid.
 *
 * Incremental (`base` = the parent tree, materialized): only nodes with mzxid/czxid above the parent's
 * zxid or a moved ACL version are kept, ACLs are fetched only for new nodes or moved ACL versions, and
 * deletions are found by diffing the children of nodes whose pzxid moved.
 */
import { ZkError, zxidHex, type ZkAcl, type ZkClient } from './client';
import { zkFailure } from './errors';
import { abortReason, isAbort, sleep, throwIfAborted } from '../core/poll';
import { LifeboatError } from '../errors';
import { comparePaths, FORMAT, joinRoot, parentOf, type ZkAclEntry, type ZkNodeEntry, type ZkNodeStat, type ZkTreeExport } from './tree';
import { codeName, EVENT, wireOptionsOf, ZkWire, type ReadResult, type WireAcl, type WireStat } from './wire';

export interface ExportOptions {
  /** The parent export, materialized to a full tree: makes this export incremental. */
  base?: ZkTreeExport;
  /** Nodes in flight at once (default 4096). */
  concurrency?: number;
  /** Re-read rounds (or recheck passes) before giving up on a quiet point. */
  maxRounds?: number;
  /** 'auto' (default) uses multiRead and a recursive watch when the server has them; '3.5' never does. */
  protocol?: 'auto' | '3.5';
  onProgress?: (nodesRead: number) => void;
  /** Stops the export (between batches of reads) when it aborts; an export writes nothing. */
  signal?: AbortSignal;
}

/** Nodes per multiRead request. */
const BATCH = 100;

export function wireStatToJson(s: WireStat): ZkNodeStat {
  return {
    czxid: zxidHex(s.czxid),
    mzxid: zxidHex(s.mzxid),
    pzxid: zxidHex(s.pzxid),
    ctime: Number(s.ctime),
    mtime: Number(s.mtime),
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: zxidHex(s.ephemeralOwner),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  };
}

// The library's ACL objects carry `permission` (its typings say `perms`).
export const aclToJson = (acl: ZkAcl[]): ZkAclEntry[] =>
  acl.map((a) => ({ perms: (a as unknown as { permission?: number }).permission ?? a.perms, scheme: a.id.scheme, id: a.id.id }));

// Back off a little so a burst of writes can finish before the next re-read.
const backoff = (round: number, signal?: AbortSignal) => sleep(Math.min(50 * 2 ** (round - 1), 1000), signal);

const isCode = (e: unknown, code: string): boolean => e instanceof ZkError && e.code === code;
const NO_NODE = -101;

export async function exportTree(zk: ZkClient, root: string, opts: ExportOptions = {}): Promise<ZkTreeExport> {
  try {
    const wireOpts = wireOptionsOf(zk);
    let wire = await ZkWire.open(wireOpts);
    let modern = opts.protocol !== '3.5';
    try {
      if (modern) {
        try {
          await wire.addRecursiveWatch(root);
        } catch (e) {
          // Before 3.6 the server answers UNIMPLEMENTED and closes the session.
          if (!isCode(e, 'UNIMPLEMENTED') && !isCode(e, 'CONNECTION_LOSS')) throw e;
          await wire.close();
          wire = await ZkWire.open(wireOpts);
          modern = false;
        }
      }
      return await new Exporter(wire, root, opts, modern).run();
    } finally {
      await wire.close();
    }
  } catch (e) {
    if (isAbort(e, opts.signal)) throw e;
    throw zkFailure(e, `export of ${root}`);
  }
}

class Exporter {
  private readonly base: ZkTreeExport | undefined;
  private readonly baseZxid: bigint;
  private readonly baseNodes: Map<string, ZkNodeEntry>;
  private readonly baseChildren = new Map<string, string[]>();
  private readonly prefix: string;
  private readonly nodes = new Map<string, ZkNodeEntry>();
  private readonly children = new Map<string, Set<string>>();
  private readonly deleted = new Set<string>();
  /** Paths announced by the recursive watch since the last round. */
  private dirty = new Set<string>();
  private read = 0;
  private readonly window: number;

  constructor(
    private readonly wire: ZkWire,
    private readonly root: string,
    private readonly opts: ExportOptions,
    private readonly modern: boolean,
  ) {
    const base = opts.base;
    if (base && base.kind !== 'full') throw new LifeboatError('InvalidInput', 'an incremental export needs the parent tree materialized to a full export');
    this.base = base;
    this.baseZxid = base ? BigInt(base.zxid) : 0n;
    this.baseNodes = new Map((base?.nodes ?? []).map((n) => [n.path, n]));
    for (const n of base?.nodes ?? []) {
      const p = parentOf(n.path);
      if (p !== null) (this.baseChildren.get(p) ?? this.baseChildren.set(p, []).get(p)!).push(n.path);
    }
    this.prefix = root === '/' ? '' : root;
    this.window = opts.concurrency ?? 4096;
    wire.onEvent = (type, abs) => {
      if (abs !== root && !abs.startsWith(`${this.prefix}/`)) return;
      const r = abs === root ? '/' : abs.slice(this.prefix.length);
      this.dirty.add(r);
      // A created or deleted node changes its parent's children and stat.
      const p = parentOf(r);
      if ((type === EVENT.created || type === EVENT.deleted) && p !== null) this.dirty.add(p);
    };
  }

  private abs(r: string): string {
    return joinRoot(this.root, r);
  }

  private dropSubtree(r: string): void {
    for (const c of this.children.get(r) ?? []) this.dropSubtree(c);
    this.children.delete(r);
    this.nodes.delete(r);
    if (this.baseNodes.has(r)) this.deleted.add(r);
  }

  private gone(r: string): void {
    if (r === '/') throw new LifeboatError('InvalidInput', `ZooKeeper path ${this.root} does not exist`);
    this.dropSubtree(r);
  }

  /** Sets r's children; returns the ones not read yet. */
  private setChildren(r: string, names: string[], pzxid: bigint): string[] {
    // ZooKeeper's own /zookeeper (quota, config) is server state, not data to back up.
    if (this.root === '/' && r === '/') names = names.filter((c) => c !== 'zookeeper');
    const kids = names.map((c) => (r === '/' ? `/${c}` : `${r}/${c}`));
    const kidSet = new Set(kids);
    for (const k of this.children.get(r) ?? []) if (!kidSet.has(k)) this.dropSubtree(k);
    this.children.set(r, kidSet);
    if (this.base && pzxid > this.baseZxid) {
      for (const k of this.baseChildren.get(r) ?? []) if (!kidSet.has(k)) this.deleted.add(k);
    }
    return kids.filter((k) => !this.nodes.has(k));
  }

  /** Data and stat of each path (3.6+: one request per batch). */
  private async readData(paths: string[]): Promise<ReadResult[]> {
    if (this.modern) return this.wire.multiRead(paths.map((path) => ({ op: 'getData' as const, path: this.abs(path) })));
    return Promise.all(
      paths.map((p) =>
        this.wire.getData(this.abs(p)).then(
          ({ data, stat }): ReadResult => ({ err: 0, data, stat, children: null }),
          (e: unknown): ReadResult => {
            if (isCode(e, 'NO_NODE')) return { err: NO_NODE };
            throw e;
          },
        ),
      ),
    );
  }

  private async listChildren(paths: string[]): Promise<(string[] | null)[]> {
    const orNull = (e: unknown): null => {
      if (isCode(e, 'NO_NODE')) return null;
      throw e;
    };
    if (!this.modern) return Promise.all(paths.map((p) => this.wire.getChildren(this.abs(p)).catch(orNull)));
    const res = await this.wire.multiRead(paths.map((path) => ({ op: 'getChildren' as const, path: this.abs(path) })));
    return res.map((x, i) => {
      if (x.err === 0) return (x as { children: string[] }).children;
      if (x.err === NO_NODE) return null;
      throw new ZkError(`ZooKeeper getChildren ${this.abs(paths[i]!)}: ${codeName(x.err)}`, codeName(x.err));
    });
  }

  private getACL(r: string): Promise<WireAcl[] | null> {
    return this.wire.getACL(this.abs(r)).then(
      (acl) => {
        // Without ADMIN on a node, ZooKeeper answers getACL with digest hashes replaced by "x";
        // restoring that would lock the owner out, so refuse rather than store it.
        if (acl.some((a) => a.scheme === 'digest' && a.id.endsWith(':x'))) {
          throw new LifeboatError('InvalidInput', `ZooKeeper redacted the digest ACL of ${this.abs(r)} (this session lacks ADMIN on it); authenticate as an identity with ADMIN (--auth user:password) to back it up`);
        }
        return acl;
      },
      (e: unknown) => {
        if (isCode(e, 'NO_NODE')) return null;
        throw e;
      },
    );
  }

  /** Reads a batch of nodes; returns those with children to list. */
  private async readBatch(paths: string[]): Promise<string[]> {
    // A full export needs every ACL: ask for them alongside the data rather than after it.
    const eager = this.base ? null : paths.map((p) => this.getACL(p));
    const [res, eagerAcls] = await Promise.all([this.readData(paths), eager ? Promise.all(eager) : null]);
    const needAcl: number[] = [];
    const stats: (WireStat | null)[] = res.map((x, i) => {
      if (x.err === NO_NODE) return null;
      if (x.err !== 0) throw new ZkError(`ZooKeeper getData ${this.abs(paths[i]!)}: ${codeName(x.err)}`, codeName(x.err));
      return (x as { stat: WireStat }).stat;
    });
    const acls: (ZkAclEntry[] | null)[] = paths.map((p, i) => {
      const s = stats[i];
      if (!s) return null;
      if (eagerAcls) return eagerAcls[i] ?? null;
      const prev = this.baseNodes.get(p);
      if (prev && s.czxid <= this.baseZxid && s.aversion === prev.stat.aversion) return prev.acl;
      needAcl.push(i);
      return null;
    });
    if (needAcl.length > 0) {
      const got = await Promise.all(needAcl.map((i) => this.getACL(paths[i]!)));
      needAcl.forEach((i, k) => (acls[i] = got[k] ?? null));
    }
    const toList: string[] = [];
    paths.forEach((r, i) => {
      const s = stats[i];
      const acl = acls[i];
      if (!s || !acl) return this.gone(r);
      const data = (res[i] as { data: Buffer | null }).data;
      this.nodes.set(r, { path: r, data: data && data.length > 0 ? data.toString('base64') : null, acl, stat: wireStatToJson(s), ephemeral: s.ephemeralOwner !== 0n });
      this.read++;
      if (this.read % 5000 === 0) this.opts.onProgress?.(this.read);
      if (s.numChildren > 0) toList.push(r);
      else this.setChildren(r, [], s.pzxid);
    });
    return toList;
  }

  private async listBatch(paths: string[]): Promise<string[]> {
    const lists = await this.listChildren(paths);
    const next: string[] = [];
    paths.forEach((r, i) => {
      const names = lists[i];
      if (names === null || names === undefined) return this.gone(r);
      const n = this.nodes.get(r);
      if (!n) return; // dropped meanwhile
      next.push(...this.setChildren(r, names, BigInt(n.stat.pzxid)));
    });
    return next;
  }

  /** Reads `start` and everything below that is not read yet, with up to `window` nodes in flight. */
  private walk(start: string[]): Promise<void> {
    const toRead = [...start];
    const toList: string[] = [];
    let inflight = 0;
    return new Promise<void>((resolve, reject) => {
      let failed = false;
      const launch = (n: number, p: Promise<string[]>, into: string[]) => {
        inflight += n;
        p.then(
          (more) => {
            inflight -= n;
            for (const m of more) into.push(m);
            pump();
          },
          (e: unknown) => {
            if (!failed) reject(e);
            failed = true;
          },
        );
      };
      const pump = () => {
        if (failed) return;
        if (this.opts.signal?.aborted) {
          // In-flight reads are left to finish on their own; nothing more starts.
          failed = true;
          reject(abortReason(this.opts.signal));
          return;
        }
        while (inflight < this.window && (toList.length > 0 || toRead.length > 0)) {
          // Listing first keeps the read queue fed; popping from the end keeps the walk depth-first-ish and memory small.
          if (toList.length > 0) {
            const b = toList.splice(Math.max(0, toList.length - BATCH));
            launch(b.length, this.listBatch(b), toRead);
          } else {
            const b = toRead.splice(Math.max(0, toRead.length - BATCH));
            launch(b.length, this.readBatch(b), toList);
          }
        }
        if (inflight === 0 && toList.length === 0 && toRead.length === 0) resolve();
      };
      pump();
    });
  }

  async run(): Promise<ZkTreeExport> {
    const maxRounds = this.opts.maxRounds ?? 5;
    let rounds = 0;
    let consistent: boolean;
    let zxid: bigint;
    const startZxid = this.modern ? this.wire.lastZxid : await this.wire.sync();
    await this.walk(['/']);
    if (this.modern) {
      zxid = await this.wire.sync();
      while (this.dirty.size > 0 && rounds < maxRounds) {
        rounds++;
        await backoff(rounds, this.opts.signal);
        const again = [...this.dirty].filter((p) => p === '/' || this.nodes.has(p) || this.nodes.has(parentOf(p)!));
        this.dirty = new Set();
        await this.walk(again);
        zxid = await this.wire.sync();
      }
      consistent = this.dirty.size === 0;
    } else {
      ({ zxid, consistent, rounds } = await this.recheck(maxRounds));
    }
    return this.result(startZxid, zxid, consistent, rounds);
  }

  /** Stat passes over every node until one finds nothing changed since it was read. */
  private async recheck(maxRounds: number): Promise<{ zxid: bigint; consistent: boolean; rounds: number }> {
    let rounds = 0;
    for (let pass = 0; pass <= maxRounds; pass++) {
      const before = await this.wire.sync();
      const paths = [...this.nodes.keys()];
      const changed: string[] = [];
      for (let i = 0; i < paths.length; i += BATCH * 8) {
        throwIfAborted(this.opts.signal);
        const chunk = paths.slice(i, i + BATCH * 8);
        const stats = await Promise.all(chunk.map((p) => this.wire.exists(this.abs(p))));
        chunk.forEach((p, k) => {
          const st = stats[k];
          const known = this.nodes.get(p)!.stat;
          const moved = !st || st.mzxid !== BigInt(known.mzxid) || st.czxid !== BigInt(known.czxid) || st.pzxid !== BigInt(known.pzxid) || st.aversion !== known.aversion;
          if (moved) changed.push(p);
        });
      }
      if (changed.length === 0) return { zxid: before, consistent: true, rounds };
      rounds++;
      await backoff(rounds, this.opts.signal);
      await this.walk(changed);
    }
    return { zxid: await this.wire.sync(), consistent: false, rounds };
  }

  private result(startZxid: bigint, zxid: bigint, consistent: boolean, rounds: number): ZkTreeExport {
    const base = this.base;
    let out = [...this.nodes.values()];
    if (base) {
      out = out.filter((n) => {
        const prev = this.baseNodes.get(n.path);
        return !prev || BigInt(n.stat.mzxid) > this.baseZxid || BigInt(n.stat.czxid) > this.baseZxid || n.stat.aversion !== prev.stat.aversion;
      });
      for (const p of this.nodes.keys()) this.deleted.delete(p);
    }
    out.sort((a, b) => comparePaths(a.path, b.path));
    this.opts.onProgress?.(this.read);
    const header = {
      format: FORMAT,
      kind: base ? ('incremental' as const) : ('full' as const),
      root: this.root,
      time: new Date().toISOString(),
      zxid: zxidHex(zxid),
      startZxid: zxidHex(startZxid),
      consistent,
      rounds,
      nodeCount: out.length,
    };
    if (!base) return { ...header, nodes: out };
    // Only the topmost deleted paths: a deleted parent implies its subtree.
    const del = [...this.deleted].filter((d) => {
      for (let a = parentOf(d); a !== null; a = parentOf(a)) if (this.deleted.has(a)) return false;
      return true;
    });
    return { ...header, parentZxid: base.zxid, deleted: del.sort(comparePaths), nodes: out };
  }
}
