/**
 * Heartbeats on a timer while a long step runs, so the heartbeat timeout detects a dead worker
 * quickly without cutting short a slow but live step. The timer repeats the newest details the
 * step reported through `beat` (the status query and `lifeboat status` show them), not the first.
 */
import { heartbeat } from '@temporalio/activity';

export type Beat = (details: unknown) => void;

export async function withHeartbeat<T>(details: unknown, fn: (beat: Beat) => Promise<T>, everyMs = 5_000): Promise<T> {
  let last = details;
  const beat: Beat = (d) => {
    last = d;
    heartbeat(d);
  };
  heartbeat(last);
  const timer = setInterval(() => heartbeat(last), everyMs);
  try {
    return await fn(beat);
  } finally {
    clearInterval(timer);
  }
}
