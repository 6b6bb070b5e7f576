/**
 * The worker's logger and the Temporal-down line, without a server: pino writes one JSON line per
 * event, an error as type and message (its stack only with LIFEBOAT_DEBUG=1); the native client's
 * transport dump (the text the SDK really throws, as `lifeboat worker` printed it) becomes one reason.
 */
import { Writable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/errors';
import { temporalUnreachable } from '../../src/temporal/connection';
import { PinoTemporalLogger } from '../../src/temporal/logger';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

describe('PinoTemporalLogger', () => {
  const before = process.env.LIFEBOAT_DEBUG;
  afterEach(() => {
    if (before === undefined) delete process.env.LIFEBOAT_DEBUG;
    else process.env.LIFEBOAT_DEBUG = before;
  });

  const failure = () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:9');
    return ApplicationFailure.create({ message: 'cannot reach Kafka cluster "x"', type: 'Unreachable', cause });
  };

  it('one JSON line per event; the error as type, message and causes, no stack', () => {
    delete process.env.LIFEBOAT_DEBUG;
    const out = capture();
    const log = new PinoTemporalLogger('WARN', out.stream);
    log.warn('Activity failed', { error: failure(), activityType: 'probeActivity', attempt: 2 });
    log.info('below the level'); // filtered
    log.error('Worker failed', { error: new Error('boom') });
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 40, msg: 'Activity failed', activityType: 'probeActivity', attempt: 2 });
    expect(first.error).toEqual({ type: 'Unreachable', message: 'cannot reach Kafka cluster "x"', causes: ['connect ECONNREFUSED 127.0.0.1:9'] });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 50, msg: 'Worker failed', error: { type: 'Error', message: 'boom' } });
    expect(out.text()).not.toContain('    at ');
  });

  it('LIFEBOAT_DEBUG=1: the stack inside the same line', () => {
    process.env.LIFEBOAT_DEBUG = '1';
    const out = capture();
    new PinoTemporalLogger('WARN', out.stream).warn('Activity failed', { error: failure() });
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect((JSON.parse(lines[0]!) as { error: { stack: string } }).error.stack).toMatch(/\n\s+at /);
  });
});

describe('temporalUnreachable', () => {
  it('keeps the reason of a native transport error', () => {
    const raw =
      'tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", 127.0.0.1:1, Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })))';
    const e = temporalUnreachable('127.0.0.1:1', new Error(raw));
    expect(e.exitCode).toBe(EXIT.UNREACHABLE);
    expect(e.message).toBe('cannot reach Temporal at 127.0.0.1:1: connection refused (set TEMPORAL_ADDRESS, or start the lab)');
  });
});
