/** The spec's clientSwitch hooks: defaults filled in, bad entries named by field. */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/spec';

const minimal = { name: 'next', kafka: { bootstrapServers: ['k1:9092'], mode: 'kraft' } };

describe('clientSwitch in the cluster spec', () => {
  it('is an empty list by default and takes the three hook types with their defaults', () => {
    expect(parseSpec(minimal).clientSwitch).toEqual([]);
    const s = parseSpec({
      ...minimal,
      clientSwitch: [
        { type: 'registry-node', path: '/services/kafka/bootstrap' },
        { type: 'command', command: ['/usr/local/bin/switch-clients', '--to', '${bootstrap}'] },
        { type: 'bootstrap-file', path: '/etc/app/kafka.properties' },
      ],
    });
    expect(s.clientSwitch).toEqual([
      { type: 'registry-node', path: '/services/kafka/bootstrap', value: '${bootstrap}' },
      { type: 'command', command: ['/usr/local/bin/switch-clients', '--to', '${bootstrap}'], shell: false, timeoutSeconds: 60 },
      { type: 'bootstrap-file', path: '/etc/app/kafka.properties', key: 'bootstrap.servers' },
    ]);
  });

  it('names every bad field', () => {
    expect(() =>
      parseSpec(
        {
          ...minimal,
          clientSwitch: [
            { type: 'registry-node', path: 'services/kafka' },
            { type: 'command', command: [] },
            { type: 'bootstrap-file', path: 'kafka.properties', key: 'a b' },
            { type: 'dns', name: 'x' },
          ],
        },
        'next.yaml',
      ),
    ).toThrow(
      /clientSwitch\[0\]\.path: an absolute ZooKeeper path[\s\S]*clientSwitch\[1\]\.command: [\s\S]*clientSwitch\[2\]\.path: must be an absolute path[\s\S]*clientSwitch\[2\]\.key: a property key[\s\S]*clientSwitch\[3\]\.type/,
    );
  });
});
