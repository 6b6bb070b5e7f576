/**
 * The promotion hold on the lab's Temporal (src/failover/promotion.ts): two failovers of one primary
 * ask for it, one gets it; the holder asking again gets it again (a retried activity); a release
 * that names another holder or another standby ends nothing; the failback's release ends it, and the
 * next failover takes it. No worker is needed: the hold is read from its memo and ended by its run ID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promotionWorkflowId } from '../../src/failover/ids.pure';
import { promotionHeld, releasePromotion, takePromotion } from '../../src/failover/promotion';
import { connectTemporal, type TemporalClient } from '../../src/temporal/runs';
import { unique } from '../support/lab';

describe('promotion hold', () => {
  const primary = unique('hold-p');
  let temporal: TemporalClient;

  beforeAll(async () => {
    temporal = await connectTemporal();
  });
  afterAll(async () => {
    await releasePromotion(temporal.client, primary, { by: 'test', reason: 'test cleanup' }).catch(() => undefined);
    await temporal?.close();
  });

  it('one failover of a primary holds it until it is ended; the next then takes it', async () => {
    const client = temporal.client;
    expect(await promotionHeld(client, primary)).toBeUndefined();
    expect(await releasePromotion(client, primary, { by: 'test', reason: 'nothing held' })).toEqual({ released: false, why: 'not held' });

    // Two incidents of one outage ask at once: exactly one holds it.
    const [a, b] = await Promise.all([
      takePromotion(client, { primary, standby: 'hold-s', holder: 'failover-a' }),
      takePromotion(client, { primary, standby: 'hold-s', holder: 'failover-b' }),
    ]);
    expect([a.taken, b.taken].sort()).toEqual([false, true]);
    const winner = a.taken ? 'failover-a' : 'failover-b';
    const loser = a.taken ? b : a;
    expect(loser).toMatchObject({ taken: false, held: { primary, standby: 'hold-s', holder: winner } });
    const held = await promotionHeld(client, primary);
    expect(held).toMatchObject({ primary, standby: 'hold-s', holder: winner });
    // The holder's retry gets the same hold; the loser's retry does not.
    expect(await takePromotion(client, { primary, standby: 'hold-s', holder: winner })).toEqual({ taken: true, hold: held });
    expect((await takePromotion(client, { primary, standby: 'hold-s', holder: winner === 'failover-a' ? 'failover-b' : 'failover-a' })).taken).toBe(false);

    // A drill's undo names its own failover, a failback its standby: neither ends another's hold.
    expect(await releasePromotion(client, primary, { by: 'drill', reason: 'undo', holder: 'failover-c' })).toMatchObject({ released: false, why: 'held by another' });
    expect(await releasePromotion(client, primary, { by: 'failback', reason: 'back', standby: 'other-s' })).toMatchObject({ released: false, why: 'held by another' });
    expect(await promotionHeld(client, primary)).toEqual(held);

    // The failback from the standby ends it at once (no worker needed), and says whose it was.
    expect(await releasePromotion(client, primary, { by: 'failback-hold-s-to-p', reason: 'failed back', standby: 'hold-s' })).toEqual({ released: true, hold: held });
    expect(await promotionHeld(client, primary)).toBeUndefined();
    const ended = await client.workflow.getHandle(promotionWorkflowId(primary)).describe();
    expect(ended.status.name).toBe('TERMINATED');
    expect(await releasePromotion(client, primary, { by: 'test', reason: 'again' })).toEqual({ released: false, why: 'not held' });

    // The next incident's failover takes it again.
    expect(await takePromotion(client, { primary, standby: 'hold-s', holder: 'failover-d' })).toMatchObject({ taken: true, hold: { holder: 'failover-d' } });
    expect(await promotionHeld(client, primary)).toMatchObject({ holder: 'failover-d' });
  });
});
