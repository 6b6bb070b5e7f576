/** The sync's plan (pure): same-ensemble detection, the default prefix, and the refusal to write onto the source. */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/spec';
import { mappingProblem, mapPath, sameEnsemble, syncPlan } from '../../src/registry/sync.pure';

const spec = (name: string, connect: string, registry?: { curator?: string; dubbo?: string }) =>
  parseSpec({ name, kafka: { bootstrapServers: ['127.0.0.1:9092'] }, zookeeper: { connect }, ...(registry ? { registry } : {}) });

describe('registry sync plan', () => {
  it('tells ensembles apart by their servers (order, localhost and chroot aside)', () => {
    expect(sameEnsemble('a:2181,b:2181/kafka', 'b:2181')).toBe(true);
    expect(sameEnsemble('localhost:2181', '127.0.0.1:2181/x')).toBe(true);
    expect(sameEnsemble('a', 'a:2181')).toBe(true);
    expect(sameEnsemble('a:2181', 'c:2181')).toBe(false);
  });

  it('writes under /offsite on a shared ensemble, at the same paths across ensembles, and names both directions', () => {
    const shared = syncPlan(spec('primary', '127.0.0.1:2181', { curator: '/services', dubbo: '/dubbo' }), spec('standby', '127.0.0.1:2181'));
    expect(shared).toEqual({
      syncId: 'registry-sync-primary-to-standby',
      peerId: 'registry-sync-standby-to-primary',
      mappings: [
        { from: '/services', to: '/offsite/services' },
        { from: '/dubbo', to: '/offsite/dubbo' },
      ],
      prefix: '/offsite',
      sameEnsemble: true,
    });
    expect(syncPlan(spec('primary', 'zk-a:2181', { curator: '/services' }), spec('dr', 'zk-b:2181')).mappings).toEqual([{ from: '/services', to: '/services' }]);
  });

  it('refuses to write onto the source paths, a missing registry, a bad prefix', () => {
    expect(() => syncPlan(spec('primary', 'h:2181', { curator: '/services' }), spec('standby', 'h:2181'), '')).toThrow(/destination \/services overlaps source \/services on the same ZooKeeper ensemble/);
    expect(() => syncPlan(spec('primary', 'h:2181'), spec('standby', 'x:2181'))).toThrow(/names no registry root/);
    expect(() => syncPlan(spec('primary', 'h:2181', { curator: '/services' }), spec('standby', 'h:2181'), 'offsite')).toThrow(/not an absolute ZooKeeper path/);
    expect(mappingProblem([{ from: '/a', to: '/a/b' }], true)).toMatch(/overlaps/);
    expect(mappingProblem([{ from: '/a/b', to: '/a' }], true)).toMatch(/overlaps/);
    expect(mappingProblem([{ from: '/a', to: '/ab' }], true)).toBeUndefined();
  });

  it('maps a source path to its destination', () => {
    const m = [{ from: '/services', to: '/offsite/services' }];
    expect(mapPath(m, '/services/pay/i-1')?.to).toBe('/offsite/services/pay/i-1');
    expect(mapPath(m, '/services')?.to).toBe('/offsite/services');
    expect(mapPath(m, '/servicesX')).toBeUndefined();
  });
});
