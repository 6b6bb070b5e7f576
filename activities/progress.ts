/** What the src/ functions report on their way, as the typed Progress the activities heartbeat. */
import type { Progress } from '../src/core/progress';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Drops undefined fields (heartbeat details are compared and shown as they are). */
export function progress(p: Progress): Progress {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as Progress;
}

/**
 * A backup part's progress: ZooKeeper znodes, log-dir files and bytes, topic records and bytes,
 * the baseline's fingerprinting, or a wait for a service (parts.ts reports these shapes).
 */
export function partProgress(part: string, p: Record<string, unknown>): Progress {
  const phase = `backup ${part}`;
  if (str(p.waiting)) return progress({ phase: `${phase}: waiting for ${str(p.waiting)}`, done: num(p.waitedMs), unit: 'ms' });
  if (str(p.fingerprinting)) return progress({ phase: `${phase}: fingerprinting`, subject: str(p.fingerprinting) });
  if (num(p.znodes) !== undefined) return progress({ phase, done: num(p.znodes), unit: 'znodes' });
  if (num(p.totalRecords) !== undefined) return progress({ phase, done: num(p.totalRecords), unit: 'records', subject: str(p.topic) });
  if (num(p.bytes) !== undefined) return progress({ phase, done: num(p.bytes), unit: 'bytes', subject: str(p.host) });
  return { phase };
}
