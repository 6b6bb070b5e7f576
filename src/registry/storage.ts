/**
 * Where a registry capture lives: the `registry/` component of a snapshot, or a plain directory for
 * the CLI's --out/--in (the same files): registry.json (the seed shape) and one raw tree per layout
 * (curator.jsonl, dubbo.jsonl).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { LifeboatError } from '../errors';
import type { SnapshotReader, SnapshotWriter } from '../repository/types';
import { parseExport, serializeExport } from '../zookeeper/tree';
import type { RegistryLayout } from './layouts';
import type { RegistryCapture, RegistryExport } from './registry';

const LAYOUTS: RegistryLayout[] = ['curator', 'dubbo'];

const instanceSchema = z.object({
  id: z.string(),
  ip: z.string(),
  port: z.number().int().min(0).max(65535),
  status: z.string(),
  metadata: z.record(z.string(), z.string()),
  znode: z.string(),
  ephemeral: z.boolean(),
  mzxid: z.string(),
});
const registrySchema = z.object({
  backup_time: z.string(),
  version: z.string(),
  kind: z.enum(['full', 'incremental']),
  zxid: z.string().regex(/^0x[0-9a-f]+$/),
  parent_zxid: z.string().optional(),
  roots: z.object({ curator: z.string().nullable(), dubbo: z.string().nullable() }),
  services: z.array(z.object({ name: z.string().min(1), layout: z.enum(['curator', 'dubbo']), instances: z.array(instanceSchema) })),
  removed: z.array(z.object({ service: z.string(), layout: z.enum(['curator', 'dubbo']), id: z.string() })).optional(),
  instance_count: z.number().int().min(0),
  content_hash: z.string().regex(/^[0-9a-f]{64}$/),
});

export function parseRegistryExport(buf: Buffer | string, source: string): RegistryExport {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof buf === 'string' ? buf : buf.toString('utf8'));
  } catch {
    throw new LifeboatError('CorruptBackup', `registry export ${source} is not JSON`);
  }
  const r = registrySchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new LifeboatError('CorruptBackup', `registry export ${source} is malformed: ${i.path.join('.') || '(top level)'}: ${i.message}`);
  }
  return r.data as RegistryExport;
}

interface Files {
  has(name: string): boolean;
  read(name: string): Promise<Buffer>;
  where: string;
}

async function readCapture(f: Files): Promise<RegistryCapture> {
  if (!f.has('registry.json')) throw new LifeboatError('SnapshotNotFound', `${f.where} has no registry export (registry.json)`);
  const registry = parseRegistryExport(await f.read('registry.json'), `${f.where}/registry.json`);
  const trees: RegistryCapture['trees'] = {};
  for (const l of LAYOUTS) if (f.has(`${l}.jsonl`)) trees[l] = parseExport(await f.read(`${l}.jsonl`), `${f.where}/${l}.jsonl`);
  return { registry, trees };
}

function captureFiles(c: RegistryCapture): [string, Buffer][] {
  const out: [string, Buffer][] = [['registry.json', Buffer.from(`${JSON.stringify(c.registry, null, 2)}\n`)]];
  for (const l of LAYOUTS) {
    const t = c.trees[l];
    if (t) out.push([`${l}.jsonl`, serializeExport(t)]);
  }
  return out;
}

export async function writeRegistryComponent(writer: SnapshotWriter, c: RegistryCapture): Promise<void> {
  for (const [name, buf] of captureFiles(c)) await writer.writeFile(`registry/${name}`, buf);
  writer.setPoints('registry', { zxid: c.registry.zxid, kind: c.registry.kind, parentZxid: c.registry.parent_zxid, instances: c.registry.instance_count });
}

export function readRegistryComponent(reader: SnapshotReader): Promise<RegistryCapture> {
  return readCapture({ has: (n) => reader.exists(`registry/${n}`), read: (n) => reader.readBuffer(`registry/${n}`), where: `snapshot ${reader.meta.id.slice(0, 12)}:registry` });
}

export function writeCaptureDir(dir: string, c: RegistryCapture): string[] {
  mkdirSync(dir, { recursive: true });
  return captureFiles(c).map(([name, buf]) => {
    writeFileSync(join(dir, name), buf);
    return join(dir, name);
  });
}

export function readCaptureDir(dir: string): Promise<RegistryCapture> {
  if (!existsSync(dir)) throw new LifeboatError('InvalidInput', `${dir} does not exist`);
  return readCapture({ has: (n) => existsSync(join(dir, n)), read: async (n) => readFileSync(join(dir, n)), where: dir });
}
