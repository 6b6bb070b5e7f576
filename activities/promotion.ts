/**
 * The promotion hold (src/failover/promotion.ts) through the worker's Temporal client: taken by the
 * failover before it promotes, ended by the failback and by a drill's undo. Both are idempotent.
 */
import { Context } from '@temporalio/activity';
import type { PromotionEnd, PromotionHold } from '../src/failover/ids.pure';
import { promotionHeld, releasePromotion, takePromotion } from '../src/failover/promotion';
import type { ActivityDeps } from './deps';

export function promotionActivities(_deps: ActivityDeps) {
  return {
    async takePromotionActivity(input: Omit<PromotionHold, 'since'>) {
      return takePromotion(Context.current().client, input);
    },
    /** Read only: who holds the primary's promotion, if anyone (the failover looks before it asks for approval). */
    async promotionHeldActivity(input: { primary: string }) {
      return (await promotionHeld(Context.current().client, input.primary)) ?? null;
    },
    async releasePromotionActivity(input: { primary: string; end: PromotionEnd }) {
      return releasePromotion(Context.current().client, input.primary, input.end);
    },
  };
}
