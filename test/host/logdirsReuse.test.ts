/**
 * A log-dir copy that reuses the previous one takes over a segment's files only when its .log is
 * unchanged: the log cleaner rewrites a segment's .log and indexes keeping their old mtime, and a
 * rewritten index of the same size must not pass for the old one. A file replaced (another inode) or
 * rewritten in place with its mtime set back (another ctime) is read again too.
 */
import { mkdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/spec';
import { copyLogDirs } from '../../src/host/logdirs';
import { encodeBatch, encodeBody } from '../../src/kafka/wire/recordBatch';
import { tempDir, tempRepo } from '../repository/helpers';

const HOST = 'broker-a';

describe('log-dir copy reusing the previous one', () => {
  it('reads again a compacted segment and its same-size, same-mtime index, and segments replaced or rewritten under their old size and mtime; takes over what did not change', async () => {
    const base = tempDir();
    const root = join(base, 'd0');
    const part = join(root, 'orders-0');
    mkdirSync(part, { recursive: true });
    writeFileSync(join(root, 'meta.properties'), 'version=0\nbroker.id=1\ncluster.id=abcdefghijklmnopqrstuv\n');
    const seg0 = join(part, '00000000000000000000');
    writeFileSync(`${seg0}.log`, randomBytes(50_000));
    writeFileSync(`${seg0}.index`, randomBytes(4096));
    writeFileSync(`${seg0}.timeindex`, randomBytes(4096));
    const active = encodeBatch(Array.from({ length: 20 }, (_, i) => ({ timestamp: 1_700_000_000_000 + i, body: encodeBody({ key: null, value: Buffer.alloc(500, i), headers: [] }) })));
    active.writeBigInt64BE(100n, 0);
    writeFileSync(join(part, '00000000000000000100.log'), active);
    const spec = parseSpec({
      name: 't',
      kafka: { bootstrapServers: ['127.0.0.1:1'] },
      brokers: [{ id: 1, host: HOST, logDirs: [root], configDir: base, control: { type: 'command', start: 'true', stop: 'true', status: 'true' } }],
    });
    const repo = await tempRepo();
    const w1 = await repo.newSnapshot({ cluster: 't', components: ['logdirs'] });
    await copyLogDirs(spec, 1, w1, { mode: 'hot' });
    const first = await w1.commit();

    // The cleaner: a smaller .log, an index of the same size with other entries, the old mtimes kept.
    const times = statSync(`${seg0}.log`);
    const cleanedLog = randomBytes(30_000);
    const cleanedIndex = randomBytes(4096);
    writeFileSync(`${seg0}.log`, cleanedLog);
    writeFileSync(`${seg0}.index`, cleanedIndex);
    for (const f of [`${seg0}.log`, `${seg0}.index`]) utimesSync(f, times.atime, times.mtime);

    const w2 = await repo.newSnapshot({ cluster: 't', components: ['logdirs'], reuseFrom: first.id });
    const again = await copyLogDirs(spec, 1, w2, { mode: 'hot' });
    const second = await repo.openSnapshot((await w2.commit()).id);
    const at = (name: string) => `logdirs/${HOST}/0/orders-0/${name}`;
    expect((await second.readBuffer(at('00000000000000000000.log'))).equals(cleanedLog)).toBe(true);
    expect((await second.readBuffer(at('00000000000000000000.index'))).equals(cleanedIndex)).toBe(true);
    expect((await second.readBuffer(at('00000000000000000000.timeindex'))).equals(readFileSync(`${seg0}.timeindex`))).toBe(true);
    // The active segment did not change: taken over, not read.
    expect(again.reusedBytes).toBe(active.length);
    expect((await second.readBuffer(at('00000000000000000100.log'))).equals(active)).toBe(true);

    // A closed segment replaced by another file of the same size and mtime (renamed over it), and
    // one rewritten in place with its mtime set back: their inode or ctime tells.
    const seg1 = join(part, '00000000000000000050');
    writeFileSync(`${seg1}.log`, randomBytes(20_000));
    const w3 = await repo.newSnapshot({ cluster: 't', components: ['logdirs'], reuseFrom: second.meta.id });
    await copyLogDirs(spec, 1, w3, { mode: 'hot' });
    const third = await w3.commit();
    const renamed = randomBytes(30_000);
    const inPlace = randomBytes(20_000);
    const [t0, t1] = [statSync(`${seg0}.log`), statSync(`${seg1}.log`)];
    writeFileSync(join(part, 'swap.tmp'), renamed);
    utimesSync(join(part, 'swap.tmp'), t0.atime, t0.mtime);
    renameSync(join(part, 'swap.tmp'), `${seg0}.log`);
    writeFileSync(`${seg1}.log`, inPlace);
    utimesSync(`${seg1}.log`, t1.atime, t1.mtime);
    const w4 = await repo.newSnapshot({ cluster: 't', components: ['logdirs'], reuseFrom: third.id });
    const fourthCopy = await copyLogDirs(spec, 1, w4, { mode: 'hot' });
    const fourth = await repo.openSnapshot((await w4.commit()).id);
    expect((await fourth.readBuffer(at('00000000000000000000.log'))).equals(renamed)).toBe(true);
    expect((await fourth.readBuffer(at('00000000000000000050.log'))).equals(inPlace)).toBe(true);
    // Only the active segment is taken over (seg0's indexes go with its changed .log).
    expect(fourthCopy.reusedBytes).toBe(active.length);

    // A broker whose spec leaves inode and ctime out (restic's --ignore-inode/--ignore-ctime):
    // size and mtime alone, so a rewrite under the old ones passes for unchanged, as asked.
    const lax = parseSpec({ ...spec, brokers: [{ ...spec.brokers[0]!, ignoreInode: true, ignoreCtime: true }] });
    const t1again = statSync(`${seg1}.log`);
    writeFileSync(`${seg1}.log`, randomBytes(20_000));
    utimesSync(`${seg1}.log`, t1again.atime, t1again.mtime);
    const w5 = await repo.newSnapshot({ cluster: 't', components: ['logdirs'], reuseFrom: fourth.meta.id });
    const fifthCopy = await copyLogDirs(lax, 1, w5, { mode: 'hot' });
    await w5.commit();
    expect(fifthCopy.reusedBytes).toBeGreaterThanOrEqual(active.length + 20_000);
    await repo.close();
  });
});
