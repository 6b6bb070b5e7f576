/** `lifeboat probe --spec <file>`: produce/consume round trip on a scratch topic, directly (no workflow). */
import { EXIT } from '../../errors';
import { reachableKafka } from '../../kafka/admin';
import { produceConsumeProbe } from '../../kafka/probe';
import { output, parseCli, requireSpec } from '../output';

export const summary = 'produce to and consume from a scratch topic of a cluster';
const USAGE = 'usage: lifeboat probe --spec <cluster.yaml> [--records N] [--json]';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { spec: { type: 'string' }, records: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  const spec = requireSpec(values.spec, USAGE);
  const out = output(values.json ?? false);
  // Brokers nobody answers on: exit 18 in a second, not kafkajs's retry chain.
  const r = await produceConsumeProbe(await reachableKafka(spec, 'probe'), { records: Number(values.records ?? 30) });
  out.result({ cluster: spec.name, ...r }, `${spec.name}: ${r.ok ? 'ok' : 'FAILED'} — ${r.consumed}/${r.produced} records back in ${r.roundTripMs} ms (topic ${r.topic})`);
  return r.ok ? EXIT.OK : EXIT.PARTIAL;
}
