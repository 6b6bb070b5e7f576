/**
 * A consumer group's reader in a process of its own (run by tsx): reads a topic on the lab's
 * primary through the applications' listener and commits after each batch, printing one JSON line
 * per record read ({"r":[partition,offset,seq]}) and per commit the broker answered
 * ({"c":[partition,next]}). A test SIGKILLs it with the primary's brokers: an application that dies
 * with its cluster, and no kafkajs consumer stopping in the test's own process while its brokers are
 * gone (kafkajs 2.2.4 can then spin on empty fetches without yielding to timers).
 * Arguments: <topic> <group>.
 */
import { appKafka } from '../../support/lab';

const [topic, group] = process.argv.slice(2) as [string, string];
const consumer = appKafka('primary', 'group-reader').consumer({ groupId: group, retry: { retries: 0 } });
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function main(): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      for (const m of batch.messages) {
        say({ r: [batch.partition, Number(m.offset), Number(String(m.value).slice(4))] });
        resolveOffset(m.offset);
      }
      const next = Number(batch.lastOffset()) + 1;
      await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(next) }]);
      say({ c: [batch.partition, next] });
      await heartbeat();
    },
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`group reader: ${String(e)}\n`);
  process.exit(1);
});
