/** `lifeboat migrate --offline` (being built); called by migrate.ts. */
import { LifeboatError } from '../../errors';

export async function runOffline(_argv: string[]): Promise<number> {
  throw new LifeboatError('InvalidInput', 'lifeboat migrate --offline is not built yet');
}
