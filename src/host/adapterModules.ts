/**
 * Loads modules that register broker-control adapters (`registerBrokerControl`): named by
 * `lifeboat worker --adapter <module>` or by LIFEBOAT_ADAPTERS (comma-separated), so the product
 * runs brokers it knows nothing about — the DR lab's, a Kubernetes operator's, a site's own.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LifeboatError } from '../errors';

export const ADAPTERS_ENV = 'LIFEBOAT_ADAPTERS';

export async function loadAdapterModules(modules: string[], cwd = process.cwd()): Promise<void> {
  for (const m of modules) {
    // A path (relative to where lifeboat was started, with or without "./") or a package name.
    const asPath = m.startsWith('.') || isAbsolute(m) || existsSync(resolve(cwd, m));
    const target = asPath ? pathToFileURL(resolve(cwd, m)).href : m;
    try {
      await import(target);
    } catch (e) {
      throw new LifeboatError('InvalidInput', `broker-control adapter module ${m} cannot be loaded: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}

/** The adapter modules LIFEBOAT_ADAPTERS names. */
export const adapterModulesFromEnv = (env: NodeJS.ProcessEnv = process.env): string[] =>
  (env[ADAPTERS_ENV] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
