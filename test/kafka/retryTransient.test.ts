import { describe, expect, it } from 'vitest';
import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { isTransientKafkaError, retryTransient } from '../../src/kafka/admin';

const leaderNotAvailable = () => new KafkaJSProtocolError({ message: 'leader election in progress', type: 'LEADER_NOT_AVAILABLE', code: 5, retriable: true } as unknown as Error);

describe('retryTransient', () => {
  it('knows a transient error, also when kafkajs wraps it after its own retries', () => {
    expect(isTransientKafkaError(leaderNotAvailable())).toBe(true);
    expect(isTransientKafkaError(new KafkaJSNumberOfRetriesExceeded(leaderNotAvailable(), { retryCount: 5, retryTime: 100 }))).toBe(true);
    expect(isTransientKafkaError(new Error('topic authorization failed'))).toBe(false);
  });

  it('asks again through transient errors and returns the first answer', async () => {
    let calls = 0;
    const value = await retryTransient(async () => {
      calls += 1;
      if (calls < 3) throw leaderNotAvailable();
      return 'metadata';
    }, { delayMs: 1 });
    expect(value).toBe('metadata');
    expect(calls).toBe(3);
  });

  it('rethrows a permanent error at once, and a transient one after the deadline', async () => {
    let calls = 0;
    await expect(retryTransient(async () => { calls += 1; throw new Error('denied'); }, { delayMs: 1 })).rejects.toThrow('denied');
    expect(calls).toBe(1);
    await expect(retryTransient(async () => { throw leaderNotAvailable(); }, { timeoutMs: 20, delayMs: 5 })).rejects.toThrow('leader election');
  });
});
