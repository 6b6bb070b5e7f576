import { describe, expect, it } from 'vitest';
import { addRun, emptyOffsetMap } from '../../src/kafka/offsetMap';
import { offsetMapTranslator, restoreMapTranslator } from '../../src/kafka/offsets';

describe('offsetMapTranslator', () => {
  // Original log of t/0 had records at 10, 11, 14 (12, 13 compacted away); restored at 0, 1, 2.
  const t = offsetMapTranslator({ t: { '0': { '14': 2, '10': 0, '11': 1 } } });

  it('maps a committed offset to the new offset of the next unconsumed record', async () => {
    expect(await t.translate('t', 0, '10')).toBe('0');
    expect(await t.translate('t', 0, '11')).toBe('1');
    expect(await t.translate('t', 0, '14')).toBe('2');
  });

  it('a committed offset on a gap resumes at the next restored record; before the first, at the first', async () => {
    expect(await t.translate('t', 0, '12')).toBe('2');
    expect(await t.translate('t', 0, '0')).toBe('0');
  });

  it('past the last restored record means everything was consumed: the end of the restored log', async () => {
    expect(await t.translate('t', 0, '15')).toBe('3');
    expect(await t.translate('t', 0, '9000000000000000000')).toBe('3');
  });

  it('unknown topic or partition: undefined (the plan reports it)', async () => {
    expect(await t.translate('t', 1, '5')).toBeUndefined();
    expect(await t.translate('u', 0, '5')).toBeUndefined();
  });
});

describe('restoreMapTranslator (the run-based map a topic restore writes)', () => {
  it('agrees with the plain map on the same records, and refuses renamed topics', async () => {
    const map = emptyOffsetMap();
    addRun(map, 't', 't', 0, [10, 0, 2]);
    addRun(map, 't', 't', 0, [14, 2, 1]);
    addRun(map, 'r', 'renamed', 0, [0, 0, 5]);
    const runs = restoreMapTranslator(map);
    const plain = offsetMapTranslator({ t: { '0': { '10': 0, '11': 1, '14': 2 } } });
    for (const c of ['0', '10', '11', '12', '14', '15']) expect(await runs.translate('t', 0, c), c).toBe(await plain.translate('t', 0, c));
    expect(await runs.translate('r', 0, '3')).toBeUndefined();
    expect(await runs.translate('t', 5, '3')).toBeUndefined();
  });
});
