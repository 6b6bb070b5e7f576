/**
 * `lifeboat drill run|plan|stop|schedule|history|report` (issue 16). history and report are
 * drillHistory.ts's; the rest is built with the drill workflow.
 */
import { EXIT, LifeboatError } from '../../errors';
import * as records from './drillHistory';

export const summary = 'DR drills against a staging cluster: run, plan, stop, schedule, history, report';

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'history') return records.history(rest);
  if (sub === 'report') return records.report(rest);
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write('usage: lifeboat drill run|plan|stop|schedule|history|report [options] (each takes --help)\n');
    return sub ? EXIT.OK : EXIT.USAGE;
  }
  throw new LifeboatError('InvalidInput', `lifeboat drill ${sub}: not built yet`);
}
