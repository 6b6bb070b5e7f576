/**
 * A mirror shard in its own process, so a test can SIGKILL it mid-copy. Arguments come as one JSON
 * object in LIFEBOAT_TEST_MIRROR; progress goes to stdout as "mirrored <total>" lines.
 */
import { loadSpec } from '../../../src/config/spec';
import { mirrorShard } from '../../../src/kafka/mirror';

interface Args {
  source: string;
  target: string;
  pair: string;
  topic: string;
  partitions: number[];
  maxBatchBytes: number;
}

async function main() {
  const a = JSON.parse(process.env.LIFEBOAT_TEST_MIRROR ?? '{}') as Args;
  await mirrorShard(loadSpec(a.source), loadSpec(a.target), a.pair, { topic: a.topic, partitions: a.partitions }, {
    until: 'caught-up',
    maxBatchBytes: a.maxBatchBytes,
    settleMs: 1000, // one-node target: nothing a killed run sent waits for followers
    onProgress: (ps) => process.stdout.write(`mirrored ${ps.reduce((n, p) => n + p.records, 0)}\n`),
  });
  process.stdout.write('finished\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
