/**
 * The names the alert receiver, the CLI and the failover workflow share: workflow type and ID,
 * signal and query names. Pure (workflows import it).
 */
export const FAILOVER_WORKFLOW_TYPE = 'failover';
export const FAILBACK_WORKFLOW_TYPE = 'failback';
/** Each firing alert (duplicates included) reaches the run as this signal (SignalWithStart). */
export const FAILOVER_ALERT_SIGNAL = 'failoverAlert';
/** A resolved alert: a failover not yet promoting stands down. */
export const FAILOVER_RESOLVED_SIGNAL = 'failoverResolved';
export const FAILOVER_STATUS_QUERY = 'failoverStatus';

/** One workflow per primary and incident: `failover-<cluster>-<incident>`. */
export const failoverWorkflowId = (cluster: string, incident: string): string => `failover-${cluster}-${incident}`;
export const failbackWorkflowId = (primary: string, standby: string): string => `failback-${standby}-to-${primary}`;

/**
 * The promotion hold: one workflow per primary, `promotion-<primary>`, started (ID conflict: fail) by
 * the failover that is about to promote its standby and ended (terminated by its run ID) by the
 * failback, a drill's undo or `lifeboat failover release`. While it runs, no other failover of that
 * primary promotes.
 */
export const PROMOTION_WORKFLOW_TYPE = 'promotion';
export const promotionWorkflowId = (primary: string): string => `promotion-${primary}`;

/** Who holds a primary's promotion. */
export interface PromotionHold {
  primary: string;
  standby: string;
  /** The failover run that promoted (or is promoting) the standby: its workflow ID… */
  holder: string;
  /** …and its run ID (a later run under the same workflow ID is another failover). */
  holderRunId?: string;
  /** ISO time the hold was taken. */
  since: string;
}

/** The end of a hold: who ends it and why (a failback, a drill's undo, an operator). */
export interface PromotionEnd {
  by: string;
  reason: string;
  /** Only the hold of this run is ended (a drill's undo of its own failover). */
  holder?: string;
  /** Only a hold that promoted this standby is ended (a failback from it). */
  standby?: string;
  /** Only the hold of this run of `holder` (a failover letting go of its own). */
  holderRunId?: string;
}

/** Whether `end` ends `hold` (releasePromotion ends nothing else). */
export const endsHold = (end: PromotionEnd, hold: PromotionHold): boolean =>
  (!end.holder || end.holder === hold.holder) && (!end.holderRunId || end.holderRunId === hold.holderRunId) && (!end.standby || end.standby === hold.standby);

/** Whether `hold` is this very run's (a retried take, or the check before the approval). */
export const heldBySelf = (hold: PromotionHold, holder: string, holderRunId?: string): boolean => hold.holder === holder && hold.holderRunId === holderRunId;

/** The one line a failover that finds the hold taken stands down with. */
export const heldLine = (h: PromotionHold): string =>
  `${h.primary} was failed over to ${h.standby} by ${h.holder} (since ${h.since}), and that promotion has not been ended: fail back first (lifeboat failback --primary ${h.primary}), or, if it was undone by hand, end it: lifeboat failover release --cluster ${h.primary}`;
