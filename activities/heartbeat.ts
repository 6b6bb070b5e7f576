/**
 * Heartbeats on a timer while a long step runs, so the heartbeat timeout detects a dead worker
 * quickly without cutting short a slow but live step. The details are typed Progress
 * (src/core/progress.ts), what `lifeboat status` and the UI show: the timer repeats the newest
 * progress the step reported through `beat`, not the first. The step also gets the activity's
 * cancellation signal (it aborts when the workflow cancels the activity, which Temporal delivers on
 * a heartbeat) to hand to the src/ functions that take `signal`.
 */
import { Context } from '@temporalio/activity';
import type { Progress } from '../src/core/progress';

export type Beat = (progress: Progress) => void;

export async function withHeartbeat<T>(first: Progress, fn: (beat: Beat, signal: AbortSignal) => Promise<T>, everyMs = 5_000): Promise<T> {
  const ctx = Context.current();
  let last = first;
  const beat: Beat = (p) => {
    last = p;
    ctx.heartbeat(p);
  };
  ctx.heartbeat(last);
  const timer = setInterval(() => ctx.heartbeat(last), everyMs);
  try {
    return await fn(beat, ctx.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}
