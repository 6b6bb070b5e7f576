/** `lifeboat config backup|diff|restore` as an operator runs it (restores only into temp dirs). */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lifeboat } from '../support/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { findCluster, zkConnect } from '../../lab/topology';
import { openRepository } from '../../src/repository';
import { topo } from '../support/lab';

const primaryYaml = findCluster(topo, 'primary').specFile;
const standbyYaml = findCluster(topo, 'standby').specFile;
const tmp = mkdtempSync(join(tmpdir(), 'lifeboat-cfgcli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


describe('lifeboat config', () => {
  it('backup, diff, restore with rewrites, refusal to overwrite, bad manifest', async () => {
    const backup = join(tmp, 'backup');
    expect((await lifeboat('config', 'backup', '--spec', primaryYaml, '--out', backup)).code).toBe(0);
    const diff = await lifeboat('config', 'diff', '--spec', primaryYaml, '--in', backup, '--json');
    expect(diff.code).toBe(0);
    expect(JSON.parse(diff.stdout)).toMatchObject({ changed: false });

    const target = join(tmp, 'standby-1');
    const args = ['config', 'restore', '--spec', primaryYaml, '--in', backup, '--broker', '3', '--target-spec', standbyYaml, '--target-broker', '1', '--target-dir', target];
    const dry = await lifeboat(...args, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('rewrite server.properties broker.id: 3 -> 1');
    expect(existsSync(target)).toBe(false);
    const done = await lifeboat(...args, '--json');
    expect(done.code).toBe(0);
    expect(readFileSync(join(target, 'server.properties'), 'utf8')).toContain(`\nzookeeper.connect=${zkConnect(topo)}/standby\n`);
    const again = await lifeboat(...args);
    expect(again.code).toBe(15);
    expect(again.stderr).toMatch(/refusing to overwrite .* nothing was written/);

    // --overwrite keeps the files it replaces as a pre-restore snapshot in the target cluster's repository.
    writeFileSync(join(target, 'server.properties'), 'broker.id=1\n# hand-edited before the restore\n');
    const standbyPrivate = join(tmp, 'standby-private-repo.yaml');
    writeFileSync(standbyPrivate, readFileSync(standbyYaml, 'utf8').replace(/path: .*repository\/standby$/m, `path: ${join(tmp, 'standby-repo')}`));
    const overwriteArgs = args.map((a) => (a === standbyYaml ? standbyPrivate : a));
    const replaced = await lifeboat(...overwriteArgs, '--overwrite');
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stderr).toMatch(/pre-restore snapshot [0-9a-f]{12} of the replaced config files saved/);
    expect(readFileSync(join(target, 'server.properties'), 'utf8')).not.toContain('hand-edited');
    const standbyRepo = await openRepository(join(tmp, 'standby-repo'), process.env.LIFEBOAT_PASSWORD!);
    try {
      const [pre] = await standbyRepo.snapshots({ tags: ['pre-restore'] });
      const kept = await standbyRepo.openSnapshot(pre!.id);
      const keptFile = kept.list('configs/').find((e) => e.path.endsWith('/server.properties'));
      expect((await kept.readBuffer(keptFile!.path)).toString()).toContain('# hand-edited before the restore');
    } finally {
      await standbyRepo.close();
    }

    // The same through a repository (a private one: a spec copy whose repository is in the temp dir).
    const spec = join(tmp, 'primary-private-repo.yaml');
    writeFileSync(spec, readFileSync(primaryYaml, 'utf8').replace(/path: .*repository\/primary$/m, `path: ${join(tmp, 'repo')}`));
    const toRepo = await lifeboat('config', 'backup', '--spec', spec, '--repo', '--json');
    expect(toRepo.code).toBe(0);
    expect(JSON.parse(toRepo.stdout).brokers).toHaveLength(3);
    const fromRepo = await lifeboat('config', 'diff', '--spec', spec, '--snapshot', 'latest', '--broker', '2');
    expect(fromRepo.code).toBe(0);
    expect(fromRepo.stdout.trim()).toBe('primary-broker-2 (broker 2): no changes');

    const manifest = join(backup, 'primary-broker-1', 'manifest.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"server.properties"', '"../../../etc/server.properties"'));
    const bad = await lifeboat('config', 'restore', '--spec', primaryYaml, '--in', backup, '--target-dir', join(tmp, 'never'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/malformed config manifest .*primary-broker-1: files\.\d\.name: a plain file name/);
    expect(existsSync(join(tmp, 'never'))).toBe(false);
  });
});
