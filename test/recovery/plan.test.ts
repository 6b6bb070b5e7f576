/** What a recovery restores from a set, decided in src/ (pure) so that workflow code parses no part names. */
import { describe, expect, it } from 'vitest';
import type { BackupSet } from '../../src/backup/parts';
import { parseSpec } from '../../src/config/spec';
import { brokerLogDirSnapshot, dataPathOf, dataWork, restoredSubset, skippedByParts, stateWork } from '../../src/recovery/plan.pure';
import { chosenSetDetail, logDirsDetail } from '../../src/report/details.pure';

const spec = parseSpec({
  name: 'plan',
  kafka: { bootstrapServers: ['127.0.0.1:1'] },
  zookeeper: { connect: '127.0.0.1:2' },
  brokers: [1, 2].map((id) => ({ id, host: `h${id}`, logDirs: [`/d/${id}`], configDir: `/c/${id}`, control: { type: 'systemd', unit: `kafka-${id}` } })),
  repository: { path: '/r', password: { env: 'UNUSED' } },
});
const set = (parts: string[]): BackupSet =>
  ({ setId: 's', tier: 'manual', time: 't', parts, complete: true, snapshots: Object.fromEntries(parts.map((p) => [p, { id: `id-${p}` }])) }) as unknown as BackupSet;

describe('recovery plan', () => {
  it('a set of log-dir copies restores them per broker host; topics are skipped', () => {
    const s = set(['zookeeper', 'kafka-metadata', 'configs:1', 'configs:2', 'logdirs:1', 'logdirs:2']);
    expect(dataPathOf(s)).toBe('logdirs');
    expect(brokerLogDirSnapshot(s, 2)).toBe('id-logdirs:2');
    expect(brokerLogDirSnapshot(s, 3)).toBeUndefined();
    const w = dataWork(spec, s);
    expect(w.logdirs.run).toEqual([
      { brokerId: 1, host: 'h1', snapshotId: 'id-logdirs:1' },
      { brokerId: 2, host: 'h2', snapshotId: 'id-logdirs:2' },
    ]);
    expect(w.topics.skip).toBe('the log dirs hold the data');
    const st = stateWork(spec, s);
    expect(st.zookeeper.run).toBe('id-zookeeper');
    expect(st.registry.skip).toBe('the set has no registry part');
    expect(st.configs.run?.map((c) => c.host)).toEqual(['h1', 'h2']);
  });

  it('a logical set restores topics once the brokers serve, no log dirs', () => {
    const s = set(['zookeeper', 'kafka-metadata', 'topics']);
    expect(dataPathOf(s)).toBe('topics');
    const w = dataWork(spec, s);
    expect(w.logdirs.skip).toBe('the set holds topics, not log-dir copies: restored once the brokers serve');
    expect(w.topics.run).toBe(s);
    expect(stateWork(spec, s).configs.skip).toBe('the set has no broker configs');
  });

  it('with parts, only those are restored and verified; the rest is skipped as not asked for', () => {
    const s = set(['zookeeper', 'configs:1', 'configs:2', 'logdirs:1', 'logdirs:2']);
    const st = stateWork(spec, s, ['configs:1']);
    expect(st.zookeeper.skip).toBe('not among the parts asked for (configs:1)');
    expect(st.configs.run).toEqual([{ brokerId: 1, host: 'h1', snapshotId: 'id-configs:1' }]);
    expect(dataWork(spec, s, ['configs:1']).logdirs.skip).toBe('not among the parts asked for (configs:1)');
    expect(Object.keys(restoredSubset(s, ['configs:1']).snapshots)).toEqual(['configs:1']);
    expect(restoredSubset(s)).toBe(s);
    expect(skippedByParts(spec, ['configs:1']).map((x) => x.name)).toEqual(['restore-zookeeper', 'restore-registry', 'restore-data', 'restore-topics']);
    expect(skippedByParts(spec)).toEqual([]);
  });

  it('step details format sizes in src/', () => {
    expect(logDirsDetail([{ files: 3, bytes: 1_250_000, movedAside: ['x'], resumedFiles: 2 }])).toBe('3 files, 1.3 MB; previous contents moved aside on 1 broker(s); 2 files already restored by an interrupted attempt');
    expect(chosenSetDetail({ set: { setId: 's1', time: 't', parts: ['a', 'b'] }, coverage: 'full', dataRead: { mode: 'sample', chunks: 10, chunksRead: 4, bytesRead: 2e6, packsChecked: 3 }, rejected: [{}] })).toBe(
      'set s1 of t (2 parts, full); data read (sample): 4 of 10 chunks, 2.0 MB, 3 pack headers, 1 newer set(s) passed over',
    );
  });
});
