import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tempRepo } from './helpers';

describe("writeFile with cut: 'fixed'", () => {
  it('stores a buffer in max-sized chunks, reads it back byte for byte, and stores an identical buffer again for nothing', async () => {
    const repo = await tempRepo();
    const data = randomBytes(64 * 1024 * 3 + 1000); // SMALL chunker: max 64 KiB → 4 chunks
    const w1 = await repo.newSnapshot({ cluster: 'c', components: ['topics'] });
    expect(await w1.writeFile('topics/t/0/a.lbb', data, { cut: 'fixed' })).toEqual({ size: data.length, newBytes: data.length });
    const s1 = await w1.commit();
    const w2 = await repo.newSnapshot({ cluster: 'c', components: ['topics'] });
    expect((await w2.writeFile('topics/t/0/a.lbb', Buffer.from(data), { cut: 'fixed' })).newBytes).toBe(0);
    await w2.commit();
    const back = await (await repo.openSnapshot(s1.id)).readBuffer('topics/t/0/a.lbb');
    expect(back.equals(data)).toBe(true);
    await repo.close();
  });
});
