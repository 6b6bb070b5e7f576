/**
 * A private one-broker Kafka cluster for tests that must stop, wipe and restore a broker: its own
 * process, port, log dir (in a temp dir) and ZooKeeper chroot `/lifeboat-test-<id>` on the shared
 * lab ZooKeeper. It is driven through the same lab functions (and 'lab' control) as the lab's own
 * brokers, so the code under test cannot tell it apart from a real cluster's broker.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zookeeper from 'node-zookeeper-client';
import { type ClusterSpec, parseSpec } from '../../src/config/spec';
import { stopProcess, waitUntil } from '../../src/host/processes';
import { kafkaFor } from '../../src/kafka/client';
import { brokerProcess, startBroker } from '../../lab/lab';
import { log4jProperties, serverProperties } from '../../lab/configs';
import { labTopology, zkConnect, type LabBroker, type LabCluster, type LabTopology } from '../../lab/topology';
import { connectZk } from '../../src/zookeeper/client';

export interface ScratchCluster {
  name: string;
  topo: LabTopology;
  broker: LabBroker;
  spec: ClusterSpec;
  start(): Promise<void>;
  /** Kills the process (if running), deletes its files and its ZooKeeper chroot. */
  destroy(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface ScratchOptions {
  /** More listeners beside the PLAINTEXT one the brokers talk over, e.g. { SASL_SSL: port }. */
  listeners?: Record<string, number>;
  /** More server.properties lines (per-listener SASL and TLS settings). */
  properties?: string[];
  /** The port to advertise for one of `listeners` instead of its own (a proxy in front of it). */
  advertise?: Record<string, number>;
}

export async function scratchCluster(opts: ScratchOptions = {}): Promise<ScratchCluster> {
  const name = `lifeboat-test-${randomUUID().slice(0, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const port = await freePort();
  const shared = labTopology();
  const broker: LabBroker = {
    cluster: name,
    id: 1,
    host: `${name}-broker-1`,
    port,
    dir,
    logDir: join(dir, 'data'),
    configDir: join(dir, 'config'),
    pidFile: join(dir, 'broker.pid'),
    logFile: join(dir, 'logs', 'server.out'),
  };
  const cluster: LabCluster = { name, chroot: `/${name}`, brokers: [broker], replicationFactor: 1, specFile: join(dir, 'spec.yaml') };
  const topo: LabTopology = { ...shared, clusters: [cluster] };
  mkdirSync(broker.configDir, { recursive: true });
  mkdirSync(broker.logDir, { recursive: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  let props = serverProperties(topo, cluster, broker);
  const extra = (advertised: boolean) =>
    Object.entries(opts.listeners ?? {}).map(([name, p]) => `,${name}://127.0.0.1:${(advertised && opts.advertise?.[name]) || p}`).join('');
  if (opts.listeners) {
    props = props.replace(/^(listeners=.*)$/m, `$1${extra(false)}`).replace(/^(advertised\.listeners=.*)$/m, `$1${extra(true)}`) + 'inter.broker.listener.name=PLAINTEXT\n';
  }
  writeFileSync(join(broker.configDir, 'server.properties'), props + (opts.properties ?? []).map((l) => `${l}\n`).join(''));
  writeFileSync(join(broker.configDir, 'log4j.properties'), log4jProperties(broker));
  const spec = parseSpec({
    name,
    kafka: { bootstrapServers: [`127.0.0.1:${port}`] },
    zookeeper: { connect: zkConnect(topo), chroot: cluster.chroot },
    brokers: [{ id: 1, host: broker.host, listener: `127.0.0.1:${port}`, logDirs: [broker.logDir], configDir: broker.configDir, control: { type: 'adapter', adapter: 'lab', options: { cluster: name } } }],
  });
  return {
    name,
    topo,
    broker,
    spec,
    async start() {
      await startBroker(topo, broker);
      await controllerElected(spec);
    },
    async destroy() {
      await stopProcess(brokerProcess(topo, broker), { signal: 'SIGKILL' });
      rmSync(dir, { recursive: true, force: true });
      await removeChroot(zkConnect(topo), cluster.chroot);
    },
  };
}

/**
 * Waits until the cluster names a controller: a broker that just registered elects itself a moment
 * later, and admin requests meanwhile fail (kafkajs: "Broker -1 not found").
 */
async function controllerElected(spec: ClusterSpec): Promise<void> {
  const admin = kafkaFor(spec, 'probe').admin();
  await admin.connect();
  try {
    await waitUntil(`a controller in ${spec.name}`, async () => (await admin.describeCluster()).controller !== null, { timeoutMs: 30_000, intervalMs: 200 });
  } finally {
    await admin.disconnect();
  }
}

export async function removeChroot(connect: string, path: string): Promise<void> {
  const zk = await connectZk(connect);
  try {
    // removeRecursive exists in node-zookeeper-client but not in its type definitions.
    const client = zk as unknown as { removeRecursive(path: string, cb: (err: unknown) => void): void };
    await new Promise<void>((resolve) => client.removeRecursive(path, () => resolve()));
  } finally {
    zk.close();
  }
}

/** Creates a ZooKeeper node (and its parents) holding `data`. */
export async function createZkNode(connect: string, path: string, data: string): Promise<void> {
  const zk = await connectZk(connect);
  try {
    await new Promise<void>((resolve, reject) =>
      zk.mkdirp(path, Buffer.from(data), zookeeper.CreateMode.PERSISTENT, (err) => (err ? reject(err) : resolve())),
    );
  } finally {
    zk.close();
  }
}
