/**
 * kafkajs internals stay behind src/kafka/wire/transport.ts, and kafkajs is pinned to the version
 * they were written against: an upgrade is a deliberate change of one module, never a surprise.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { clusterOf, KAFKAJS_VERSION, metadataV1, metadataV4, protocolError } from '../../../src/kafka/wire/transport';

const root = join(__dirname, '../../..');

function sources(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(sources(path));
    else if (/\.(ts|js|mjs|cjs)$/.test(name)) out.push(path);
  }
  return out;
}

describe('kafkajs transport', () => {
  it('is the only product file that reaches into kafkajs internals', () => {
    const product = ['src', 'activities', 'workflows', 'lab', 'bin'].flatMap((d) => {
      try {
        return sources(join(root, d));
      } catch {
        return [];
      }
    });
    expect(product.length).toBeGreaterThan(50);
    const offenders = product
      .map((f) => relative(root, f))
      .filter((f) => f !== 'src/kafka/wire/transport.ts')
      .filter((f) => /kafkajs\/src|private:Kafka:/.test(readFileSync(join(root, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('pins kafkajs exactly, to the version installed and the one transport.ts was written for', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.kafkajs).toBe(KAFKAJS_VERSION);
    const installed = JSON.parse(readFileSync(join(root, 'node_modules/kafkajs/package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe(KAFKAJS_VERSION);
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    expect(lock.packages['node_modules/kafkajs']?.version).toBe(KAFKAJS_VERSION);
  });

  it('finds every internal it offers in the installed kafkajs', async () => {
    const e = protocolError(6);
    expect(e.type).toBe('NOT_LEADER_FOR_PARTITION');
    expect(e.retriable).toBe(true);
    const { request } = metadataV1(['a', 'b']);
    const body = (await request.encode()) as { buffer: Buffer };
    // Two strings: count 2, then length-prefixed "a" and "b".
    expect(body.buffer).toEqual(Buffer.from([0, 0, 0, 2, 0, 1, 0x61, 0, 1, 0x62]));
    // v4: the same list, then allow_auto_topic_creation false.
    const v4 = metadataV4(['a']);
    expect(v4.request.apiVersion).toBe(4);
    expect(((await v4.request.encode()) as { buffer: Buffer }).buffer).toEqual(Buffer.from([0, 0, 0, 1, 0, 1, 0x61, 0]));
    // No topic asks for none (not for every one, as a null list does), and never creates.
    expect(((await metadataV4([]).request.encode()) as { buffer: Buffer }).buffer).toEqual(Buffer.from([0, 0, 0, 0, 0]));
    expect(((await metadataV4(null).request.encode()) as { buffer: Buffer }).buffer).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xff, 0]));
    const cluster = clusterOf(new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING }));
    expect(typeof cluster.connect).toBe('function');
    expect(typeof cluster.findBroker).toBe('function');
  });
});
