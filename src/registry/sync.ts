/**
 * The off-site registry sync engine (seed 004 §4.3, "real-time sync"): the source registry's
 * ZooKeeper trees kept equal to a destination (another ensemble, or the same one under a prefix).
 *
 * - Watch: one persistent recursive watch per source root (ZooKeeper 3.6+, sent over wire.ts since
 *   node-zookeeper-client cannot send addWatch), set before the first full diff, so no change is
 *   missed between the two. A server without addWatch gets full diffs only, every `fullDiffEveryMs`.
 * - Coalescing: announced paths collect in a set; a batch runs once the source has been quiet for
 *   `debounceMs` (or `maxDelayMs` after the first change): a path changed 50 times is read and
 *   written once, as it is at that moment.
 * - Full diff: at start (so a restart is idempotent: it picks up from whatever the destination
 *   holds) and every `fullDiffEveryMs`, both trees exported and compared; it repairs whatever a
 *   watch missed (a dropped connection, a worker killed mid-batch).
 * - Origin tags (a two-way sync cannot loop, nor send a change back over a newer one): each sync
 *   keeps a ledger on its destination ensemble, `/lifeboat/registry-sync/<sync id>` (JSON), of what it
 *   wrote there: per destination path the node's mzxid right after its write (or, for a delete, the
 *   parent's pzxid right after it). The opposite direction reads that ledger on ITS source (the same
 *   ensemble) before each batch: a source node whose mzxid is the one the other sync recorded is an
 *   echo, written by the sync itself, and is not sent back; a deletion whose parent's pzxid is still
 *   the recorded one (no child created or removed since) is the other sync's own delete. Any later
 *   change moves mzxid/pzxid, so a real change is never taken for an echo. Equal content is never
 *   written either, so even without a ledger two converged trees stay quiet.
 * - Ephemerals: `held` (default) creates them EPHEMERAL in the sync's own destination session: an
 *   instance exists off-site only while the sync runs (a dead sync does not advertise dead
 *   instances for long). `persistent` writes them as persistent nodes, removed when the source's go.
 *   A new session (restart) re-creates the held ones the old session owned.
 * - Safety: a source root that does not exist is never taken as "everything was deleted": the
 *   destination is kept (state source-missing). ACLs are not copied: destination nodes are open
 *   (world:anyone), the destination's access rules are its own.
 * The ledger lives in one znode: fine up to some thousands of paths (ZooKeeper's 1 MB node limit).
 */
import { ACL, create, CreateMode, exists, getChildren, getData, Id, Permission, remove, setData, ZkError, type ZkClient } from '../zookeeper/client';
import zookeeper from 'node-zookeeper-client';
import { exportTree } from '../zookeeper/export';
import { openZk } from '../zookeeper/errors';
import { joinRoot, parentOf, type ZkNodeEntry } from '../zookeeper/tree';
import { EVENT, wireOptionsOf, ZkWire } from '../zookeeper/wire';
import { abortReason } from '../core/poll';
import { LifeboatError } from '../errors';
import { type EphemeralMode, mappingProblem, mapPath, sameEnsemble, type SyncMapping, type SyncStats } from './sync.pure';

export const SYNC_LEDGER_ROOT = '/lifeboat/registry-sync';
export const ledgerPath = (syncId: string): string => `${SYNC_LEDGER_ROOT}/${syncId}`;

export interface SyncEndpoint {
  connect: string;
  auth?: { scheme: string; credentials: string }[];
}

export interface RegistrySyncOptions {
  syncId: string;
  /** The opposite direction's id (two-way sync): its writes on our source are not sent back. */
  peerId?: string;
  /**
   * Two-way: the other direction runs too. A full diff then removes a destination node only when
   * this sync wrote it (its ledger, unchanged since): a node created on the destination side is the
   * other direction's to copy, not an extra to delete.
   */
  twoWay?: boolean;
  source: SyncEndpoint;
  dest: SyncEndpoint;
  mappings: SyncMapping[];
  ephemerals: EphemeralMode;
  debounceMs?: number;
  maxDelayMs?: number;
  fullDiffEveryMs?: number;
  /** Stop (and return) at this time (ms since epoch). */
  until?: number;
  signal?: AbortSignal;
  /** After every batch and full diff, and every few seconds while quiet. */
  onStats?: (s: SyncStats) => void;
}

type LedgerEntry = { mzxid?: string; deletedPzxid?: string };
interface SrcNode {
  data: Buffer;
  ephemeral: boolean;
  mzxid: bigint;
}
interface DstNode {
  data: Buffer;
  ephemeralOwner: bigint;
  numChildren: number;
}

const OPEN = [new ACL(Permission.ALL, new Id('world', 'anyone'))];
const isCode = (e: unknown, code: string): boolean => e instanceof ZkError && e.code === code;
const buf = (b: Buffer | null | undefined): Buffer => b ?? Buffer.alloc(0);
const hex = (z: bigint): string => `0x${z.toString(16)}`;
/** The smallest of many times (no spread: a burst can announce more paths than a call takes arguments). */
function oldest(times: Iterable<number>): number {
  let min = Number.POSITIVE_INFINITY;
  for (const t of times) if (t < min) min = t;
  return min;
}
/** A stat's 8-byte field (zxid, session id) as a number. */
const long = (b: Buffer): bigint => b.readBigUInt64BE(0);

export async function runRegistrySync(o: RegistrySyncOptions): Promise<SyncStats> {
  const oneEnsemble = sameEnsemble(o.source.connect, o.dest.connect);
  const bad = mappingProblem(o.mappings, oneEnsemble);
  if (bad) throw new LifeboatError('InvalidInput', bad);
  const debounceMs = o.debounceMs ?? 150;
  const maxDelayMs = o.maxDelayMs ?? 1_000;
  const fullDiffEveryMs = o.fullDiffEveryMs ?? 60_000;
  const until = o.until ?? Number.POSITIVE_INFINITY;
  const stats: SyncStats = {
    startedAt: new Date().toISOString(),
    state: 'starting',
    eventsSeen: 0,
    changesApplied: 0,
    creates: 0,
    updates: 0,
    deletes: 0,
    echoesSkipped: 0,
    batches: 0,
    fullDiffs: 0,
    lagMs: 0,
    pending: 0,
    watch: 'recursive',
    at: new Date().toISOString(),
  };

  const src = await openZk(o.source.connect, { auth: o.source.auth, signal: o.signal, timeoutMs: 20_000 });
  let dst: ZkClient | undefined;
  let wire: ZkWire | undefined;
  let failure: Error | undefined;
  let wake: () => void = () => {};
  const fail = (e: Error) => {
    failure ??= e;
    wake();
  };
  const onAbort = () => wake();
  o.signal?.addEventListener('abort', onAbort);
  try {
    dst = await openZk(o.dest.connect, { auth: o.dest.auth, signal: o.signal, timeoutMs: 20_000 });
    // A lost destination session took the held ephemerals with it: start again (a full diff first).
    for (const [name, c] of [['source', src], ['destination', dst]] as const) {
      c.on('state', (s) => {
        if (s === zookeeper.State.EXPIRED) fail(new LifeboatError('Unreachable', `registry sync: the ${name} ZooKeeper session expired`));
      });
    }
    const mySession = dst.getSessionId().readBigUInt64BE(0);
    const ledger = new Map<string, LedgerEntry>(Object.entries(await readLedger(dst, o.syncId)));
    let ledgerDirty = false;

    // ---- the watch (before the first full diff: nothing falls between them) ----
    const dirty = new Map<string, number>();
    let lastEventAt = 0;
    wire = await ZkWire.open(wireOptionsOf(src));
    wire.onEvent = (type, path) => {
      if (type !== EVENT.created && type !== EVENT.deleted && type !== EVENT.dataChanged) return;
      if (!mapPath(o.mappings, path)) return;
      stats.eventsSeen++;
      lastEventAt = Date.now();
      if (!dirty.has(path)) dirty.set(path, lastEventAt);
      wake();
    };
    try {
      for (const m of o.mappings) await wire.addRecursiveWatch(m.from);
    } catch (e) {
      // Before 3.6 the server answers UNIMPLEMENTED (and closes the session): full diffs only.
      if (!isCode(e, 'UNIMPLEMENTED') && !isCode(e, 'CONNECTION_LOSS')) throw e;
      await wire.close();
      wire = undefined;
      stats.watch = 'full-diff-only';
    }

    const d = dst;
    const readDst = async (path: string): Promise<DstNode | null> => {
      try {
        const r = await getData(d, path);
        return { data: buf(r.data), ephemeralOwner: long(r.stat.ephemeralOwner), numChildren: r.stat.numChildren };
      } catch (e) {
        if (isCode(e, 'NO_NODE')) return null;
        throw e;
      }
    };
    const peerLedger = async (): Promise<Map<string, LedgerEntry>> => new Map(o.peerId ? Object.entries(await readLedger(src, o.peerId)) : []);

    const mkdirp = async (path: string): Promise<void> => {
      if (path === '/' || (await exists(d, path))) return;
      await mkdirp(parentOf(path) ?? '/');
      await create(d, path, null, OPEN).catch((e: unknown) => {
        if (!isCode(e, 'NODE_EXISTS')) throw e;
      });
    };
    const removeTree = async (path: string): Promise<number> => {
      let n = 0;
      let kids: string[];
      try {
        kids = await getChildren(d, path);
      } catch (e) {
        if (isCode(e, 'NO_NODE')) return 0;
        throw e;
      }
      for (const k of kids) n += await removeTree(`${path}/${k}`);
      await remove(d, path).then(
        () => n++,
        (e: unknown) => {
          if (!isCode(e, 'NO_NODE')) throw e;
        },
      );
      return n;
    };

    /** Makes the destination node `to` what the source node is; answers whether it wrote. */
    const upsert = async (to: string, s: SrcNode, cur: DstNode | null): Promise<boolean> => {
      const ephemeral = s.ephemeral && o.ephemerals === 'held';
      if (cur) {
        const rightKind = ephemeral ? cur.ephemeralOwner === mySession : cur.ephemeralOwner === 0n;
        if (rightKind && cur.data.equals(s.data)) return false;
        if (rightKind || cur.numChildren > 0) {
          const stat = await setData(d, to, s.data);
          ledger.set(to, { mzxid: hex(long(stat.mzxid)) });
          ledgerDirty = true;
          stats.updates++;
          stats.changesApplied++;
          return true;
        }
        // Wrong kind (a held ephemeral of an earlier session, or persistent vs ephemeral): created again.
        await remove(d, to).catch((e: unknown) => {
          if (!isCode(e, 'NO_NODE')) throw e;
        });
        stats.deletes++;
        stats.changesApplied++;
      }
      await mkdirp(parentOf(to) ?? '/');
      try {
        await create(d, to, s.data, OPEN, ephemeral ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT);
      } catch (e) {
        if (!isCode(e, 'NODE_EXISTS')) throw e;
        return upsert(to, s, await readDst(to));
      }
      const st = await exists(d, to);
      if (st) ledger.set(to, { mzxid: hex(long(st.mzxid)) });
      ledgerDirty = true;
      stats.creates++;
      stats.changesApplied++;
      return true;
    };

    const drop = async (to: string): Promise<boolean> => {
      const n = await removeTree(to);
      if (!n) return false;
      const parent = await exists(d, parentOf(to) ?? '/');
      ledger.set(to, parent ? { deletedPzxid: hex(long(parent.pzxid)) } : {});
      ledgerDirty = true;
      stats.deletes += n;
      stats.changesApplied += n;
      return true;
    };

    const saveLedger = async () => {
      if (!ledgerDirty) return;
      ledgerDirty = false;
      await writeLedger(d, o.syncId, Object.fromEntries(ledger));
    };

    // ---- full diff ----
    const fullDiff = async (): Promise<void> => {
      const t0 = Date.now();
      stats.state = 'full-diff';
      const peer = await peerLedger();
      let repairs = 0;
      let missing = false;
      for (const m of o.mappings) {
        if (!(await exists(src, m.from))) {
          missing = true;
          continue;
        }
        const s = await exportTree(src, m.from, { signal: o.signal });
        const t = (await exists(d, m.to)) ? await exportTree(d, m.to, { signal: o.signal }) : { nodes: [] as ZkNodeEntry[] };
        const have = new Map(t.nodes.map((n) => [n.path, n]));
        const srcByPath = new Map(s.nodes.map((n) => [n.path, n]));
        for (const n of s.nodes) {
          const abs = joinRoot(m.from, n.path);
          const p = peer.get(abs);
          if (p?.mzxid && BigInt(p.mzxid) === BigInt(n.stat.mzxid)) {
            stats.echoesSkipped++;
            continue;
          }
          const h = have.get(n.path);
          const cur: DstNode | null = h ? { data: h.data ? Buffer.from(h.data, 'base64') : Buffer.alloc(0), ephemeralOwner: BigInt(h.stat.ephemeralOwner), numChildren: h.stat.numChildren } : null;
          if (await upsert(joinRoot(m.to, n.path), { data: n.data ? Buffer.from(n.data, 'base64') : Buffer.alloc(0), ephemeral: n.ephemeral, mzxid: BigInt(n.stat.mzxid) }, cur)) repairs++;
        }
        // Extras, deepest first.
        const extras = t.nodes.filter((n) => !srcByPath.has(n.path)).sort((a, b) => b.path.split('/').length - a.path.split('/').length);
        for (const n of extras) {
          const abs = joinRoot(m.from, n.path);
          const p = peer.get(abs);
          const parent = srcByPath.get(parentOf(n.path) ?? '/');
          if (p?.deletedPzxid && parent && BigInt(p.deletedPzxid) === BigInt(parent.stat.pzxid)) {
            stats.echoesSkipped++;
            continue;
          }
          const dpath = joinRoot(m.to, n.path);
          const mine = ledger.get(dpath)?.mzxid;
          if (o.twoWay && !(mine && BigInt(mine) === BigInt(n.stat.mzxid))) continue;
          if (await drop(dpath)) repairs++;
        }
      }
      await saveLedger();
      stats.fullDiffs++;
      stats.lastFullDiffAt = new Date().toISOString();
      stats.lastFullDiffRepairs = repairs;
      stats.lastFullDiffMs = Date.now() - t0;
      stats.state = missing ? 'source-missing' : 'watching';
    };

    // ---- one batch of announced paths ----
    const batch = async (): Promise<void> => {
      const taken = [...dirty];
      dirty.clear();
      const peer = await peerLedger();
      const reads = await Promise.all(
        taken.map(async ([path, seen]) => {
          try {
            const r = await getData(src, path);
            const owner = long(r.stat.ephemeralOwner);
            const node: SrcNode = { data: buf(r.data), ephemeral: owner !== 0n, mzxid: long(r.stat.mzxid) };
            return { path, seen, node };
          } catch (e) {
            if (isCode(e, 'NO_NODE')) return { path, seen, node: null };
            throw e;
          }
        }),
      );
      const depth = (p: string) => p.split('/').length;
      // Parents before children for writes; children before parents for deletes.
      const present = reads.filter((r) => r.node).sort((a, b) => depth(a.path) - depth(b.path));
      const gone = reads.filter((r) => !r.node).sort((a, b) => depth(b.path) - depth(a.path));
      for (const r of present) {
        const p = peer.get(r.path);
        if (p?.mzxid && BigInt(p.mzxid) === r.node!.mzxid) {
          stats.echoesSkipped++;
          continue;
        }
        const to = mapPath(o.mappings, r.path)!.to;
        await upsert(to, r.node!, await readDst(to));
      }
      for (const r of gone) {
        const m = mapPath(o.mappings, r.path)!;
        // A whole source root gone is not taken as "delete everything": the full diff says source-missing.
        if (r.path === m.mapping.from) continue;
        const p = peer.get(r.path);
        if (p?.deletedPzxid) {
          const parent = await exists(src, parentOf(r.path) ?? '/');
          if (parent && BigInt(p.deletedPzxid) === long(parent.pzxid)) {
            stats.echoesSkipped++;
            continue;
          }
        }
        await drop(m.to);
      }
      await saveLedger();
      const now = Date.now();
      stats.batches++;
      stats.lastBatchLagMs = taken.length ? now - oldest(taken.map(([, t]) => t)) : 0;
      stats.lastAppliedAt = new Date(now).toISOString();
    };

    const report = () => {
      const now = Date.now();
      stats.pending = dirty.size;
      stats.lagMs = dirty.size ? now - oldest(dirty.values()) : 0;
      stats.at = new Date(now).toISOString();
      o.onStats?.({ ...stats });
    };

    // ---- the loop ----
    await fullDiff();
    report();
    let nextFullDiff = Date.now() + fullDiffEveryMs;
    let nextCheck = Date.now() + 2_000;
    let nextReport = Date.now() + 5_000;
    while (!o.signal?.aborted && !failure && Date.now() < until) {
      const now = Date.now();
      if (now >= nextFullDiff) {
        await fullDiff();
        nextFullDiff = Date.now() + fullDiffEveryMs;
        report();
        continue;
      }
      if (dirty.size) {
        const first = oldest(dirty.values());
        if (now - lastEventAt >= debounceMs || now - first >= maxDelayMs) {
          await batch();
          report();
          continue;
        }
      }
      if (now >= nextCheck) {
        // A dropped source connection rejects here: the activity starts again (full diff first).
        if (wire) await wire.sync();
        else await exists(src, '/');
        nextCheck = Date.now() + 2_000;
      }
      if (now >= nextReport) {
        report();
        nextReport = Date.now() + 5_000;
      }
      const waitMs = dirty.size
        ? Math.max(5, Math.min(debounceMs - (now - lastEventAt), maxDelayMs - (now - oldest(dirty.values()))))
        : Math.max(5, Math.min(nextFullDiff, nextCheck, nextReport, until) - now);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = () => {};
    }
    if (failure) throw failure;
    if (o.signal?.aborted) throw abortReason(o.signal);
    stats.state = 'stopped';
    report();
    return { ...stats };
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await wire?.close().catch(() => {});
    dst?.close();
    src.close();
  }
}

async function readLedger(zk: ZkClient, syncId: string): Promise<Record<string, LedgerEntry>> {
  try {
    const r = await getData(zk, ledgerPath(syncId));
    const doc = JSON.parse(buf(r.data).toString('utf8') || '{}') as { written?: Record<string, LedgerEntry> };
    return doc.written ?? {};
  } catch (e) {
    if (isCode(e, 'NO_NODE') || e instanceof SyntaxError) return {};
    throw e;
  }
}

async function writeLedger(zk: ZkClient, syncId: string, written: Record<string, LedgerEntry>): Promise<void> {
  const path = ledgerPath(syncId);
  const data = Buffer.from(JSON.stringify({ format: 1, syncId, updatedAt: new Date().toISOString(), written }));
  try {
    await setData(zk, path, data);
  } catch (e) {
    if (!isCode(e, 'NO_NODE')) throw e;
    for (const p of ['/lifeboat', SYNC_LEDGER_ROOT]) {
      await create(zk, p, null, OPEN).catch((x: unknown) => {
        if (!isCode(x, 'NODE_EXISTS')) throw x;
      });
    }
    await create(zk, path, data, OPEN).catch(async (x: unknown) => {
      if (!isCode(x, 'NODE_EXISTS')) throw x;
      await setData(zk, path, data);
    });
  }
}

