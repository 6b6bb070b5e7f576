/**
 * The zookeeper/ and registry/ snapshot components through the real repository, and the CLI on
 * files: export → diff → import, malformed input and unsafe paths refused with nothing written.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lifeboat } from '../support/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRepository, openRepository } from '../../src/repository';
import { findCluster } from '../../lab/topology';
import { topo } from '../support/lab';
import { captureRegistry } from '../../src/registry/registry';
import { readRegistryComponent, writeRegistryComponent } from '../../src/registry/storage';
import { exists, getData, setData, type ZkClient } from '../../src/zookeeper/client';
import { exportTree } from '../../src/zookeeper/export';
import { materializeZkTree, readZkComponent, writeZkComponent } from '../../src/zookeeper/storage';
import { serializeExport } from '../../src/zookeeper/tree';
import { deleteTree, mk, newScratchRoot, session, ZK } from './scratch';

const root = newScratchRoot();
let zk: ZkClient;


beforeAll(async () => {
  zk = await session();
  await mk(zk, root);
  await mk(zk, `${root}/tree`, 'top');
  for (let i = 0; i < 20; i++) await mk(zk, `${root}/tree/n${i}`, Buffer.from([i, 0, 255]));
  await mk(zk, `${root}/services`);
  await mk(zk, `${root}/services/api`);
});

afterAll(async () => {
  if (zk) await deleteTree(zk, root);
  zk?.close();
});

describe('snapshot components through the repository', () => {
  it('writes and reads zookeeper/ (full, then incremental with its parent) and registry/', async () => {
    const repo = await initRepository(mkdtempSync(join(tmpdir(), 'lifeboat-zkrepo-')), 'pw', { scrypt: { N: 1024, r: 8, p: 1 } });
    try {
      const full = await exportTree(zk, `${root}/tree`);
      const w1 = await repo.newSnapshot({ cluster: 'zk-test', components: ['zookeeper', 'registry'] });
      await writeZkComponent(w1, full);
      await writeRegistryComponent(w1, await captureRegistry(zk, { curator: `${root}/services`, dubbo: null }));
      const m1 = await w1.commit();
      expect(m1.points).toMatchObject({ zookeeper: { zxid: full.zxid, kind: 'full' } });

      await setData(zk, `${root}/tree/n3`, Buffer.from('changed'));
      const inc = await exportTree(zk, `${root}/tree`, { base: full });
      const w2 = await repo.newSnapshot({ cluster: 'zk-test', components: ['zookeeper'], parent: m1.id });
      await writeZkComponent(w2, inc);
      const m2 = await w2.commit();

      const r1 = await repo.openSnapshot(m1.id);
      expect(await readZkComponent(r1)).toEqual(full);
      const reg = await readRegistryComponent(r1);
      expect(reg.registry.services.map((s) => s.name)).toEqual(['api']);

      const { tree, snapshots } = await materializeZkTree(repo, m2.id);
      expect(snapshots.map((s) => s.id)).toEqual([m1.id, m2.id]);
      expect(Buffer.from(tree.nodes.find((n) => n.path === '/n3')!.data!, 'base64').toString()).toBe('changed');
      expect(tree.zxid).toBe(inc.zxid);
    } finally {
      await repo.close();
    }
  });
});

describe('lifeboat zk CLI', () => {
  it('export → diff → import into another root; mirror without --confirm is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-zkcli-'));
    const file = join(dir, 'tree.jsonl');
    const ex = await lifeboat('zk', 'export', '--zk', ZK, '--root', `${root}/tree`, '--out', file, '--json');
    expect(ex.code, ex.stderr).toBe(0);
    expect(JSON.parse(ex.stdout.trim().split('\n').at(-1)!)).toMatchObject({ nodes: 21, consistent: true });

    const target = `${root}/cli-copy`;
    const diff = await lifeboat('zk', 'diff', '--zk', ZK, '--in', file, '--target-root', target);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain(`+ ${target}/n0 (3 bytes)`);
    expect(await exists(zk, target)).toBeNull();

    const imp = await lifeboat('zk', 'import', '--zk', ZK, '--in', file, '--target-root', target, '--json');
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout.trim().split('\n').at(-1)!)).toMatchObject({ created: 21 });
    expect([...(await getData(zk, `${target}/n7`)).data!]).toEqual([7, 0, 255]);

    await mk(zk, `${target}/extra`);
    const mirror = await lifeboat('zk', 'import', '--zk', ZK, '--in', file, '--target-root', target, '--mode', 'mirror');
    expect(mirror.code).toBe(2);
    expect(mirror.stderr).toMatch(/mirror would delete 1 node\(s\).*pass --confirm/);
    expect(await exists(zk, `${target}/extra`)).not.toBeNull();
  }, 60_000);

  it('import into a live target keeps a pre-restore snapshot first, and is refused where it cannot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-zkpre-'));
    const file = join(dir, 'tree.jsonl');
    expect((await lifeboat('zk', 'export', '--zk', ZK, '--root', `${root}/tree`, '--out', file)).code).toBe(0);
    const target = `${root}/live`;
    await mk(zk, target);
    await mk(zk, `${target}/n0`, 'old');

    // No spec, so no repository to keep the old state in: refused, nothing written.
    const refused = await lifeboat('zk', 'import', '--zk', ZK, '--in', file, '--target-root', target, '--mode', 'overwrite');
    expect(refused.code).toBe(15);
    expect(refused.stderr).toMatch(/no repository to keep a pre-restore snapshot in.*--no-pre-restore-snapshot/);
    expect((await getData(zk, `${target}/n0`)).data!.toString()).toBe('old');

    // A spec with a repository: the target subtree is kept there before it is overwritten.
    const spec = join(dir, 'primary.yaml');
    writeFileSync(spec, readFileSync(findCluster(topo, 'primary').specFile, 'utf8').replace(/path: .*repository\/primary$/m, `path: ${join(dir, 'repo')}`));
    const ok = await lifeboat('zk', 'import', '--spec', spec, '--in', file, '--target-root', target, '--mode', 'overwrite', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    const pre = JSON.parse(ok.stdout.trim().split('\n').at(-1)!).preRestoreSnapshot as string;
    expect(pre).toMatch(/^[0-9a-f]{64}$/);
    expect((await getData(zk, `${target}/n0`)).data!.toString()).not.toBe('old');
    const repo = await openRepository(join(dir, 'repo'), process.env.LIFEBOAT_PASSWORD!);
    try {
      const snap = await repo.openSnapshot(pre);
      expect(snap.meta.tags).toContain('pre-restore');
      const kept = await readZkComponent(snap);
      expect(kept.root).toBe(target);
      expect(Buffer.from(kept.nodes.find((n) => n.path === '/n0')!.data!, 'base64').toString()).toBe('old');
    } finally {
      await repo.close();
    }

    // The explicit opt-out writes without one.
    await setData(zk, `${target}/n0`, Buffer.from('old again'));
    const optOut = await lifeboat('zk', 'import', '--zk', ZK, '--in', file, '--target-root', target, '--mode', 'overwrite', '--no-pre-restore-snapshot', '--json');
    expect(optOut.code, optOut.stderr).toBe(0);
    const optOutResult = JSON.parse(optOut.stdout.trim().split('\n').at(-1)!);
    expect(optOutResult.updated).toBe(1);
    expect(optOutResult).not.toHaveProperty('preRestoreSnapshot');
    expect((await getData(zk, `${target}/n0`)).data!.toString()).not.toBe('old again');
  }, 90_000);

  it('malformed component, a path with "..", an unreachable ZooKeeper: one clear line, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-zkbad-'));
    const good = await exportTree(zk, `${root}/tree`);
    const target = `${root}/never`;

    const truncated = join(dir, 'truncated.jsonl');
    writeFileSync(truncated, serializeExport(good).subarray(0, 400));
    const a = await lifeboat('zk', 'import', '--zk', ZK, '--in', truncated, '--target-root', target);
    expect(a.code).toBe(13);
    expect(a.stderr.trim()).toMatch(/^lifeboat: ZooKeeper export .* is malformed: /);
    expect(a.stderr).not.toMatch(/\n\s+at /);

    const escape = join(dir, 'escape.jsonl');
    writeFileSync(escape, serializeExport({ ...good, nodes: [...good.nodes, { ...good.nodes[1]!, path: '/n1/../../../etc' }] }));
    const b = await lifeboat('zk', 'import', '--zk', ZK, '--in', escape, '--target-root', target);
    expect(b.code).toBe(13);
    expect(b.stderr).toMatch(/unsafe path "\/n1\/..\/..\/..\/etc"/);

    const c = await lifeboat('zk', 'import', '--zk', '127.0.0.1:1', '--in', join(dir, 'truncated.jsonl'));
    expect(c.code).toBe(13); // the file is checked before connecting
    writeFileSync(join(dir, 'ok.jsonl'), serializeExport(good));
    const d = await lifeboat('zk', 'diff', '--zk', '127.0.0.1:1', '--in', join(dir, 'ok.jsonl'));
    expect(d.code).toBe(18);
    expect(d.stderr).toMatch(/^lifeboat: ZooKeeper 127\.0\.0\.1:1 unreachable for \d+ s \(connection refused\): is it running/);
    expect(await exists(zk, target)).toBeNull();
  }, 60_000);
});
