/**
 * Task-queue names, in one place (pure: workflows import it too). The control queue runs the
 * workflows and the activities that need no broker's disk; each broker host runs a worker on its
 * own queue for the activities that touch that host's files (log dirs, configs, the broker process).
 */

/** The control queue: workflows and cluster-wide activities. */
export const CONTROL_TASK_QUEUE = 'lifeboat';

/** The queue of the worker on a broker's host. */
export const hostTaskQueue = (host: string): string => `lifeboat-host-${host}`;
