/**
 * A drill's faults and their reverts (issue 16). Every fault keeps what it takes away, so its revert
 * can put it back: a killed broker is started again; a wiped disk is a rename of the log dirs'
 * contents to a sibling directory (same filesystem, never deleted by the fault); a deleted ZooKeeper
 * chroot or registry is exported into the cluster's repository first; a corrupted backup pack has
 * its original bytes in the record.
 *
 * Both directions run again without harm (Temporal retries activities, a SIGKILLed worker's drill
 * reverts on another): an apply leaves a marker on the machine it ran on (beside the broker's first
 * log dir, beside the repository) or finds its export snapshot by tags, and a second apply returns
 * the record of the first; a revert works from that durable state, not only from the record it is
 * given (which a workflow writes down before the fault runs).
 */
import { open, mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { listBackupSets } from '../backup/parts';
import { withTier } from '../backup/tiers';
import { type BrokerSpec, type ClusterSpec, registryRootsOf, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { DRILL_RECORD_TAG, PRE_FAULT_TAG } from '../repository/forget';
import { type BrokerControl, brokerControlFor } from '../host/brokerControl';
import { startBrokerWhenUnregistered } from '../host/brokerStart';
import { kafkaOwnsZnode } from './inventory.pure';
import { stopBrokerAndWait } from '../recovery/brokers';
import { openRepositoryForSpec } from '../repository';
import { LocalBackend } from '../repository/backend';
import { locationOf } from '../repository/location';
import type { LocalRepository } from '../repository/repo';
import { ACL, chrootPath, create, getChildren, Id, Permission, remove, ZkError, type ZkClient } from '../zookeeper/client';
import { deleteExported, deleteTree } from '../zookeeper/deleteTree';
import { withZkSession } from '../zookeeper/errors';
import { exportTree } from '../zookeeper/export';
import { applyRestore, planRestoreLive, summarizePlan } from '../zookeeper/restore';
import { readZkComponent, writeZkComponent } from '../zookeeper/storage';
import { parseExport, serializeExport, type ZkTreeExport } from '../zookeeper/tree';
import type { AppliedFault, FaultSpec, RevertMode, RevertResult } from './records';
import { ZK_STREAM_ROOT } from './stream';

export interface FaultOptions {
  signal?: AbortSignal;
  /** What is happening now, for heartbeats. */
  onProgress?: (message: string) => void;
}

type Kind = FaultSpec['kind'];

/** A drill id as it appears in file names and tags. */
function safeId(drillId: string): string {
  if (!drillId || !/^[A-Za-z0-9._:-]+$/.test(drillId)) throw new LifeboatError('InvalidInput', `drill id "${drillId}" must be letters, digits, ".", "_", ":" and "-"`);
  return drillId.replace(/[^A-Za-z0-9._-]/g, '-');
}

// ---------------------------------------------------------------------------------------------
// Markers: what an apply did, kept on the machine it ran on

interface Marker {
  drillId: string;
  fault: FaultSpec;
  /** applying: started, not finished; applied: done (`applied` is the record); returning: a restore is moving the contents back. */
  state: 'applying' | 'applied' | 'returning';
  wasRunning?: boolean;
  applied?: AppliedFault;
  /** returning: what the log dirs held when the restore began is kept (nobody could tell it from originals: no marker said the fault finished). */
  keepReplaced?: boolean;
}

async function readMarker(file: string): Promise<Marker | undefined> {
  // Written through a rename, so a marker is whole or absent.
  return readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as Marker,
    () => undefined,
  );
}

async function writeMarker(file: string, m: Marker): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(m, null, 2));
  await rename(`${file}.tmp`, file);
}

const trimSlash = (p: string) => p.replace(/\/+$/, '');
const exists = (p: string) => stat(p).then(() => true, () => false);

// ---------------------------------------------------------------------------------------------
// Broker faults (run on the broker's host)

function brokerOf(spec: ClusterSpec, id: number): BrokerSpec {
  const b = spec.brokers.find((x) => x.id === id);
  if (!b) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${id}`);
  return b;
}

/** Beside the broker's first log dir, like a recovery's own restore marker. */
export const brokerMarkerFile = (b: BrokerSpec, drillId: string, kind: Kind): string => `${trimSlash(b.logDirs[0]!)}.lifeboat-drill-${safeId(drillId)}-${kind}.json`;
/** Where a log dir's contents wait while its disk is "wiped". */
export const asideDirOf = (logDir: string, drillId: string): string => `${trimSlash(logDir)}.lifeboat-drill-${safeId(drillId)}`;
/** Where a restore puts what a recovery wrote into the log dir, until the original is back. */
const replacedDirOf = (logDir: string, drillId: string): string => `${asideDirOf(logDir, drillId)}-replaced`;

/** Starts the broker if it ran before the fault and does not now; true when it was started. */
async function ensureRunning(control: BrokerControl, wasRunning: boolean): Promise<boolean> {
  if (!wasRunning || (await control.status()) === 'running') return false;
  await control.start();
  return true;
}

async function applyBrokerKill(spec: ClusterSpec, drillId: string, fault: Extract<FaultSpec, { kind: 'broker-kill' }>, opts: FaultOptions): Promise<AppliedFault> {
  const b = brokerOf(spec, fault.brokerId);
  const file = brokerMarkerFile(b, drillId, fault.kind);
  const m = await readMarker(file);
  if (m?.state === 'applied' && m.applied) return m.applied;
  const control = brokerControlFor(spec, b.id);
  const wasRunning = m?.wasRunning ?? (await control.status()) === 'running';
  if (!m) await writeMarker(file, { drillId, fault, state: 'applying', wasRunning });
  let how: string;
  if ((await control.status()) === 'running') {
    opts.onProgress?.(`killing broker ${b.id}`);
    // A stop asked meanwhile (the drill waits for this activity): nothing is broken from here on.
    opts.signal?.throwIfAborted();
    if (control.kill) {
      await control.kill();
      how = `killed (${control.describe})`;
    } else {
      await control.stop();
      how = `stopped (${control.describe} cannot kill)`;
    }
  } else how = wasRunning ? 'gone (an earlier attempt killed it)' : 'not running before the drill';
  const applied: AppliedFault = { fault, at: new Date().toISOString(), wasRunning, detail: `broker ${b.id} ${how}` };
  await writeMarker(file, { drillId, fault, state: 'applied', wasRunning, applied });
  return applied;
}

async function revertBrokerKill(spec: ClusterSpec, drillId: string, applied: AppliedFault, mode: RevertMode, opts: FaultOptions): Promise<RevertResult> {
  const fault = applied.fault as Extract<FaultSpec, { kind: 'broker-kill' }>;
  const b = brokerOf(spec, fault.brokerId);
  const file = brokerMarkerFile(b, drillId, fault.kind);
  const m = await readMarker(file);
  const wasRunning = m?.wasRunning ?? applied.wasRunning ?? true;
  const control = brokerControlFor(spec, b.id);
  opts.onProgress?.(`starting broker ${b.id}`);
  const started = await ensureRunning(control, wasRunning);
  await rm(file, { force: true });
  const detail = started ? `broker ${b.id} started (${control.describe})` : wasRunning ? `broker ${b.id} is running` : `broker ${b.id} did not run before the drill: left stopped`;
  return { fault, mode, alreadyDone: !started, detail };
}

/** Renames need the aside dir on the log dir's filesystem: a log dir that is a mount point is refused. */
async function assertRenamable(b: BrokerSpec, dir: string): Promise<void> {
  const [own, parent] = await Promise.all([stat(dir).catch(() => undefined), stat(dirname(trimSlash(dir)))]);
  if (own && own.dev !== parent.dev) {
    throw new LifeboatError('UnsafeTarget', `log dir ${dir} of broker ${b.id} is a mount point: its contents cannot be moved aside beside it (a rename within one filesystem), so the drill will not wipe it`);
  }
}

/** Moves every entry of `from` into `to` (created); an entry already in `to` is an error unless `replace`. */
async function moveEntries(from: string, to: string, opts: { replace?: boolean } = {}): Promise<number> {
  await mkdir(to, { recursive: true });
  let n = 0;
  for (const name of await readdir(from).catch(() => [] as string[])) {
    // A filesystem's own directory stays where the filesystem put it.
    if (name === 'lost+found') continue;
    const dest = join(to, name);
    if (await exists(dest)) {
      if (!opts.replace) throw new LifeboatError('UnsafeTarget', `${dest} already exists: moving ${join(from, name)} there would replace it; look at both before running the drill's revert again`);
      await rm(dest, { recursive: true, force: true });
    }
    await rename(join(from, name), dest);
    n++;
  }
  return n;
}

const countEntries = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).length;

async function applyBrokerDisk(spec: ClusterSpec, drillId: string, fault: Extract<FaultSpec, { kind: 'broker-disk' }>, opts: FaultOptions): Promise<AppliedFault> {
  const b = brokerOf(spec, fault.brokerId);
  const file = brokerMarkerFile(b, drillId, fault.kind);
  const m = await readMarker(file);
  if (m?.state === 'applied' && m.applied) return m.applied;
  if (m?.state === 'returning') throw new LifeboatError('InvalidInput', `a restore of the disk of broker ${b.id} (drill ${drillId}) is under way: run the revert to its end first`);
  for (const dir of b.logDirs) await assertRenamable(b, dir);
  const control = brokerControlFor(spec, b.id);
  const wasRunning = m?.wasRunning ?? (await control.status()) === 'running';
  if (!m) await writeMarker(file, { drillId, fault, state: 'applying', wasRunning });
  // A running broker is stopped (controlled shutdown: its registration goes with it) and waited for.
  // One that is down already (the drill's kill just before, as a host that dies takes its disks) holds
  // no file: its registration may linger until its ZooKeeper session expires, which the recovery
  // waits out before it starts the broker or restores its log dirs, not the disaster.
  const down = (await control.status()) !== 'running';
  if (!down) {
    opts.onProgress?.(`stopping broker ${b.id}`);
    await stopBrokerAndWait(spec, b.id, { signal: opts.signal });
  }
  opts.signal?.throwIfAborted();
  const movedAside: NonNullable<AppliedFault['movedAside']> = [];
  for (const logDir of b.logDirs) {
    const asideDir = asideDirOf(logDir, drillId);
    opts.onProgress?.(`moving ${logDir} aside`);
    await moveEntries(logDir, asideDir);
    movedAside.push({ logDir, asideDir });
  }
  let entries = 0;
  for (const a of movedAside) entries += await countEntries(a.asideDir);
  const applied: AppliedFault = {
    fault,
    at: new Date().toISOString(),
    wasRunning,
    movedAside,
    detail: `broker ${b.id} ${down ? 'down (not running)' : 'stopped'} and its ${b.logDirs.length} log dir(s) emptied: ${entries} entries moved aside to ${movedAside.map((a) => a.asideDir).join(', ')}`,
  };
  await writeMarker(file, { drillId, fault, state: 'applied', wasRunning, applied });
  return applied;
}

async function revertBrokerDisk(spec: ClusterSpec, drillId: string, applied: AppliedFault, mode: RevertMode, opts: FaultOptions): Promise<RevertResult> {
  const fault = applied.fault as Extract<FaultSpec, { kind: 'broker-disk' }>;
  const b = brokerOf(spec, fault.brokerId);
  const file = brokerMarkerFile(b, drillId, fault.kind);
  const m = await readMarker(file);
  const wasRunning = m?.wasRunning ?? applied.wasRunning ?? true;
  const control = brokerControlFor(spec, b.id);
  const kept: { logDir: string; asideDir: string }[] = [];
  for (const logDir of b.logDirs) {
    const asideDir = asideDirOf(logDir, drillId);
    if (await exists(asideDir)) kept.push({ logDir, asideDir });
  }
  const result = (alreadyDone: boolean, detail: string): RevertResult => ({ fault, mode, alreadyDone, detail });
  if (kept.length === 0) {
    // Nothing kept: reverted already (or the fault never ran). The broker still ends as it was.
    const started = await ensureRunning(control, wasRunning);
    await rm(file, { force: true });
    return result(!started, `nothing of broker ${b.id}'s log dirs is kept aside${started ? `; broker ${b.id} started` : ''}`);
  }
  if (mode === 'discard') {
    // The recovery rebuilt the broker and was verified: what the fault kept is no longer needed.
    for (const a of kept) await rm(a.asideDir, { recursive: true, force: true });
    await rm(file, { force: true });
    const started = await ensureRunning(control, wasRunning);
    return result(false, `dropped the original contents of ${kept.map((a) => a.logDir).join(', ')} kept aside${started ? `; broker ${b.id} started` : ''}`);
  }
  opts.onProgress?.(`stopping broker ${b.id}`);
  await stopBrokerAndWait(spec, b.id, { signal: opts.signal });
  // What the log dirs hold now came after the fault (a recovery's restore, a broker started on an
  // empty disk) only once the fault finished; an apply cut short left originals there.
  const afterFault = m?.state === 'applied';
  let replaced = 0;
  // Kept when no marker said the fault finished, and still kept by a retry of this restore (the marker says so).
  const keepReplaced = m?.state === 'returning' ? m.keepReplaced === true : !afterFault;
  if (m?.state !== 'returning' && m?.state !== 'applying') {
    for (const a of kept) replaced += await moveEntries(a.logDir, replacedDirOf(a.logDir, drillId), { replace: true });
    await writeMarker(file, { drillId, fault, state: 'returning', wasRunning, applied: m?.applied, ...(keepReplaced ? { keepReplaced } : {}) });
  }
  let back = 0;
  for (const a of kept) {
    opts.onProgress?.(`moving the original contents back into ${a.logDir}`);
    back += await moveEntries(a.asideDir, a.logDir);
    await rmdir(a.asideDir);
    // Without the marker nobody can tell a recovery's files from originals: those are kept, and said so.
    if (!keepReplaced) await rm(replacedDirOf(a.logDir, drillId), { recursive: true, force: true });
  }
  await rm(file, { force: true });
  const started = await ensureRunning(control, wasRunning);
  const keptNote = keepReplaced && (replaced > 0 || m?.state === 'returning') ? `; what the log dirs held instead is kept in ${kept.map((a) => replacedDirOf(a.logDir, drillId)).join(', ')}` : '';
  return result(false, `${back} original entries moved back into ${kept.map((a) => a.logDir).join(', ')}${replaced ? `, replacing ${replaced} written since the fault` : ''}${keptNote}${started ? `; broker ${b.id} started` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// ZooKeeper faults: the chroot, the registry's roots

function zkRootsOf(spec: ClusterSpec, kind: 'zookeeper-chroot' | 'registry'): string[] {
  if (!spec.zookeeper) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no zookeeper section: there is no ${kind === 'registry' ? 'registry' : 'chroot'} to delete`);
  if (kind === 'zookeeper-chroot') {
    const chroot = spec.zookeeper.chroot;
    if (!chroot || chroot === '/') throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no ZooKeeper chroot: a drill will not delete the ensemble's root`);
    return [chroot];
  }
  const roots = registryRootsOf(spec);
  if (roots.length === 0) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no registry roots (registry.curator, registry.dubbo)`);
  return roots;
}

/** The tags of a fault's export snapshot: how a second apply or a revert finds it. */
// The tags forget's keep rule looks for (src/repository/forget.ts): one definition, so they cannot drift apart.
export const faultSnapshotTags = (drillId: string, kind: Kind): string[] => [`${DRILL_RECORD_TAG}:${drillId}`, PRE_FAULT_TAG, `fault:${kind}`];
/** The export of the first root is the snapshot's ZooKeeper tree (readable by every tool); further roots beside it. */
const extraRootFile = (i: number) => `zookeeper/drill-roots/${i}.jsonl`;

interface FaultFacts {
  at: string;
  roots: string[];
  znodes: number;
  zxid: string;
}


async function withRepository<T>(spec: ClusterSpec, fn: (repo: LocalRepository) => Promise<T>, create = false): Promise<T> {
  if (!spec.repository) throw new LifeboatError('UnsafeTarget', `cluster spec ${spec.name} has no repository: a drill keeps what it deletes there first, so it will not delete anything`);
  const repo = await openRepositoryForSpec(spec, 'primary', { create });
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

const zkZxidMax = (exps: ZkTreeExport[]) => exps.map((e) => BigInt(e.zxid)).reduce((a, b) => (b > a ? b : a), 0n);

async function applyZkFault(spec: ClusterSpec, drillId: string, fault: Extract<FaultSpec, { kind: 'zookeeper-chroot' | 'registry' }>, opts: FaultOptions): Promise<AppliedFault> {
  const roots = zkRootsOf(spec, fault.kind);
  const tags = faultSnapshotTags(drillId, fault.kind);
  const zkc = spec.zookeeper!;
  return withZkSession(zkc.connect, { auth: zkAuthOf(spec) }, async (zk) => {
    // A second apply (the activity retried) finds the committed export and deletes the slow way.
    let exps: ZkTreeExport[] | undefined;
    const meta = await withRepository(
      spec,
      async (repo) => {
        const found = (await repo.snapshots({ cluster: spec.name, tags })).at(-1);
        if (found) return found;
        // The export is committed before anything is deleted: no export, no fault.
        opts.onProgress?.(`exporting ${roots.join(', ')}`);
        const taken: ZkTreeExport[] = [];
        for (const r of roots) taken.push(await exportTree(zk, r, { signal: opts.signal }));
        const facts: FaultFacts = { at: new Date().toISOString(), roots, znodes: taken.reduce((n, e) => n + e.nodeCount, 0), zxid: `0x${zkZxidMax(taken).toString(16)}` };
        const summary = `drill ${drillId}: ${roots.join(', ')} before the ${fault.kind} fault, ${facts.znodes} znodes at zxid ${facts.zxid}`;
        const { meta } = await repo.saveSnapshot({ cluster: spec.name, components: ['zookeeper'], tags, extra: { drillFault: facts, summary } }, async (w) => {
          await writeZkComponent(w, taken[0]!);
          for (let i = 1; i < taken.length; i++) await w.writeFile(extraRootFile(i), serializeExport(taken[i]!));
        });
        exps = taken;
        return meta;
      },
      true,
    );
    const facts = meta.extra.drillFault as FaultFacts;
    // The export is committed; a stop asked meanwhile deletes nothing (the revert finds the tree as it was).
    opts.signal?.throwIfAborted();
    opts.onProgress?.(`deleting ${roots.join(', ')}`);
    // What the export holds goes in a few atomic batches (deleteExported); anything else node by node.
    if (exps) for (const e of exps) await deleteExported(zk, e);
    else for (const r of facts.roots) await deleteTree(zk, r);
    return {
      fault,
      at: facts.at,
      zkExport: { snapshot: meta.id, roots: facts.roots, znodes: facts.znodes, zxid: facts.zxid },
      detail: `${facts.roots.join(', ')} deleted after ${facts.znodes} znodes (zxid ${facts.zxid}) were exported into snapshot ${meta.id.slice(0, 12)}`,
    };
  });
}

async function revertZkFault(spec: ClusterSpec, drillId: string, applied: AppliedFault, mode: RevertMode, opts: FaultOptions): Promise<RevertResult> {
  const fault = applied.fault as Extract<FaultSpec, { kind: 'zookeeper-chroot' | 'registry' }>;
  const result = (alreadyDone: boolean, detail: string): RevertResult => ({ fault, mode, alreadyDone, detail });
  // Discarding drops nothing: an applied fault's record names its export, so the repository is not opened.
  if (mode === 'discard' && applied.zkExport) return result(true, `nothing to drop: the export (snapshot ${applied.zkExport.snapshot.slice(0, 12)}) stays in the repository`);
  const exps = await withRepository(spec, async (repo) => {
    const found = (await repo.snapshots({ cluster: spec.name, tags: faultSnapshotTags(drillId, fault.kind) })).at(-1);
    const ref = found?.id ?? applied.zkExport?.snapshot;
    if (!ref) return undefined;
    const reader = await repo.openSnapshot(ref);
    const roots = (reader.meta.extra.drillFault as FaultFacts | undefined)?.roots ?? [];
    const out = [await readZkComponent(reader)];
    for (let i = 1; i < roots.length; i++) out.push(parseExport(await reader.readBuffer(extraRootFile(i)), `${ref.slice(0, 12)}:${extraRootFile(i)}`));
    return { snapshot: reader.meta.id, exps: out };
  });
  // No export means the fault never got as far as deleting anything.
  if (!exps) return result(true, `no export of ${fault.kind === 'registry' ? 'the registry' : 'the chroot'} was taken for drill ${drillId}: nothing was deleted`);
  if (mode === 'discard') return result(true, `nothing to drop: the export (snapshot ${exps.snapshot.slice(0, 12)}) stays in the repository`);
  const auth = zkAuthOf(spec);
  const digestAuth = auth.filter((a) => a.scheme === 'digest').map((a) => a.credentials);
  const done = { create: 0, update: 0, delete: 0 };
  let unregistered: string[] = [];
  let restarted: string[] = [];
  let down: string[] = [];
  await withZkSession(spec.zookeeper!.connect, { auth }, async (zk) => {
    for (const exp of exps.exps) {
      opts.onProgress?.(`importing ${exp.root}`);
      // Exactly as exported: what a recovery added since is removed, what it changed is rewritten (live ephemerals stay).
      const plan = await planRestoreLive(zk, exp, exp.root, { mode: 'mirror' });
      if (fault.kind === 'zookeeper-chroot') {
        // What the running Kafka owns (elections, partition states, registrations) is created when missing, never rewritten or deleted.
        plan.change = plan.change.filter((c) => !kafkaOwnsZnode(c.path));
        plan.remove = plan.remove.filter((r) => !kafkaOwnsZnode(r));
      }
      const w = summarizePlan(plan).writes;
      if (w.create + w.update + w.delete === 0) continue;
      await applyRestore(zk, plan, { confirm: true, digestAuth, signal: opts.signal });
      done.create += w.create;
      done.update += w.update;
      done.delete += w.delete;
    }
    // Registrations are ephemeral, so no import brings them back: a broker that ran through the fault stays unregistered until it restarts.
    if (fault.kind === 'zookeeper-chroot') {
      const exp = exps.exps[0]!;
      const before = exp.nodes.filter((n) => n.ephemeral && /^\/brokers\/ids\/\d+$/.test(n.path)).map((n) => n.path.slice('/brokers/ids/'.length));
      const now = await getChildren(zk, `${exp.root}/brokers/ids`).catch(() => [] as string[]);
      unregistered = before.filter((id) => !now.includes(id));
      ({ restarted, down } = await reregister(spec, drillId, zk, unregistered, { ...opts, keepRoot: exp.nodes.some((n) => n.path === ZK_STREAM_ROOT) }));
    }
  });
  const restart =
    (restarted.length ? `; broker(s) ${restarted.join(', ')} ran through the fault without their registration: restarted, registered again` : '') +
    (down.length ? `; broker(s) ${down.join(', ')} were registered before the fault and are not now: restart them to register again` : '');
  const roots = exps.exps.map((e) => e.root).join(', ');
  if (done.create + done.update + done.delete === 0) return result(true, `${roots} already as exported (snapshot ${exps.snapshot.slice(0, 12)})${restart}`);
  return result(false, `${roots} imported from snapshot ${exps.snapshot.slice(0, 12)}: ${done.create} created, ${done.update} rewritten, ${done.delete} removed${restart}`);
}

/**
 * A broker that ran through the chroot's deletion keeps its ZooKeeper session but lost its
 * registration (ephemeral: no import brings it back), so the cluster no longer counts it: restarted
 * (a controlled stop, then a start once nothing holds its id) it registers again, as it was found.
 * One that is down, or that the spec does not control, is left (a broker fault's revert starts it).
 * Before the stop a marker goes into the drill's own subtree (`<chroot>/lifeboat-drill`: in no
 * inventory, never imported over): a worker that dies between the stop and the start leaves it, and
 * the retry starts that broker instead of taking it for one that was down.
 */
async function reregister(spec: ClusterSpec, drillId: string, zk: ZkClient, ids: string[], opts: FaultOptions & { keepRoot: boolean }): Promise<{ restarted: string[]; down: string[] }> {
  const root = chrootPath(spec.zookeeper!.chroot, ZK_STREAM_ROOT);
  const prefix = `${safeId(drillId)}.restart-`;
  const marker = (id: string) => `${root}/${prefix}${id}`;
  const gone = (e: unknown) => {
    if (!(e instanceof ZkError && (e.code === 'NO_NODE' || e.code === 'NOT_EMPTY'))) throw e;
  };
  const unmark = async (id: string) => {
    await remove(zk, marker(id)).catch(gone);
    // The subtree goes once nothing of any drill is left in it (the stream's drop does the same), unless
    // the export holds it: the import put it back, and a retried import would make it again.
    if (opts.keepRoot) return;
    const left = await getChildren(zk, root).catch(() => undefined);
    if (left?.length === 0) await remove(zk, root).catch(gone);
  };
  const controlOf = (id: string) => (spec.brokers.some((b) => b.id === Number(id)) ? brokerControlFor(spec, Number(id)) : undefined);
  const restarted: string[] = [];
  const down: string[] = [];
  const marked = (await getChildren(zk, root).catch(() => [] as string[])).filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
  for (const id of marked) {
    const control = controlOf(id);
    if (control && (await control.status()) !== 'running') {
      opts.onProgress?.(`starting broker ${id}: an earlier attempt stopped it to restart it`);
      await startBrokerWhenUnregistered(spec, Number(id), { signal: opts.signal, onProgress: opts.onProgress });
    }
    await unmark(id);
    restarted.push(id);
  }
  for (const id of ids) {
    if (marked.includes(id)) continue;
    const control = controlOf(id);
    if (!control || (await control.status()) !== 'running') {
      down.push(id);
      continue;
    }
    await create(zk, root, null, OPEN_ACL).catch(ignoreExists);
    await create(zk, marker(id), null, OPEN_ACL).catch(ignoreExists);
    opts.onProgress?.(`restarting broker ${id}: it runs without its registration`);
    await stopBrokerAndWait(spec, Number(id), { signal: opts.signal });
    opts.onProgress?.(`broker ${id} stopped: starting it`);
    await startBrokerWhenUnregistered(spec, Number(id), { signal: opts.signal, onProgress: opts.onProgress });
    await unmark(id);
    restarted.push(id);
  }
  return { restarted, down };
}

const OPEN_ACL = [new ACL(Permission.ALL, new Id('world', 'anyone'))];
const ignoreExists = (e: unknown) => {
  if (!(e instanceof ZkError && e.code === 'NODE_EXISTS')) throw e;
};

// ---------------------------------------------------------------------------------------------
// A corrupt backup: a byte range of one pack of the newest complete set

/** Beside the repository directory (never inside it: `repo check` would take it for debris). */
const corruptMarkerFile = (repoPath: string, drillId: string) => `${trimSlash(repoPath)}.lifeboat-drill-${safeId(drillId)}-backup-corrupt.json`;

/** Small parts first: a recovery's choice of set reads them whole, so the damage is found for certain. */
const PART_ORDER = (part: string) => ['zookeeper', 'kafka-metadata', 'registry', 'baseline'].indexOf(part.split(':')[0]!) + 1 || (part.startsWith('configs:') ? 5 : 6);

interface Target {
  setId: string;
  part: string;
  path: string;
  pack: string;
  file: string;
  offset: number;
  length: number;
}

/** A chunk of the newest complete set that no other snapshot uses (damaging it damages only that set). */
async function chooseTarget(spec: ClusterSpec, repo: LocalRepository): Promise<Target> {
  if (!(repo.backend instanceof LocalBackend)) throw new LifeboatError('InvalidInput', `the repository of ${spec.name} is not on a local filesystem: a backup-corrupt drill damages a pack file in place`);
  const newest = (await listBackupSets(repo, spec.name)).filter((s) => s.complete).at(-1);
  if (!newest) throw new LifeboatError('InvalidInput', `the repository of ${spec.name} (${repo.path}) holds no complete backup set to corrupt: run a backup first`);
  const mine = new Set(Object.values(newest.snapshots).map((s) => s.id));
  const shared = new Set<string>();
  for (const s of await repo.snapshots()) {
    if (mine.has(s.id)) continue;
    for (const e of (await repo.loadTree(s.id)).values()) for (const c of e.chunks ?? []) shared.add(c);
  }
  const parts = Object.keys(newest.snapshots).sort((a, b) => PART_ORDER(a) - PART_ORDER(b) || a.localeCompare(b));
  for (const part of parts) {
    const tree = await repo.loadTree(newest.snapshots[part]!.id);
    for (const e of [...tree.values()].filter((x) => x.type === 'file').sort((x, y) => x.path.localeCompare(y.path))) {
      for (const c of e.chunks ?? []) {
        if (shared.has(c)) continue;
        const loc = await repo.locate(c);
        if (!loc) continue;
        // The middle of the sealed chunk: its authentication fails, the pack's other chunks stay whole.
        const offset = loc.offset + Math.floor(loc.length / 2);
        return { setId: newest.setId, part, path: e.path, pack: loc.pack, file: repo.backend.localPath('data', loc.pack), offset, length: Math.min(16, loc.offset + loc.length - offset) };
      }
    }
  }
  throw new LifeboatError('InvalidInput', `every chunk of backup set ${newest.setId} of ${spec.name} is shared with other snapshots: damaging one would damage them too; take a new backup first`);
}

async function readRange(file: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Writes bytes in place (a pack is never rewritten otherwise: the drill borrows it and gives it back). */
async function writeRange(file: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, offset);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const flipped = (b: Buffer) => Buffer.from(b.map((x) => x ^ 0xff));

function localRepositoryPath(spec: ClusterSpec): string {
  if (!spec.repository) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no repository section: there is no backup to corrupt`);
  const where = locationOf(spec.repository);
  if (typeof where !== 'string') throw new LifeboatError('InvalidInput', `the repository of ${spec.name} is on object storage (${spec.repository.path}): a backup-corrupt drill damages a pack file in place, which only a local repository allows`);
  return where;
}

async function applyBackupCorrupt(spec: ClusterSpec, drillId: string, fault: Extract<FaultSpec, { kind: 'backup-corrupt' }>, opts: FaultOptions): Promise<AppliedFault> {
  const file = corruptMarkerFile(localRepositoryPath(spec), drillId);
  const m = await readMarker(file);
  if (m?.state === 'applied' && m.applied) return m.applied;
  let record = m?.applied;
  if (!record) {
    opts.onProgress?.('choosing a pack of the newest complete set');
    const t = await withTier(spec, 'primary', (repo) => chooseTarget(spec, repo));
    const original = await readRange(t.file, t.offset, t.length);
    record = {
      fault,
      at: '',
      corrupted: { tier: 'primary', setId: t.setId, file: t.file, offset: t.offset, original: original.toString('base64') },
      detail: `${original.length} bytes of pack ${t.pack.slice(0, 12)} overwritten at offset ${t.offset} (a chunk of ${t.path}, part ${t.part} of set ${t.setId})`,
    };
    // The original bytes are on disk before the pack is touched.
    await writeMarker(file, { drillId, fault, state: 'applying', applied: record });
  }
  const c = record.corrupted!;
  const original = Buffer.from(c.original, 'base64');
  opts.signal?.throwIfAborted();
  // Only the original bytes are replaced: an attempt that already wrote finds them flipped.
  if ((await readRange(c.file, c.offset, original.length)).equals(original)) await writeRange(c.file, c.offset, flipped(original));
  const applied: AppliedFault = { ...record, at: new Date().toISOString() };
  await writeMarker(file, { drillId, fault, state: 'applied', applied });
  return applied;
}

async function revertBackupCorrupt(spec: ClusterSpec, drillId: string, applied: AppliedFault, mode: RevertMode): Promise<RevertResult> {
  const fault = applied.fault;
  const file = corruptMarkerFile(localRepositoryPath(spec), drillId);
  const m = await readMarker(file);
  const c = m?.applied?.corrupted ?? applied.corrupted;
  if (!c) return { fault, mode, alreadyDone: true, detail: `no pack was damaged for drill ${drillId}` };
  const original = Buffer.from(c.original, 'base64');
  // Both modes write the bytes back: a drill never leaves a damaged backup behind, whatever the recovery did.
  const now = await readRange(c.file, c.offset, original.length);
  const wrote = !now.equals(original);
  if (wrote) await writeRange(c.file, c.offset, original);
  await rm(file, { force: true });
  const where = `${original.length} bytes of ${c.file} at offset ${c.offset} (set ${c.setId})`;
  return { fault, mode, alreadyDone: !wrote, detail: wrote ? `wrote the original ${where} back` : `the original ${where} are in place` };
}

// ---------------------------------------------------------------------------------------------

/** Applies one fault; a second run finds it applied and returns the same record. */
export async function applyFault(spec: ClusterSpec, drillId: string, fault: FaultSpec, opts: FaultOptions = {}): Promise<AppliedFault> {
  safeId(drillId);
  switch (fault.kind) {
    case 'broker-kill':
      return applyBrokerKill(spec, drillId, fault, opts);
    case 'broker-disk':
      return applyBrokerDisk(spec, drillId, fault, opts);
    case 'zookeeper-chroot':
    case 'registry':
      return applyZkFault(spec, drillId, fault, opts);
    case 'backup-corrupt':
      return applyBackupCorrupt(spec, drillId, fault, opts);
    default:
      throw new LifeboatError('InvalidInput', `unknown fault ${(fault as { kind?: unknown }).kind}`);
  }
}

/**
 * Undoes a fault (`restore`: put back exactly what was there) or drops what it kept (`discard`: the
 * recovery replaced it and was verified). Runs twice without harm: the second finds nothing to do
 * (`alreadyDone`). Works from the fault's durable traces, so a record written before the fault ran
 * (only `fault` known) is enough.
 */
export async function revertFault(spec: ClusterSpec, drillId: string, applied: AppliedFault, mode: RevertMode, opts: FaultOptions = {}): Promise<RevertResult> {
  safeId(drillId);
  if (mode !== 'restore' && mode !== 'discard') throw new LifeboatError('InvalidInput', `revert mode must be restore or discard, not ${String(mode)}`);
  switch (applied.fault.kind) {
    case 'broker-kill':
      return revertBrokerKill(spec, drillId, applied, mode, opts);
    case 'broker-disk':
      return revertBrokerDisk(spec, drillId, applied, mode, opts);
    case 'zookeeper-chroot':
    case 'registry':
      return revertZkFault(spec, drillId, applied, mode, opts);
    case 'backup-corrupt':
      return revertBackupCorrupt(spec, drillId, applied, mode);
    default:
      throw new LifeboatError('InvalidInput', `unknown fault ${(applied.fault as { kind?: unknown }).kind}`);
  }
}
