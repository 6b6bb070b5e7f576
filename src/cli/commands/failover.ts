/** `lifeboat failover` (being built this session). */
import { LifeboatError } from '../../errors';

export const summary = 'failover (being built)';

export function run(_argv: string[]): Promise<number> {
  return Promise.reject(new LifeboatError('InvalidInput', 'lifeboat failover: not built yet'));
}
