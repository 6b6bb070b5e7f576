/** `lifeboat serve` (being built this session). */
import { LifeboatError } from '../../errors';

export const summary = 'serve (being built)';

export function run(_argv: string[]): Promise<number> {
  return Promise.reject(new LifeboatError('InvalidInput', 'lifeboat serve: not built yet'));
}
