/**
 * Secrets in properties files (JAAS configs, passwords, keys). They are stored like every other byte
 * (the repository encrypts), but never shown: diffs and logs print `<redacted sha256:xxxxxxxx>` so a
 * changed secret is still visible as a change without revealing it.
 */
import { createHash } from 'node:crypto';

const SECRET_KEY = /(password|passwd|secret|jaas\.config|credential|token|private|(^|\.)key$|keystore\.key|ssl\.key\b)/i;

export const isSecretKey = (key: string): boolean => SECRET_KEY.test(key);

/**
 * A short, key-bound hash: enough to tell two values apart, too short to serve as a verifier for
 * anything but guessable passwords (which a diff output should not be the weakest link for anyway).
 */
export function redactedValue(key: string, value: string): string {
  const h = createHash('sha256').update(`lifeboat-redact\0${key}\0${value}`).digest('hex').slice(0, 8);
  return `<redacted sha256:${h}>`;
}

/** The value as it may be shown to people: secrets replaced by their redacted form. */
export const displayValue = (key: string, value: string | undefined): string | undefined =>
  value === undefined ? undefined : isSecretKey(key) ? redactedValue(key, value) : value;
