/** Degradation's pure parts: the paused ACL keeps everything but CREATE; critical services by name or pattern. */
import { describe, expect, it } from 'vitest';
import { criticalServices, withoutCreate } from '../../src/registry/degrade';

describe('registry degradation helpers', () => {
  it('takes CREATE from every entry and drops entries left with nothing', () => {
    expect(
      withoutCreate([
        { perms: 31, scheme: 'world', id: 'anyone' },
        { perms: 4, scheme: 'digest', id: 'app:x' },
        { perms: 1, scheme: 'ip', id: '10.0.0.1' },
      ]),
    ).toEqual([
      { perms: 27, scheme: 'world', id: 'anyone' },
      { perms: 1, scheme: 'ip', id: '10.0.0.1' },
    ]);
  });

  it('keeps the services named or matched, and refuses a pattern that does not compile', () => {
    expect(criticalServices(['payment-service', 'payment-service-v2', 'orders', 'recommend'], ['orders', '^payment-service$'])).toEqual(['payment-service', 'orders']);
    expect(() => criticalServices(['a'], ['('])).toThrow(/critical service pattern "\(" is not a valid regular expression/);
  });
});
