/**
 * The receiver's two checks, fail closed: a bearer token on every alert route (Alertmanager sends it
 * with `http_config.authorization`), and where configured an HMAC-SHA256 over `timestamp:body`
 * (Grafana's webhook scheme: the signature in hex in one header, the Unix time in seconds in another)
 * with the timestamp inside a skew window, so an old signed body cannot be replayed later.
 * The HMAC covers the raw bytes received, never a re-serialised body. Pure: no I/O.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Compared as digests: equal length for timingSafeEqual, and the token's length is not leaked. */
const sameSecret = (a: string, b: string): boolean => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

/** Why a bearer header is refused (undefined: accepted). */
export function checkBearer(header: string | undefined, token: string): string | undefined {
  if (!header) return 'no Authorization header';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return 'Authorization is not "Bearer <token>"';
  return sameSecret(m[1]!, token) ? undefined : 'wrong bearer token';
}

/** Grafana's signature: hex HMAC-SHA256 of `<timestamp>:<body>`. */
export function hmacSignature(secret: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}:`).update(body).digest('hex');
}

export interface HmacCheck {
  secret: string;
  skewSeconds: number;
}

/** Why a signed request is refused (undefined: accepted). `nowMs` is the receiver's clock. */
export function checkHmac(opts: HmacCheck, signature: string | undefined, timestamp: string | undefined, body: Buffer, nowMs: number = Date.now()): string | undefined {
  if (!signature) return 'no signature header';
  if (!timestamp) return 'no timestamp header';
  if (!/^\d{1,12}$/.test(timestamp)) return 'the timestamp is not Unix seconds';
  const skew = Math.abs(nowMs / 1000 - Number(timestamp));
  if (skew > opts.skewSeconds) return `the timestamp is ${Math.round(skew)} s away from this receiver's clock (at most ${opts.skewSeconds} s)`;
  const given = signature.trim().replace(/^sha256=/i, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(given)) return 'the signature is not a hex SHA-256 HMAC';
  const expected = hmacSignature(opts.secret, timestamp, body);
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(expected, 'hex')) ? undefined : 'wrong signature';
}
