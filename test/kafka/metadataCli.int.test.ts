/** `lifeboat metadata export|apply` as an operator runs it: exit codes, --json output, dry-run. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lifeboat } from '../support/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../../src/kafka/client';
import { readMetadataComponent } from '../../src/kafka/metadataStore';
import { openRepository } from '../../src/repository';
import { findCluster } from '../../lab/topology';
import { primarySpec, standbySpec, topo, unique } from '../support/lab';
import { createTopicsReady } from '../support/kafka';

const primaryYaml = findCluster(topo, 'primary').specFile;
const standbyYaml = findCluster(topo, 'standby').specFile;
const tmp = mkdtempSync(join(tmpdir(), 'lifeboat-mdcli-'));
const topic = unique('mdcli');


beforeAll(async () => {
  await createTopicsReady(primarySpec(), [{ topic, numPartitions: 2, replicationFactor: 3, configEntries: [{ name: 'retention.ms', value: '7200000' }] }]);
});

afterAll(async () => {
  for (const spec of [primarySpec(), standbySpec()]) {
    const admin = kafkaFor(spec).admin();
    await admin.connect();
    if ((await admin.listTopics()).includes(topic)) await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe('lifeboat metadata', () => {
  it('export --out, apply --dry-run --json (nothing changes), apply', async () => {
    const file = join(tmp, 'md.json');
    const exp = await lifeboat('metadata', 'export', '--spec', primaryYaml, '--out', file, '--json');
    expect(exp.code).toBe(0);
    expect(JSON.parse(exp.stdout)).toMatchObject({ file });
    expect(JSON.parse(readFileSync(file, 'utf8')).topics.find((t: { name: string }) => t.name === topic)).toMatchObject({ partitions: 2, replicationFactor: 3 });

    const dry = await lifeboat('metadata', 'apply', '--spec', primaryYaml, '--in', file, '--target-spec', standbyYaml, '--topics', `^${topic}$`, '--skip-acls', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout).plan;
    expect(plan.topics).toEqual([expect.objectContaining({ topic, action: 'create', replicationFactor: 1, capturedReplicationFactor: 3 })]);
    expect(plan.warnings).toContain(`topic ${topic}: replication factor 3 lowered to 1 (the target has 1 broker(s))`);
    const admin = kafkaFor(standbySpec()).admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(topic);
      // The standby spec with a private repository: the pre-restore snapshot of its metadata goes there.
      const target = join(tmp, 'standby-private-repo.yaml');
      writeFileSync(target, readFileSync(standbyYaml, 'utf8').replace(/path: .*repository\/standby$/m, `path: ${join(tmp, 'standby-repo')}`));
      const applied = await lifeboat('metadata', 'apply', '--spec', primaryYaml, '--in', file, '--target-spec', target, '--topics', `^${topic}$`, '--skip-acls');
      expect(applied.code).toBe(0);
      expect(applied.stdout).toContain('applied to standby: 1 topics created');
      expect(applied.stderr).toContain(`WARNING: topic ${topic}: replication factor 3 lowered to 1`);
      expect(await admin.listTopics()).toContain(topic);
      expect(applied.stderr).toMatch(/pre-restore snapshot [0-9a-f]{12} of standby's metadata saved/);
      const repo = await openRepository(join(tmp, 'standby-repo'), process.env.LIFEBOAT_PASSWORD!);
      try {
        const [pre] = await repo.snapshots({ tags: ['pre-restore'] });
        expect(pre).toMatchObject({ cluster: 'standby', components: ['kafka-metadata'] });
        const before = await readMetadataComponent(await repo.openSnapshot(pre!.id));
        expect(before.topics.map((t) => t.name)).not.toContain(topic);
      } finally {
        await repo.close();
      }
    } finally {
      await admin.disconnect();
    }
  });

  it('export --repo and apply --snapshot latest through a (private) repository', async () => {
    // A copy of the primary spec whose repository lives in the temp dir, not the lab's shared one.
    const spec = join(tmp, 'primary-private-repo.yaml');
    writeFileSync(spec, readFileSync(primaryYaml, 'utf8').replace(/path: .*repository\/primary$/m, `path: ${join(tmp, 'repo')}`));
    const exp = await lifeboat('metadata', 'export', '--spec', spec, '--repo', '--json');
    expect(exp.code).toBe(0);
    const id = JSON.parse(exp.stdout).snapshot as string;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const dry = await lifeboat('metadata', 'apply', '--spec', spec, '--snapshot', 'latest', '--target-spec', standbyYaml, '--topics', `^${topic}$`, '--skip-acls', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout).plan.topics).toEqual([expect.objectContaining({ topic, partitions: 2 })]);
  });

  it('unreachable cluster: exit 18 and one clear line, quickly; malformed input: exit 2', async () => {
    const badSpec = join(tmp, 'unreachable.yaml');
    writeFileSync(badSpec, readFileSync(standbyYaml, 'utf8').replaceAll(standbySpec().kafka.bootstrapServers[0]!, '127.0.0.1:1'));
    const t0 = Date.now();
    const r = await lifeboat('metadata', 'export', '--spec', badSpec, '--out', join(tmp, 'never.json'));
    expect(r.code).toBe(18);
    expect(r.stderr.trim().split('\n').at(-1)).toBe('lifeboat: cannot reach Kafka cluster "standby" (127.0.0.1:1 ECONNREFUSED); check kafka.bootstrapServers and that the brokers run');
    expect(Date.now() - t0).toBeLessThan(15_000);

    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ format: 'lifeboat.kafka-metadata/v1', topics: 'nope' }));
    const m = await lifeboat('metadata', 'apply', '--spec', standbyYaml, '--in', bad, '--dry-run');
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/^lifeboat: malformed Kafka metadata in .*bad\.json: /);
  });
});
