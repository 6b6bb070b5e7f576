/** saveSnapshot: the one way capture code writes a snapshot — committed on success, invisible on failure. */
import { describe, expect, it } from 'vitest';
import { tempRepo } from './helpers';

describe('Repository.saveSnapshot', () => {
  it('commits what fill wrote and returns its value', async () => {
    const repo = await tempRepo();
    try {
      const { meta, value } = await repo.saveSnapshot({ cluster: 'c1', components: ['configs'] }, async (w) => {
        await w.writeFile('configs/h1/server.properties', Buffer.from('broker.id=1\n'));
        return 42;
      });
      expect(value).toBe(42);
      expect((await repo.snapshots()).map((s) => s.id)).toEqual([meta.id]);
      const r = await repo.openSnapshot(meta.id);
      expect((await r.readBuffer('configs/h1/server.properties')).toString()).toBe('broker.id=1\n');
    } finally {
      await repo.close();
    }
  });

  it('leaves no snapshot when fill throws, passes the error on, and a re-run commits', async () => {
    const repo = await tempRepo();
    try {
      const data = Buffer.alloc(3 << 20, 7);
      await expect(
        repo.saveSnapshot({ cluster: 'c1', components: ['logdirs'] }, async (w) => {
          await w.writeFile('logdirs/h1/0/t-0/00000000000000000000.log', data);
          throw new Error('broker went away');
        }),
      ).rejects.toThrow('broker went away');
      expect(await repo.snapshots()).toEqual([]);
      const { meta } = await repo.saveSnapshot({ cluster: 'c1', components: ['logdirs'] }, (w) => w.writeFile('logdirs/h1/0/t-0/00000000000000000000.log', data));
      expect(meta.summary.bytes).toBe(data.length);
      expect((await repo.openSnapshot(meta.id).then((r) => r.readBuffer('logdirs/h1/0/t-0/00000000000000000000.log'))).equals(data)).toBe(true);
    } finally {
      await repo.close();
    }
  });
});
