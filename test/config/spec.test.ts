import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadSpec, parseSpec, resolveSecret, SpecError, zkAuthOf } from '../../src/config/spec';
import { labSpec } from '../../lab/specs';
import { labTopology } from '../../lab/topology';
import { testDir } from '../support/tmp';

const minimal = {
  name: 'prod-east',
  kafka: { bootstrapServers: ['k1:9092'] },
  brokers: [{ id: 1, host: 'k1', logDirs: ['/var/kafka-logs'], configDir: '/etc/kafka', control: { type: 'systemd', unit: 'kafka.service' } }],
};

describe('cluster spec', () => {
  it('accepts a minimal spec and fills the defaults (seed retention tiers, zookeeper mode)', () => {
    const s = parseSpec(minimal);
    expect(s.kafka.mode).toBe('zookeeper');
    expect(s.retention).toEqual({ keepLast: 1, keepHourly: 24, keepDaily: 7, keepWeekly: 4, keepMonthly: 12 });
    expect(s.topics.critical).toEqual([]);
  });

  it('names every bad field in its error', () => {
    const bad = {
      ...minimal,
      kafka: { bootstrapServers: ['no-port'] },
      brokers: [{ ...minimal.brokers[0], logDirs: ['relative/dir'], control: { type: 'systemd' } }],
    };
    let msg = '';
    try {
      parseSpec(bad, 'bad.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      msg = (e as Error).message;
    }
    expect(msg).toContain('invalid cluster spec bad.yaml');
    expect(msg).toContain('kafka.bootstrapServers[0]: expected host:port');
    expect(msg).toContain('brokers[0].logDirs[0]: must be an absolute path');
    expect(msg).toContain('brokers[0].control.unit');
  });

  it('refuses unknown fields and duplicate broker ids', () => {
    expect(() => parseSpec({ ...minimal, passwrod: 'x' })).toThrow(/passwrod/);
    expect(() => parseSpec({ ...minimal, brokers: [minimal.brokers[0], minimal.brokers[0]] })).toThrow(/broker id 1 appears twice/);
  });

  it('reports unreadable and non-YAML files in one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spec-'));
    writeFileSync(join(dir, 'x.yaml'), 'name: [unclosed');
    expect(() => loadSpec(join(dir, 'x.yaml'))).toThrow(/is not valid YAML/);
    expect(() => loadSpec(join(dir, 'missing.yaml'))).toThrow(/cannot read cluster spec .*ENOENT/);
  });

  it('resolves secret references from env and files, never from the spec itself', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secret-'));
    writeFileSync(join(dir, 'pw'), 's3cret\n');
    expect(resolveSecret({ env: 'X_PW' }, { X_PW: 'abc' })).toBe('abc');
    expect(resolveSecret({ file: 'pw' }, {}, dir)).toBe('s3cret');
    expect(() => resolveSecret({ env: 'NOPE' }, {})).toThrow(/NOPE is not set/);
  });

  it('the lab writes specs that validate', () => {
    const topo = labTopology({ LIFEBOAT_LAB_DIR: '/tmp/lab-x' });
    const p = labSpec(topo, topo.clusters[0]!);
    expect(p.brokers.map((b) => b.id)).toEqual([1, 2, 3]);
    expect(p.zookeeper?.chroot).toBe('/primary');
    expect(p.standby).toBe('standby');
  });
});

/** The one message line naming `field`, from a spec refused by parseSpec. */
function refusal(input: unknown): string {
  try {
    parseSpec(input, 'bad.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  throw new Error('the spec was accepted');
}

describe('cluster spec: what cannot be right is refused, naming the field', () => {
  const b1 = minimal.brokers[0]!;
  const withBroker = (over: Record<string, unknown>, ...more: Record<string, unknown>[]) => ({ ...minimal, brokers: [{ ...b1, ...over }, ...more] });

  it('a log dir or config dir of "/"', () => {
    expect(refusal(withBroker({ logDirs: ['/var/kafka', '/'] }))).toMatch(/^ {2}brokers\[0\]\.logDirs\[1\]: must not be "\/"/m);
    expect(refusal(withBroker({ logDirs: ['//'] }))).toMatch(/brokers\[0\]\.logDirs\[0\]: must not be "\/"/);
    expect(refusal(withBroker({ configDir: '/' }))).toMatch(/brokers\[0\]\.configDir: must not be "\/"/);
  });

  it('".." in paths', () => {
    expect(refusal(withBroker({ logDirs: ['/var/kafka/../..'] }))).toMatch(/brokers\[0\]\.logDirs\[0\]: "\/var\/kafka\/\.\.\/\.\." contains "\.\."/);
    expect(refusal(withBroker({ configDir: '/etc/../etc/kafka' }))).toMatch(/brokers\[0\]\.configDir: .*contains "\.\."/);
    expect(refusal({ ...minimal, repository: { path: '/backups/../x', password: { env: 'PW' } } })).toMatch(/repository\.path: .*contains "\.\."/);
    expect(refusal({ ...minimal, kafka: { ...minimal.kafka, ssl: { ca: '/etc/ssl/../ca.pem' } } })).toMatch(/kafka\.ssl\.ca: .*contains "\.\."/);
  });

  it('two brokers sharing a log dir on one host (the same path on two hosts is fine)', () => {
    const b2 = { ...b1, id: 2 };
    expect(refusal(withBroker({}, { ...b2, logDirs: ['/var/kafka-logs/'] }))).toMatch(
      /brokers\[1\]\.logDirs\[0\]: \/var\/kafka-logs\/ is also the log dir of broker 1 on host k1/,
    );
    expect(refusal(withBroker({}, { ...b2, logDirs: ['/var/kafka-logs/b2'] }))).toMatch(/brokers\[1\]\.logDirs\[0\]: .*overlaps the log dir of broker 1/);
    expect(refusal(withBroker({ logDirs: ['/d1', '/d1'] }))).toMatch(/brokers\[0\]\.logDirs\[1\]: \/d1 is also another log dir of this broker/);
    expect(parseSpec(withBroker({}, { ...b2, host: 'k2' })).brokers).toHaveLength(2);
  });

  it('ports over 65535 in bootstrap servers, listeners and the ZooKeeper connect string', () => {
    expect(refusal({ ...minimal, kafka: { bootstrapServers: ['k1:9092', 'k2:99092'] } })).toMatch(/kafka\.bootstrapServers\[1\]: port 99092 is not a TCP port/);
    expect(refusal(withBroker({ listener: 'k1:70000' }))).toMatch(/brokers\[0\]\.listener: port 70000/);
    expect(refusal({ ...minimal, zookeeper: { connect: 'z1:2181,z2:218100/kafka' } })).toMatch(/zookeeper\.connect: port 218100 is not a TCP port/);
    expect(refusal({ ...minimal, zookeeper: { connect: 'z1:2181,z2:99999' } })).toMatch(/zookeeper\.connect: port 99999/);
    expect(refusal({ ...minimal, zookeeper: { connect: 'z1:21x81' } })).toMatch(/zookeeper\.connect: "z1:21x81" is not host:port/);
    expect(parseSpec({ ...minimal, zookeeper: { connect: 'z1:2181,z2,z3:2182/kafka' } }).zookeeper?.connect).toBe('z1:2181,z2,z3:2182/kafka');
  });

  it('a topic-priority regex that does not compile', () => {
    expect(refusal({ ...minimal, topics: { critical: ['^orders', 'pay(ments'] } })).toMatch(/topics\.critical\[1\]: not a valid regular expression/);
    expect(refusal({ ...minimal, topics: { disposable: ['*scratch'] } })).toMatch(/topics\.disposable\[0\]: not a valid regular expression/);
  });
});

describe('cluster spec: secrets', () => {
  it('a relative file: secret is the spec file\'s neighbour, stored absolute (found from any working directory)', () => {
    const dir = testDir('spec-secret-');
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets', 'repo-pw'), 'from-the-spec-dir\n');
    writeFileSync(join(dir, 'zk-pw'), 'bob:secret\n');
    const file = join(dir, 'cluster.yaml');
    writeFileSync(
      file,
      stringify({
        ...minimal,
        zookeeper: { connect: 'z1:2181', auth: [{ scheme: 'digest', credentials: { file: 'zk-pw' } }] },
        repository: { path: '/backups/prod', password: { file: 'secrets/repo-pw' } },
      }),
    );
    const cwd = process.cwd();
    const elsewhere = mkdtempSync(join(tmpdir(), 'elsewhere-'));
    process.chdir(elsewhere); // the command (or worker) runs somewhere else
    try {
      const spec = loadSpec(file);
      expect(spec.repository!.password).toEqual({ file: join(dir, 'secrets', 'repo-pw') });
      expect(resolveSecret(spec.repository!.password)).toBe('from-the-spec-dir');
      expect(zkAuthOf(spec)).toEqual([{ scheme: 'digest', credentials: 'bob:secret' }]);
      // What a worker gets: the spec as workflow input, validated again, still points at the file.
      const again = parseSpec(JSON.parse(JSON.stringify(spec)), '(workflow input)');
      expect(resolveSecret(again.repository!.password)).toBe('from-the-spec-dir');
    } finally {
      process.chdir(cwd);
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('an unset env: secret names the variable and whose environment lacks it', () => {
    // Outside a worker: this process (a worker's own message is proven in test/backup/workerSecrets.int.test.ts).
    expect(() => resolveSecret({ env: 'LIFEBOAT_REPO_PASSWORD' }, {})).toThrow(/^LIFEBOAT_REPO_PASSWORD is not set in the environment of this process/);
  });
});

describe('cluster spec: tier names', () => {
  const tier = (name: string, path = `/backups/${name}`) => ({ name, path, password: { env: 'PW' }, medium: 'nas' });
  const withTiers = (...tiers: Record<string, unknown>[]) => ({ ...minimal, tiers });

  it('refuses the names of the repository and the off-site repository, naming the field on one line', () => {
    const primary = refusal(withTiers(tier('nas'), tier('primary')));
    expect(primary).toMatch(/^ {2}tiers\[1\]\.name: "primary" is reserved for repository: give this tier another name/m);
    expect(primary.split('\n')).toHaveLength(2);
    expect(refusal(withTiers(tier('offsite')))).toMatch(/^ {2}tiers\[0\]\.name: "offsite" is reserved for offsiteRepository/m);
  });

  it('refuses two tiers of one name, naming the second', () => {
    const msg = refusal(withTiers(tier('nas'), tier('s3'), tier('nas', '/mnt/other')));
    expect(msg).toMatch(/^ {2}tiers\[2\]\.name: "nas" is also the name of tiers\[0\]: each tier needs a name of its own$/m);
    expect(msg.split('\n')).toHaveLength(2);
  });

  it('accepts distinct names, also ones that are Object properties', () => {
    expect(parseSpec(withTiers(tier('nas'), tier('constructor'), tier('archive'))).tiers.map((t) => t.name)).toEqual(['nas', 'constructor', 'archive']);
  });
});
