/**
 * The drills' lock on the lab's Temporal (src/drills/lock.ts). Its holders are real running workflow
 * runs (drill workflows on a task queue nobody polls: they stay Running, doing nothing): two drills
 * asking at once, exactly one holds it; the other is refused and named the holder; a holder that ended
 * without ending it (terminated) leaves a stale lock that the next drill takes over; only the holder's
 * own run ends it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillLockWorkflowId } from '../../src/drills/ids.pure';
import { releaseDrillLock, takeDrillLock } from '../../src/drills/lock';
import { connectTemporal, type TemporalClient } from '../../src/temporal/runs';
import { unique } from '../support/lab';

describe('drill lock', () => {
  const cluster = unique('lock-c');
  let temporal: TemporalClient;
  const started: string[] = [];

  /** A drill run that stays Running (nobody polls its queue). */
  const running = async (): Promise<{ holder: string; holderRunId: string }> => {
    const id = unique('drill-lock-holder');
    const h = await temporal.client.workflow.start('drill', { taskQueue: unique('nobody-polls'), workflowId: id, args: [{}] });
    started.push(id);
    return { holder: id, holderRunId: h.firstExecutionRunId };
  };

  beforeAll(async () => {
    temporal = await connectTemporal();
  });
  afterAll(async () => {
    for (const id of [...started, drillLockWorkflowId(cluster)]) await temporal.client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
    await temporal?.close();
  });

  it('one drill holds it; a stale lock is taken over; only its holder ends it', async () => {
    const client = temporal.client;
    const [a, b] = [await running(), await running()];
    const [ta, tb] = await Promise.all([takeDrillLock(client, { cluster, ...a }), takeDrillLock(client, { cluster, ...b })]);
    expect([ta.taken, tb.taken].sort()).toEqual([false, true]);
    const [winner, loser] = ta.taken ? [a, b] : [b, a];
    expect(ta.taken ? tb : ta).toMatchObject({ taken: false, held: { cluster, holder: winner.holder, holderRunId: winner.holderRunId } });
    // The holder's retry gets it again; the other's end of it does nothing.
    expect((await takeDrillLock(client, { cluster, ...winner })).taken).toBe(true);
    expect(await releaseDrillLock(client, cluster, loser.holder)).toBe(false);

    // The holder ends without ending the lock (terminated): the next drill takes it over.
    await client.workflow.getHandle(winner.holder).terminate('test: the drill was terminated');
    const over = await takeDrillLock(client, { cluster, ...loser });
    expect(over).toMatchObject({ taken: true, hold: { holder: loser.holder } });
    const d = await client.workflow.getHandle(drillLockWorkflowId(cluster)).describe();
    expect(d.status.name).toBe('RUNNING');
    expect(d.memo?.drillLock).toMatchObject({ holder: loser.holder, holderRunId: loser.holderRunId });

    // Its holder ends it; then it is free.
    expect(await releaseDrillLock(client, cluster, loser.holder)).toBe(true);
    expect((await client.workflow.getHandle(drillLockWorkflowId(cluster)).describe()).status.name).toBe('TERMINATED');
    const c = await running();
    expect((await takeDrillLock(client, { cluster, ...c })).taken).toBe(true);
    expect(await releaseDrillLock(client, cluster, c.holder)).toBe(true);
  });
});
