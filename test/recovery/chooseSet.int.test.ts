/**
 * Backup sets judged by what they can restore, through the real CLI and a real worker on the lab
 * (issue 11, items 1-3): a narrow backup never removes a wider set by retention (primary and
 * off-site), a full-cluster recovery passes over a set that does not cover the cluster (and
 * refuses it by --set unless --parts names what to restore), and a set whose log-dir data is
 * damaged is found by the dry run, which chooses the set before it.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { listBackupSets } from '../../src/backup/parts';
import type { ClusterSpec } from '../../src/config/spec';
import { EXIT } from '../../src/errors';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { openRepositoryForSpec } from '../../src/repository';
import { temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';

describe('backup sets judged by what they can restore (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-chooseset-'));
  const lab = primarySpec();
  // A cluster name of its own: its workflow IDs (backup-<name>, recover-<name>) and snapshots are this test's.
  const spec: ClusterSpec = {
    ...lab,
    name: unique('cover'),
    registry: undefined,
    repository: { ...lab.repository!, path: join(dir, 'repo') },
    offsiteRepository: { ...lab.offsiteRepository!, path: join(dir, 'offsite') },
  };
  const specFile = join(dir, 'cluster.yaml');
  writeFileSync(specFile, stringify(spec));
  const topic = unique('cover-orders');
  let workers: RunningWorkers;
  let running: Promise<void>;

  const backup = async (...args: string[]) => {
    const r = await lifeboat('backup', '--spec', specFile, ...args);
    expect(r.code, r.stderr).toBe(EXIT.OK);
    const id = /backup set ([0-9a-f]{16})/.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeDefined();
    return id!;
  };
  const setsIn = async (which: 'primary' | 'offsite') => {
    const repo = await openRepositoryForSpec(spec, which);
    try {
      return (await listBackupSets(repo, spec.name)).map((s) => s.setId);
    } finally {
      await repo.close();
    }
  };
  const produce = async (n: number) => {
    const producer = kafkaFor(spec).producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `order-${i}-${'x'.repeat(200)}` })) });
    await producer.disconnect();
  };

  beforeAll(async () => {
    workers = await createWorkers({ settings: temporalSettings(), hosts: spec.brokers.map((b) => b.host) });
    running = workers.run();
    await withAdmin(kafkaFor(spec), spec.name, (a) => a.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true }));
    await produce(500);
  });

  afterAll(async () => {
    await withAdmin(kafkaFor(spec), spec.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
    workers?.shutdown();
    await running;
    rmSync(dir, { recursive: true, force: true });
  });

  let wide = '';
  let narrow = '';

  it('a narrow backup does not remove a wider set, in the repository and off-site; forget --dry-run says what each covers', async () => {
    wide = await backup('--parts', 'kafka-metadata,configs:1,configs:2,configs:3');
    narrow = await backup('--parts', 'configs:1');
    const listed = await lifeboat('backup', 'sets', '--spec', specFile);
    expect(listed.code).toBe(EXIT.OK);
    expect(listed.stdout).toMatch(new RegExp(`${wide} .* complete +4/4 parts +partial: kafka-metadata,configs:1,configs:2,configs:3`));
    expect(listed.stdout).toMatch(new RegExp(`${narrow} .* complete +1/1 parts +partial: configs:1`));
    const offsite = await lifeboat('backup', 'sets', '--spec', specFile, '--offsite');
    expect(offsite.code, offsite.stderr).toBe(EXIT.OK);
    expect(offsite.stdout).toContain(wide);
    expect(offsite.stdout).toContain(narrow);
    expect(await setsIn('primary')).toEqual([wide, narrow]);
    expect(await setsIn('offsite')).toEqual([wide, narrow]);

    const plan = await lifeboat('backup', 'forget', '--spec', specFile, '--dry-run');
    expect(plan.code, plan.stderr).toBe(EXIT.OK);
    const [primary, off] = plan.stdout.split('off-site repository');
    for (const text of [primary!, off!]) {
      expect(text).toMatch(new RegExp(`keep +${wide} .* partial: kafka-metadata,configs:1,configs:2,configs:3 \\(no newer kept set covers every part it holds\\)`));
      expect(text).toMatch(new RegExp(`keep +${narrow} .* partial: configs:1 \\(`));
      expect(text).toContain('2 kept, 0 would be removed (dry run)');
    }
  });

  it('recover cluster --dry-run passes over sets that do not cover the cluster; --set of a partial set is refused unless --parts names what to restore', async () => {
    const none = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run');
    expect(none.code, none.stdout).toBe(EXIT.NOT_FOUND);
    expect(none.stderr).toContain(`${narrow}: covers only configs:1; a full recovery needs zookeeper or kafka-metadata, and data (logdirs or topics) of brokers 1,2,3`);
    expect(none.stderr).toContain(`${wide}: covers only kafka-metadata,configs:1,configs:2,configs:3; a full recovery needs data (logdirs or topics) of brokers 1,2,3`);

    const refused = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run', '--set', narrow);
    expect(refused.code).toBe(EXIT.USAGE);
    expect(refused.stderr).toMatch(new RegExp(`backup set ${narrow} covers only configs:1; .*name the parts \\(recover cluster --parts`));
    expect(refused.stderr).not.toMatch(/\n\s+at /);

    const parts = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run', '--set', narrow, '--parts', 'configs:1');
    expect(parts.code, parts.stderr).toBe(EXIT.OK);
    expect(parts.stdout).toContain(`set ${narrow}`);
    expect(parts.stdout).toMatch(/Restore ZooKeeper \S+ \| skipped \| – \| not among the parts asked for \(configs:1\)/);
    expect(parts.stdout).toMatch(/Restore log dirs .* \| skipped \| – \| not among the parts asked for \(configs:1\)/);
    expect(parts.stdout).toMatch(/Restore broker configs \| skipped \| – \| dry run/);
  });

  it('recover cluster --set <partial> --parts configs:1 restores only broker 1\'s configs', { timeout: 300_000 }, async () => {
    const file = join(spec.brokers[0]!.configDir, 'server.properties');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, `${original}\n# changed after the backup\n`);
    const r = await lifeboat('recover', 'cluster', '--spec', specFile, '--set', narrow, '--parts', 'configs:1', '--yes');
    expect(readFileSync(file, 'utf8')).toBe(original);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/Restore broker configs \| done \| [^|]+ \| 1 restored, 0 unchanged/);
    expect(r.stdout).toMatch(/Restore ZooKeeper \S+ \| skipped \| – \| not among the parts asked for \(configs:1\)/);
    expect(r.stdout).toMatch(/Restore log dirs .* \| skipped \| – \| not among the parts asked for \(configs:1\)/);
    expect(r.stdout).toMatch(/Wait until every broker serves .* \| done \|/);
  });

  let older = '';
  let base = '';
  let newest = '';

  it('with a full set and a newer narrow one, the dry run chooses the full set and names the narrow one', { timeout: 240_000 }, async () => {
    older = await backup();
    const partial = await backup('--parts', 'configs:1');
    const plan = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run');
    expect(plan.code, plan.stderr).toBe(EXIT.OK);
    expect(plan.stdout).toMatch(new RegExp(`set ${older} of \\S+ \\(\\d+ parts, full\\); data read \\(sample\\)`));
    expect(plan.stdout).toContain(`backup set ${partial}`);
    expect(plan.stdout).toContain('covers only configs:1; a full recovery needs');
    // Retention: the full set replaced the 4-part and the 1-part sets (it holds every part they
    // held); the newer narrow set did not replace the full one.
    expect(await setsIn('primary')).toEqual([older, partial]);
    expect(await setsIn('offsite')).toEqual([older, partial]);
  });

  it('a byte flipped in a log-dir pack of the newest full set: the dry run reads it, chooses the set before it and names the damaged one', { timeout: 240_000 }, async () => {
    // Two full sets of its own (retention skipped: the test is about choosing, not keeping).
    base = await backup('--skip-retention');
    await produce(2000); // new segment data, so the newest set has chunks of its own
    newest = await backup('--skip-retention');
    // A chunk of the newest set's log-dir copies that the older set does not use, and its pack.
    const repo = await openRepositoryForSpec(spec);
    let target: { file: string; at: number } | undefined;
    try {
      const sets = await listBackupSets(repo, spec.name);
      const chunksOf = async (setId: string) => {
        const set = sets.find((s) => s.setId === setId)!;
        const ids: string[] = [];
        for (const [part, meta] of Object.entries(set.snapshots)) {
          if (!part.startsWith('logdirs:')) continue;
          for (const e of (await repo.loadTree(meta.id)).values()) ids.push(...(e.chunks ?? []));
        }
        return ids;
      };
      const old = new Set(await chunksOf(base));
      const own = (await chunksOf(newest)).filter((id) => !old.has(id));
      expect(own.length).toBeGreaterThan(0);
      const loc = repo.index.get(own[0]!)!;
      target = { file: join(spec.repository!.path, 'data', loc.pack.slice(0, 2), loc.pack), at: loc.offset + Math.floor(loc.length / 2) };
    } finally {
      await repo.close();
    }
    const fd = openSync(target.file, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, target.at);
    b[0] = b[0]! ^ 0x01;
    writeSync(fd, b, 0, 1, target.at);
    closeSync(fd);

    const plan = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run');
    expect(plan.code, plan.stderr).toBe(EXIT.OK);
    expect(plan.stdout).toMatch(new RegExp(`set ${base} of \\S+ \\(\\d+ parts, full\\)`));
    expect(plan.stdout).toMatch(new RegExp(`backup set ${newest} of \\S+ was not used: logdirs:\\d: chunk [0-9a-f]{12} in pack [0-9a-f]{12} fails authentication`));
    // --read-data reads every chunk of the set it chooses.
    const all = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run', '--read-data');
    expect(all.code, all.stderr).toBe(EXIT.OK);
    const read = new RegExp(`set ${base} of \\S+ \\(\\d+ parts, full\\); data read \\(all\\): (\\d+) of (\\d+) chunks`).exec(all.stdout);
    expect(read, all.stdout).not.toBeNull();
    expect(read![1]).toBe(read![2]);
    // Asked for by --set, the damaged set is not used from the primary: its intact off-site copy is
    // (the tiers' fallback chain), and the plan says so.
    const named = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run', '--set', newest);
    expect(named.code, named.stderr).toBe(EXIT.OK);
    expect(named.stdout).toMatch(new RegExp(`backup set ${newest} is read from tier offsite .*fails authentication`));
    // With no other tier it is refused before anything is stopped.
    const primaryOnly = join(dir, 'primary-only.yaml');
    writeFileSync(primaryOnly, stringify({ ...spec, offsiteRepository: undefined }));
    const refused = await lifeboat('recover', 'cluster', '--spec', primaryOnly, '--dry-run', '--set', newest);
    expect(refused.code).toBe(EXIT.INTEGRITY);
    expect(refused.stderr).toMatch(/fails authentication/);
    // Only what is restored must read back: its configs alone are usable.
    const configsOnly = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run', '--set', newest, '--parts', 'configs:1,configs:2');
    expect(configsOnly.code, configsOnly.stderr).toBe(EXIT.OK);
    expect(configsOnly.stdout).toContain(`set ${newest}`);
  });

  it('a logical backup of some topics (--topics) is not every broker\'s data: a full recovery passes over it, --set refuses it', { timeout: 240_000 }, async () => {
    const selected = await backup('--parts', 'zookeeper,kafka-metadata,topics', '--topics', topic, '--skip-retention');
    const listed = await lifeboat('backup', 'sets', '--spec', specFile);
    expect(listed.stdout).toMatch(new RegExp(`${selected} .* complete +3/3 parts +partial: zookeeper,kafka-metadata,topics-selected`));
    const plan = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run');
    expect(plan.code, plan.stderr).toBe(EXIT.OK);
    expect(plan.stdout).toMatch(new RegExp(`set ${base} of \\S+ \\(\\d+ parts, full\\)`));
    expect(plan.stdout).toContain(`backup set ${selected}`);
    expect(plan.stdout).toMatch(/covers only zookeeper,kafka-metadata,topics-selected; a full recovery needs data \(logdirs or topics\) of brokers 1,2,3/);
    const refused = await lifeboat('recover', 'cluster', '--spec', specFile, '--dry-run', '--set', selected);
    expect(refused.code, refused.stdout).toBe(EXIT.USAGE);
    expect(refused.stderr).toContain(`backup set ${selected} covers only zookeeper,kafka-metadata,topics-selected`);
  });
});
