/**
 * An offline migration's target restore in its own process, so a test can SIGKILL it mid-copy.
 * Arguments come as one JSON object in LIFEBOAT_TEST_OFFLINE; progress goes to stdout as "bytes <n>" lines.
 */
import { loadSpec, parseSpec } from '../../src/config/spec';
import { restoreMigratedPartitions } from '../../src/migration/offline/restore';

async function main() {
  const a = JSON.parse(process.env.LIFEBOAT_TEST_OFFLINE ?? '{}') as { sourceFile: string; target: unknown; brokerId: number; migration: Parameters<typeof restoreMigratedPartitions>[3] };
  await restoreMigratedPartitions(loadSpec(a.sourceFile), parseSpec(a.target, 'scratch target'), a.brokerId, a.migration, {
    onProgress: (p) => process.stdout.write(`bytes ${p.bytes}\n`),
  });
  process.stdout.write('finished\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
