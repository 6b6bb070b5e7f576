/**
 * Broker config capture, diff and restore on the lab's real config dirs. The real dirs are only
 * read; every change and every restore happens in copies under a temp dir.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { LifeboatError } from '../../src/errors';
import { captureBrokerConfigs, captureConfigs, diffConfigs, restoreBrokerConfigs } from '../../src/host/brokerConfigs';
import { readConfigsComponent, readConfigsDir, writeConfigsComponent, writeConfigsDir } from '../../src/host/brokerConfigsStore';
import { parseProperties } from '../../src/host/properties';
import { initRepository } from '../../src/repository';
import { primarySpec, standbySpec } from '../support/lab';

const tmp = mkdtempSync(join(tmpdir(), 'lifeboat-configs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const props = (file: string) => Object.fromEntries(parseProperties(readFileSync(file, 'latin1')).values);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The primary spec with broker `id`'s configDir pointing at a private copy. */
function specWithCopy(id: number, name: string): { spec: ClusterSpec; dir: string } {
  const spec = primarySpec();
  const broker = spec.brokers.find((b) => b.id === id)!;
  const dir = join(tmp, name);
  cpSync(broker.configDir, dir, { recursive: true });
  return { spec: { ...spec, brokers: spec.brokers.map((b) => (b.id === id ? { ...b, configDir: dir } : b)) }, dir };
}

async function expectError(p: Promise<unknown>, type: string, message: RegExp) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LifeboatError);
  expect((err as LifeboatError).type).toBe(type);
  expect((err as LifeboatError).message).toMatch(message);
}

describe('config capture', () => {
  it('captures server.properties and log4j.properties of every primary broker with a manifest', async () => {
    const spec = primarySpec();
    const captures = await captureConfigs(spec);
    expect(captures.map((c) => c.manifest.host)).toEqual(['primary-broker-1', 'primary-broker-2', 'primary-broker-3']);
    for (const c of captures) {
      const broker = spec.brokers.find((b) => b.id === c.manifest.brokerId)!;
      expect(c.manifest.files.map((f) => f.name)).toEqual(['log4j.properties', 'server.properties']);
      for (const f of c.manifest.files) {
        const onDisk = readFileSync(join(broker.configDir, f.name));
        expect(f).toMatchObject({ size: onDisk.length, sha256: sha(onDisk) });
        expect(c.files.get(f.name)!.equals(onDisk)).toBe(true);
      }
      expect(c.manifest).toMatchObject({ cluster: 'primary', listener: broker.listener, logDirs: broker.logDirs });
    }
  });

  it('round-trips through a directory and through a real repository snapshot', async () => {
    const captures = await captureConfigs(primarySpec());
    const dir = join(tmp, 'backup-dir');
    await writeConfigsDir(dir, captures);
    await expectError(writeConfigsDir(dir, captures), 'UnsafeTarget', /already holds a config backup/);
    const fromDir = await readConfigsDir(dir);
    expect(fromDir.map((c) => c.manifest)).toEqual(captures.map((c) => c.manifest));

    const repo = await initRepository(join(tmp, 'repo'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
    try {
      const w = await repo.newSnapshot({ cluster: 'primary', components: ['configs'] });
      await writeConfigsComponent(w, captures);
      const meta = await w.commit();
      const back = await readConfigsComponent(await repo.openSnapshot(meta.id));
      expect(back.map((c) => c.manifest)).toEqual(captures.map((c) => c.manifest));
      for (const [i, c] of back.entries()) {
        for (const [name, content] of c.files) expect(content.equals(captures[i]!.files.get(name)!)).toBe(true);
      }
    } finally {
      await repo.close();
    }
  });
});

describe('config diff', () => {
  it('reports changed, added and removed keys per file with secrets redacted', async () => {
    const { spec, dir } = specWithCopy(1, 'diff-broker-1');
    const server = join(dir, 'server.properties');
    writeFileSync(server, `${readFileSync(server, 'latin1')}sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required password="old-secret";\n`);
    const broker = spec.brokers.find((b) => b.id === 1)!;
    const snapshot = await captureBrokerConfigs('primary', broker);

    const text = readFileSync(server, 'latin1')
      .replace('num.io.threads=4', 'num.io.threads=8')
      .replace('delete.topic.enable=true\n', '')
      .replace('old-secret', 'new-secret');
    writeFileSync(server, `${text}ssl.keystore.password=added-secret\nbackground.threads=12\n`);
    writeFileSync(join(dir, 'producer.properties'), 'acks=all\n');
    const current = await captureBrokerConfigs('primary', broker);

    const d = diffConfigs(snapshot, current);
    expect(d.changed).toBe(true);
    expect(d.files.map((f) => [f.file, f.status])).toEqual([
      ['log4j.properties', 'same'],
      ['producer.properties', 'added'],
      ['server.properties', 'changed'],
    ]);
    const keys = d.files.find((f) => f.file === 'server.properties')!.keys;
    expect(keys.map((k) => [k.key, k.change])).toEqual([
      ['background.threads', 'added'],
      ['delete.topic.enable', 'removed'],
      ['num.io.threads', 'changed'],
      ['sasl.jaas.config', 'changed'],
      ['ssl.keystore.password', 'added'],
    ]);
    expect(keys.find((k) => k.key === 'num.io.threads')).toMatchObject({ before: '4', after: '8' });
    const jaas = keys.find((k) => k.key === 'sasl.jaas.config')!;
    expect(jaas.before).toMatch(/^<redacted sha256:[0-9a-f]{8}>$/);
    expect(jaas.after).toMatch(/^<redacted sha256:[0-9a-f]{8}>$/);
    expect(jaas.before).not.toBe(jaas.after);
    const shown = JSON.stringify(d);
    for (const secret of ['old-secret', 'new-secret', 'added-secret', 'PlainLoginModule']) expect(shown).not.toContain(secret);

    expect(diffConfigs(snapshot, snapshot).changed).toBe(false);
  });
});

describe('config restore', () => {
  it('restores primary broker 2 as standby broker 1 with identity keys rewritten from the target spec', async () => {
    const source = (await captureConfigs(primarySpec(), [2]))[0]!;
    const standby = standbySpec();
    const target = standby.brokers[0]!;
    const dir = join(tmp, 'restore-standby-1');

    const dry = await restoreBrokerConfigs(source, { targetSpec: standby, targetBrokerId: 1, targetDir: dir, dryRun: true });
    expect(existsSync(dir)).toBe(false);
    expect(dry.rewritten).toBe(true);
    expect(dry.rewrites.map((r) => r.key).sort()).toEqual(['advertised.listeners', 'broker.id', 'listeners', 'log.dirs', 'zookeeper.connect']);
    expect(dry.rewrites.find((r) => r.key === 'broker.id')).toMatchObject({ before: '2', after: '1' });
    expect(dry.files.map((f) => f.action)).toEqual(['create', 'create']);

    const plan = await restoreBrokerConfigs(source, { targetSpec: standby, targetBrokerId: 1, targetDir: dir });
    expect(plan.written).toBe(true);
    const restored = props(join(dir, 'server.properties'));
    const original = props(join(primarySpec().brokers.find((b) => b.id === 2)!.configDir, 'server.properties'));
    expect(restored).toEqual({
      ...original,
      'broker.id': '1',
      // The spec's listener moves to the target's host:port; the lab's applications' listener keeps its port.
      listeners: original.listeners!.replace(/^PLAINTEXT:\/\/[^,]+/, `PLAINTEXT://${target.listener}`),
      'advertised.listeners': original['advertised.listeners']!.replace(/^PLAINTEXT:\/\/[^,]+/, `PLAINTEXT://${target.listener}`),
      'log.dirs': target.logDirs.join(','),
      'zookeeper.connect': `${standby.zookeeper!.connect}${standby.zookeeper!.chroot}`,
    });
    // Comments and order survive; only the identity lines changed.
    const text = readFileSync(join(dir, 'server.properties'), 'latin1');
    expect(text.split('\n')[0]).toBe('# Lifeboat lab broker 2 of cluster "primary" (ZooKeeper mode)');
    expect(text.split('\n')[1]).toBe('broker.id=1');
    // log4j.properties names primary-2's log dir: copied as is, with a warning to review it.
    expect(readFileSync(join(dir, 'log4j.properties')).equals(source.files.get('log4j.properties')!)).toBe(true);
    expect(plan.warnings.some((w) => w.startsWith('log4j.properties mentions') && w.includes('primary-2'))).toBe(true);

    // A second restore refuses to overwrite, writes nothing; --overwrite replaces.
    writeFileSync(join(dir, 'server.properties'), 'edited=by-operator\n');
    await expectError(restoreBrokerConfigs(source, { targetSpec: standby, targetBrokerId: 1, targetDir: dir }), 'UnsafeTarget', /refusing to overwrite .*server\.properties/);
    expect(readFileSync(join(dir, 'server.properties'), 'utf8')).toBe('edited=by-operator\n');
    const again = await restoreBrokerConfigs(source, { targetSpec: standby, targetBrokerId: 1, targetDir: dir, overwrite: true });
    expect(again.files.map((f) => f.action)).toEqual(['overwrite', 'overwrite']);
    expect(props(join(dir, 'server.properties'))['broker.id']).toBe('1');
  });

  it('restores to the same broker byte for byte, without rewrites', async () => {
    const source = (await captureConfigs(primarySpec(), [3]))[0]!;
    const dir = join(tmp, 'restore-same-3');
    const plan = await restoreBrokerConfigs(source, { targetDir: dir });
    expect(plan).toMatchObject({ rewritten: false, rewrites: [], written: true });
    for (const [name, content] of source.files) expect(readFileSync(join(dir, name)).equals(content)).toBe(true);
  });

  it('bad input: a manifest naming "../" or a tampered file is refused and nothing is written', async () => {
    const captures = await captureConfigs(primarySpec(), [1]);
    const dir = join(tmp, 'bad-backup');
    await writeConfigsDir(dir, captures);
    const manifestFile = join(dir, 'primary-broker-1', 'manifest.json');
    const good = readFileSync(manifestFile, 'utf8');

    const evil = JSON.parse(good);
    evil.files[0].name = '../../evil.properties';
    writeFileSync(manifestFile, JSON.stringify(evil));
    await expectError(readConfigsDir(dir), 'InvalidInput', /malformed config manifest .*files\.0\.name: a plain file name/);

    writeFileSync(manifestFile, '{ not json');
    await expectError(readConfigsDir(dir), 'InvalidInput', /is not valid JSON/);

    writeFileSync(manifestFile, good);
    writeFileSync(join(dir, 'primary-broker-1', 'server.properties'), 'broker.id=666\n');
    await expectError(readConfigsDir(dir), 'InvalidInput', /server\.properties does not match its manifest/);

    // The same in a repository snapshot: CorruptBackup, and no file name is ever used as a path.
    const repo = await initRepository(join(tmp, 'bad-repo'), 'test-password', { scrypt: { N: 1024, r: 8, p: 1 } });
    try {
      const w = await repo.newSnapshot({ cluster: 'primary', components: ['configs'] });
      await w.writeJson('configs/primary-broker-1/manifest.json', evil);
      await w.writeFile('configs/primary-broker-1/server.properties', Buffer.from('broker.id=1\n'));
      const meta = await w.commit();
      await expectError(readConfigsComponent(await repo.openSnapshot(meta.id)), 'CorruptBackup', /files\.0\.name: a plain file name/);
    } finally {
      await repo.close();
    }

    // An unknown target broker is refused before anything is written.
    const target = join(tmp, 'never-written');
    await expectError(
      restoreBrokerConfigs(captures[0]!, { targetSpec: standbySpec(), targetBrokerId: 9, targetDir: target }),
      'InvalidInput',
      /cluster "standby" has no broker 9/,
    );
    mkdirSync(join(tmp, 'empty'), { recursive: true });
    await expectError(readConfigsDir(join(tmp, 'empty')), 'InvalidInput', /no broker configs in/);
    expect(existsSync(target)).toBe(false);
  });
});
