/**
 * Typed progress through the real CLI: while a backup's ZooKeeper part waits for a ZooKeeper nobody
 * answers (15 s, heartbeating its progress), `lifeboat status <id>` shows the running activity's
 * progress (phase, done in its unit) in text and in --json, and the `backup` command that follows
 * the run prints it on stderr (a pipe: plain lines) and never on stdout. Real worker, Temporal, Kafka.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../src/config/spec';
import { EXIT } from '../../src/errors';
import { temporalSettings } from '../../src/temporal/connection';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker';
import { LIFEBOAT_BIN, lifeboat } from '../support/cli';
import { primarySpec, unique } from '../support/lab';
import { freePort } from './support';

interface StatusDoc {
  workflowId: string;
  activities: { activity: string; attempt: number; progress?: { phase: string; done?: number; unit?: string } }[];
}

describe('typed progress in status and while following a run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-progress-'));
  const lab = primarySpec();
  let workers: RunningWorkers;
  let running: Promise<void>;

  beforeAll(async () => {
    workers = await createWorkers({ settings: temporalSettings(), hosts: lab.brokers.map((b) => b.host) });
    running = workers.run();
  });

  afterAll(async () => {
    workers?.shutdown();
    await running;
    rmSync(dir, { recursive: true, force: true });
  });

  it('status shows the running activity\'s progress; the followed backup prints it on stderr', { timeout: 180_000 }, async () => {
    const name = unique('progress');
    const zk = `127.0.0.1:${await freePort()}`;
    const spec: ClusterSpec = { ...lab, name, zookeeper: { ...lab.zookeeper!, connect: zk }, repository: { ...lab.repository!, path: join(dir, 'repo') }, offsiteRepository: undefined };
    const file = join(dir, 'spec.yaml');
    writeFileSync(file, stringify(spec));
    const workflowId = `backup-${name}`;

    const child = spawn(LIFEBOAT_BIN, ['backup', '--spec', file, '--parts', 'zookeeper', '--skip-retention', '--skip-offsite'], { env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((r) => child.once('exit', (c) => r(c ?? -1)));
    let ended = false;
    void exited.then(() => (ended = true));

    // While it waits: status, as text and as JSON, until one shows the wait's progress.
    let seenJson: StatusDoc['activities'][number] | undefined;
    let seenText: string | undefined;
    while (!ended && (!seenJson || !seenText)) {
      const j = await lifeboat('status', workflowId, '--json');
      if (j.code === 0) {
        const doc = JSON.parse(j.stdout) as StatusDoc;
        seenJson ??= doc.activities.find((a) => a.progress?.phase.includes('waiting for ZooKeeper'));
      }
      if (seenJson && !seenText) {
        const t = await lifeboat('status', workflowId);
        seenText = t.stdout.split('\n').find((l) => l.startsWith('  running ') && l.includes('waiting for ZooKeeper'));
      }
    }
    const code = await exited;

    expect(seenJson, `no status showed the wait's progress; backup stderr:\n${stderr}`).toBeDefined();
    expect(seenJson!.progress).toMatchObject({ phase: `backup zookeeper: waiting for ZooKeeper ${zk} (connection refused)`, unit: 'ms' });
    expect(seenJson!.progress!.done).toBeGreaterThanOrEqual(0);
    expect(seenText).toMatch(new RegExp(`^ {2}running \\w+ \\(attempt \\d+\\): backup zookeeper: waiting for ZooKeeper ${zk.replace(/\./g, '\\.')} \\(connection refused\\)(: \\d+ ms)?$`));

    // The backup it followed: exit 18 after the wait; progress on stderr only (a pipe: lines, no bar).
    expect(code, stderr).toBe(EXIT.UNREACHABLE);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${workflowId}: step: `);
    expect(stderr).toMatch(new RegExp(`${workflowId}: backup zookeeper: waiting for ZooKeeper ${zk.replace(/\./g, '\\.')} \\(connection refused\\)`));
    expect(stderr).not.toContain('\u001b['); // no terminal control codes on a pipe
  });
});
