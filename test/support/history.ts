/** A history event's time in ms since the epoch (its Timestamp's seconds may be a number or a Long). */
export function eventMs(t: unknown): number {
  const x = (t ?? {}) as { seconds?: number | { toNumber(): number } | null; nanos?: number | null };
  const s = typeof x.seconds === 'number' ? x.seconds : (x.seconds?.toNumber() ?? 0);
  return s * 1000 + Math.round((x.nanos ?? 0) / 1e6);
}
