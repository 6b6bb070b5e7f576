/**
 * Where a metadata export lives: `kafka-metadata/metadata.json` in a repository snapshot, or a plain
 * JSON file (`lifeboat metadata export --out`). Reading back validates the whole document.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { LifeboatError } from '../errors';
import type { SnapshotReader, SnapshotWriter } from '../repository/types';
import { type KafkaMetadataExport, parseMetadataExport } from './metadataTypes';

export const METADATA_COMPONENT = 'kafka-metadata';
export const METADATA_PATH = `${METADATA_COMPONENT}/metadata.json`;

/** What a snapshot records as its starting point: the committed offsets it captured, per group. */
export function metadataPoints(exp: KafkaMetadataExport): Record<string, unknown> {
  return { clusterId: exp.cluster.id, exportedAt: exp.exportedAt, topics: exp.topics.length, groups: exp.groups.length, acls: exp.acls.length };
}

export async function writeMetadataComponent(writer: SnapshotWriter, exp: KafkaMetadataExport): Promise<void> {
  await writer.writeJson(METADATA_PATH, exp);
  writer.setPoints(METADATA_COMPONENT, metadataPoints(exp));
}

export async function readMetadataComponent(reader: SnapshotReader): Promise<KafkaMetadataExport> {
  const where = `snapshot ${reader.meta.id.slice(0, 8)}`;
  if (!reader.exists(METADATA_PATH)) throw new LifeboatError('SnapshotNotFound', `${where} has no ${METADATA_COMPONENT} component`);
  let value: unknown;
  try {
    value = await reader.readJson(METADATA_PATH);
  } catch (e) {
    if (e instanceof LifeboatError) throw e;
    throw new LifeboatError('CorruptBackup', `${where}: ${METADATA_PATH} is not valid JSON: ${(e as Error).message}`);
  }
  return parseMetadataExport(value, `${where} ${METADATA_PATH}`, 'CorruptBackup');
}

export async function writeMetadataFile(path: string, exp: KafkaMetadataExport, overwrite = false): Promise<void> {
  if (!overwrite && existsSync(path)) throw new LifeboatError('UnsafeTarget', `${path} already exists; choose another --out file`);
  const tmp = `${path}.lifeboat-tmp`;
  await writeFile(tmp, `${JSON.stringify(exp, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

export async function readMetadataFile(path: string): Promise<KafkaMetadataExport> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new LifeboatError('InvalidInput', `cannot read metadata export ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new LifeboatError('InvalidInput', `metadata export ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseMetadataExport(value, path, 'InvalidInput');
}
