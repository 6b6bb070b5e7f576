/**
 * A spec that names the wrong files, against the real lab (read only: hot copies, no broker is
 * stopped): a log dir that does not exist, a log dir without a single partition directory of a
 * running broker that holds replicas (was "0 files", exit 0), a Kafka TLS file that does not exist.
 * Each is one line naming the field and the path, exit 17, and nothing is stored.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/config/spec';
import { EXIT } from '../../src/errors';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { openRepositoryForSpec } from '../../src/repository';
import { lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-logdirspec-'));
const lab = primarySpec();
const topic = unique('logdirspec');

/** The lab's primary spec with broker 1 changed, its own repository, written to a file. */
function specFile(name: string, change: (s: ClusterSpec) => ClusterSpec): { spec: ClusterSpec; file: string } {
  const spec = change({ ...lab, repository: { ...lab.repository!, path: join(dir, `repo-${name}`) }, offsiteRepository: undefined });
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(spec));
  return { spec, file };
}

const withBroker1LogDir = (logDir: string) => (s: ClusterSpec) => ({ ...s, brokers: s.brokers.map((b) => (b.id === 1 ? { ...b, logDirs: [logDir] } : b)) });

/** The failure: the last line on stderr (progress and notices come before it), and no stack. */
function failureLine(stderr: string): string {
  expect(stderr).not.toMatch(/\n\s+at /);
  return stderr.trim().split('\n').at(-1)!;
}

async function snapshotsIn(spec: ClusterSpec): Promise<number> {
  if (!existsSync(spec.repository!.path)) return 0;
  const repo = await openRepositoryForSpec(spec);
  try {
    return (await repo.snapshots()).length;
  } finally {
    await repo.close();
  }
}

beforeAll(async () => {
  // A topic with a replica on every broker: broker 1 certainly holds partitions.
  // Retried: a broker that has just (re)joined may not count for the replication factor yet.
  for (let attempt = 1; ; attempt++) {
    try {
      await withAdmin(kafkaFor(lab, 'test'), lab.name, (a) => a.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 3 }] }));
      break;
    } catch (e) {
      const errors = (e as { errors?: { type?: string }[] }).errors ?? [];
      if (errors.some((x) => x.type === 'TOPIC_ALREADY_EXISTS')) break;
      if (attempt >= 10) throw new Error(`cannot create ${topic}: ${(e as Error).message} ${JSON.stringify(errors.map((x) => x.type))}`, { cause: e });
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
});

afterAll(async () => {
  await withAdmin(kafkaFor(lab, 'test'), lab.name, (a) => a.deleteTopics({ topics: [topic] })).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

describe('log dirs and TLS files the spec names', () => {
  it('a log dir that does not exist: one line naming the field and the path', async () => {
    const missing = join(dir, 'no-such-log-dir');
    const { spec, file } = specFile('missing', withBroker1LogDir(missing));
    const r = await lifeboat('logdir', 'backup', '--spec', file, '--broker', '1');
    expect(r.code, r.stderr).toBe(EXIT.INVALID_SPEC);
    expect(failureLine(r.stderr)).toContain(`brokers[0].logDirs[0]: log dir ${missing} of broker 1 does not exist`);
    expect(await snapshotsIn(spec)).toBe(0);
  });

  it("a running broker's log dir without any partition directory is an error, not \"0 files\"", async () => {
    const empty = join(dir, 'empty-log-dir');
    mkdirSync(empty);
    const { spec, file } = specFile('empty', withBroker1LogDir(empty));
    const r = await lifeboat('logdir', 'backup', '--spec', file, '--broker', '1');
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.INVALID_SPEC);
    expect(failureLine(r.stderr)).toMatch(new RegExp(`hot copy of broker 1: no partition directory in ${empty} while the cluster places [1-9]\\d* partition replicas on it: are brokers\\[0\\]\\.logDirs the broker's log\\.dirs`));
    expect(await snapshotsIn(spec)).toBe(0);
  });

  it('a Kafka TLS file that does not exist: one line naming the field and the file, on commands that connect', async () => {
    const ca = join(dir, 'no-such-ca.pem');
    const { file } = specFile('tls', (s) => ({ ...s, kafka: { ...s.kafka, ssl: { ca, rejectUnauthorized: true } } }));
    for (const args of [['probe', '--spec', file], ['metadata', 'export', '--spec', file, '--out', join(dir, 'm.json')]]) {
      const r = await lifeboat(...args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(EXIT.INVALID_SPEC);
      expect(failureLine(r.stderr)).toContain(`kafka.ssl.ca: the TLS file ${ca} does not exist`);
    }
  });
});
