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
