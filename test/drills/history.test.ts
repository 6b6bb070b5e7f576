/**
 * Drill records in a real local repository (src/drills/history.ts): saved as one snapshot per drill
 * (component drill, tags drill and drill:<id>, record and reports), a second save finds the first,
 * listed oldest first whatever the order they were saved in, and never removed by retention: neither
 * `repo forget`'s per-snapshot policy nor the backup sets' retention (with prune) touches them.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { activityDeps } from '../../activities/deps';
import { drillRecordActivities } from '../../activities/drillRecords';
import { loadSpec } from '../../src/config/spec';
import { applySetRetention } from '../../src/backup/retention';
import {
  DRILL_COMPONENT,
  drillRecordTag,
  holdsDrillRecord,
  listDrillRecords,
  openDrillRecords,
  readDrillRecord,
  REPORT_HTML_FILE,
  REPORT_MD_FILE,
  RECORD_FILE,
  saveDrillRecord,
} from '../../src/drills/history';
import { EXIT, LifeboatError } from '../../src/errors';
import { forget, openRepository, openRepositoryForSpec } from '../../src/repository';
import { renderDrillMarkdown, trendOf } from '../../src/drills/report.pure';
import { storeSet } from '../monitoring/sets';
import { PASSWORD, SMALL, tempDir, tempRepo } from '../repository/helpers';
import { threeDrills } from './recordFixtures';

const CLUSTER = 'staging';

describe('drill records in the repository', () => {
  it('saves each drill once, as a drill snapshot with its record and reports, and lists them oldest first', async () => {
    const repo = await tempRepo();
    try {
      const [a, b, c] = threeDrills(CLUSTER);
      // Saved out of order: the list is by the drills' start.
      const sc = await saveDrillRecord(repo, c!);
      const sa = await saveDrillRecord(repo, a!);
      const sb = await saveDrillRecord(repo, b!);
      expect([sa.created, sb.created, sc.created]).toEqual([true, true, true]);

      const again = await saveDrillRecord(repo, b!);
      expect(again).toEqual({ snapshot: sb.snapshot, created: false });
      const snaps = await repo.snapshots({ cluster: CLUSTER });
      expect(snaps).toHaveLength(3);
      const meta = snaps.find((s) => s.id === sb.snapshot)!;
      expect(meta.components).toEqual([DRILL_COMPONENT]);
      expect(meta.tags).toEqual(['drill', drillRecordTag(b!.id)]);
      expect(meta.time).toBe(b!.startedAt);

      const listed = await listDrillRecords(repo, CLUSTER);
      expect(listed.records.map((r) => r.id)).toEqual([a!.id, b!.id, c!.id]);
      expect(listed.records[1]).toEqual(b);
      expect(listed.snapshots[b!.id]).toBe(sb.snapshot);
      expect(listed.unreadable).toEqual([]);
      expect((await listDrillRecords(repo, CLUSTER, { limit: 2 })).records.map((r) => r.id)).toEqual([b!.id, c!.id]);
      expect((await listDrillRecords(repo, 'other')).records).toEqual([]);

      // The files: the record as given, the reports with the trend of the drills stored before it.
      const reader = await repo.openSnapshot(sb.snapshot);
      expect(await reader.readJson(RECORD_FILE)).toEqual(b);
      const md = (await reader.readBuffer(REPORT_MD_FILE)).toString();
      expect(md).toBe(renderDrillMarkdown(b!, [a!]));
      expect(md).toContain(trendOf([a!, b!]).summary);
      const html = (await reader.readBuffer(REPORT_HTML_FILE)).toString();
      expect(html).toMatch(/^<!DOCTYPE html>/);
      expect(html).toContain('<svg ');

      expect((await readDrillRecord(repo, CLUSTER, c!.id)).record).toEqual(c);
    } finally {
      await repo.close();
    }
  });

  it('a drill id with no record is SnapshotNotFound (exit 14), naming the drills there are', async () => {
    const repo = await tempRepo();
    try {
      const [a] = threeDrills(CLUSTER);
      await saveDrillRecord(repo, a!);
      const err = await readDrillRecord(repo, CLUSTER, 'drill-nope').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LifeboatError);
      expect((err as LifeboatError).exitCode).toBe(EXIT.NOT_FOUND);
      expect((err as LifeboatError).message).toMatch(new RegExp(`no record of drill "drill-nope" for cluster staging in .*newest drills there: ${a!.id}`));
    } finally {
      await repo.close();
    }
  });

  it('a bad record is refused with one line before anything is written; a scheduled drill\'s id is fine', async () => {
    const repo = await tempRepo();
    try {
      const [a] = threeDrills(CLUSTER);
      await expect(saveDrillRecord(repo, { ...a!, scenario: 'meteor' as never })).rejects.toThrow(/scenario must be one of broker-killed, .*got "meteor"/);
      await expect(saveDrillRecord(repo, { ...a!, id: '../x' })).rejects.toThrow(/id must be 1-250 characters without spaces/);
      // A scheduled drill's workflow ID carries the schedule's time.
      expect((await saveDrillRecord(repo, { ...a!, id: 'drill-staging-cluster-lost-2026-12-03T12:00:00Z' })).created).toBe(true);
      expect((await repo.snapshots()).map((m) => m.tags)).toEqual([['drill', 'drill:drill-staging-cluster-lost-2026-12-03T12:00:00Z']]);
    } finally {
      await repo.close();
    }
  });

  it('retention never removes drill records: repo forget (keep-last 1) and the backup sets\' retention with prune', async () => {
    const writer = await tempRepo();
    // Each step on its own handle, as each command is its own process (forget needs the exclusive lock).
    let repo = writer;
    try {
      const drills = threeDrills(CLUSTER);
      // Backup sets before and after the drills, and a plain export (as `zk export --repo` leaves).
      await storeSet(repo, CLUSTER, 'set-1', new Date('2026-08-01T00:00:00Z'));
      for (const d of drills) await saveDrillRecord(repo, d);
      await storeSet(repo, CLUSTER, 'set-2', new Date('2026-11-20T00:00:00Z'));
      await storeSet(repo, CLUSTER, 'set-3', new Date('2026-11-21T00:00:00Z'));
      await repo.saveSnapshot({ cluster: CLUSTER, components: ['zookeeper'], tags: ['export'], time: new Date('2026-07-01T00:00:00Z') }, (w) => w.writeJson('zookeeper/tree.json', { a: 1 }).then(() => undefined));
      await repo.saveSnapshot({ cluster: CLUSTER, components: ['zookeeper'], tags: ['export'], time: new Date('2026-11-25T00:00:00Z') }, (w) => w.writeJson('zookeeper/tree.json', { a: 2 }).then(() => undefined));
      await repo.close();
      repo = await openRepository(writer.path, PASSWORD, SMALL);

      // `repo forget --keep-last 1` as the CLI runs it: sets' parts are left to the sets' retention.
      const all = await repo.snapshots({ cluster: CLUSTER });
      const setOf = (s: (typeof all)[number]) => s.tags.some((t) => t.startsWith('set:'));
      const plan = await forget(repo, all.filter((s) => !setOf(s)), { keepLast: 1 }, { keptOutside: all.filter(setOf) });
      // The older export goes; the newer one is the one keep-last keeps (drill records take no slot).
      expect(plan.remove.map((s) => s.time)).toEqual(['2026-07-01T00:00:00.000Z']);
      const drillKeeps = plan.keep.filter((k) => k.snapshot.tags.includes('drill'));
      expect(drillKeeps).toHaveLength(3);
      for (const k of drillKeeps) expect(k.reasons).toEqual(['drill record (never forgotten)']);

      // The sets' retention, keep-last 1, then prune: the older sets go, the drills stay whole.
      const r = await applySetRetention(repo, CLUSTER, { keepLast: 1 }, { brokerIds: [1], readers: [] });
      expect(r.remove.map((s) => s.setId).sort()).toEqual(['set-1', 'set-2']);
      expect(r.prunedBytes).toBeGreaterThan(0);
      await repo.close();
      repo = await openRepository(writer.path, PASSWORD, SMALL);

      const listed = await listDrillRecords(repo, CLUSTER);
      expect(listed.records).toEqual(drills);
      expect(listed.unreadable).toEqual([]);
      for (const d of drills) {
        const reader = await repo.openSnapshot(listed.snapshots[d.id]!);
        expect((await reader.readBuffer(REPORT_HTML_FILE)).toString()).toContain(d.id);
      }
      // And a policy that keeps nothing else by time still keeps them.
      await repo.close();
      repo = await openRepository(writer.path, PASSWORD, SMALL);
      const again = await forget(repo, (await repo.snapshots({ cluster: CLUSTER })).filter((s) => !setOf(s)), { keepWithin: '1h' });
      expect(again.remove.some((s) => s.tags.includes('drill'))).toBe(false);
      expect((await repo.snapshots({ cluster: CLUSTER, tags: ['drill'] })).map((s) => s.tags[1]).sort()).toEqual(drills.map((d) => drillRecordTag(d.id)).sort());
    } finally {
      await repo.close();
    }
  });
});

describe('the drill record activities', () => {
  it('save is idempotent by drill id, history lists oldest first (limit: the newest N), a repository not there yet is an empty history', async () => {
    const dir = tempDir('drill-act');
    writeFileSync(join(dir, 'pw'), PASSWORD);
    const specOf = (name: string, path: string) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, stringify({ name, environment: 'staging', kafka: { bootstrapServers: ['127.0.0.1:9'] }, repository: { path, password: { file: join(dir, 'pw') } } }));
      return loadSpec(file);
    };
    const spec = specOf(CLUSTER, join(dir, 'repo'));
    const acts = drillRecordActivities(activityDeps());
    // No repository yet: nothing recorded, and the read creates nothing.
    expect(await acts.drillHistoryActivity({ spec })).toEqual([]);
    expect(existsSync(join(dir, 'repo'))).toBe(false);

    const [a, b, c] = threeDrills(CLUSTER);
    // The first save creates the repository (a writer, like a backup).
    const sb = await acts.drillSaveRecordActivity({ spec, record: b! });
    const sa = await acts.drillSaveRecordActivity({ spec, record: a! });
    expect(await acts.drillSaveRecordActivity({ spec, record: b! })).toEqual(sb);
    await acts.drillSaveRecordActivity({ spec, record: c! });
    expect(sa.snapshot).not.toBe(sb.snapshot);
    expect((await acts.drillHistoryActivity({ spec })).map((r) => r.id)).toEqual([a!.id, b!.id, c!.id]);
    expect((await acts.drillHistoryActivity({ spec, limit: 1 })).map((r) => r.id)).toEqual([c!.id]);

    // A record of another cluster does not go into this cluster's repository.
    await expect(acts.drillSaveRecordActivity({ spec, record: { ...a!, cluster: 'primary' } })).rejects.toThrow(/drill record drill-staging-1 is of cluster "primary", not of staging/);
  });
});

describe('drill records down the repository tiers', () => {
  it('each save copies the records down every tier (a tier that fails is named, not thrown, and caught up by the next save); reads fall back to the next tier when the primary is gone', async () => {
    const dir = tempDir('drill-tiers');
    writeFileSync(join(dir, 'pw'), PASSWORD);
    const password = { file: join(dir, 'pw') };
    // The NAS tier's path is a file at first: it cannot be created there (an unmounted share, say).
    const nasPath = join(dir, 'nas');
    writeFileSync(nasPath, 'not a repository');
    const file = join(dir, `${CLUSTER}.yaml`);
    writeFileSync(
      file,
      stringify({
        name: CLUSTER,
        environment: 'staging',
        kafka: { bootstrapServers: ['127.0.0.1:9'] },
        repository: { path: join(dir, 'primary'), password },
        offsiteRepository: { path: join(dir, 'offsite'), password },
        tiers: [{ name: 'nas', medium: 'nas', path: nasPath, password }],
      }),
    );
    const spec = loadSpec(file);
    const acts = drillRecordActivities(activityDeps());
    const [a, b, c] = threeDrills(CLUSTER);
    const idsIn = async (tier: string) => {
      const repo = await openRepositoryForSpec(spec, tier);
      try {
        return (await listDrillRecords(repo, CLUSTER)).records.map((r) => r.id);
      } finally {
        await repo.close();
      }
    };

    const first = await acts.drillSaveRecordActivity({ spec, record: a! });
    expect(first.tiers.map((t) => [t.tier, t.copied, t.skipped])).toEqual([
      ['offsite', 1, 0],
      ['nas', 0, 0],
    ]);
    expect(first.tiers[0]!.error).toBeUndefined();
    expect(first.tiers[1]!.error).toMatch(/./);
    expect(first.tiers[1]!.error).not.toContain('\n');
    expect(await idsIn('offsite')).toEqual([a!.id]);

    // The share is back: the next save copies its own record and the one the NAS missed.
    rmSync(nasPath);
    const second = await acts.drillSaveRecordActivity({ spec, record: b! });
    expect(second.tiers.map((t) => [t.tier, t.copied, t.skipped, t.error])).toEqual([
      ['offsite', 1, 1, undefined],
      ['nas', 2, 0, undefined],
    ]);
    await acts.drillSaveRecordActivity({ spec, record: c! });
    // Saved again (a retried activity): nothing new anywhere.
    const again = await acts.drillSaveRecordActivity({ spec, record: c! });
    expect(again.tiers.map((t) => [t.tier, t.copied, t.skipped])).toEqual([
      ['offsite', 0, 3],
      ['nas', 0, 3],
    ]);
    for (const tier of ['primary', 'offsite', 'nas']) expect(await idsIn(tier), tier).toEqual([a!.id, b!.id, c!.id]);
    // The copies are the records as saved, reports included.
    const off = await openRepositoryForSpec(spec, 'offsite');
    try {
      expect((await readDrillRecord(off, CLUSTER, b!.id)).record).toEqual(b);
      const meta = (await off.snapshots({ cluster: CLUSTER, tags: [drillRecordTag(b!.id)] }))[0]!;
      expect(meta.tags).toEqual(['drill', drillRecordTag(b!.id)]);
      expect(meta.time).toBe(b!.startedAt);
    } finally {
      await off.close();
    }

    // The primary lost: the next drill still carries the earlier drills' open problems, read from the off-site tier.
    rmSync(join(dir, 'primary'), { recursive: true, force: true });
    expect((await acts.drillHistoryActivity({ spec })).map((r) => r.id)).toEqual([a!.id, b!.id, c!.id]);
    expect(existsSync(join(dir, 'primary'))).toBe(false);
    const opened = await openDrillRecords(spec, { has: holdsDrillRecord(CLUSTER, c!.id) });
    try {
      expect(opened.tier).toBe('offsite');
      expect(opened.passed.map((p) => p.tier)).toEqual(['primary']);
      expect(opened.passed[0]!.reason).toMatch(/no repository|not found|does not exist/i);
    } finally {
      await opened.repo.close();
    }
    // Named, a tier is read alone: the missing primary is not passed over.
    await expect(openDrillRecords(spec, { tier: 'primary' })).rejects.toMatchObject({ type: 'RepositoryNotFound' });
    // Every tier gone: the primary's error, the others named.
    rmSync(join(dir, 'offsite'), { recursive: true, force: true });
    rmSync(nasPath, { recursive: true, force: true });
    const err = (await openDrillRecords(spec).catch((e: unknown) => e)) as LifeboatError;
    expect(err.type).toBe('RepositoryNotFound');
    expect(err.message).toMatch(/no other repository tier can be read either: tier offsite .*\| tier nas /);
    expect(await acts.drillHistoryActivity({ spec })).toEqual([]);
  });
});
