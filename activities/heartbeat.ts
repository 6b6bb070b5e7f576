/**
 * Heartbeats on a timer while a long step runs that has no finer progress of its own, so the
 * heartbeat timeout detects a dead worker quickly without cutting short a slow but live step.
 */
import { heartbeat } from '@temporalio/activity';

export async function withHeartbeat<T>(details: unknown, fn: () => Promise<T>, everyMs = 5_000): Promise<T> {
  heartbeat(details);
  const timer = setInterval(() => heartbeat(details), everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
