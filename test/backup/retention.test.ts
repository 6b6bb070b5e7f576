import { describe, expect, it } from 'vitest';
import type { BackupSet } from '../../src/backup/parts';
import { planSetRetention } from '../../src/backup/retention';
import type { SnapshotMeta } from '../../src/repository/types';

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

const set = (setId: string, day: number, parts: Record<string, SnapshotMeta>, planned = Object.keys(parts)): BackupSet => ({
  setId,
  tier: 'daily',
  time: `2026-11-${String(day).padStart(2, '0')}T01:00:00.000Z`,
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
    const plan = planSetRetention(sets, all, { keepLast: 1, keepDaily: 1 });
    expect(plan.keep.map((k) => k.setId).sort()).toEqual(['running', 's4']);
    expect(plan.remove.map((r) => r.setId).sort()).toEqual(['old-partial', 's1', 's2', 's3']);
    expect(plan.snapshots.sort()).toEqual(['l1', 'l2', 'l3', 'z1', 'z2', 'z3', 'zp']);

    // Keeping s3 (an incremental) keeps its whole ZooKeeper chain, but not the other parts of s1 and s2.
    const plan2 = planSetRetention(sets.filter((s) => s.setId !== 's4'), all, { keepLast: 1 });
    expect(plan2.keep.map((k) => k.setId).sort()).toEqual(['running', 's3']);
    expect(plan2.snapshots.sort()).toEqual(['l1', 'l2', 'zp']);
  });
});
