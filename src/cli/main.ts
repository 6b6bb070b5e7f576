/**
 * `lifeboat <command> ...`: one module per command group under src/cli/commands, loaded lazily so
 * `lifeboat --help` stays fast. Exit codes are stable (src/errors.ts, docs/cli.md).
 */
// First: sizes libuv's thread pool before anything can start it.
import './threadPool';
import { EXIT, LifeboatError } from '../errors';
import { fail, jsonRequested } from './output';
import { adapterModulesFromEnv, loadAdapterModules } from '../host/adapterModules';

type Command = { run(argv: string[]): Promise<number>; summary: string };

const COMMANDS: Record<string, () => Promise<Command>> = {
  probe: () => import('./commands/probe'),
  repo: () => import('./commands/repo'),
  worker: () => import('./commands/worker'),
  zk: () => import('./commands/zk'),
  registry: () => import('./commands/registry'),
  backup: () => import('./commands/backup'),
  recover: () => import('./commands/recover'),
  status: () => import('./commands/status'),
  approve: () => import('./commands/approve'),
  report: () => import('./commands/report'),
  schedule: () => import('./commands/schedule'),
  metadata: () => import('./commands/metadata'),
  config: () => import('./commands/config'),
  topics: () => import('./commands/topics'),
  logdir: () => import('./commands/logdir'),
  mirror: () => import('./commands/mirror'),
  migrate: () => import('./commands/migrate'),
  failover: () => import('./commands/failover'),
  failback: () => import('./commands/failback'),
  serve: () => import('./commands/serve'),
  drill: () => import('./commands/drill'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  jsonRequested(argv);
  await loadAdapterModules(adapterModulesFromEnv());
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const lines = await Promise.all(Object.entries(COMMANDS).map(async ([n, load]) => `  ${n.padEnd(10)} ${(await load()).summary}`));
    const usage = `usage: lifeboat <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nEach command takes --help.`;
    // Asked for: stdout; without a command it is a usage error: stderr.
    (name ? process.stdout : process.stderr).write(`${usage}\n`);
    return name ? EXIT.OK : EXIT.USAGE;
  }
  const load = COMMANDS[name];
  if (!load) throw new LifeboatError('InvalidInput', `unknown command "${name}" (try lifeboat --help)`);
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => process.exit(fail(err)),
);
