/** Pure parts of the ZooKeeper export: the file format, path safety, increments and restore planning. */
import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/errors';
import { parseDubboProvider, parseCuratorInstance } from '../../src/registry/layouts';
import { digestId, formatPlan, planRestore } from '../../src/zookeeper/restore';
import { applyIncrements, assertSafeRelPath, FORMAT, parseExport, serializeExport, type ZkNodeEntry, type ZkTreeExport } from '../../src/zookeeper/tree';

const stat = (mzxid = '0x1') => ({ czxid: '0x1', mzxid, pzxid: '0x1', ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: '0x0', dataLength: 1, numChildren: 0 });
const node = (path: string, data: string | null = null, extra: Partial<ZkNodeEntry> = {}): ZkNodeEntry => ({
  path,
  data: data === null ? null : Buffer.from(data).toString('base64'),
  acl: [{ perms: 31, scheme: 'world', id: 'anyone' }],
  stat: stat(),
  ephemeral: false,
  ...extra,
});
const tree = (nodes: ZkNodeEntry[], extra: Partial<ZkTreeExport> = {}): ZkTreeExport => ({
  format: FORMAT,
  kind: 'full',
  root: '/primary',
  time: '2025-01-01T00:00:00.000Z',
  zxid: '0x10',
  startZxid: '0x10',
  consistent: true,
  rounds: 0,
  nodeCount: nodes.length,
  nodes,
  ...extra,
});

describe('export file format', () => {
  it('round-trips and rejects malformed or unsafe content as CorruptBackup', () => {
    const t = tree([node('/'), node('/a', 'x'), node('/a/b', '\u0000\u00ff')]);
    expect(parseExport(serializeExport(t))).toEqual(t);
    const bad = (text: string) => {
      try {
        parseExport(text, 'f');
      } catch (e) {
        expect(e).toBeInstanceOf(LifeboatError);
        return (e as LifeboatError).type + ': ' + (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad('')).toMatch(/CorruptBackup: .*empty/);
    expect(bad('{"format":"other"}')).toMatch(/header format/);
    const lines = serializeExport(t).toString().split('\n');
    expect(bad([lines[0], '{not json'].join('\n'))).toMatch(/line 2 is not JSON/);
    expect(bad(serializeExport(tree([node('/a/../../x')])).toString())).toMatch(/unsafe path/);
    expect(bad(lines.slice(0, 2).join('\n'))).toMatch(/header says 3 nodes, found 1/);
    expect(() => assertSafeRelPath('/a//b')).toThrow(/empty/);
    expect(() => assertSafeRelPath('relative')).toThrow(/unsafe/);
  });
});

describe('increments and plans', () => {
  it('applies deletions (with their subtrees) and changes on the parent', () => {
    const base = tree([node('/'), node('/a', '1'), node('/a/x'), node('/b', '2')]);
    const inc = tree([node('/b', '3'), node('/c', 'new')], { kind: 'incremental', zxid: '0x20', parentZxid: '0x10', deleted: ['/a'] });
    const full = applyIncrements(base, [inc]);
    expect(full.nodes.map((n) => n.path)).toEqual(['/', '/b', '/c']);
    expect(full.kind).toBe('full');
    expect(full.zxid).toBe('0x20');
  });

  it('plans per mode and says what it would write', () => {
    const src = tree([node('/'), node('/a', 'new'), node('/b'), node('/eph', null, { ephemeral: true })]);
    const cur = tree([node('/'), node('/a', 'old'), node('/z')]);
    const p = planRestore(src, cur, '/standby');
    expect(p.add.map((n) => n.path)).toEqual(['/b']);
    expect(p.change).toMatchObject([{ path: '/a', data: true, acl: false }]);
    expect(p.remove).toEqual(['/z']);
    expect(p.skippedEphemerals).toEqual(['/eph']);
    expect(formatPlan(p)).toContain('would write: 1 creates, 0 updates, 0 deletes');
    expect(formatPlan(planRestore(src, cur, '/standby', { mode: 'mirror' }))).toContain('would write: 1 creates, 1 updates, 1 deletes');
    expect(() => planRestore({ ...src, kind: 'incremental' }, null, '/x')).toThrow(/full export/);
  });

  it('into the chroot of a running Kafka, what that Kafka owns is created when missing, never rewritten or deleted, in every mode', () => {
    const src = tree([node('/'), node('/controller_epoch', '7'), node('/brokers'), node('/brokers/topics'), node('/brokers/topics/t', 'assignment'), node('/brokers/topics/t/partitions'), node('/brokers/topics/t/partitions/0'), node('/brokers/topics/t/partitions/0/state', 'leader 1 epoch 3'), node('/config', 'old')]);
    const running = (live: boolean) =>
      tree([
        node('/'),
        node('/controller_epoch', '9'),
        node('/brokers'),
        node('/brokers/ids'),
        ...(live ? [node('/brokers/ids/1', 'endpoint', { ephemeral: true })] : []),
        node('/brokers/topics'),
        node('/brokers/topics/t', 'assignment'),
        node('/brokers/topics/t/partitions'),
        node('/brokers/topics/t/partitions/0'),
        node('/brokers/topics/t/partitions/0/state', 'leader 1 epoch 5'),
        node('/admin'),
        node('/admin/delete_topics'),
        node('/config', 'new'),
      ]);
    const p = planRestore(src, running(true), '/standby', { mode: 'mirror' });
    expect(p.change.map((c) => c.path)).toEqual(['/config']);
    expect(p.remove).toEqual([]);
    expect(p.keptForEphemerals).toEqual(['/brokers/ids']);
    expect([...p.keptForKafka].sort()).toEqual(['/admin', '/admin/delete_topics', '/brokers/topics/t/partitions/0/state', '/controller_epoch']);
    expect(formatPlan(p)).toContain('= /standby/controller_epoch — kept (owned by the Kafka running on it)');
    // Nothing runs there (no live registration or controller): a mirror puts the export back whole.
    const idle = planRestore(src, running(false), '/standby', { mode: 'mirror' });
    expect(idle.change.map((c) => c.path).sort()).toEqual(['/brokers/topics/t/partitions/0/state', '/config', '/controller_epoch']);
    expect([...idle.remove].sort()).toEqual(['/admin', '/admin/delete_topics', '/brokers/ids']);
    expect(idle.keptForKafka).toEqual([]);
    // A request or notification the running Kafka consumed (gone from the target) is not replayed; with nothing running it is put back.
    const pending = tree([...src.nodes, node('/admin'), node('/admin/delete_topics'), node('/admin/delete_topics/gone'), node('/isr_change_notification'), node('/isr_change_notification/isr_change_0000000003', 'x'), node('/admin/reassign_partitions', '{}')]);
    const consumed = planRestore(pending, running(true), '/standby', { mode: 'mirror' });
    expect(consumed.add.map((n) => n.path)).toEqual(['/isr_change_notification']);
    expect(consumed.keptForKafka).toEqual(expect.arrayContaining(['/admin/delete_topics/gone', '/admin/reassign_partitions', '/isr_change_notification/isr_change_0000000003']));
    expect(planRestore(pending, running(false), '/standby', { mode: 'mirror' }).add.map((n) => n.path)).toEqual(
      expect.arrayContaining(['/admin/delete_topics/gone', '/admin/reassign_partitions', '/isr_change_notification/isr_change_0000000003']),
    );
    // Missing Kafka-owned nodes are created under a running Kafka too.
    const bare = planRestore(src, tree([node('/'), node('/brokers'), node('/brokers/ids'), node('/brokers/ids/1', 'e', { ephemeral: true })]), '/standby', { mode: 'overwrite' });
    expect(bare.add.map((n) => n.path)).toContain('/controller_epoch');
    expect(bare.add.map((n) => n.path)).toContain('/brokers/topics/t/partitions/0/state');
  });

  it('computes ZooKeeper digest ids', () => {
    // DigestAuthenticationProvider.generateDigest("super:test")
    expect(digestId('super:test')).toBe('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  });
});

describe('registry layouts', () => {
  it('parses Curator instances and Dubbo provider URLs', () => {
    const c = parseCuratorInstance('id1', Buffer.from(JSON.stringify({ name: 's', id: 'id1', address: '10.0.0.1', port: 80, payload: { '@class': 'x', zone: 'a' }, enabled: false })));
    expect(c).toMatchObject({ ip: '10.0.0.1', port: 80, status: 'DOWN', metadata: { zone: 'a' } });
    expect(parseCuratorInstance('x', Buffer.from('not json'))).toBeNull();
    const d = parseDubboProvider(encodeURIComponent('dubbo://10.1.2.3:20880/com.A?application=app&version=2'));
    expect(d).toMatchObject({ id: '10.1.2.3:20880', ip: '10.1.2.3', port: 20880, status: 'UP', metadata: { application: 'app', version: '2', path: 'com.A' } });
    expect(parseDubboProvider('garbage')).toBeNull();
  });
});
