/**
 * Repository locks: shared for backup/restore/copy/check (many at once), exclusive for forget/prune
 * (alone). A lock file records host, pid and time and is refreshed while held; one whose process
 * is gone (same host) or that was not refreshed for STALE_MS is broken, with a notice.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LifeboatError } from '../errors';
import type { Backend } from './backend';

export const STALE_MS = 30 * 60 * 1000;
const REFRESH_MS = 5 * 60 * 1000;

export interface LockInfo {
  host: string;
  pid: number;
  time: string;
  exclusive: boolean;
  purpose: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock dated further ahead than this says a clock is wrong (its writer's or this machine's). */
export const CLOCK_SKEW_MS = 60 * 1000;

/**
 * Names a clock skew between a lock's writer and this machine when its time is ahead of ours: on
 * shared storage (a NAS, a bucket) hosts judge each other's locks by the time written in them.
 */
export function skewOf(l: LockInfo, now = Date.now()): string | null {
  const ahead = Date.parse(l.time) - now;
  if (!(ahead > CLOCK_SKEW_MS)) return null;
  return `its time is ${Math.round(ahead / 60000)} min ahead of this machine's clock: the clock of ${l.host} or of this machine is wrong (check NTP), and stale locks are judged by these times`;
}

export function isStale(l: LockInfo, now = Date.now(), host = hostname()): string | null {
  if (l.host === host && !processAlive(l.pid)) return `process ${l.pid} on ${l.host} is gone`;
  const age = now - Date.parse(l.time);
  if (!(age < STALE_MS)) return `not refreshed for ${Math.round(age / 60000)} min`;
  return null;
}

/** Clocks already named in a notice (once per process). */
const saidSkew = new Set<string>();

/**
 * "Now" for locks on this backend: the storage server's clock when it tells (S3), so hosts whose
 * clocks disagree still date and judge locks alike; a skew over CLOCK_SKEW_MS is named once.
 */
function lockNow(backend: Backend, notice: (m: string) => void): number {
  const skew = backend.clockSkewMs?.() ?? 0;
  if (Math.abs(skew) > CLOCK_SKEW_MS && !saidSkew.has(backend.location)) {
    saidSkew.add(backend.location);
    notice(
      `this machine's clock is ${Math.round(Math.abs(skew) / 60000)} min ${skew < 0 ? 'ahead of' : 'behind'} the storage server's (${backend.location}): ` +
        `locks there are dated and judged by the server's clock; set this clock (NTP)`,
    );
  }
  return Date.now() + skew;
}

export class Lock {
  private timer?: NodeJS.Timeout;
  private constructor(
    private readonly backend: Backend,
    readonly name: string,
    private info: LockInfo,
  ) {}

  static async acquire(backend: Backend, exclusive: boolean, purpose: string, notice: (m: string) => void): Promise<Lock> {
    const info: LockInfo = { host: hostname(), pid: process.pid, time: new Date(lockNow(backend, notice)).toISOString(), exclusive, purpose };
    const name = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    // Write first, then look: two racing lockers both see each other and both back off (retryable).
    await backend.write('locks', name, Buffer.from(JSON.stringify(info)));
    try {
      for (const { name: other } of await backend.list('locks')) {
        if (other === name) continue;
        let l: LockInfo;
        try {
          l = JSON.parse((await backend.read('locks', other)).toString('utf8')) as LockInfo;
        } catch {
          continue; // vanished meanwhile, or unreadable garbage: ignore
        }
        const now = lockNow(backend, notice);
        const stale = isStale(l, now);
        if (stale) {
          await backend.remove('locks', other);
          notice(`broke a stale ${l.exclusive ? 'exclusive' : 'shared'} lock of ${l.purpose} (pid ${l.pid} on ${l.host}, ${l.time}): ${stale}`);
          continue;
        }
        if (exclusive || l.exclusive) {
          throw new LifeboatError(
            'Locked',
            `repository ${backend.location} is locked ${l.exclusive ? 'exclusively' : 'shared'} by ${l.purpose} (pid ${l.pid} on ${l.host} since ${l.time}); ` +
              (skewOf(l, now) ?? 'try again when it has finished'),
            { lock: l },
          );
        }
      }
    } catch (e) {
      await backend.remove('locks', name).catch(() => undefined);
      throw e;
    }
    const lock = new Lock(backend, name, info);
    lock.timer = setInterval(() => void lock.refresh(), REFRESH_MS);
    lock.timer.unref();
    return lock;
  }

  get purpose(): string {
    return this.info.purpose;
  }

  /** Says what the holder does now (a shared lock taken to read a parent, then used to write a backup). */
  async relabel(purpose: string): Promise<void> {
    this.info = { ...this.info, purpose };
    await this.backend.write('locks', this.name, Buffer.from(JSON.stringify(this.info)));
  }

  private async refresh(): Promise<void> {
    this.info = { ...this.info, time: new Date(Date.now() + (this.backend.clockSkewMs?.() ?? 0)).toISOString() };
    await this.backend.write('locks', this.name, Buffer.from(JSON.stringify(this.info))).catch(() => undefined);
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.backend.remove('locks', this.name);
  }
}
