/**
 * The ZooKeeper tree export as plain data: what `exportTree` produces, `planRestore` consumes and
 * the snapshot component stores. Paths inside an export are relative to its root ("/" is the root
 * itself, "/brokers/ids/1" a descendant), so the same export restores under any chroot.
 * Data is bytes (base64 in JSON), never strings: Kafka and registries store binary payloads too.
 */
import { z } from 'zod';
import { LifeboatError } from '../errors';

export const FORMAT = 'lifeboat.zk-tree/1' as const;

export interface ZkAclEntry {
  perms: number;
  scheme: string;
  id: string;
}

export interface ZkNodeStat {
  czxid: string;
  mzxid: string;
  pzxid: string;
  /** ms since the epoch. */
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
}

export interface ZkNodeEntry {
  path: string;
  /** base64; null when the node has no data. */
  data: string | null;
  acl: ZkAclEntry[];
  stat: ZkNodeStat;
  ephemeral: boolean;
}

export interface ZkTreeHeader {
  format: typeof FORMAT;
  kind: 'full' | 'incremental';
  /** Absolute ZooKeeper path the export was taken from (e.g. "/primary"). */
  root: string;
  time: string;
  /** The zxid the export represents: every node is as it was at this zxid (when `consistent`). */
  zxid: string;
  /** zxid before the walk began. */
  startZxid: string;
  /** False when changes kept arriving during every re-read round: then nodes are from [startZxid, zxid]. */
  consistent: boolean;
  rounds: number;
  nodeCount: number;
  /** Incremental only: the zxid of the export this one builds on. */
  parentZxid?: string;
  /** Incremental only: paths deleted since the parent. */
  deleted?: string[];
}

export interface ZkTreeExport extends ZkTreeHeader {
  /** Sorted by path (parents before children). Incremental: only created or changed nodes. */
  nodes: ZkNodeEntry[];
}

/** Rejects "..", ".", empty segments and NULs: a path from a snapshot must stay inside its root. */
export function assertSafeRelPath(path: string, what = 'path'): void {
  if (path === '/') return;
  if (!path.startsWith('/') || path.endsWith('/') || path.includes('\0')) throw new LifeboatError('InvalidInput', `unsafe ${what} "${path}"`);
  for (const seg of path.slice(1).split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw new LifeboatError('InvalidInput', `unsafe ${what} "${path}": "${seg || '(empty)'}" segment`);
  }
}

/** Joins an absolute root and a relative export path: ("/standby", "/brokers") → "/standby/brokers". */
export function joinRoot(root: string, rel: string): string {
  const r = root === '/' ? '' : root.replace(/\/+$/, '');
  if (rel === '/') return r || '/';
  return `${r}${rel}`;
}

export function parentOf(rel: string): string | null {
  if (rel === '/') return null;
  const i = rel.lastIndexOf('/');
  return i <= 0 ? '/' : rel.slice(0, i);
}

export const depthOf = (rel: string): number => (rel === '/' ? 0 : rel.split('/').length - 1);

/** Parents before children, siblings by name: a valid creation order. */
export function comparePaths(a: string, b: string): number {
  const da = depthOf(a);
  const db = depthOf(b);
  return da !== db ? da - db : a < b ? -1 : a > b ? 1 : 0;
}

const hexZxid = z.string().regex(/^0x[0-9a-f]+$/);
const aclSchema = z.strictObject({ perms: z.number().int().min(0).max(31), scheme: z.string().min(1), id: z.string() });
const statSchema = z.strictObject({
  czxid: hexZxid,
  mzxid: hexZxid,
  pzxid: hexZxid,
  ctime: z.number(),
  mtime: z.number(),
  version: z.number().int(),
  cversion: z.number().int(),
  aversion: z.number().int(),
  ephemeralOwner: hexZxid,
  dataLength: z.number().int().min(0),
  numChildren: z.number().int().min(0),
});
const nodeSchema = z.strictObject({
  path: z.string().min(1),
  data: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64').nullable(),
  acl: z.array(aclSchema),
  stat: statSchema,
  ephemeral: z.boolean(),
});
const headerSchema = z.strictObject({
  format: z.literal(FORMAT),
  kind: z.enum(['full', 'incremental']),
  root: z.string().regex(/^\/.*$/),
  time: z.string(),
  zxid: hexZxid,
  startZxid: hexZxid,
  consistent: z.boolean(),
  rounds: z.number().int().min(0),
  nodeCount: z.number().int().min(0),
  parentZxid: hexZxid.optional(),
  deleted: z.array(z.string()).optional(),
});

function corrupt(source: string, msg: string): LifeboatError {
  return new LifeboatError('CorruptBackup', `ZooKeeper export ${source} is malformed: ${msg}`);
}

const issue = (e: z.ZodError): string => {
  const i = e.issues[0]!;
  return `${i.path.join('.') || '(top level)'}: ${i.message}`;
};

/** One JSON line for the header, then one line per node: streams well and diffs well. */
export function serializeExport(exp: ZkTreeExport): Buffer {
  const { nodes, ...header } = exp;
  const lines = [JSON.stringify({ ...header, nodeCount: nodes.length })];
  for (const n of nodes) lines.push(JSON.stringify(n));
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** Parses and validates an export; anything unexpected is a CorruptBackup naming the line. */
export function parseExport(buf: Buffer | string, source = '(input)'): ZkTreeExport {
  const text = typeof buf === 'string' ? buf : buf.toString('utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw corrupt(source, 'empty');
  const json = (line: string, n: number): unknown => {
    try {
      return JSON.parse(line);
    } catch {
      throw corrupt(source, `line ${n} is not JSON`);
    }
  };
  const h = headerSchema.safeParse(json(lines[0]!, 1));
  if (!h.success) throw corrupt(source, `header ${issue(h.error)}`);
  const nodes: ZkNodeEntry[] = [];
  for (let i = 1; i < lines.length; i++) {
    const r = nodeSchema.safeParse(json(lines[i]!, i + 1));
    if (!r.success) throw corrupt(source, `line ${i + 1} ${issue(r.error)}`);
    try {
      assertSafeRelPath(r.data.path);
    } catch (e) {
      throw corrupt(source, `line ${i + 1} ${(e as Error).message}`);
    }
    nodes.push(r.data);
  }
  if (nodes.length !== h.data.nodeCount) throw corrupt(source, `header says ${h.data.nodeCount} nodes, found ${nodes.length}`);
  for (const d of h.data.deleted ?? []) {
    try {
      assertSafeRelPath(d);
    } catch (e) {
      throw corrupt(source, `deleted: ${(e as Error).message}`);
    }
  }
  return { ...h.data, nodes } as ZkTreeExport;
}

/**
 * Applies incremental exports (oldest first) on top of a full one and returns the full tree at the
 * last one's zxid. Each increment must build on the zxid of the tree before it.
 */
export function applyIncrements(base: ZkTreeExport, increments: ZkTreeExport[]): ZkTreeExport {
  if (base.kind !== 'full') throw new LifeboatError('InvalidInput', 'the base of an incremental chain must be a full export');
  const byPath = new Map(base.nodes.map((n) => [n.path, n]));
  let head: ZkTreeHeader = base;
  for (const inc of increments) {
    if (inc.kind !== 'incremental' || inc.parentZxid !== head.zxid) {
      throw new LifeboatError('CorruptBackup', `incremental export at ${inc.zxid} does not build on ${head.zxid} (parent ${inc.parentZxid ?? 'none'})`);
    }
    const deleted = new Set(inc.deleted ?? []);
    if (deleted.size > 0) {
      // A deleted node takes its whole subtree with it.
      for (const p of [...byPath.keys()]) {
        for (let a: string | null = p; a !== null; a = parentOf(a)) {
          if (deleted.has(a)) {
            byPath.delete(p);
            break;
          }
        }
      }
    }
    for (const n of inc.nodes) byPath.set(n.path, n);
    head = inc;
  }
  const nodes = [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
  const { parentZxid: _p, deleted: _d, ...rest } = head;
  return { ...rest, kind: 'full', nodes, nodeCount: nodes.length };
}
