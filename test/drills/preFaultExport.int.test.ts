/**
 * A drill fault's pre-fault export is the only copy of what the fault deleted while the fault is
 * applied: `lifeboat repo forget` (here --keep-last 1, with --prune) keeps it, names why, and it still
 * restores the chroot; once the drill's record is saved (after every revert) the same forget removes it.
 * On the lab's ZooKeeper with a scratch chroot and a repository of the test's own.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { labPasswordFile } from '../../lab/specs';
import { type ClusterSpec, parseSpec } from '../../src/config/spec';
import { applyFault, faultSnapshotTags, revertFault } from '../../src/drills/faults';
import { saveDrillRecord } from '../../src/drills/history';
import { openRepositoryForSpec } from '../../src/repository';
import { deleteTree } from '../../src/zookeeper/deleteTree';
import { ACL, create, exists, Id, Permission, withZk } from '../../src/zookeeper/client';
import { lifeboat } from '../support/cli';
import { standbySpec, topo, unique } from '../support/lab';
import { recordOf } from './recordFixtures';

const OPEN = [new ACL(Permission.ALL, new Id('world', 'anyone'))];

interface ForgetDoc {
  keep: { id: string; reasons: string[] }[];
  remove: { id: string }[];
}

describe('a pre-fault export during its drill', () => {
  const standby = standbySpec();
  const zkConnect = standby.zookeeper!.connect;
  const name = unique('drillfg');
  const spec: ClusterSpec = parseSpec({
    ...standby,
    name,
    zookeeper: { connect: zkConnect, chroot: `/${name}` },
    registry: undefined,
    repository: { path: join(tmpdir(), `${name}-repo`), password: { file: labPasswordFile(topo) }, compression: 'auto' },
    offsiteRepository: undefined,
    standby: undefined,
  });
  const chroot = spec.zookeeper!.chroot!;
  const specFile = join(tmpdir(), `${name}.yaml`);
  const drillId = `drill-${name}-zookeeper-data-lost-t1`;

  beforeAll(async () => {
    writeFileSync(specFile, stringify(spec));
    await withZk(zkConnect, async (zk) => {
      await create(zk, chroot, Buffer.from('root'), OPEN);
      await create(zk, `${chroot}/config`, Buffer.from('{"a":1}'), OPEN);
    });
  });

  afterAll(async () => {
    await withZk(zkConnect, (zk) => deleteTree(zk, chroot));
    rmSync(spec.repository!.path, { recursive: true, force: true });
    rmSync(specFile, { force: true });
  });

  it('repo forget --keep-last 1 keeps it while the fault is applied, and removes it once the drill is recorded', { timeout: 120_000 }, async () => {
    const applied = await applyFault(spec, drillId, { kind: 'zookeeper-chroot' });
    expect(await withZk(zkConnect, (zk) => exists(zk, chroot))).toBeNull();
    const exportId = applied.zkExport!.snapshot;
    // Something newer in the repository, so keep-last 1 would take the export's slot.
    const repo = await openRepositoryForSpec(spec);
    try {
      await repo.saveSnapshot({ cluster: name, components: ['zookeeper'], tags: ['export'], time: new Date(Date.now() + 60_000) }, (w) => w.writeJson('zookeeper/tree.json', { other: 1 }).then(() => undefined));
    } finally {
      await repo.close();
    }

    const during = await lifeboat('repo', 'forget', '--spec', specFile, '--keep-last', '1', '--prune', '--json');
    expect(during.code, during.stderr).toBe(0);
    const doc = JSON.parse(during.stdout) as ForgetDoc;
    expect(doc.remove).toEqual([]);
    expect(doc.keep.find((k) => k.id === exportId)?.reasons).toEqual([`pre-fault export of drill ${drillId} (kept until the drill's record is saved)`]);
    const text = await lifeboat('repo', 'forget', '--spec', specFile, '--keep-last', '1');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`(pre-fault export of drill ${drillId} (kept until the drill's record is saved))`);

    // Still there and whole: the revert restores the chroot from it.
    const reverted = await revertFault(spec, drillId, applied, 'restore');
    expect(reverted.detail).toContain(`imported from snapshot ${exportId.slice(0, 12)}`);
    expect((await withZk(zkConnect, (zk) => exists(zk, `${chroot}/config`)))).not.toBeNull();

    // The drill's record saved (the review does so after every revert): the export is released.
    const writer = await openRepositoryForSpec(spec);
    try {
      await saveDrillRecord(writer, recordOf(name, drillId, { start: new Date().toISOString(), recoveryMin: 5, scenario: 'zookeeper-data-lost' }));
    } finally {
      await writer.close();
    }
    const after = await lifeboat('repo', 'forget', '--spec', specFile, '--keep-last', '1', '--json');
    expect(after.code, after.stderr).toBe(0);
    expect((JSON.parse(after.stdout) as ForgetDoc).remove.map((r) => r.id)).toEqual([exportId]);
    const left = await openRepositoryForSpec(spec);
    try {
      expect(await left.snapshots({ cluster: name, tags: faultSnapshotTags(drillId, 'zookeeper-chroot') })).toEqual([]);
      expect((await left.snapshots({ cluster: name, tags: ['drill'] })).length).toBe(1);
    } finally {
      await left.close();
    }
  });
});
