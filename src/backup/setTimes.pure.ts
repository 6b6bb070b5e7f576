/** When a backup set was complete (pure: the recovery workflows put it in their reports). */

interface PartMeta {
  time?: string;
  summary?: { durationMs?: number };
}

/**
 * When the last of a set's stored parts was written: each part's start plus its duration. A set's
 * `time` is its first part's start, so a write made after it may still be in a later part. undefined
 * when a part does not say (the reader must then not assume the set was complete at any time).
 */
export function setCompletedAt(set: { snapshots?: Record<string, PartMeta | undefined> }): string | undefined {
  const metas = Object.values(set.snapshots ?? {});
  if (metas.length === 0) return undefined;
  let end = -Infinity;
  for (const m of metas) {
    const start = m?.time ? Date.parse(m.time) : Number.NaN;
    const took = m?.summary?.durationMs;
    if (!Number.isFinite(start) || typeof took !== 'number' || !Number.isFinite(took) || took < 0) return undefined;
    end = Math.max(end, start + took);
  }
  return new Date(end).toISOString();
}
