import { describe, expect, it } from 'vitest';
import { setCompletedAt } from '../../src/backup/setTimes.pure';

const part = (time: string, durationMs?: number) => ({ time, ...(durationMs === undefined ? {} : { summary: { durationMs } }) });

describe('setCompletedAt', () => {
  it("is the latest part's start plus its duration, whichever part started first", () => {
    const set = {
      snapshots: {
        zookeeper: part('2026-12-05T10:00:00.000Z', 300),
        'logdirs:1': part('2026-12-05T10:00:00.200Z', 4_000),
        configs: part('2026-12-05T10:00:03.000Z', 100),
      },
    };
    expect(setCompletedAt(set)).toBe('2026-12-05T10:00:04.200Z');
  });

  it('is unknown when a part does not say how long it took, or has no time, or there are no parts', () => {
    expect(setCompletedAt({ snapshots: { zookeeper: part('2026-12-05T10:00:00.000Z', 300), 'logdirs:1': part('2026-12-05T10:00:00.200Z') } })).toBeUndefined();
    expect(setCompletedAt({ snapshots: { zookeeper: part('not a time', 300) } })).toBeUndefined();
    expect(setCompletedAt({ snapshots: { zookeeper: part('2026-12-05T10:00:00.000Z', -1) } })).toBeUndefined();
    expect(setCompletedAt({ snapshots: {} })).toBeUndefined();
    expect(setCompletedAt({})).toBeUndefined();
  });
});
