/** The cluster serving again after a recovery: every broker registered, no partition offline. */
import type { ClusterSpec } from '../config/spec';
import { sleep } from '../host/processes';
import { readClusterState } from '../kafka/clusterState';

// ---- waiting and verifying ----

/** Waits until every broker of the spec is registered and no partition is offline. */
export async function waitForServing(spec: ClusterSpec, opts: { timeoutMs?: number; onProgress?: (p: { brokers: number[]; offline: number }) => void } = {}): Promise<{ brokers: number[]; partitions: number }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  const want = spec.brokers.map((b) => b.id).sort((a, b) => a - b);
  for (;;) {
    const s = await readClusterState(spec).catch(() => undefined);
    if (s) {
      const offline = s.partitions.filter((p) => p.leader < 0).length;
      opts.onProgress?.({ brokers: s.brokers, offline });
      if (want.every((id) => s.brokers.includes(id)) && offline === 0 && s.controller !== null) return { brokers: s.brokers, partitions: s.partitions.length };
    }
    if (Date.now() > deadline) throw new Error(`${spec.name} is not serving ${Math.round((opts.timeoutMs ?? 600_000) / 1000)} s after the brokers started`);
    await sleep(1000);
  }
}
