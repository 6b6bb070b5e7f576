/**
 * `npm run lab -- <command>`: the local DR lab.
 *   up [--provision-only]         provision (cached) and start everything; waits until healthy
 *   down                          stop what the lab started
 *   status [--json]               every endpoint and process
 *   logs [component] [-n N]       tail of logs: temporal, zookeeper, primary-1, alertmanager-1, ...
 *   broker stop|start|kill <cluster> <id>
 *   reset                         down, then delete the lab's state (cluster data, specs); keeps the cache
 *   env                           the exports that point Temporal's tools and lifeboat at the lab
 *   demo [--records N] [--json]   seed → backup → disaster → full-cluster recovery → report (lab/demo.ts)
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { brokerRunning, killBroker, labDown, labStatus, labUp, startBroker, stopBroker } from './lab';
import { allClusters, findBroker, labEnv, labTopology } from './topology';
import { tail } from '../src/host/processes';
import { fail } from '../src/cli/output';

const USAGE = `usage: npm run lab -- up [--provision-only] | down | status [--json] | logs [component] [-n N] |
       broker stop|start|kill <cluster> <id> | reset | env | demo [--records N] [--json]`;

async function main(argv: string[]): Promise<number> {
  // The demo has options of its own; it runs lifeboat's workflows against the lab, as an operator would.
  // Its errors (usage, --help, a failed run) end the way lifeboat's commands do: one line, a stable exit code.
  if (argv[0] === 'demo') return (await import('./demo')).run(argv.slice(1)).catch((e: unknown) => fail(e));
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, 'provision-only': { type: 'boolean' }, n: { type: 'string', short: 'n' } },
  });
  const topo = labTopology();
  const log = (m: string) => console.error(`lab: ${m}`);
  const [cmd, ...rest] = positionals;
  switch (cmd) {
    case 'up': {
      const t0 = Date.now();
      await labUp(topo, { log, provisionOnly: values['provision-only'] });
      log(`${values['provision-only'] ? 'provisioned' : 'up'} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      if (!values['provision-only']) printStatus(values.json ?? false);
      return 0;
    }
    case 'down':
      await labDown(topo, log);
      return 0;
    case 'status':
      printStatus(values.json ?? false);
      return 0;
    case 'env':
      for (const [k, v] of Object.entries(labEnv(topo))) console.log(`export ${k}=${v}`);
      return 0;
    case 'reset':
      await labDown(topo, log);
      rmSync(topo.labDir, { recursive: true, force: true });
      log(`removed ${topo.labDir}`);
      return 0;
    case 'logs': {
      const n = Number(values.n ?? 40);
      const which = rest[0];
      const files: Record<string, string> = { temporal: topo.temporal.logFile, zookeeper: topo.zookeeper.logFile };
      for (const am of topo.alertmanager.instances) files[am.name] = am.logFile;
      files.prometheus = topo.prometheus.logFile;
      files.versitygw = topo.s3.logFile;
      for (const c of allClusters(topo)) for (const b of c.brokers) files[`${c.name}-${b.id}`] = join(b.dir, 'logs', 'server.log');
      const chosen = which ? { [which]: files[which] } : files;
      for (const [name, file] of Object.entries(chosen)) {
        if (!file) {
          console.error(`no component "${which}"; choose one of ${Object.keys(files).join(', ')}`);
          return 2;
        }
        console.log(`==> ${name} (${file}) <==\n${tail(file, n)}`);
      }
      return 0;
    }
    case 'broker': {
      const [action, cluster, idText] = rest;
      if (!action || !cluster || !idText) break;
      const b = findBroker(topo, cluster, Number(idText));
      if (action === 'start') await startBroker(topo, b, log);
      else if (action === 'stop') log((await stopBroker(topo, b)) ? `stopped ${cluster}-${b.id}` : `${cluster}-${b.id} was not running`);
      else if (action === 'kill') log((await killBroker(topo, b)) ? `killed ${cluster}-${b.id}` : `${cluster}-${b.id} was not running`);
      else if (action === 'status') console.log(brokerRunning(topo, b) ? 'running' : 'stopped');
      else break;
      return 0;
    }
  }
  console.error(USAGE);
  return 2;
}

function printStatus(json: boolean): void {
  const s = labStatus();
  if (json) {
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  const mark = (up: boolean) => (up ? 'up  ' : 'DOWN');
  console.log(`lab dir    ${s.labDir}`);
  console.log(`env        eval "$(npm run -s lab -- env)"   # points lifeboat and the temporal CLI at this lab`);
  console.log(`${mark(s.temporal.running)} temporal   ${s.temporal.address} (namespace ${s.temporal.namespace}, UI ${s.temporal.ui})`);
  console.log(`${mark(s.zookeeper.running)} zookeeper  ${s.zookeeper.connect}`);
  for (const c of s.clusters) {
    console.log(`     kafka "${c.name}" ${c.kafkaVersion} ${c.mode === 'kraft' ? 'KRaft' : `chroot ${c.chroot}`}, bootstrap ${c.bootstrapServers.join(',')}, spec ${c.spec}`);
    for (const b of c.brokers) console.log(`${mark(b.running)}   broker ${b.id} ${b.address} log dir ${b.logDir}`);
  }
  for (const a of s.alertmanagers) console.log(`${mark(a.running)} ${a.name} ${a.url} (config ${a.config})`);
  console.log(`     receiver   the Alertmanagers notify lifeboat serve on ${s.receiver.listen} (bearer token ${s.receiver.tokenFile})`);
  console.log(`${mark(s.prometheus.running)} prometheus ${s.prometheus.url} scrapes ${s.receiver.listen}/metrics, Lifeboat's rules (config ${s.prometheus.config})`);
  console.log(`${mark(s.s3.running)} versitygw  S3 ${s.s3.endpoint}, bucket ${s.s3.bucket} (data ${s.s3.dataDir})`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`lab: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
