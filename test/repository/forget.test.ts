import { describe, expect, it } from 'vitest';
import { applyPolicy, isoWeek, subtractDuration } from '../../src/repository/forget';

// A synthetic calendar (UTC). ISO weeks: 03-31 is W13 (Sunday), 04-01..04-07 W14, 04-08..04-14 W15, 04-15 W16.
const CAL = [
  ['s01', '2024-03-31T22:00:00Z'],
  ['s02', '2024-04-01T08:00:00Z'],
  ['s03', '2024-04-01T20:00:00Z'],
  ['s04', '2024-04-02T09:00:00Z'],
  ['s05', '2024-04-08T10:00:00Z'],
  ['s06', '2024-04-14T23:00:00Z'],
  ['s07', '2024-04-15T01:00:00Z'],
  ['s08', '2024-04-15T01:30:00Z'],
  ['s09', '2024-04-15T05:00:00Z'],
  ['s10', '2024-04-15T05:10:00Z'],
].map(([id, time]) => ({ id: id!, time: new Date(time!).toISOString(), cluster: 'prod', tags: id === 's02' ? ['pinned'] : [] }));

const ids = (xs: { id: string }[]) => xs.map((x) => x.id).sort();

describe('forget policy on a synthetic calendar', () => {
  it('matches the hand-worked selection for last/hourly/daily/weekly/monthly', () => {
    // Worked by hand, newest first:
    //  s10 last, hourly(05h), daily(04-15), weekly(W16), monthly(2024-04)
    //  s09 same hour/day/week/month as s10 -> removed
    //  s08 hourly(01h) -> hourly now used up (2)
    //  s07 nothing left that it starts -> removed
    //  s06 daily(04-14), weekly(W15)
    //  s05 daily(04-08) -> daily used up (3)
    //  s04 weekly(W14) -> weekly used up (3)
    //  s03, s02 same month as kept ones -> removed
    //  s01 monthly(2024-03) -> monthly used up (2)
    const r = applyPolicy(CAL, { keepLast: 1, keepHourly: 2, keepDaily: 3, keepWeekly: 3, keepMonthly: 2 });
    expect(ids(r.keep.map((k) => k.snapshot))).toEqual(['s01', 's04', 's05', 's06', 's08', 's10']);
    expect(ids(r.remove)).toEqual(['s02', 's03', 's07', 's09']);
    const why = Object.fromEntries(r.keep.map((k) => [k.snapshot.id, k.reasons]));
    expect(why.s10).toEqual(['last', 'hourly', 'daily', 'weekly', 'monthly']);
    expect(why.s06).toEqual(['daily', 'weekly']);
    expect(why.s04).toEqual(['weekly']);
    expect(why.s01).toEqual(['monthly']);
  });

  it('keep-within is measured from the newest snapshot; keep-tag keeps tagged ones; yearly', () => {
    const r = applyPolicy(CAL, { keepWithin: '1d', keepTags: ['pinned'] });
    expect(ids(r.keep.map((k) => k.snapshot))).toEqual(['s02', 's06', 's07', 's08', 's09', 's10']);
    const y = applyPolicy(CAL, { keepYearly: 5 });
    expect(ids(y.keep.map((k) => k.snapshot))).toEqual(['s10']);
  });

  it('applies per cluster, and refuses an empty policy', () => {
    const two = [...CAL, { id: 'x1', time: '2020-01-01T00:00:00.000Z', cluster: 'other', tags: [] }];
    const r = applyPolicy(two, { keepLast: 1 });
    expect(ids(r.keep.map((k) => k.snapshot))).toEqual(['s10', 'x1']);
    expect(() => applyPolicy(CAL, {})).toThrow(/refusing/);
  });

  it('computes ISO weeks and calendar durations', () => {
    expect(isoWeek(new Date('2024-03-31T22:00:00Z'))).toBe('2024-W13');
    expect(isoWeek(new Date('2024-04-01T00:00:00Z'))).toBe('2024-W14');
    expect(isoWeek(new Date('2021-01-03T00:00:00Z'))).toBe('2020-W53');
    expect(subtractDuration(new Date('2024-03-31T00:00:00Z'), '1M').toISOString()).toBe('2024-03-02T00:00:00.000Z');
    expect(subtractDuration(new Date('2024-04-15T05:10:00Z'), '1d2h').toISOString()).toBe('2024-04-14T03:10:00.000Z');
  });
});

describe('a drill fault\'s pre-fault export', () => {
  const snap = (id: string, time: string, tags: string[], cluster = 'staging') => ({ id, time, cluster, tags });
  const exportOf = (drill: string, cluster = 'staging') => snap(`exp-${drill}-${cluster}`, '2026-11-01T10:00:00.000Z', [`drill:${drill}`, 'pre-fault', 'fault:zookeeper-chroot'], cluster);
  const recordOf = (drill: string, cluster = 'staging') => ({ ...snap(`rec-${drill}-${cluster}`, '2026-11-01T09:59:00.000Z', ['drill', `drill:${drill}`], cluster), components: ['drill'] });
  const newer = snap('newer', '2026-11-02T00:00:00.000Z', ['export']);

  it('is kept, taking no slot, while its drill has no record; once recorded it is an ordinary snapshot', () => {
    const during = applyPolicy([exportOf('d1'), newer], { keepLast: 1 });
    expect(during.remove).toEqual([]);
    expect(during.keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([
      ['exp-d1-staging', ["pre-fault export of drill d1 (kept until the drill's record is saved)"]],
      ['newer', ['last']],
    ]);
    const after = applyPolicy([exportOf('d1'), recordOf('d1'), newer], { keepLast: 1 });
    expect(ids(after.remove)).toEqual(['exp-d1-staging']);
    expect(after.keep.find((k) => k.snapshot.id === 'rec-d1-staging')?.reasons).toEqual(['drill record (never forgotten)']);
  });

  it('another drill\'s record, or the same drill id of another cluster, does not release it; nor does one without a drill id', () => {
    const r = applyPolicy([exportOf('d1'), recordOf('d2'), recordOf('d1', 'other'), snap('anon', '2026-11-01T00:00:00.000Z', ['pre-fault']), newer], { keepLast: 1 });
    expect(r.remove).toEqual([]);
    expect(r.keep.find((k) => k.snapshot.id === 'anon')?.reasons).toEqual(["pre-fault export of drill (unnamed) (kept until the drill's record is saved)"]);
  });
});
