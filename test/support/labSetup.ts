/**
 * Global setup of the integration project: brings the lab up if it is not healthy (provisioning
 * into the cache on a fresh machine), and stops it afterwards only if this run started it and
 * LIFEBOAT_LAB_KEEP is not set.
 */
import { labDown, labHealthy, labUp } from '../../lab/lab';
import { labTopology, useLabEnv } from '../../lab/topology';

export default async function setup(): Promise<() => Promise<void>> {
  const topo = labTopology();
  useLabEnv(topo);
  if (await labHealthy(topo)) return async () => {};
  const t0 = Date.now();
  await labUp(topo, { log: (m) => console.log(`[lab] ${m}`) });
  console.log(`[lab] up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return async () => {
    if (!process.env.LIFEBOAT_LAB_KEEP) await labDown(topo, (m) => console.log(`[lab] ${m}`));
  };
}
