/**
 * The drill's independent probe (issue 16): is the target whole and serving? Green when every broker
 * of the spec is live (registered, and its listener reachable), a scratch topic takes a produce
 * (acks=all) and serves it back (src/kafka/probe.ts), and ZooKeeper answers with the cluster's chroot
 * (and its registered brokers).
 * RTO is the time from the fault to the first green one.
 *
 * Never throws for a cluster that is down or broken: green false with the reason. Bounded by
 * `timeoutMs` (default 10 s): a probe not done by then is not green (its work finishes on its own
 * bounds in the background and cleans up after itself).
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { reachableKafka } from '../kafka/admin';
import { produceConsumeProbe } from '../kafka/probe';
import { chrootPath, exists, getChildren, withZk } from '../zookeeper/client';
import { PROBE_GROUP_PREFIX } from '../kafka/ownGroups';

export interface ProbeAnswer {
  green: boolean;
  /** When the answer was known (a green one: when the round trip had completed). */
  at: string;
  detail: string;
}

export async function drillProbe(spec: ClusterSpec, opts: { timeoutMs?: number } = {}): Promise<ProbeAnswer> {
  const timeoutMs = Math.max(1_000, opts.timeoutMs ?? 10_000);
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(500, deadline - Date.now());
  const notes: string[] = [];
  let described: { nodeId: number; host: string; port: number }[] = [];
  const allReachable = async () => {
    const dead = (await Promise.all(described.map(async (b) => ((await reachable(b.host, b.port, Math.min(2_000, left()))) ? undefined : b.nodeId)))).filter((id) => id !== undefined);
    if (dead.length) throw new Error(`broker${dead.length > 1 ? 's' : ''} ${dead.sort((a, b) => a - b).join(', ')} registered but not reachable`);
  };
  const work = async (): Promise<void> => {
    if (spec.zookeeper) notes.push(await zookeeperAnswers(spec, Math.min(5_000, left())));
    const kafka = await reachableKafka(spec, 'drill-probe');
    const groupId = `${PROBE_GROUP_PREFIX}${randomUUID()}`;
    try {
      const admin = kafka.admin({ retry: { retries: 1 } });
      await admin.connect();
      try {
        described = (await admin.describeCluster()).brokers;
        const live = described.map((b) => b.nodeId);
        const missing = spec.brokers.map((b) => b.id).filter((id) => !live.includes(id));
        if (missing.length) throw new Error(`broker${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not live (live: ${live.sort((a, b) => a - b).join(', ') || 'none'})`);
        // Registered is not alive: a broker that died stays registered until its ZooKeeper session
        // expires. A probe that took it for live went green as soon as leadership moved off it, and its
        // scratch topic got a replica there (the topic's deletion then waits for that broker).
        await allReachable();
        notes.push(`${live.length} broker${live.length === 1 ? '' : 's'} live`);
      } finally {
        await admin.disconnect().catch(() => {});
      }
      const r = await produceConsumeProbe(kafka, { records: 3, partitions: 1, timeoutMs: left(), spec, groupId });
      if (!r.ok) throw new Error(`probe read ${r.consumed}/${r.produced} records`);
      // A broker that died meanwhile (its port still open for a moment after the kill) is not served by this round trip.
      await allReachable();
      notes.push(`produce+consume ${r.roundTripMs} ms`);
    } finally {
      // The probe's reader committed offsets: its group goes too (a drill's inventory must not find it).
      void deleteGroup(spec, groupId);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { green: true, at: new Date().toISOString(), detail: notes.join('; ') };
  } catch (e) {
    return { green: false, at: new Date().toISOString(), detail: [...notes, `not green: ${(e as Error).message}`].join('; ') };
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a TCP connection to the broker's listener opens within `ms` (a dead broker's port refuses at once). */
function reachable(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** ZooKeeper answers and holds the cluster's chroot (in ZooKeeper mode, with its brokers registered). */
async function zookeeperAnswers(spec: ClusterSpec, timeoutMs: number): Promise<string> {
  const zk = spec.zookeeper!;
  return withZk(
    zk.connect,
    async (c) => {
      const root = chrootPath(zk.chroot, '/');
      if (!(await exists(c, root))) throw new Error(`ZooKeeper has no ${root}`);
      if (spec.kafka.mode !== 'zookeeper') return 'ZooKeeper answers';
      const ids = await getChildren(c, chrootPath(zk.chroot, '/brokers/ids')).catch(() => [] as string[]);
      return `ZooKeeper answers, ${ids.length} broker${ids.length === 1 ? '' : 's'} registered`;
    },
    { timeoutMs, auth: zkAuthOf(spec) },
  );
}

async function deleteGroup(spec: ClusterSpec, groupId: string): Promise<void> {
  try {
    const kafka = await reachableKafka(spec, 'drill-probe');
    const admin = kafka.admin({ retry: { retries: 1 } });
    await admin.connect();
    try {
      await admin.deleteGroups([groupId]);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  } catch {
    // best effort: a group that never formed (the probe failed before reading) has nothing to delete
  }
}
