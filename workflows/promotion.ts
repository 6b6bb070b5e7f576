/**
 * promotion — the promotion hold of a primary (ID promotion-<primary>; src/failover/promotion.ts):
 * started by the failover that promotes the standby, it does nothing but run, so that no other
 * failover of the primary can start it, until it is terminated by its run ID (the failback, a
 * drill's undo of its own failover, `lifeboat failover release`). Who holds it is in its memo and
 * its query.
 */
import { condition, defineQuery, setHandler } from '@temporalio/workflow';
import { PROMOTION_HOLD_QUERY, type PromotionHold } from '../src/failover/ids.pure';

export const promotionHoldQuery = defineQuery<PromotionHold>(PROMOTION_HOLD_QUERY);

export async function promotion(hold: PromotionHold): Promise<never> {
  setHandler(promotionHoldQuery, () => hold);
  await condition(() => false);
  throw new Error('unreachable: a promotion hold ends by termination');
}
