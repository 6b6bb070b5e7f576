/**
 * A standalone offset commit: one OffsetCommit request to the group's coordinator with generation -1
 * and no member id, the way Kafka's own `kafka-consumer-groups --reset-offsets` commits. The broker
 * accepts it only while the group has no members (UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION
 * otherwise), so it never overwrites a running consumer's position. kafkajs's admin.setOffsets
 * instead joins the group with a consumer (seconds per group and topic, too slow for a cut-over) and
 * can return without having committed (a seek whose commit failed is dropped).
 */
import type { Kafka } from 'kafkajs';
import { retryTransient } from './admin';
import { clusterOf } from './wire/transport';

export async function commitGroupOffsets(
  kafka: Kafka,
  groupId: string,
  topics: { topic: string; partitions: { partition: number; offset: number | string }[] }[],
  opts: { signal?: AbortSignal } = {},
): Promise<void> {
  const cluster = clusterOf(kafka);
  await cluster.connect();
  try {
    await retryTransient(
      async () => {
        // A retry after NOT_COORDINATOR (the coordinator moved) asks for the coordinator again.
        const coordinator = await cluster.findGroupCoordinator({ groupId });
        await coordinator.offsetCommit({
          groupId,
          groupGenerationId: -1,
          memberId: '',
          retentionTime: -1,
          topics: topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, offset: String(p.offset) })) })),
        });
      },
      { signal: opts.signal },
    );
  } finally {
    await cluster.disconnect().catch(() => {});
  }
}

/** The broker's refusal of a standalone commit because the group has members (or is rebalancing). */
export function isGroupActiveError(e: unknown): boolean {
  return /UNKNOWN_MEMBER_ID|REBALANCE_IN_PROGRESS|ILLEGAL_GENERATION/i.test(`${(e as { type?: string }).type} ${(e as Error).message}`);
}
