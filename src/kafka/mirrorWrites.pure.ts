/**
 * Records on a mirror's target past the mirror's copies: written there by clients (after a failover
 * or a migration's switch), not by the mirror, so they are on the target only. Pure: the failover
 * drill's review and the migration's rollback name them in their reports.
 */

/** A mirrored partition of the target holding records past the mirror's copies. */
export interface TargetWrites {
  topic: string;
  partition: number;
  /** The target's offset where the mirror's copies end (the mirror's targetNext), or `since` when later. */
  from: number;
  /** The target's end offset now. */
  end: number;
}

/**
 * The partitions whose end on the target is past the mirror's copies (`ends`: "topic/partition" → end
 * offset) and past where the target ended when the caller began (`since`, same keys: records past the
 * mirror's copies that were there before are not its clients'). Topics to leave out are left out of
 * `forward` (settled.ts).
 */
export function writesPastCopies(
  forward: readonly { topic: string; partition: number; targetNext: number }[],
  ends: Readonly<Record<string, number>>,
  since: Readonly<Record<string, number>> = {},
): TargetWrites[] {
  const out: TargetWrites[] = [];
  for (const f of forward) {
    const key = `${f.topic}/${f.partition}`;
    const end = ends[key];
    const from = Math.max(f.targetNext, since[key] ?? 0);
    if (end !== undefined && end > from) out.push({ topic: f.topic, partition: f.partition, from, end });
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** "N records written to `target` `when` (topic-p: n (offsets a-b), …)": the common head of the reports' lines. */
export function writesCounted(target: string, when: string, s: readonly TargetWrites[]): string {
  const total = s.reduce((n, p) => n + (p.end - p.from), 0);
  const named = s.slice(0, 4).map((p) => `${p.topic}-${p.partition}: ${p.end - p.from} (offsets ${p.from}-${p.end - 1})`).join(', ');
  return `${total} record${total === 1 ? '' : 's'} written to ${target} ${when} (${named}${s.length > 4 ? ', …' : ''})`;
}
