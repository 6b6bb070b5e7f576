/** `lifeboat probe --spec <file>`: produce/consume round trip on a scratch topic, directly (no workflow). */
import { EXIT } from '../../errors';
import { reachableKafka } from '../../kafka/admin';
import { produceConsumeProbe } from '../../kafka/probe';
import { commandLine, int, json, spec } from '../options';
import { output } from '../output';
import { requireSpec } from '../requireSpec';

export const summary = 'produce to and consume from a scratch topic of a cluster';
const CLI = commandLine('lifeboat probe', 'usage: lifeboat probe --spec <cluster.yaml> [--records N] [--json]', [
  spec,
  int('records', '<N>', 'records to produce and read back (default 30)', 1),
  json,
]);

export async function run(argv: string[]): Promise<number> {
  const { values } = CLI.parse(argv);
  const cluster = requireSpec(values.spec, CLI);
  const out = output(values.json ?? false);
  // Brokers nobody answers on: exit 18 in a second, not kafkajs's retry chain.
  const r = await produceConsumeProbe(await reachableKafka(cluster, 'probe'), { records: values.records ?? 30 });
  out.result({ cluster: cluster.name, ...r }, `${cluster.name}: ${r.ok ? 'ok' : 'FAILED'} — ${r.consumed}/${r.produced} records back in ${r.roundTripMs} ms (topic ${r.topic})`);
  return r.ok ? EXIT.OK : EXIT.PARTIAL;
}
