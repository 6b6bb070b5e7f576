/**
 * What /metrics watches: spec files and directories read again on every scrape (a spec added or
 * removed shows at the next one), a bad spec or a slow gathering one series with the reason, and
 * one gathering shared by the scrapes that arrive while it runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { collectWatched, factsWatcher } from '../../src/monitoring/metricsSource';
import type { BackupFacts } from '../../src/monitoring/types';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-metrics-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeSpec(file: string, name: string): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    stringify({
      name,
      brokers: [{ id: 1, host: 'h1', listener: '127.0.0.1:9092', logDirs: ['/d'], configDir: '/c', control: { type: 'systemd', unit: 'kafka' } }],
      kafka: { bootstrapServers: ['127.0.0.1:9092'] },
      zookeeper: { connect: '127.0.0.1:2181', chroot: `/${name}` },
      repository: { path: join(dir, 'repo', name), password: { env: 'X' } },
    }),
  );
  return path;
}

const factsOf = (spec: ClusterSpec): BackupFacts => ({
  cluster: spec.name,
  gatheredAt: '2026-12-03T12:00:00Z',
  expectedIntervalSeconds: 900,
  schedule: { id: `backup-${spec.name}`, exists: false, paused: false },
  tiers: [],
  failures: [],
});

describe('watched specs', () => {
  it('a directory is listed again on each collection: added and removed specs show', async () => {
    writeSpec('a.yaml', 'alpha');
    const gather = async (spec: ClusterSpec) => factsOf(spec);
    const first = await collectWatched({ paths: [dir], gather });
    expect(first.map((w) => w.cluster)).toEqual(['alpha']);
    const b = writeSpec('b.yml', 'beta');
    writeFileSync(join(dir, 'notes.txt'), 'not a spec');
    expect((await collectWatched({ paths: [dir], gather })).map((w) => w.cluster)).toEqual(['alpha', 'beta']);
    rmSync(b);
    expect((await collectWatched({ paths: [dir], gather })).map((w) => w.cluster)).toEqual(['alpha']);
  });

  it('a bad spec, a missing path, a duplicate name and a failing or slow gathering are entries with one-line reasons', async () => {
    writeSpec('a.yaml', 'alpha');
    writeSpec('dup.yaml', 'alpha');
    writeSpec('slow.yaml', 'slow');
    writeSpec('fails.yaml', 'fails');
    writeFileSync(join(dir, 'bad.yaml'), 'name: 42\n');
    const gather = async (spec: ClusterSpec): Promise<BackupFacts> => {
      if (spec.name === 'fails') throw new Error('temporal: connection refused\nstack…');
      if (spec.name === 'slow') await new Promise((r) => setTimeout(r, 1000));
      return factsOf(spec);
    };
    const out = await collectWatched({ paths: [dir, join(dir, 'missing.yaml')], gather, timeoutMs: 200 });
    const byFile = Object.fromEntries(out.map((w) => [w.spec.slice(dir.length + 1), 'error' in w ? w.error : 'ok']));
    expect(byFile['a.yaml']).toBe('ok');
    expect(byFile['dup.yaml']).toMatch(/cluster "alpha" is also named by .*a\.yaml/);
    expect(byFile['fails.yaml']).toBe('temporal: connection refused stack…');
    expect(byFile['slow.yaml']).toBe('gathering the facts of slow.yaml took longer than 0.2 s');
    expect(byFile['bad.yaml']).toMatch(/bad\.yaml/);
    expect(byFile['missing.yaml']).toMatch(/cannot read .*missing\.yaml: ENOENT/);
  });

  it('the mirror state is read beside the facts, bounded by the same time limit (aborted after it)', async () => {
    writeSpec('a.yaml', 'alpha');
    writeSpec('b.yaml', 'beta');
    let aborted = false;
    const out = await collectWatched({
      paths: [dir],
      gather: async (spec) => factsOf(spec),
      mirror: (spec, signal) =>
        spec.name === 'alpha'
          ? Promise.resolve([{ pair: 'p', topic: 't', partitions: 1, lagRecords: 3, positionAt: 1 }])
          : new Promise((_, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(new Error('aborted'))))),
      timeoutMs: 200,
    });
    const by = Object.fromEntries(out.map((w) => [w.cluster, 'mirror' in w ? w.mirror : undefined]));
    expect(by.alpha).toEqual([{ pair: 'p', topic: 't', partitions: 1, lagRecords: 3, positionAt: 1 }]);
    expect(by.beta).toEqual({ error: 'reading the mirror state on beta took longer than 0.2 s' });
    expect(aborted).toBe(true);
  });

  it('scrapes during a gathering share it; after cacheMs a new one starts', async () => {
    writeSpec('a.yaml', 'alpha');
    let calls = 0;
    let t = 0;
    const watch = factsWatcher({
      paths: [dir],
      gather: async (spec) => {
        calls++;
        await new Promise((r) => setTimeout(r, 50));
        return factsOf(spec);
      },
      cacheMs: 1000,
      now: () => t,
    });
    const [a, b] = await Promise.all([watch(), watch()]);
    expect(a).toBe(b);
    expect(calls).toBe(1);
    t = 999;
    await watch();
    expect(calls).toBe(1);
    t = 1000;
    await watch();
    expect(calls).toBe(2);
  });
});
