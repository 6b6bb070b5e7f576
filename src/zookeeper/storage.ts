/**
 * Where a tree export lives: the `zookeeper/` component of a snapshot (tree.jsonl plus a small
 * manifest.json with the header, so listing tools need not read the tree), or a plain file for the
 * CLI's --out/--in. The snapshot records the zxid it represents in its points.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { LifeboatError } from '../errors';
import type { Repository, SnapshotFilter, SnapshotMeta, SnapshotReader, SnapshotWriter } from '../repository/types';
import { applyIncrements, parseExport, serializeExport, type ZkTreeExport } from './tree';

export const ZK_TREE_FILE = 'zookeeper/tree.jsonl';
export const ZK_MANIFEST_FILE = 'zookeeper/manifest.json';

export async function writeZkComponent(writer: SnapshotWriter, exp: ZkTreeExport): Promise<void> {
  const { nodes: _nodes, ...header } = exp;
  await writer.writeFile(ZK_TREE_FILE, serializeExport(exp));
  await writer.writeJson(ZK_MANIFEST_FILE, header);
  writer.setPoints('zookeeper', { zxid: exp.zxid, root: exp.root, consistent: exp.consistent, kind: exp.kind, parentZxid: exp.parentZxid });
}

export async function readZkComponent(reader: SnapshotReader): Promise<ZkTreeExport> {
  if (!reader.exists(ZK_TREE_FILE)) {
    throw new LifeboatError('SnapshotNotFound', `snapshot ${reader.meta.id.slice(0, 12)} has no ZooKeeper tree (${ZK_TREE_FILE})`);
  }
  return parseExport(await reader.readBuffer(ZK_TREE_FILE), `${reader.meta.id.slice(0, 12)}:${ZK_TREE_FILE}`);
}

export function writeExportFile(file: string, exp: ZkTreeExport): void {
  writeFileSync(file, serializeExport(exp));
}

export function readExportFile(file: string): ZkTreeExport {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new LifeboatError('InvalidInput', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseExport(buf, file);
}

/**
 * The full tree a snapshot stands for: its own export if full, else its parent chain's full export
 * with the increments applied (oldest first).
 */
export async function materializeZkTree(repo: Repository, ref: string, filter: SnapshotFilter = {}): Promise<{ tree: ZkTreeExport; snapshots: SnapshotMeta[] }> {
  const chain: ZkTreeExport[] = [];
  const metas: SnapshotMeta[] = [];
  let reader = await repo.openSnapshot(ref, { ...filter, component: 'zookeeper' });
  for (;;) {
    const t = await readZkComponent(reader);
    chain.unshift(t);
    metas.unshift(reader.meta);
    if (t.kind === 'full') break;
    if (!reader.meta.parent) throw new LifeboatError('CorruptBackup', `incremental snapshot ${reader.meta.id.slice(0, 12)} names no parent`);
    if (metas.length > 1000) throw new LifeboatError('CorruptBackup', 'snapshot parent chain longer than 1000 (a cycle?)');
    reader = await repo.openSnapshot(reader.meta.parent);
  }
  return { tree: applyIncrements(chain[0]!, chain.slice(1)), snapshots: metas };
}
