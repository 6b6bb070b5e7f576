/**
 * Broker control through registered adapters: src/ knows systemd and command templates only; an
 * adapter (the lab's, a site's own) is registered by a module the process loads.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSpec, type ClusterSpec } from '../../src/config/spec';
import { brokerControlFor } from '../../src/host/brokerControl';
import { adapterModulesFromEnv, loadAdapterModules } from '../../src/host/adapterModules';
import { isLifeboatError } from '../../src/errors';

const specWith = (control: unknown): ClusterSpec =>
  parseSpec({ name: 'c', kafka: { bootstrapServers: ['127.0.0.1:1'] }, brokers: [{ id: 7, host: 'h7', listener: '127.0.0.1:1', logDirs: ['/data/k'], configDir: '/etc/k', control }] }, 'c.yaml');

describe('broker-control adapters', () => {
  it('refuses an adapter nobody registered, naming it and how to load one', () => {
    const spec = specWith({ type: 'adapter', adapter: 'nowhere', options: { x: '1' } });
    let err: unknown;
    try {
      brokerControlFor(spec, 7);
    } catch (e) {
      err = e;
    }
    expect(isLifeboatError(err) && err.type).toBe('InvalidSpec');
    expect((err as Error).message).toMatch(/adapter "nowhere", which this process has not registered .*--adapter/);
  });

  it('uses the adapter a loaded module registered, with the options of the spec', async () => {
    // A path as typed, without "./", is a path when the file exists (not a package name).
    await loadAdapterModules(['test/host/fixtures/registersEcho.ts']);
    const control = brokerControlFor(specWith({ type: 'adapter', adapter: 'echo', options: { name: 'east' } }), 7);
    expect(control.describe).toBe('echo east-7');
    expect(await control.status()).toBe('running');
  });

  it('says in one line when an adapter module cannot be loaded', async () => {
    await expect(loadAdapterModules(['./no/such/module.ts'])).rejects.toThrow(/^broker-control adapter module \.\/no\/such\/module\.ts cannot be loaded: /);
  });

  it('reads LIFEBOAT_ADAPTERS as a comma list', () => {
    expect(adapterModulesFromEnv({ LIFEBOAT_ADAPTERS: ' a.ts, ,/b/c.ts ' })).toEqual(['a.ts', '/b/c.ts']);
  });

  it('kills through the command adapter\'s optional kill template; without one there is no kill (a drill then stops the broker)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kill-'));
    const out = join(dir, 'killed');
    const control = brokerControlFor(specWith({ type: 'command', start: 'true', stop: 'true', status: 'true', kill: `echo {id} {host} > ${out}` }), 7);
    await control.kill!();
    expect(readFileSync(out, 'utf8').trim()).toBe('7 h7');
    expect(brokerControlFor(specWith({ type: 'command', start: 'true', stop: 'true', status: 'true' }), 7).kill).toBeUndefined();
    rmSync(dir, { recursive: true, force: true });
  });

  it('validates the control section of a spec', () => {
    expect(() => specWith({ type: 'lab', cluster: 'primary' })).toThrow(/control/);
    expect(() => specWith({ type: 'adapter', adapter: 'bad name' })).toThrow(/adapter name/);
    expect(specWith({ type: 'adapter', adapter: 'lab' }).brokers[0]!.control).toEqual({ type: 'adapter', adapter: 'lab', options: {} });
  });
});
