/** `lifeboat migrate`: online migration with a gated cut-over (being built), `--offline` (being built). */
import { LifeboatError } from '../../errors';

export const summary = 'move topics, groups and clients to another cluster (online with a gated cut-over, or --offline)';

export async function run(_argv: string[]): Promise<number> {
  throw new LifeboatError('InvalidInput', 'lifeboat migrate is not built yet');
}
