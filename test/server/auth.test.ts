import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkBearer, checkHmac, hmacSignature } from '../../src/server/auth';

describe('bearer token', () => {
  it('accepts exactly the token, as "Bearer <token>"', () => {
    expect(checkBearer('Bearer s3cret', 's3cret')).toBeUndefined();
    expect(checkBearer('bearer s3cret', 's3cret')).toBeUndefined();
    expect(checkBearer(undefined, 's3cret')).toBe('no Authorization header');
    expect(checkBearer('Basic czNjcmV0', 's3cret')).toBe('Authorization is not "Bearer <token>"');
    expect(checkBearer('Bearer s3cre', 's3cret')).toBe('wrong bearer token');
    expect(checkBearer('Bearer s3crett', 's3cret')).toBe('wrong bearer token');
  });
});

describe('HMAC over timestamp:body (Grafana)', () => {
  const secret = 'hmac-secret';
  const body = Buffer.from('{"status":"firing","alerts":[]}');
  const now = Date.parse('2026-12-03T16:00:00Z');
  const ts = String(now / 1000);
  const opts = { secret, skewSeconds: 300 };

  it('is hex HMAC-SHA256 of "<timestamp>:<raw body>"', () => {
    expect(hmacSignature(secret, ts, body)).toBe(createHmac('sha256', secret).update(`${ts}:${body.toString()}`).digest('hex'));
  });

  it('accepts a good signature (also with a sha256= prefix) within the skew window', () => {
    const sig = hmacSignature(secret, ts, body);
    expect(checkHmac(opts, sig, ts, body, now)).toBeUndefined();
    expect(checkHmac(opts, `sha256=${sig.toUpperCase()}`, ts, body, now)).toBeUndefined();
    expect(checkHmac(opts, sig, ts, body, now + 299_000)).toBeUndefined();
  });

  it('refuses a wrong secret, a changed body, a changed timestamp, a missing header, an old or future timestamp', () => {
    const sig = hmacSignature(secret, ts, body);
    expect(checkHmac(opts, hmacSignature('other', ts, body), ts, body, now)).toBe('wrong signature');
    expect(checkHmac(opts, sig, ts, Buffer.from(`${body.toString()} `), now)).toBe('wrong signature');
    const later = String(now / 1000 + 1);
    expect(checkHmac(opts, sig, later, body, now)).toBe('wrong signature');
    expect(checkHmac(opts, undefined, ts, body, now)).toBe('no signature header');
    expect(checkHmac(opts, sig, undefined, body, now)).toBe('no timestamp header');
    expect(checkHmac(opts, sig, ts, body, now + 301_000)).toBe("the timestamp is 301 s away from this receiver's clock (at most 300 s)");
    expect(checkHmac(opts, sig, ts, body, now - 600_000)).toBe("the timestamp is 600 s away from this receiver's clock (at most 300 s)");
    expect(checkHmac(opts, sig, '2026-12-03T16:00:00Z', body, now)).toBe('the timestamp is not Unix seconds');
    expect(checkHmac(opts, 'zz', ts, body, now)).toBe('the signature is not a hex SHA-256 HMAC');
  });
});
