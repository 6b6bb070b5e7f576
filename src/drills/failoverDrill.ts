/**
 * A full datacenter-lost drill's reads and undos (issue 16; the pure part is failoverDrill.pure.ts):
 * the mirror primary → standby as Temporal knows it (running? with which input?), waiting for it to
 * hold the drill's stream topic, the standby's write fences (read before, put back after a failover
 * lifted them), the `<chroot>/lifeboat` znode a ZooKeeper fence creates (removed after the unfence when
 * the drill found it absent), and the stream's copy on the standby (the topic and the mirror's
 * positions of it). Used by the drill's activities (activities/drillFailover.ts).
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { type ClusterSpec, zkAuthOf } from '../config/spec';
import { sleep } from '../core/poll';
import { LifeboatError } from '../errors';
import { type Acl, fenceShape, toKafkajsAcl } from '../kafka/acls';
import { describeTopics, reachableKafka, retryTransient, withAdmin } from '../kafka/admin';
import { kafkaFor } from '../kafka/client';
import { waitForAgreement } from '../kafka/ready';
import { forgetPositions, STATE_TOPIC } from '../kafka/mirror/state';
import { MIRROR_STATUS_QUERY, type MirrorStatus } from '../kafka/mirrorRun.pure';
import { topicAcls } from '../migration/fence';
import { FENCE_MARKER } from '../failover/data/fence';
import type { PrimaryFence } from '../failover/data/types';
import { FAILOVER_STATUS_QUERY } from '../failover/ids.pure';
import type { FailoverStatus } from '../failover/run.pure';
import { chrootPath, exists, getChildren, getData, remove, withZk } from '../zookeeper/client';
import type { DrillMirrorObservation } from './failoverDrill.pure';

/** The pair's mirror workflow: running or not, and the running run's input (its first event). */
export async function observeDrillMirror(client: Client, workflowId: string): Promise<DrillMirrorObservation> {
  const handle = client.workflow.getHandle(workflowId);
  let running: boolean;
  try {
    running = (await handle.describe()).status.name === 'RUNNING';
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return { workflowId, running: false };
    throw e;
  }
  if (!running) return { workflowId, running: false };
  const history = await handle.fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const input = payload ? (defaultPayloadConverter.fromPayload(payload) as DrillMirrorObservation['input']) : undefined;
  return { workflowId, running: true, ...(input ? { input } : {}) };
}

/**
 * What a failover run last said of itself (its status query; Temporal answers it for a closed run by
 * replaying its history): the hooks it ran and the fence it made, when it ended without returning its
 * result (terminated, timed out). Undefined when Temporal has no such run.
 */
export async function readFailoverStatus(client: Client, workflowId: string): Promise<FailoverStatus | undefined> {
  try {
    return await client.workflow.getHandle(workflowId).query<FailoverStatus>(FAILOVER_STATUS_QUERY);
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

/**
 * Waits until the mirror holds every partition of `topic` with a recorded position (the failover's
 * "usable data elsewhere" reads those positions on the standby); the topic's partitions are read on
 * `primary` (it may not exist yet: the drill's stream creates it meanwhile). Throws when the mirror
 * does not within `timeoutMs`.
 */
export async function awaitMirrorHolds(
  client: Client,
  primary: ClusterSpec,
  workflowId: string,
  topic: string,
  opts: { timeoutMs: number; onPoll?: (s: MirrorStatus | undefined) => void; signal?: AbortSignal },
): Promise<{ lagRecords: number; rounds: number; partitions: number }> {
  const until = Date.now() + opts.timeoutMs;
  const kafka = kafkaFor(primary, 'drill-mirror-wait');
  let partitions: number | undefined;
  let last: MirrorStatus | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    partitions ??= await withAdmin(kafka, primary.name, async (admin) => {
      if (!(await admin.listTopics()).includes(topic)) return undefined;
      return (await describeTopics(admin, [topic], { cluster: primary.name, listed: true }))[0]?.partitions.length || undefined;
    }).catch(() => undefined);
    const handle = client.workflow.getHandle(workflowId);
    const status = (await handle.describe()).status.name;
    if (status !== 'RUNNING') throw new LifeboatError('UnsafeTarget', `the mirror ${workflowId} is not running (${status.toLowerCase()}): see its run in Temporal`);
    last = await handle.query<MirrorStatus>(MIRROR_STATUS_QUERY).catch(() => undefined);
    opts.onPoll?.(last);
    const held = last?.partitions.filter((p) => p.topic === topic) ?? [];
    if (partitions && last && held.length >= partitions && last.rounds >= 1) return { lagRecords: held.reduce((n, p) => n + p.lagRecords, 0), rounds: last.rounds, partitions };
    if (Date.now() > until) {
      throw new LifeboatError(
        'Unreachable',
        `the mirror ${workflowId} holds ${held.length} of ${partitions ?? '?'} partitions of ${topic} after ${Math.round(opts.timeoutMs / 1000)} s (state ${last?.state ?? 'not answering'}, ${last?.rounds ?? 0} rounds): the failover would find no usable data on the standby`,
      );
    }
    await sleep(500);
  }
}

/** The standby's write fences: every fence-shaped topic ACL it holds (DENY WRITE / ALLOW ALL for User:*). */
export async function standbyFences(standby: ClusterSpec): Promise<Acl[]> {
  const kafka = await reachableKafka(standby, 'drill-fences');
  return withAdmin(kafka, standby.name, async (admin) => (await topicAcls(admin, standby.name)).filter((a) => fenceShape(a) !== undefined));
}

/** Creates the given ACLs on the standby (the fences a failover lifted). Idempotent (creating an ACL that is there changes nothing). */
export async function putFencesBack(standby: ClusterSpec, acls: Acl[]): Promise<void> {
  if (!acls.length) return;
  const kafka = await reachableKafka(standby, 'drill-fences');
  await withAdmin(kafka, standby.name, (admin) => retryTransient(() => admin.createAcls({ acl: acls.map(toKafkajsAcl) })));
}

/**
 * After the drill starts the target's brokers again: waits until its admin client sees every broker
 * and every topic of `topics` with a leader for each partition, then until every broker agrees on them
 * (a broker just started answers metadata before the controller has sent it the topics: an inventory
 * asking that one would miss them). Returns a line.
 */
export async function awaitServingAgain(spec: ClusterSpec, topics: string[], opts: { timeoutMs: number; signal?: AbortSignal }): Promise<string> {
  const until = Date.now() + opts.timeoutMs;
  const want = spec.brokers.map((b) => b.id);
  let last: string;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const seen = await withAdmin(kafkaFor(spec, 'drill-serving'), spec.name, async (admin) => {
        const live = (await admin.describeCluster()).brokers.map((b) => b.nodeId);
        const md = await describeTopics(admin, []);
        const led = new Map(md.map((t) => [t.name, t.partitions.every((p) => p.leader >= 0)]));
        return { missingBrokers: want.filter((id) => !live.includes(id)), missingTopics: topics.filter((t) => led.get(t) !== true), topics: md.length };
      });
      if (!seen.missingBrokers.length && !seen.missingTopics.length) {
        // One broker's view is not every broker's: a broker the controller has not updated yet answers
        // Metadata with no topics, and the inventory's listing may ask that one (CI saw "10 topics removed").
        await waitForAgreement(spec, { topics, present: want, timeoutMs: Math.max(1_000, until - Date.now()), signal: opts.signal });
        return `${spec.name} serves again: ${want.length} brokers, ${topics.length} topics of the inventory led, every broker agreeing`;
      }
      last = `brokers not live: ${seen.missingBrokers.join(', ') || 'none'}; topics not seen or without a leader: ${seen.missingTopics.slice(0, 5).join(', ') || 'none'}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > until) throw new LifeboatError('Unreachable', `${spec.name} does not serve again ${Math.round(opts.timeoutMs / 1000)} s after its brokers started (${last})`);
    await sleep(1_000);
  }
}

const LIFEBOAT_ZNODE = '/lifeboat';

/** The failover fence's marker znode (src/failover/data/fence.ts): its record when present, null when absent, undefined without ZooKeeper. */
export async function readFenceMarker(spec: ClusterSpec): Promise<PrimaryFence | null | undefined> {
  const zk = spec.zookeeper;
  if (!zk || spec.kafka.mode === 'kraft') return undefined;
  const path = chrootPath(zk.chroot, FENCE_MARKER);
  return withZk(
    zk.connect,
    async (c) => {
      try {
        const { data } = await getData(c, path);
        return JSON.parse(data?.toString('utf8') || '{}') as PrimaryFence;
      } catch (e) {
        if ((e as { code?: string }).code === 'NO_NODE' || /NO_NODE/.test((e as Error).message)) return null;
        throw e;
      }
    },
    { timeoutMs: 15_000, auth: zkAuthOf(spec) },
  );
}

/** Whether `<chroot>/lifeboat` exists (a ZooKeeper fence creates it for its marker). */
export async function lifeboatZnodeExists(spec: ClusterSpec): Promise<boolean | undefined> {
  const zk = spec.zookeeper;
  if (!zk || spec.kafka.mode === 'kraft') return undefined;
  return withZk(zk.connect, async (c) => (await exists(c, chrootPath(zk.chroot, LIFEBOAT_ZNODE))) !== null, { timeoutMs: 15_000, auth: zkAuthOf(spec) });
}

/** Removes `<chroot>/lifeboat` when it is empty (the fence's marker removed by the unfence); true when removed. */
export async function removeEmptyLifeboatZnode(spec: ClusterSpec): Promise<boolean> {
  const zk = spec.zookeeper;
  if (!zk || spec.kafka.mode === 'kraft') return false;
  const path = chrootPath(zk.chroot, LIFEBOAT_ZNODE);
  return withZk(
    zk.connect,
    async (c) => {
      const children = await getChildren(c, path).catch(() => null);
      if (!children || children.length) return false;
      try {
        await remove(c, path);
        return true;
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'NO_NODE' || code === 'NOT_EMPTY') return false;
        throw e;
      }
    },
    { timeoutMs: 15_000, auth: zkAuthOf(spec) },
  );
}

/**
 * The stream's copy on the standby: the mirror's positions of it forgotten (pair `pair`), then the
 * topic deleted. Absent is done. Only a drill stream topic (lifeboat-drill-…) is ever deleted.
 */
export async function dropStandbyCopy(standby: ClusterSpec, pair: string, topic: string): Promise<{ deleted: boolean; partitions: number }> {
  if (!topic.startsWith('lifeboat-drill-')) throw new LifeboatError('InvalidInput', `"${topic}" is not a drill stream topic (lifeboat-drill-…): not deleted`);
  const kafka = kafkaFor(standby, 'drill-standby-copy');
  const { partitions, state } = await withAdmin(kafka, standby.name, async (admin) => {
    const topics = await admin.listTopics();
    const state = topics.includes(STATE_TOPIC);
    if (!topics.includes(topic)) return { partitions: 0, state };
    // Deleted since the listing (a retry's delete landing late): absent too.
    const md = await describeTopics(admin, [topic], { cluster: standby.name, listed: true }).catch((e: unknown) => {
      if (e instanceof LifeboatError && e.type === 'TopicDeleted') return [];
      throw e;
    });
    return { partitions: md[0]?.partitions.length ?? 0, state };
  });
  // Forgotten even when the topic is gone already (a retry after the delete): 3 partitions is the stream's default.
  if (state) await forgetPositions(kafka, pair, topic, Math.max(partitions, 3));
  if (!partitions) return { deleted: false, partitions: 0 };
  await withAdmin(kafka, standby.name, (admin) => admin.deleteTopics({ topics: [topic] }));
  return { deleted: true, partitions };
}

