/** The cluster serving again after a recovery: every broker registered, no partition offline. */
import type { ClusterSpec } from '../config/spec';
import { poll } from '../core/poll';
import { readClusterState } from '../kafka/clusterState';

// ---- waiting and verifying ----

/** Waits until every broker of the spec is registered and no partition is offline. */
export async function waitForServing(
  spec: ClusterSpec,
  opts: { timeoutMs?: number; signal?: AbortSignal; onProgress?: (p: { brokers: number[]; offline: number }) => void } = {},
): Promise<{ brokers: number[]; partitions: number }> {
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const want = spec.brokers.map((b) => b.id).sort((a, b) => a - b);
  return poll(
    async (note) => {
      const s = await readClusterState(spec);
      const offline = s.partitions.filter((p) => p.leader < 0).length;
      opts.onProgress?.({ brokers: s.brokers, offline });
      if (want.every((id) => s.brokers.includes(id)) && offline === 0 && s.controller !== null) return { brokers: s.brokers, partitions: s.partitions.length };
      note(`brokers ${s.brokers.join(',') || 'none'} of ${want.join(',')} registered, ${offline} partitions offline`);
      return undefined;
    },
    {
      what: `${spec.name} to serve`,
      timeoutMs,
      intervalMs: 1000,
      signal: opts.signal,
      message: (reason) => `${spec.name} is not serving ${Math.round(timeoutMs / 1000)} s after the brokers started${reason ? ` (${reason})` : ''}`,
    },
  );
}
