/**
 * The one way Lifeboat waits: `sleep` and `poll` (until a check says done) and `retry` (until a call
 * stops failing), each stopping at once when its AbortSignal aborts. An activity hands Temporal's
 * cancellation signal down, so a cancelled step stops between two looks instead of at its deadline.
 *
 * On abort they reject with the signal's reason when it is an Error (Temporal's CancelledFailure,
 * which the worker reports as a cancellation) and otherwise with an `AbortError`.
 */
import { type ErrorType, LifeboatError } from '../errors';

export class AbortError extends Error {
  constructor(message = 'the operation was cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

/** The error an aborted wait rejects with. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new AbortError(typeof signal.reason === 'string' ? signal.reason : undefined);
}

/** Throws the abort error if `signal` has aborted: call it between batches, files, rounds. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** True for what an aborted wait throws (or a plain AbortError from elsewhere, e.g. fetch). */
export function isAbort(e: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted && e === signal.reason) return true;
  return e instanceof Error && e.name === 'AbortError';
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. Never keeps the process alive on its own once aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Milliseconds between looks: a constant, or by attempt (1, 2, …) for a backoff. */
export type Interval = number | ((attempt: number) => number);

const intervalAt = (interval: Interval | undefined, attempt: number): number =>
  typeof interval === 'function' ? interval(attempt) : (interval ?? 250);

/** `min(step × attempt, max)`: the linear backoff most of our loops use. */
export const backoff = (stepMs: number, maxMs: number) => (attempt: number) => Math.min(stepMs * attempt, maxMs);

export interface PollOptions {
  /** What we wait for, as the error names it: "broker 2 to leave the ISR". */
  what: string;
  timeoutMs: number;
  intervalMs?: Interval;
  signal?: AbortSignal;
  /** The LifeboatError type of a timeout (default Unreachable: a retry may well succeed). */
  errorType?: ErrorType;
  /** Errors of `check` that end the wait at once (default: none; every other error is "not yet", and its first line the reason). */
  fatal?: (e: unknown) => boolean;
  /** The timeout's message, where a caller's wording is established (default: "timed out after 60s waiting for <what> (<reason>)"). */
  message?: (reason: string | undefined) => string;
}

/** Told by `check` why it is not done yet; the timeout error repeats the last reason. */
export type Note = (reason: string) => void;

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

const seconds = (ms: number): string => (ms % 1000 === 0 || ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${ms}ms`);

/**
 * Calls `check` until it returns a value (not undefined or false) and returns that value. After
 * `timeoutMs` it throws one LifeboatError line: "timed out after 60s waiting for <what> (<last reason>)".
 * `check` may call `note(reason)` to say why it is not done; an error it throws counts as a reason
 * too, unless `fatal` says otherwise. An abort rejects at once, also in the middle of a sleep.
 */
export async function poll<T>(check: (note: Note) => Promise<T | undefined | false> | T | undefined | false, opts: PollOptions): Promise<T> {
  const { signal } = opts;
  const deadline = Date.now() + opts.timeoutMs;
  let reason: string | undefined;
  const note: Note = (r) => {
    reason = r;
  };
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal);
    try {
      const value = await check(note);
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      if (signal?.aborted) throw abortReason(signal);
      if (isAbort(e) || opts.fatal?.(e)) throw e;
      reason = firstLine(e);
    }
    throwIfAborted(signal);
    const left = deadline - Date.now();
    if (left <= 0) {
      const message = opts.message?.(reason) ?? `timed out after ${seconds(opts.timeoutMs)} waiting for ${opts.what}${reason ? ` (${reason})` : ''}`;
      throw new LifeboatError(opts.errorType ?? 'Unreachable', message);
    }
    await sleep(Math.min(intervalAt(opts.intervalMs, attempt), left), signal);
  }
}

export interface RetryOptions {
  timeoutMs: number;
  intervalMs?: Interval;
  signal?: AbortSignal;
  /** Errors worth another try (a transient one); any other is thrown at once. */
  retryIf: (e: unknown, attempt: number) => boolean;
}

/**
 * Calls `fn` until it resolves; an error `retryIf` accepts is tried again after the interval until
 * `timeoutMs` has passed, and then thrown as it is (callers map their library's errors themselves).
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const { signal } = opts;
  const deadline = Date.now() + opts.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal);
    try {
      return await fn(attempt);
    } catch (e) {
      if (signal?.aborted) throw abortReason(signal);
      if (isAbort(e) || !opts.retryIf(e, attempt) || Date.now() > deadline) throw e;
    }
    await sleep(intervalAt(opts.intervalMs, attempt), signal);
  }
}
