/**
 * The failover reads a stopped mirror's positions as the standby holds them: a mirror shard SIGKILLed
 * mid-copy leaves its last batches named in its position (sent, no answer recorded) while they
 * landed on the target; the records not mirrored and the mirrored offset the failover reports must
 * be the target's real end, not the position recorded before those batches (CI saw a failover name
 * 508 as mirrored with 510 on the standby).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { findCluster } from '../../../lab/topology';
import { failoverDivergence } from '../../../src/failover/data/divergence';
import { kafkaFor } from '../../../src/kafka/client';
import { planMirror } from '../../../src/kafka/mirror';
import { forgetPositions, readState, stateKey } from '../../../src/kafka/mirror/state';
import { mirrorPair } from '../../../src/kafka/mirrorRun.pure';
import { WireClient } from '../../../src/kafka/wire/client';
import { createTopicsReady } from '../../support/kafka';
import { nextSpec, primarySpec, topo, unique } from '../../support/lab';
import { mirrorUntilKilled, produceNumbered } from '../../kafka/mirror/mirrorSupport';

const primary = primarySpec();
const target = nextSpec();
const src = kafkaFor(primary, 'test-settle-src');
const dst = kafkaFor(target, 'test-settle-dst');
const topic = unique('fo-settle');
const pair = mirrorPair(primary.name, target.name);

afterAll(async () => {
  await forgetPositions(dst, pair, topic, 1).catch(() => undefined);
  for (const k of [src, dst]) {
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});

const killRun = (killAt: number) => mirrorUntilKilled({ source: findCluster(topo, 'primary').specFile, target: topo.kraft.specFile, pair, topic, partitions: [0], maxBatchBytes: 8 * 1024 }, killAt);

async function targetEnd(): Promise<number> {
  const c = await WireClient.open(dst, [topic]);
  try {
    return (await c.listOffsets(topic, 'end')).get(0)!;
  } finally {
    await c.close();
  }
}

describe('records not mirrored after a mirror killed mid-send', () => {
  it('counts from where the named batches landed on the standby', { timeout: 170_000 }, async () => {
    const total = 40_000;
    await createTopicsReady(primary, [{ topic, numPartitions: 1, replicationFactor: 3 }], { kafka: src });
    await produceNumbered(src, topic, total, 1, 200);
    await planMirror(primary, target, { topics: [topic] });
    // Kill until a run leaves batches that landed but are only named in its position.
    let landedUnrecorded = false;
    for (let i = 1; i <= 10 && !landedUnrecorded; i++) {
      await killRun(i * 2_000);
      const st = (await readState(dst, pair)).positions.get(stateKey(pair, topic, 0))!;
      landedUnrecorded = Boolean(st.sent?.length) && (await targetEnd()) > st.targetNext;
    }
    expect(landedUnrecorded, 'a killed run left batches on the target that its position only names').toBe(true);

    const end = await targetEnd();
    const d = await failoverDivergence(primary, target, { topics: [topic] });
    const p = d.partitions.find((x) => x.topic === topic && x.partition === 0)!;
    expect(p.from).toBe('live');
    expect(p.mirrored).toBe(end); // identical offsets: the source offset mirrored up to is the target's end
    expect(p.notMirrored).toBe(total - end);
    expect(d.problems ?? []).toEqual([]);
  });
});
