/** `lifeboat backup health --spec <file>`: the backup monitor's verdicts for a person (issue 15). */
import { LifeboatError } from '../../errors';

export async function run(_argv: string[]): Promise<number> {
  throw new LifeboatError('InvalidInput', 'lifeboat backup health: not built yet');
}
