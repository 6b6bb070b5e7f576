import { describe, expect, it } from 'vitest';
import { type StreamState, packStream, parseStreamRecord, parseStreamValue, streamValue, unpackStream } from '../../src/drills/stream';

describe('the write stream state in heartbeat details', () => {
  const state: StreamState = {
    log: {
      topic: 'lifeboat-drill-x',
      drillId: 'x',
      startedAt: '2026-12-03T22:00:00.000Z',
      endedAt: '2026-12-03T22:00:00.000Z',
      acks: [
        { partition: 0, offset: 0, seq: 0, at: '2026-12-03T22:00:00.100Z' },
        { partition: 1, offset: 0, seq: 2, at: '2026-12-03T22:00:00.300Z' },
      ],
      failures: { count: 1, first: '2026-12-03T22:00:00.200Z', last: '2026-12-03T22:00:00.200Z' },
      zookeeper: {
        path: '/standby/lifeboat-drill/x',
        acks: [
          { seq: 0, zxid: '0x1a', at: '2026-12-03T22:00:00.100Z', before: null },
          { seq: 1, zxid: '0x1b', at: '2026-12-03T22:00:00.200Z', before: 0 },
          { seq: 2, zxid: '0x1f', at: '2026-12-03T22:00:00.300Z' },
        ],
        failures: { count: 0 },
      },
    },
    nextSeq: 4,
    zkNextSeq: 3,
    inFlight: 3,
  };

  it('packs and unpacks to the same state (JSON on the way), a before of null and an absent one kept apart', () => {
    const back = unpackStream(JSON.parse(JSON.stringify(packStream(state))));
    expect(back).toEqual(state);
    expect('before' in back!.log.zookeeper!.acks[2]!).toBe(false);
  });

  it('details of another shape are no state', () => {
    expect(unpackStream(undefined)).toBeUndefined();
    expect(unpackStream({ phase: 'x' })).toBeUndefined();
    expect(unpackStream({ v: 2, topic: 't', acks: [], nextSeq: 0 })).toBeUndefined();
  });
});

describe('stream records', () => {
  it('headers first, the value when headers are missing; other records are not the stream', () => {
    const mark = { drill: 'x', seq: 7, at: '2026-12-03T22:00:00.000Z' };
    expect(parseStreamRecord({ headers: { 'lifeboat-drill': Buffer.from('x'), 'lifeboat-drill-seq': Buffer.from('7'), 'lifeboat-drill-at': Buffer.from(mark.at) }, value: null })).toEqual(mark);
    expect(parseStreamRecord({ headers: {}, value: streamValue(mark) })).toEqual(mark);
    expect(parseStreamRecord({ headers: {}, value: Buffer.from('app data') })).toBeNull();
    expect(parseStreamValue(Buffer.from('{"drill":"x","seq":1.5,"at":"t"}'))).toBeNull();
    expect(parseStreamValue(null)).toBeNull();
  });
});
