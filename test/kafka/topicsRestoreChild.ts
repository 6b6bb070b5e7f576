/**
 * A topic restore in its own process, so a test can SIGKILL it mid-way. Arguments come as one
 * JSON object in LIFEBOAT_TEST_RESTORE; progress goes to stdout as "restored <total>" lines.
 */
import { loadSpec } from '../../src/config/spec';
import { kafkaFor } from '../../src/kafka/client';
import { restoreTopics } from '../../src/kafka/topicRestore';
import { openRepository } from '../../src/repository';

interface Args {
  spec: string;
  repo: string;
  password: string;
  snapshot: string;
  topic: string;
  target: string;
  mapFile: string;
  maxBatchBytes: number;
}

async function main() {
  const a = JSON.parse(process.env.LIFEBOAT_TEST_RESTORE ?? '{}') as Args;
  const repo = await openRepository(a.repo, a.password);
  const snap = await repo.openSnapshot(a.snapshot);
  await restoreTopics(kafkaFor(loadSpec(a.spec), 'test-child'), {
    snapshots: [snap],
    topics: [a.topic],
    rename: { [a.topic]: a.target },
    offsetMapFile: a.mapFile,
    maxBatchBytes: a.maxBatchBytes,
    settleMs: 1000, // one-replica target: nothing a killed run sent waits for followers
    onProgress: (p) => process.stdout.write(`restored ${p.totalRecords}\n`),
  });
  process.stdout.write('finished\n');
  await repo.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
