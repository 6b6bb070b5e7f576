import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpec, parseSpec, resolveSecret, SpecError } from '../../src/config/spec';
import { labSpec } from '../../src/lab/specs';
import { labTopology } from '../../src/lab/topology';

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
