/** Backup sets written as backupPart writes them (set, part and tier tags; the set's plan in extra), for monitoring tests. */
import type { LocalRepository } from '../../src/repository';
import { kafkaLike } from '../repository/helpers';

export const PARTS = ['zookeeper', 'logdirs:1'];

async function storePart(repo: LocalRepository, cluster: string, setId: string, part: string, time: Date, planned: string[], tier: string) {
  const component = part.split(':')[0] as 'zookeeper' | 'logdirs';
  await repo.saveSnapshot(
    { cluster, components: [component], tags: [`set:${setId}`, `part:${part}`, `tier:${tier}`], extra: { set: { id: setId, tier, parts: planned } }, time },
    async (w) => {
      if (component === 'logdirs') await w.writeFile('b1/orders-0/00000000000000000000.log', kafkaLike(300_000, time.getTime() % 1000));
      await w.writeJson(`${component}/meta.json`, { setId, part });
    },
  );
}

/** A set of `parts` (default: all of PARTS, so complete) taken at `time`, planned as `planned` (default PARTS: fewer parts are an incomplete set), of `tier` (default hourly: a scheduled one). */
export async function storeSet(repo: LocalRepository, cluster: string, setId: string, time: Date, parts = PARTS, planned = PARTS, tier = 'hourly'): Promise<void> {
  for (const p of parts) await storePart(repo, cluster, setId, p, time, planned, tier);
}
