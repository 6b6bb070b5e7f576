/**
 * Cluster specs for the lab's clusters, in the same YAML format as for a real cluster, so that
 * every command and workflow can be pointed at the lab with `--spec <file>`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { type ClusterSpec, DEFAULT_RETENTION, parseSpec } from '../src/config/spec';
import type { LabCluster, LabKraftCluster, LabTopology } from './topology';
import { bootstrapServers, zkConnect } from './topology';

export const LAB_PASSWORD_ENV = 'LIFEBOAT_PASSWORD';
/** The lab repositories' password lives in a file beside the specs, so the specs work without any env. */
export const labPasswordFile = (topo: LabTopology): string => join(topo.labDir, 'specs', 'repository-password');

/** What every lab cluster's spec says alike: its brokers (controlled by the lab adapter), repository, objectives. */
function commonSpec(topo: LabTopology, cluster: Pick<LabCluster, 'name' | 'brokers'>) {
  return {
    name: cluster.name,
    brokers: cluster.brokers.map((b) => ({
      id: b.id,
      host: b.host,
      listener: `127.0.0.1:${b.port}`,
      logDirs: [b.logDir],
      configDir: b.configDir,
      control: { type: 'adapter', adapter: 'lab', options: { cluster: cluster.name } },
    })),
    repository: { path: `${topo.repositoryDir}/${cluster.name}`, password: { file: labPasswordFile(topo) }, compression: 'auto' },
    retention: DEFAULT_RETENTION,
    objectives: { rtoMinutes: 30, rpoMinutes: 15 },
    topics: { critical: ['^orders', '^payments'], disposable: ['^scratch-', '^lifeboat-probe'] },
  };
}

export function labSpec(topo: LabTopology, cluster: LabCluster): ClusterSpec {
  const other = topo.clusters.find((c) => c.name !== cluster.name);
  return parseSpec(
    {
      ...commonSpec(topo, cluster),
      kafka: { bootstrapServers: bootstrapServers(cluster), mode: 'zookeeper', clientId: 'lifeboat' },
      zookeeper: { connect: zkConnect(topo), chroot: cluster.chroot },
      offsiteRepository: { path: `${topo.offsiteRepositoryDir}/${cluster.name}`, password: { file: labPasswordFile(topo) }, compression: 'auto' },
      ...(cluster.name === 'primary' && other ? { standby: other.name } : {}),
      // The standby doubles as the drills' staging cluster; the primary stands for production.
      environment: cluster.name === 'primary' ? 'production' : 'staging',
    },
    cluster.specFile,
  );
}

/** The KRaft cluster's spec: Kafka 4, no ZooKeeper section (its metadata lives in the controller quorum). */
export function kraftLabSpec(topo: LabTopology, cluster: LabKraftCluster = topo.kraft): ClusterSpec {
  return parseSpec({ ...commonSpec(topo, cluster), kafka: { bootstrapServers: bootstrapServers(cluster), mode: 'kraft', clientId: 'lifeboat' } }, cluster.specFile);
}

export function writeLabSpecs(topo: LabTopology): void {
  const pw = labPasswordFile(topo);
  if (!existsSync(pw)) {
    mkdirSync(dirname(pw), { recursive: true });
    // A loopback lab's password: LIFEBOAT_PASSWORD if set when the lab is first made, else a fixed one.
    writeFileSync(pw, `${process.env[LAB_PASSWORD_ENV] ?? 'lab-password'}\n`, { mode: 0o600 });
  }
  for (const c of topo.clusters) {
    mkdirSync(dirname(c.specFile), { recursive: true });
    writeFileSync(c.specFile, `# Written by "npm run lab -- up"; the lab's ${c.name} cluster.\n${stringify(labSpec(topo, c))}`);
  }
  const k = topo.kraft;
  writeFileSync(k.specFile, `# Written by "npm run lab -- up"; the lab's ${k.name} cluster (KRaft, Kafka ${k.kafkaVersion}).\n${stringify(kraftLabSpec(topo))}`);
}
