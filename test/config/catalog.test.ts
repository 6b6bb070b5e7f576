import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadSpecCatalog } from '../../src/config/catalog';
import { LifeboatError } from '../../src/errors';
import { SpecError } from '../../src/config/spec';

const spec = (name: string) => ({
  name,
  kafka: { bootstrapServers: ['k1:9092'] },
  brokers: [{ id: 1, host: 'k1', logDirs: ['/var/kafka-logs'], configDir: '/etc/kafka', control: { type: 'systemd', unit: 'kafka.service' } }],
  repository: { path: '/srv/backup', password: { file: 'secret.txt' } },
});

function dirWith(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-catalog-'));
  for (const [f, doc] of Object.entries(files)) writeFileSync(join(dir, f), typeof doc === 'string' ? doc : stringify(doc));
  return dir;
}

const caught = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
};

describe('spec catalog', () => {
  it('finds a spec by name with the sha256 of its file and the absolute file path', () => {
    const dir = dirWith({ 'a.yaml': spec('primary'), 'b.yml': spec('standby') });
    const catalog = loadSpecCatalog({ files: [join(dir, 'a.yaml'), join(dir, 'b.yml')] });
    expect(catalog.names()).toEqual(['primary', 'standby']);
    const got = catalog.get('primary');
    expect(got.spec.name).toBe('primary');
    expect(got.spec.kafka.mode).toBe('zookeeper'); // validated and defaulted like loadSpec
    expect(got.spec.repository?.password).toEqual({ file: join(dir, 'secret.txt') }); // relative to the spec file
    expect(got.source).toEqual({ name: 'primary', file: join(dir, 'a.yaml'), digest: createHash('sha256').update(readFileSync(join(dir, 'a.yaml'))).digest('hex') });
    expect(got.source.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('loads every *.yaml and *.yml of a directory, and a file named twice once', () => {
    const dir = dirWith({ 'a.yaml': spec('primary'), 'b.yml': spec('standby'), 'notes.txt': 'not a spec' });
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'c.yaml'), stringify(spec('nested')));
    const catalog = loadSpecCatalog({ dir, files: [join(dir, 'a.yaml')] });
    expect(catalog.names()).toEqual(['primary', 'standby']);
    expect(catalog.has('nested')).toBe(false);
  });

  it('an unknown name is a non-retryable InvalidInput that names the known clusters', () => {
    const dir = dirWith({ 'a.yaml': spec('primary'), 'b.yaml': spec('standby') });
    const e = caught(() => loadSpecCatalog({ dir }).get('primray'));
    expect(e).toBeInstanceOf(LifeboatError);
    expect((e as LifeboatError).type).toBe('InvalidInput');
    expect((e as LifeboatError).retryable).toBe(false);
    expect((e as Error).message).toBe('unknown cluster "primray": this worker knows "primary", "standby" (start it with --spec <file> or --specs-dir <dir> to add one)');
    const none = caught(() => loadSpecCatalog({}).get('primary'));
    expect((none as Error).message).toContain('this worker was started without cluster specs');
  });

  it('two specs of one name, a bad spec, an empty or missing directory are spec errors naming the files', () => {
    const dir = dirWith({ 'a.yaml': spec('primary'), 'b.yaml': spec('primary') });
    const dup = caught(() => loadSpecCatalog({ dir }));
    expect(dup).toBeInstanceOf(SpecError);
    expect((dup as Error).message).toBe(`two cluster specs are named "primary": ${join(dir, 'a.yaml')} and ${join(dir, 'b.yaml')} (each cluster needs a name of its own)`);

    const bad = dirWith({ 'a.yaml': { ...spec('primary'), kafka: { bootstrapServers: ['nope'] } } });
    const badErr = caught(() => loadSpecCatalog({ dir: bad }));
    expect(badErr).toBeInstanceOf(SpecError);
    expect((badErr as Error).message).toContain(`invalid cluster spec ${join(bad, 'a.yaml')}`);
    expect((badErr as Error).message).toContain('kafka.bootstrapServers[0]: expected host:port');

    const empty = dirWith({ 'readme.md': '#' });
    expect((caught(() => loadSpecCatalog({ dir: empty })) as Error).message).toBe(`the specs directory ${empty} holds no cluster spec (*.yaml or *.yml)`);
    expect((caught(() => loadSpecCatalog({ dir: join(empty, 'missing') })) as Error).message).toBe(`cannot read the specs directory ${join(empty, 'missing')}: ENOENT`);
    expect((caught(() => loadSpecCatalog({ files: [join(empty, 'x.yaml')] })) as Error).message).toBe(`cannot read cluster spec ${join(empty, 'x.yaml')}: ENOENT`);
  });
});
