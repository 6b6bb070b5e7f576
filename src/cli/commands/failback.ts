/** `lifeboat failback` (being built this session). */
import { LifeboatError } from '../../errors';

export const summary = 'failback (being built)';

export function run(_argv: string[]): Promise<number> {
  return Promise.reject(new LifeboatError('InvalidInput', 'lifeboat failback: not built yet'));
}
