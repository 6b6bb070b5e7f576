/** `lifeboat drill history` and `lifeboat drill report` (issue 16): the drill records kept in the repository. */
import { LifeboatError } from '../../errors';

export async function history(_argv: string[]): Promise<number> {
  throw new LifeboatError('InvalidInput', 'lifeboat drill history: not built yet');
}

export async function report(_argv: string[]): Promise<number> {
  throw new LifeboatError('InvalidInput', 'lifeboat drill report: not built yet');
}
