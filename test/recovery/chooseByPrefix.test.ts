/**
 * `recover --set <id>` by a prefix of the set's id: a prefix of several sets (`offline` starts every
 * offline migration's) picked the oldest of them silently; it is refused, naming them.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SetRequirement } from '../../src/backup/coverage.pure';
import { parseSpec, type ClusterSpec } from '../../src/config/spec';
import { openRepositoryForSpec } from '../../src/repository';
import { chooseBackupSet } from '../../src/recovery/choose';
import { storeSet } from '../monitoring/sets';
import { tempDir } from '../repository/helpers';

const ZK_ONLY: SetRequirement = { kind: 'parts', parts: ['zookeeper'] };

describe('choosing a set by a prefix of its id', () => {
  let spec: ClusterSpec;
  beforeEach(async () => {
    process.env.LIFEBOAT_TEST_PREFIX_PW = 'pw-prefix';
    spec = parseSpec({ name: 'prod', kafka: { bootstrapServers: ['127.0.0.1:9'] }, repository: { path: join(tempDir('prefix'), 'repo'), password: { env: 'LIFEBOAT_TEST_PREFIX_PW' } } });
    const repo = await openRepositoryForSpec(spec, 'primary', { create: true, notice: () => undefined });
    try {
      await storeSet(repo, 'prod', 'offline-aaaa00000001', new Date('2026-11-01T00:00:00Z'), ['zookeeper'], ['zookeeper']);
      await storeSet(repo, 'prod', 'offline-bbbb00000002', new Date('2026-11-02T00:00:00Z'), ['zookeeper'], ['zookeeper']);
    } finally {
      await repo.close();
    }
  });
  afterEach(() => {
    delete process.env.LIFEBOAT_TEST_PREFIX_PW;
  });

  it('refuses a prefix of several sets, naming them, and takes a prefix of one', async () => {
    await expect(chooseBackupSet(spec, { setId: 'offline', require: ZK_ONLY })).rejects.toMatchObject({
      type: 'InvalidInput',
      message: 'backup set offline of prod is ambiguous: 2 sets start with it (offline-aaaa00000001, offline-bbbb00000002); give more of its id',
    });
    // A prefix of one set, or a whole id, is that set: it is then checked (these hold no real ZooKeeper tree, so
    // the check names the set it took and finds it unusable).
    for (const [asked, taken] of [['offline-aaaa', 'offline-aaaa00000001'], ['offline-bbbb00000002', 'offline-bbbb00000002']]) {
      await expect(chooseBackupSet(spec, { setId: asked, require: ZK_ONLY })).rejects.toMatchObject({ type: 'CorruptBackup', message: expect.stringMatching(new RegExp(`\\(none that covers the parts asked for \\(zookeeper\\) verifies\\): ${taken}: zookeeper: `)) });
    }
  });
});
