/**
 * The kafka-metadata component through a real repository and a JSON file, and what happens when
 * it is malformed: a clear error naming the field, and nothing returned to apply.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/errors';
import { type KafkaMetadataExport, METADATA_FORMAT } from '../../src/kafka/metadata';
import { METADATA_PATH, readMetadataComponent, readMetadataFile, writeMetadataComponent, writeMetadataFile } from '../../src/kafka/metadataStore';
import { initRepository } from '../../src/repository';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-mdstore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sample: KafkaMetadataExport = {
  format: METADATA_FORMAT,
  exportedAt: '2026-01-01T00:00:00.000Z',
  cluster: { id: 'NMtgZPoKTmCD1igtOrMWVQ', name: 'primary', controller: 1, brokers: [{ nodeId: 1, host: '127.0.0.1', port: 19091 }] },
  topics: [{ name: 'orders', partitions: 2, replicationFactor: 1, assignment: [{ partition: 0, replicas: [1] }, { partition: 1, replicas: [1] }], configs: { 'retention.ms': '1000' }, sensitiveConfigs: [] }],
  groups: [{ groupId: 'g', state: 'Empty', protocolType: 'consumer', members: 0, offsets: [{ topic: 'orders', partition: 0, offset: '5', metadata: null }] }],
  acls: [{ resourceType: 'TOPIC', resourceName: 'orders', patternType: 'LITERAL', principal: 'User:a', host: '*', operation: 'READ', permission: 'ALLOW' }],
  aclsCaptured: true,
  warnings: [],
};

async function errorOf(p: Promise<unknown>): Promise<LifeboatError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(LifeboatError);
  return e as LifeboatError;
}

describe('kafka-metadata component', () => {
  it('round-trips through a repository snapshot, with points recorded', async () => {
    const repo = await initRepository(join(dir, 'repo'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 }, notice: () => undefined });
    try {
      const w = await repo.newSnapshot({ cluster: 'primary', components: ['kafka-metadata'] });
      await writeMetadataComponent(w, sample);
      const meta = await w.commit();
      expect(meta.points['kafka-metadata']).toMatchObject({ clusterId: sample.cluster.id, topics: 1, groups: 1, acls: 1 });
      expect(await readMetadataComponent(await repo.openSnapshot(meta.id))).toEqual(sample);

      // A snapshot whose component is malformed: CorruptBackup naming the field.
      const bad = await repo.newSnapshot({ cluster: 'primary', components: ['kafka-metadata'] });
      await bad.writeJson(METADATA_PATH, { ...sample, groups: [{ ...sample.groups[0], offsets: [{ topic: 'orders', partition: 0, offset: 'five', metadata: null }] }] });
      const badMeta = await bad.commit();
      const e = await errorOf(readMetadataComponent(await repo.openSnapshot(badMeta.id)));
      expect(e.type).toBe('CorruptBackup');
      expect(e.message).toMatch(/malformed Kafka metadata in snapshot [0-9a-f]{8} kafka-metadata\/metadata\.json: groups\[0\]\.offsets\[0\]\.offset: an integer offset/);

      // A snapshot without the component at all.
      const none = await repo.newSnapshot({ cluster: 'primary', components: ['configs'] });
      await none.writeJson('configs/x/manifest.json', {});
      const noneMeta = await none.commit();
      expect((await errorOf(readMetadataComponent(await repo.openSnapshot(noneMeta.id)))).type).toBe('SnapshotNotFound');
    } finally {
      await repo.close();
    }
  });

  it('round-trips through a file; refuses to overwrite; malformed files are InvalidInput', async () => {
    const file = join(dir, 'md.json');
    await writeMetadataFile(file, sample);
    expect(await readMetadataFile(file)).toEqual(sample);
    expect((await errorOf(writeMetadataFile(file, sample))).type).toBe('UnsafeTarget');

    writeFileSync(file, '{"format": "lifeboat.kafka-metadata/v1", ');
    expect((await errorOf(readMetadataFile(file))).message).toMatch(/is not valid JSON/);
    writeFileSync(file, JSON.stringify({ ...sample, acls: [{ ...sample.acls[0], operation: 'EAT' }] }));
    const e = await errorOf(readMetadataFile(file));
    expect(e.type).toBe('InvalidInput');
    expect(e.message).toMatch(/acls\[0\]\.operation/);
    writeFileSync(file, JSON.stringify({ ...sample, format: 'something-else' }));
    expect((await errorOf(readMetadataFile(file))).message).toMatch(/format/);
  });
});
