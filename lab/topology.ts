/**
 * The lab's shape: one Temporal dev server, one ZooKeeper, a 3-broker "primary" Kafka cluster
 * (chroot /primary) and a 1-broker "standby" cluster (chroot /standby), both Kafka 3.9 in ZooKeeper
 * mode, and "next": Kafka 4.x in KRaft mode (combined broker/controller nodes), the target of
 * migrations off ZooKeeper. All on 127.0.0.1.
 * Everything lives outside the checkout: binaries and jars in the cache, state in the lab dir.
 * Ports and directories come from LIFEBOAT_LAB_* environment variables.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface LabBroker {
  cluster: string;
  id: number;
  /** Host name used for the broker's task queue (lifeboat-host-<host>). */
  host: string;
  port: number;
  /**
   * The applications' listener (SASL_PLAINTEXT, PLAIN): clients with a principal of their own
   * (User:app), so ACLs such as a migration's write fence apply to them. Lifeboat and the brokers
   * use the PLAINTEXT listener as User:ANONYMOUS, a super user.
   */
  appPort?: number;
  dir: string;
  logDir: string;
  configDir: string;
  pidFile: string;
  logFile: string;
}

export interface LabCluster {
  name: string;
  chroot: string;
  brokers: LabBroker[];
  replicationFactor: number;
  specFile: string;
}

/** A KRaft cluster: each node is broker and controller; no ZooKeeper. */
export interface LabKraftCluster {
  name: string;
  brokers: LabBroker[];
  /** Controller listener port per node id. */
  controllerPorts: Record<number, number>;
  replicationFactor: number;
  specFile: string;
  kafkaVersion: string;
  kafkaLibs: string;
  /** The cluster id the nodes were formatted with (written once, on first `up`). */
  clusterIdFile: string;
}

export interface LabTopology {
  cacheDir: string;
  labDir: string;
  kafkaVersion: string;
  kafkaLibs: string;
  temporal: { port: number; uiPort: number; dbFile: string; pidFile: string; logFile: string; namespace: string };
  zookeeper: { port: number; dataDir: string; configFile: string; pidFile: string; logFile: string };
  clusters: LabCluster[];
  kraft: LabKraftCluster;
  repositoryDir: string;
  offsiteRepositoryDir: string;
  /** Prometheus (lab/prometheus.ts): scrapes lifeboat serve on the receiver port, Lifeboat's rules. */
  prometheus: LabPrometheus;
  alertmanager: LabAlertmanagers;
  /** The S3-compatible server (versitygw, lab/s3.ts). */
  s3: LabS3;
}

/** versitygw on loopback serving `dataDir` (its posix backend), root credentials in files of the lab dir. */
export interface LabS3 {
  port: number;
  dir: string;
  dataDir: string;
  accessKeyFile: string;
  secretKeyFile: string;
  /** The bucket `lab up` creates (tests use prefixes of their own in it). */
  bucket: string;
  pidFile: string;
  logFile: string;
}

/** Debian's prometheus on loopback. */
export interface LabPrometheus {
  port: number;
  dir: string;
  configFile: string;
  dataDir: string;
  pidFile: string;
  logFile: string;
}

/** One Alertmanager (Debian's prometheus-alertmanager) on loopback, not clustered. */
export interface LabAlertmanager {
  name: string;
  port: number;
  dir: string;
  configFile: string;
  storageDir: string;
  pidFile: string;
  logFile: string;
}

/**
 * Two independent Alertmanagers (an HA pair that does not gossip: both notify) whose webhook is
 * `lifeboat serve` on `receiverPort`, with the bearer token in `tokenFile` (written by `lab up`).
 */
export interface LabAlertmanagers {
  instances: LabAlertmanager[];
  receiverPort: number;
  tokenFile: string;
}

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new Error(`${name} must be a port number, got "${raw}"`);
  return n;
}

export const KAFKA_VERSION = '3.9.1';
/** Applications' listeners sit 400 above the brokers' ports (base+401.., clear of the controllers at base+301). */
const APP_PORT_OFFSET = 400;
/** The applications' SASL/PLAIN user on every lab broker (loopback only). */
export const LAB_APP_USER = { username: 'app', password: 'app-secret' } as const;
/** The KRaft cluster's Kafka (4.0 removed ZooKeeper mode). */
export const KAFKA4_VERSION = '4.1.1';

export function labTopology(env: NodeJS.ProcessEnv = process.env): LabTopology {
  const cacheDir = resolve(env.LIFEBOAT_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lifeboat'));
  const labDir = resolve(env.LIFEBOAT_LAB_DIR ?? join(cacheDir, 'lab'));
  const kafkaBase = intEnv(env, 'LIFEBOAT_LAB_KAFKA_PORT_BASE', 19090);
  const broker = (cluster: string, id: number, port: number): LabBroker => {
    const dir = join(labDir, 'kafka', `${cluster}-${id}`);
    return {
      cluster,
      id,
      host: `${cluster}-broker-${id}`,
      port,
      appPort: port + APP_PORT_OFFSET,
      dir,
      logDir: join(dir, 'data'),
      configDir: join(dir, 'config'),
      pidFile: join(dir, 'broker.pid'),
      logFile: join(dir, 'logs', 'server.out'),
    };
  };
  const cluster = (name: string, count: number, portOffset: number): LabCluster => ({
    name,
    chroot: `/${name}`,
    brokers: Array.from({ length: count }, (_, i) => broker(name, i + 1, kafkaBase + portOffset + i + 1)),
    replicationFactor: Math.min(3, count),
    specFile: join(labDir, 'specs', `${name}.yaml`),
  });
  return {
    cacheDir,
    labDir,
    kafkaVersion: KAFKA_VERSION,
    kafkaLibs: join(cacheDir, `kafka-${KAFKA_VERSION}`, 'libs'),
    temporal: {
      port: intEnv(env, 'LIFEBOAT_LAB_TEMPORAL_PORT', 17233),
      uiPort: intEnv(env, 'LIFEBOAT_LAB_TEMPORAL_UI_PORT', 18233),
      dbFile: join(labDir, 'temporal', 'temporal.db'),
      pidFile: join(labDir, 'temporal', 'temporal.pid'),
      logFile: join(labDir, 'temporal', 'temporal.log'),
      namespace: 'default',
    },
    zookeeper: {
      port: intEnv(env, 'LIFEBOAT_LAB_ZK_PORT', 12181),
      dataDir: join(labDir, 'zookeeper', 'data'),
      configFile: join(labDir, 'zookeeper', 'zoo.cfg'),
      pidFile: join(labDir, 'zookeeper', 'zookeeper.pid'),
      logFile: join(labDir, 'zookeeper', 'zookeeper.log'),
    },
    clusters: [cluster('primary', 3, 0), cluster('standby', 1, 100)],
    kraft: {
      name: 'next',
      brokers: [broker('next', 1, kafkaBase + 201)],
      controllerPorts: { 1: kafkaBase + 301 },
      replicationFactor: 1,
      specFile: join(labDir, 'specs', 'next.yaml'),
      kafkaVersion: KAFKA4_VERSION,
      kafkaLibs: join(cacheDir, `kafka-${KAFKA4_VERSION}`, 'libs'),
      clusterIdFile: join(labDir, 'kafka', 'next', 'cluster.id'),
    },
    repositoryDir: join(labDir, 'repository'),
    offsiteRepositoryDir: join(labDir, 'repository-offsite'),
    prometheus: {
      port: kafkaBase + 797,
      dir: join(labDir, 'prometheus'),
      configFile: join(labDir, 'prometheus', 'prometheus.yml'),
      dataDir: join(labDir, 'prometheus', 'data'),
      pidFile: join(labDir, 'prometheus', 'prometheus.pid'),
      logFile: join(labDir, 'prometheus', 'prometheus.log'),
    },
    alertmanager: {
      instances: [1, 2].map((n) => {
        const dir = join(labDir, 'alertmanager', `am${n}`);
        return {
          name: `alertmanager-${n}`,
          port: kafkaBase + 792 + n,
          dir,
          configFile: join(dir, 'alertmanager.yml'),
          storageDir: join(dir, 'data'),
          pidFile: join(dir, 'alertmanager.pid'),
          logFile: join(dir, 'alertmanager.log'),
        };
      }),
      receiverPort: kafkaBase + 795,
      tokenFile: join(labDir, 'alertmanager', 'receiver.token'),
    },
    s3: {
      port: kafkaBase + 796,
      dir: join(labDir, 's3'),
      dataDir: join(labDir, 's3', 'data'),
      accessKeyFile: join(labDir, 's3', 'access-key'),
      secretKeyFile: join(labDir, 's3', 'secret-key'),
      bucket: 'lifeboat-lab',
      pidFile: join(labDir, 's3', 'versitygw.pid'),
      logFile: join(labDir, 's3', 'versitygw.log'),
    },
  };
}

/** The Alertmanagers' base URLs. */
export const alertmanagerUrls = (topo: LabTopology): string[] => topo.alertmanager.instances.map((a) => `http://127.0.0.1:${a.port}`);
/** The lab's S3 endpoint (path-style addressing). */
export const s3Endpoint = (topo: LabTopology): string => `http://127.0.0.1:${topo.s3.port}`;
/** Where the lab's Alertmanagers expect `lifeboat serve`. */
export const receiverListen = (topo: LabTopology): string => `127.0.0.1:${topo.alertmanager.receiverPort}`;

export function findCluster(topo: LabTopology, name: string): LabCluster {
  const c = topo.clusters.find((x) => x.name === name);
  if (!c) throw new Error(`the lab has no cluster "${name}" (it has ${topo.clusters.map((x) => x.name).join(', ')})`);
  return c;
}

/** Every Kafka cluster of the lab, ZooKeeper mode and KRaft. */
export const allClusters = (topo: LabTopology): (LabCluster | LabKraftCluster)[] => [...topo.clusters, topo.kraft];

export const isKraftBroker = (topo: LabTopology, b: LabBroker): boolean => b.cluster === topo.kraft.name;

export function findBroker(topo: LabTopology, cluster: string, id: number): LabBroker {
  const c = allClusters(topo).find((x) => x.name === cluster);
  if (!c) throw new Error(`the lab has no cluster "${cluster}" (it has ${allClusters(topo).map((x) => x.name).join(', ')})`);
  const b = c.brokers.find((x) => x.id === id);
  if (!b) throw new Error(`the lab cluster "${cluster}" has no broker ${id}`);
  return b;
}

export const zkConnect = (topo: LabTopology): string => `127.0.0.1:${topo.zookeeper.port}`;
export const temporalAddress = (topo: LabTopology): string => `127.0.0.1:${topo.temporal.port}`;
export const bootstrapServers = (c: Pick<LabCluster, 'brokers'>): string[] => c.brokers.map((b) => `127.0.0.1:${b.port}`);
/** The applications' listeners (SASL_PLAINTEXT as User:app). */
export const appBootstrapServers = (c: Pick<LabCluster, 'brokers'>): string[] => c.brokers.flatMap((b) => (b.appPort ? [`127.0.0.1:${b.appPort}`] : []));

/**
 * The environment that points Temporal's own tools and lifeboat at this lab (Temporal's env
 * conventions): lifeboat has no lab default of its own.
 */
export const labEnv = (topo: LabTopology): Record<string, string> => ({
  // The lab's brokers are controlled through its adapter, which every lifeboat process loads.
  LIFEBOAT_ADAPTERS: resolve(__dirname, 'brokerControl.ts'),
  TEMPORAL_ADDRESS: temporalAddress(topo),
  TEMPORAL_NAMESPACE: topo.temporal.namespace,
  TEMPORAL_UI_URL: `http://127.0.0.1:${topo.temporal.uiPort}`,
  // The Alertmanagers (their API takes alerts: /api/v2/alerts) and the receiver they notify.
  LIFEBOAT_LAB_ALERTMANAGER_URLS: alertmanagerUrls(topo).join(','),
  LIFEBOAT_LAB_RECEIVER_LISTEN: receiverListen(topo),
  LIFEBOAT_LAB_RECEIVER_TOKEN_FILE: topo.alertmanager.tokenFile,
  // Prometheus: scrapes the receiver's /metrics with Lifeboat's rules, alerts to the Alertmanagers.
  LIFEBOAT_LAB_PROMETHEUS_URL: `http://127.0.0.1:${topo.prometheus.port}`,
  // The S3-compatible server (versitygw) and the bucket the lab made in it.
  LIFEBOAT_LAB_S3_ENDPOINT: s3Endpoint(topo),
  LIFEBOAT_LAB_S3_ACCESS_KEY_FILE: topo.s3.accessKeyFile,
  LIFEBOAT_LAB_S3_SECRET_KEY_FILE: topo.s3.secretKeyFile,
  LIFEBOAT_LAB_S3_BUCKET: topo.s3.bucket,
});

/** Sets the lab's Temporal env in this process (and so in its children) where the caller has not set it. */
export function useLabEnv(topo: LabTopology, env: NodeJS.ProcessEnv = process.env): void {
  for (const [k, v] of Object.entries(labEnv(topo))) env[k] ??= v;
}
