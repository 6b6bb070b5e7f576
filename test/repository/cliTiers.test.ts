/**
 * `lifeboat repo … --spec S --tier-repo <name>` works on one of the spec's repository tiers (as
 * `backup sets` does): init, snapshots, check, restore-files and forget (by the tier's own
 * retention) on a tiers[] repository, copy between tiers with --to-tier; a wrong name or a
 * contradictory flag is one clear line with its exit code.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { lifeboatWith } from '../support/cli';
import { EXIT } from '../../src/errors';
import { kafkaLike, tempDir } from './helpers';

const lifeboat = (...args: string[]) => lifeboatWith({ LIFEBOAT_TEST_TIER_PW: 'tier-pw' }, 'repo', ...args);
const json = <T>(r: { stdout: string }): T => JSON.parse(r.stdout.trim().split('\n').pop()!) as T;

describe('lifeboat repo --tier-repo', () => {
  it('works on a tiers[] repository of the spec, and copies down to it with --to-tier', async () => {
    const base = tempDir('cli-tiers');
    const pw = { env: 'LIFEBOAT_TEST_TIER_PW' };
    const specFile = join(base, 'cluster.yaml');
    writeFileSync(
      specFile,
      stringify({
        name: 'prod',
        kafka: { bootstrapServers: ['127.0.0.1:9092'] },
        brokers: [{ id: 1, host: 'k1', logDirs: ['/var/kafka-logs'], configDir: '/etc/kafka', control: { type: 'systemd', unit: 'kafka.service' } }],
        repository: { path: join(base, 'primary'), password: pw },
        retention: { keepLast: 5 },
        tiers: [{ name: 'nas', path: join(base, 'nas'), password: pw, medium: 'nas', retention: { keepLast: 1 } }],
      }),
    );
    const data = join(base, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'a.log'), kafkaLike(300_000, 1));
    const spec = ['--spec', specFile];

    // init makes the tier's repository, not the primary.
    const init = await lifeboat('init', ...spec, '--tier-repo', 'nas', '--json');
    expect(init.code, init.stderr).toBe(0);
    expect(json<{ created: string }>(init).created).toBe(join(base, 'nas'));
    expect(existsSync(join(base, 'primary'))).toBe(false);

    // Two backups into the primary, each copied down to the tier.
    for (const i of [1, 2]) {
      writeFileSync(join(data, 'a.log'), kafkaLike(300_000, i));
      const b = await lifeboat('backup', data, ...spec, '--cluster', 'prod', '--as', 'logdirs/b1', '--force');
      expect(b.code, b.stderr).toBe(0);
      const c = await lifeboat('copy', ...spec, '--to-tier', 'nas', '--json');
      expect(c.code, c.stderr).toBe(0);
      expect(json<{ copied: unknown[]; skipped: unknown[] }>(c)).toMatchObject({ copied: [{}], skipped: i === 2 ? [expect.any(String)] : [] });
    }

    const list = await lifeboat('snapshots', ...spec, '--tier-repo', 'nas', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(json<unknown[]>(list)).toHaveLength(2);
    expect((await lifeboat('check', ...spec, '--tier-repo', 'nas', '--read-data')).code).toBe(0);
    const out = join(base, 'out');
    const r = await lifeboat('restore-files', 'latest', ...spec, '--tier-repo', 'nas', '--target', out, '--strip', 'logdirs/b1');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'a.log')).equals(kafkaLike(300_000, 2))).toBe(true);

    // forget without --keep-*: the tier's retention (keepLast 1) there, the spec's (keepLast 5) in the primary.
    const tierForget = await lifeboat('forget', ...spec, '--tier-repo', 'nas', '--dry-run', '--json');
    expect(tierForget.code, tierForget.stderr).toBe(0);
    expect(json<{ remove: unknown[] }>(tierForget).remove).toHaveLength(1);
    expect(json<{ remove: unknown[] }>((await lifeboat('forget', ...spec, '--dry-run', '--json'))).remove).toHaveLength(0);

    // Wrong names and contradictions: one line each.
    const unknown = await lifeboat('snapshots', ...spec, '--tier-repo', 'tape');
    expect(unknown.code).toBe(EXIT.INVALID_SPEC);
    expect(unknown.stderr.trim()).toMatch(/^[^\n]*has no repository tier "tape" \(its tiers: primary, nas\)$/);
    const both = await lifeboat('snapshots', ...spec, '--tier-repo', 'nas', '--offsite');
    expect(both.code).toBe(EXIT.USAGE);
    expect(both.stderr).toMatch(/give --tier-repo or --offsite, not both/);
    const noSpec = await lifeboat('snapshots', '--repo', join(base, 'nas'), '--tier-repo', 'nas');
    expect(noSpec.code).toBe(EXIT.USAGE);
    expect(noSpec.stderr).toMatch(/--tier-repo names a repository of a cluster spec: give --spec/);
    const self = await lifeboat('copy', ...spec, '--tier-repo', 'nas', '--to-tier', 'nas');
    expect(self.code).toBe(EXIT.USAGE);
    expect(self.stderr).toMatch(/copy from tier nas to itself/);
  }, 120_000);
});
