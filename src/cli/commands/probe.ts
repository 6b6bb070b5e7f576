/** `lifeboat probe --spec <file>`: produce/consume round trip on a scratch topic, directly (no workflow). */
import { EXIT, LifeboatError } from '../../errors';
import { loadSpec } from '../../config/spec';
import { kafkaFor } from '../../kafka/client';
import { produceConsumeProbe } from '../../kafka/probe';
import { output, parseCli } from '../output';

export const summary = 'produce to and consume from a scratch topic of a cluster';
const USAGE = 'usage: lifeboat probe --spec <cluster.yaml> [--records N] [--json]';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { spec: { type: 'string' }, records: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return EXIT.OK;
  }
  if (!values.spec) throw new LifeboatError('InvalidInput', `--spec is required\n${USAGE}`);
  const spec = loadSpec(values.spec);
  const out = output(values.json ?? false);
  const r = await produceConsumeProbe(kafkaFor(spec), { records: Number(values.records ?? 30) });
  out.result({ cluster: spec.name, ...r }, `${spec.name}: ${r.ok ? 'ok' : 'FAILED'} — ${r.consumed}/${r.produced} records back in ${r.roundTripMs} ms (topic ${r.topic})`);
  return r.ok ? EXIT.OK : EXIT.PARTIAL;
}
