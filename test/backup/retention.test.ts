import { describe, expect, it } from 'vitest';
import type { BackupSet } from '../../src/backup/parts';
import { coverageGap, coverageLabel, coverageOf, coversAll } from '../../src/backup/coverage.pure';
import { planSetRetention } from '../../src/backup/retention';
import type { SnapshotMeta } from '../../src/repository/types';
import { DEFAULT_RETENTION } from '../../src/config/spec';

const snap = (id: string, time: string, parent?: string): SnapshotMeta => ({
  id,
  time,
  cluster: 'c',
  hostname: 'h',
  components: ['zookeeper'],
  tags: [],
  parent,
  points: {},
  extra: {},
  summary: { files: 1, bytes: 1, newBytes: 1, durationMs: 1 },
});

const set = (setId: string, day: number, parts: Record<string, SnapshotMeta>, planned = Object.keys(parts), tier = 'daily', hour = 1): BackupSet => ({
  setId,
  tier,
  time: `2026-11-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`,
  parts: planned,
  snapshots: parts,
  complete: planned.every((p) => parts[p]),
});

describe('retention of backup sets', () => {
  it('keeps and removes whole sets, keeps the parents kept snapshots build on, and keeps a newer incomplete set', () => {
    const z1 = snap('z1', '2026-11-01T01:00:00.000Z');
    const z2 = snap('z2', '2026-11-02T01:00:00.000Z', 'z1');
    const z3 = snap('z3', '2026-11-03T01:00:00.000Z', 'z2');
    const full = snap('z4', '2026-11-04T01:00:00.000Z');
    const l1 = snap('l1', z1.time);
    const l2 = snap('l2', z2.time);
    const l3 = snap('l3', z3.time);
    const l4 = snap('l4', full.time);
    const sets = [
      set('s1', 1, { zookeeper: z1, 'logdirs:1': l1 }),
      set('s2', 2, { zookeeper: z2, 'logdirs:1': l2 }),
      set('s3', 3, { zookeeper: z3, 'logdirs:1': l3 }),
      set('s4', 4, { zookeeper: full, 'logdirs:1': l4 }),
      // An older failed run and a newer one that may still be running.
      set('old-partial', 2, { zookeeper: snap('zp', z2.time) }, ['zookeeper', 'logdirs:1']),
      set('running', 5, { zookeeper: snap('zr', '2026-11-05T01:00:00.000Z') }, ['zookeeper', 'logdirs:1']),
    ];
    const all = sets.flatMap((s) => Object.values(s.snapshots));
    const plan = planSetRetention(sets, all, { keepLast: 1, keepDaily: 1 }, [1], new Set());
    expect(plan.keep.map((k) => k.setId).sort()).toEqual(['running', 's4']);
    expect(plan.remove.map((r) => r.setId).sort()).toEqual(['old-partial', 's1', 's2', 's3']);
    expect(plan.snapshots.sort()).toEqual(['l1', 'l2', 'l3', 'z1', 'z2', 'z3', 'zp']);

    // Keeping s3 (an incremental) keeps its whole ZooKeeper chain, but not the other parts of s1 and s2.
    const plan2 = planSetRetention(sets.filter((s) => s.setId !== 's4'), all, { keepLast: 1 }, [1], new Set());
    expect(plan2.keep.map((k) => k.setId).sort()).toEqual(['running', 's3']);
    expect(plan2.snapshots.sort()).toEqual(['l1', 'l2', 'zp']);
  });
});

describe('a set whose incremental part builds on a snapshot that is gone', () => {
  it('is not complete: it neither replaces the older set that restores nor counts as the newest full one', () => {
    const z1 = snap('z1', '2026-11-01T01:00:00.000Z');
    const l1 = snap('l1', z1.time);
    // s2's ZooKeeper part is an incremental on z0, which is not in the repository (a recovery refuses s2).
    const z2 = snap('z2', '2026-11-02T01:00:00.000Z', 'z0');
    const l2 = snap('l2', z2.time);
    const sets = [set('s1', 1, { zookeeper: z1, 'logdirs:1': l1 }), set('s2', 2, { zookeeper: z2, 'logdirs:1': l2 })];
    const plan = planSetRetention(sets, [z1, l1, z2, l2], { keepLast: 1 }, [1], new Set());
    expect(plan.remove).toEqual([]);
    expect(plan.keep.map((k) => [k.setId, k.reasons])).toEqual([
      ['s1', ['last', 'newest full set of tier daily']],
      ['s2', ['broken: its part zookeeper builds on snapshot z0, which is gone (a recovery cannot restore it)']],
    ]);
  });
});

/** A set holding `parts` (one snapshot each), taken on day `day` at `hour`. */
const setOf = (setId: string, day: number, hour: number, parts: string[], tier = 'manual', minute = 0): BackupSet => {
  const time = `2026-11-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00.000Z`;
  return { ...set(setId, day, Object.fromEntries(parts.map((p) => [p, snap(`${setId}/${p}`, time)])), parts, tier), time };
};
const FULL = ['zookeeper', 'kafka-metadata', 'configs:1', 'configs:2', 'configs:3', 'logdirs:1', 'logdirs:2', 'logdirs:3', 'baseline'];
const BROKERS = [1, 2, 3];
const snapsOf = (sets: BackupSet[]) => sets.flatMap((s) => Object.values(s.snapshots));

describe('coverage of a set', () => {
  it('is full with state and the data of every broker (log dirs or topics), and says what is missing', () => {
    expect(coverageOf(FULL, BROKERS)).toMatchObject({ full: true, missing: [] });
    expect(coverageOf(['kafka-metadata', 'topics'], BROKERS).full).toBe(true);
    expect(coverageOf(['zookeeper', 'logdirs:1', 'logdirs:2'], BROKERS).missing).toEqual(['logdirs:3 or topics']);
    const one = coverageOf(['configs:1'], BROKERS);
    expect(one).toEqual({ full: false, covers: ['configs:1'], missing: ['zookeeper or kafka-metadata', 'logdirs:1 or topics', 'logdirs:2 or topics', 'logdirs:3 or topics'] });
    expect(coverageLabel(one)).toBe('partial: configs:1');
    expect(coverageGap(one)).toBe('covers only configs:1; a full recovery needs zookeeper or kafka-metadata, and data (logdirs or topics) of brokers 1,2,3');
    expect(coverageLabel(coverageOf(['kafka-metadata', 'configs:3', 'configs:1', 'configs:2'], BROKERS))).toBe('partial: kafka-metadata,configs:1,configs:2,configs:3');
    // One broker: its log-dir copy (what a broker recovery restores).
    expect(coverageOf(['zookeeper', 'configs:2', 'logdirs:2'], BROKERS, { kind: 'broker', brokerId: 2 }).full).toBe(true);
    const b3 = coverageOf(['zookeeper', 'configs:2', 'logdirs:2', 'topics'], BROKERS, { kind: 'broker', brokerId: 3 });
    expect(coverageGap(b3, { kind: 'broker', brokerId: 3 })).toBe('covers only zookeeper,configs:2,logdirs:2,topics; a recovery of broker 3 needs its log-dir copy (logdirs:3)');
    // The parts an operator named.
    expect(coverageOf(['configs:1'], BROKERS, { kind: 'parts', parts: ['configs:1'] }).full).toBe(true);
    expect(coverageOf(['configs:1'], BROKERS, { kind: 'parts', parts: ['configs:1', 'zookeeper'] }).missing).toEqual(['zookeeper']);
    // A topics part of topics an operator named (--topics) is not every broker's data; named, it restores what it holds.
    const some = coverageOf(['kafka-metadata', 'topics-selected'], BROKERS);
    expect(coverageLabel(some)).toBe('partial: kafka-metadata,topics-selected');
    expect(some.missing).toEqual(['logdirs:1 or topics', 'logdirs:2 or topics', 'logdirs:3 or topics']);
    expect(coverageOf(['kafka-metadata', 'topics-selected'], BROKERS, { kind: 'parts', parts: ['topics'] }).full).toBe(true);
    // A newer set of every topic replaces one of some topics (retention), not the other way round.
    expect(coversAll(['kafka-metadata', 'topics'], ['kafka-metadata', 'topics-selected'])).toBe(true);
    expect(coversAll(['kafka-metadata', 'topics-selected'], ['kafka-metadata', 'topics'])).toBe(false);
  });
});

describe('retention judges sets by what they can restore', () => {
  it('a narrow backup never replaces a wider older set (the 4-part set survives a later configs:1 set)', () => {
    // Minutes apart, as in the issue: the spec's default policy keeps one set per hour.
    const wide = setOf('wide', 3, 10, ['kafka-metadata', 'configs:1', 'configs:2', 'configs:3'], 'manual', 5);
    const narrow = setOf('narrow', 3, 10, ['configs:1'], 'manual', 9);
    const plan = planSetRetention([wide, narrow], snapsOf([wide, narrow]), DEFAULT_RETENTION, BROKERS);
    expect(plan.remove).toEqual([]);
    expect(plan.snapshots).toEqual([]);
    expect(plan.keep.find((k) => k.setId === 'wide')!.reasons).toEqual(['no newer kept set covers every part it holds']);
    expect(plan.keep.map((k) => [k.setId, coverageLabel(k.coverage)])).toEqual([
      ['wide', 'partial: kafka-metadata,configs:1,configs:2,configs:3'],
      ['narrow', 'partial: configs:1'],
    ]);
    // A newer set that holds every part of the wide one does replace it.
    const wider = setOf('wider', 3, 10, ['kafka-metadata', 'configs:1', 'configs:2', 'configs:3', 'zookeeper'], 'manual', 20);
    const sets = [wide, narrow, wider];
    const plan2 = planSetRetention(sets, snapsOf(sets), { keepLast: 1 }, BROKERS);
    expect(plan2.keep.map((k) => k.setId)).toEqual(['wider']);
    expect(plan2.remove.map((r) => r.setId)).toEqual(['wide', 'narrow']);
  });

  it('keeps the newest full set of each tier even when the policy alone would remove it', () => {
    const fullDaily = setOf('full-daily', 2, 1, FULL, 'daily');
    const fullHourly = setOf('full-hourly', 3, 1, FULL, 'hourly');
    const zkOnly = Array.from({ length: 3 }, (_, i) => setOf(`zk-${i}`, 3, 2 + i, ['zookeeper'], 'hourly'));
    const sets = [fullDaily, fullHourly, ...zkOnly];
    const plan = planSetRetention(sets, snapsOf(sets), { keepLast: 1 }, BROKERS);
    // Each tier's newest full set stays; the older zookeeper-only sets are replaced by the newest one.
    expect(plan.keep.map((k) => [k.setId, k.reasons])).toEqual([
      ['full-daily', ['newest full set of tier daily']],
      ['full-hourly', ['newest full set of tier hourly']],
      ['zk-2', ['last']],
    ]);
    expect(plan.remove.map((r) => r.setId)).toEqual(['zk-0', 'zk-1']);
    expect(plan.keep.find((k) => k.setId === 'full-hourly')!.coverage.full).toBe(true);
    // An older full set of the same tier goes once a newer full one is kept.
    const older = setOf('older-full', 1, 1, FULL, 'daily');
    const plan2 = planSetRetention([older, ...sets], snapsOf([older, ...sets]), { keepLast: 1 }, BROKERS);
    expect(plan2.remove.map((r) => r.setId)).toEqual(['older-full', 'zk-0', 'zk-1']);
  });

  it('never removes the set of a backup still running, even when a newer set finished first', () => {
    // The daily backup D started at 01:00 and has stored its ZooKeeper part; a manual configs:1 backup
    // that started later finished first and runs retention: D is incomplete and older than it.
    const prev = set('prev', 2, { zookeeper: snap('p/zk', '2026-11-02T01:00:00.000Z'), 'logdirs:1': snap('p/l1', '2026-11-02T01:00:00.000Z') });
    const running = set('daily-d', 3, { zookeeper: snap('d/zk', '2026-11-03T01:00:00.000Z') }, ['zookeeper', 'logdirs:1']);
    const narrow = set('narrow', 3, { 'configs:1': snap('n/c1', '2026-11-03T01:10:00.000Z') }, ['configs:1'], 'manual', 1);
    narrow.time = '2026-11-03T01:10:00.000Z';
    const sets = [prev, running, narrow];
    const all = sets.flatMap((s) => Object.values(s.snapshots));
    const known = planSetRetention(sets, all, DEFAULT_RETENTION, [1], new Set(['daily-d']));
    expect(known.keep.find((k) => k.setId === 'daily-d')?.reasons).toEqual(['incomplete: its backup is still running']);
    expect(known.snapshots).not.toContain('d/zk');
    // Nobody could say which backups run (Temporal not reached): no incomplete set is removed.
    const unknown = planSetRetention(sets, all, DEFAULT_RETENTION, [1]);
    expect(unknown.keep.find((k) => k.setId === 'daily-d')?.reasons).toEqual(['incomplete: whether its backup still runs is unknown']);
    expect(unknown.remove).toEqual([]);
    // Once it is known not to run, it goes (a failed run's leftovers).
    const ended = planSetRetention(sets, all, DEFAULT_RETENTION, [1], new Set());
    expect(ended.remove.map((r) => r.setId)).toEqual(['daily-d']);
    expect(ended.snapshots).toEqual(['d/zk']);
  });
});
