/**
 * The cluster specs a worker was started with, by name (`lifeboat worker --spec a.yaml --spec b.yaml`
 * or `--specs-dir d`). A workflow started with `{ "cluster": "primary" }` resolves its spec here, and
 * its report records which file and which version of it (sha256 of the file's bytes) it used.
 * Specs are read once, when the catalog is loaded: an edited spec takes effect when the worker restarts.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LifeboatError } from '../errors';
import { loadSpec, SpecError, type ClusterSpec } from './spec';

/** Which spec a run used: the cluster's name, the sha256 (hex) of the spec file's bytes, the file. */
export interface SpecSource {
  name: string;
  digest: string;
  file: string;
}

export interface ResolvedSpec {
  spec: ClusterSpec;
  source: SpecSource;
}

export interface SpecCatalog {
  /** The known cluster names, sorted. */
  names(): string[];
  has(name: string): boolean;
  /** The spec named `name`; an unknown name is an InvalidInput error that lists the known ones. */
  get(name: string): ResolvedSpec;
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A catalog of specs already loaded (tests, embedding programs). Two specs of one name are an error. */
export function specCatalog(entries: ResolvedSpec[]): SpecCatalog {
  const byName = new Map<string, ResolvedSpec>();
  for (const e of entries) {
    const other = byName.get(e.spec.name);
    if (other) throw new SpecError(`two cluster specs are named "${e.spec.name}": ${other.source.file} and ${e.source.file} (each cluster needs a name of its own)`);
    byName.set(e.spec.name, e);
  }
  const names = () => [...byName.keys()].sort();
  return {
    names,
    has: (name) => byName.has(name),
    get(name) {
      const found = byName.get(name);
      if (found) return found;
      const known = names();
      throw new LifeboatError(
        'InvalidInput',
        known.length
          ? `unknown cluster "${name}": this worker knows ${known.map((n) => `"${n}"`).join(', ')} (start it with --spec <file> or --specs-dir <dir> to add one)`
          : `unknown cluster "${name}": this worker was started without cluster specs (start it with --spec <file> or --specs-dir <dir>)`,
        { cluster: name, known },
      );
    },
  };
}

/** One spec file, validated, with the digest of the bytes it was loaded from. */
export function loadResolvedSpec(file: string): ResolvedSpec {
  const path = resolve(file);
  const read = (): Buffer => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new SpecError(`cannot read cluster spec ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  const before = sha256Hex(read());
  const spec = loadSpec(path);
  // The digest must name the bytes the spec was parsed from: a file rewritten meanwhile is read again.
  const after = sha256Hex(read());
  if (after !== before) return loadResolvedSpec(file);
  return { spec, source: { name: spec.name, digest: after, file: path } };
}

const SPEC_FILE = /\.ya?ml$/i;

/**
 * The specs of `files` and of every *.yaml / *.yml file directly in `dir`. A bad file stops the
 * load with its own error (a worker should not start with a cluster it cannot serve).
 */
export function loadSpecCatalog(opts: { files?: string[]; dir?: string }): SpecCatalog {
  const files = [...(opts.files ?? [])];
  if (opts.dir !== undefined) {
    let entries: string[];
    try {
      entries = readdirSync(opts.dir);
    } catch (e) {
      throw new SpecError(`cannot read the specs directory ${resolve(opts.dir)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    const found = entries.filter((f) => SPEC_FILE.test(f)).sort();
    if (!found.length) throw new SpecError(`the specs directory ${resolve(opts.dir)} holds no cluster spec (*.yaml or *.yml)`);
    files.push(...found.map((f) => join(opts.dir!, f)));
  }
  // The same file named twice (--spec and in --specs-dir) is one spec, not a duplicate.
  const unique = [...new Set(files.map((f) => resolve(f)))];
  return specCatalog(unique.map(loadResolvedSpec));
}
