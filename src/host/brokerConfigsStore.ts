/**
 * Where broker config captures live. One layout for both places: `<host>/manifest.json` and
 * `<host>/<file>` — under `configs/` in a repository snapshot, or under a plain directory
 * (`lifeboat config backup --out <dir>`, until/besides the repository).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LifeboatError, type ErrorType } from '../errors';
import type { SnapshotReader, SnapshotWriter } from '../repository/types';
import { type BrokerConfigCapture, validateCapture } from './brokerConfigs';

export const CONFIGS_COMPONENT = 'configs';
const MANIFEST = 'manifest.json';

/** A source of a stored capture set: hosts, and files by `<host>/<name>`. */
interface CaptureSource {
  where: string;
  errorType: ErrorType;
  hosts(): Promise<string[]>;
  exists(path: string): boolean;
  read(path: string): Promise<Buffer>;
}

async function readCaptures(src: CaptureSource): Promise<BrokerConfigCapture[]> {
  const hosts = await src.hosts();
  if (hosts.length === 0) throw new LifeboatError(src.errorType, `no broker configs in ${src.where}`);
  const out: BrokerConfigCapture[] = [];
  for (const host of hosts) {
    const where = `${src.where}/${host}`;
    if (!src.exists(`${host}/${MANIFEST}`)) throw new LifeboatError(src.errorType, `config backup ${where} has no ${MANIFEST}`);
    let manifest: unknown;
    try {
      manifest = JSON.parse((await src.read(`${host}/${MANIFEST}`)).toString('utf8'));
    } catch (e) {
      throw new LifeboatError(src.errorType, `config manifest ${where}/${MANIFEST} is not valid JSON: ${(e as Error).message}`);
    }
    // Validate names before reading any file, so a name like "../x" is never used as a path.
    const names = validateCapture(manifest, new Map(), where, src.errorType, { namesOnly: true }).manifest.files.map((f) => f.name);
    const files = new Map<string, Buffer>();
    for (const name of names) if (src.exists(`${host}/${name}`)) files.set(name, await src.read(`${host}/${name}`));
    const capture = validateCapture(manifest, files, where, src.errorType);
    if (capture.manifest.host !== host) throw new LifeboatError(src.errorType, `config manifest ${where}/${MANIFEST} names host "${capture.manifest.host}"`);
    out.push(capture);
  }
  return out;
}

// --- repository snapshot -------------------------------------------------------------------

export async function writeConfigsComponent(writer: SnapshotWriter, captures: BrokerConfigCapture[]): Promise<void> {
  for (const c of captures) {
    for (const f of c.manifest.files) {
      await writer.writeFile(`${CONFIGS_COMPONENT}/${c.manifest.host}/${f.name}`, c.files.get(f.name)!, { mode: f.mode, mtime: new Date(f.mtime) });
    }
    await writer.writeJson(`${CONFIGS_COMPONENT}/${c.manifest.host}/${MANIFEST}`, c.manifest);
  }
  writer.setExtra('configs', { brokers: captures.map((c) => ({ host: c.manifest.host, brokerId: c.manifest.brokerId, files: c.manifest.files.length })) });
}

export function readConfigsComponent(reader: SnapshotReader): Promise<BrokerConfigCapture[]> {
  const prefix = `${CONFIGS_COMPONENT}/`;
  return readCaptures({
    where: `snapshot ${reader.meta.id.slice(0, 8)} ${CONFIGS_COMPONENT}`,
    errorType: 'CorruptBackup',
    hosts: async () => {
      const hosts = new Set<string>();
      for (const e of reader.list(prefix)) {
        const rel = e.path.startsWith(prefix) ? e.path.slice(prefix.length) : e.path;
        const [host, rest] = rel.split('/', 2);
        if (host && rest) hosts.add(host);
      }
      return [...hosts].sort();
    },
    exists: (p) => reader.exists(prefix + p),
    read: (p) => reader.readBuffer(prefix + p),
  });
}

// --- plain directory -----------------------------------------------------------------------

export async function writeConfigsDir(dir: string, captures: BrokerConfigCapture[], overwrite = false): Promise<void> {
  for (const c of captures) {
    const hostDir = join(dir, c.manifest.host);
    if (!overwrite && existsSync(join(hostDir, MANIFEST))) {
      throw new LifeboatError('UnsafeTarget', `${hostDir} already holds a config backup; choose another --out dir`);
    }
  }
  for (const c of captures) {
    const hostDir = join(dir, c.manifest.host);
    await mkdir(hostDir, { recursive: true, mode: 0o700 });
    for (const f of c.manifest.files) await writeFile(join(hostDir, f.name), c.files.get(f.name)!, { mode: 0o600 });
    await writeFile(join(hostDir, MANIFEST), `${JSON.stringify(c.manifest, null, 2)}\n`, { mode: 0o600 });
  }
}

export function readConfigsDir(dir: string): Promise<BrokerConfigCapture[]> {
  return readCaptures({
    where: dir,
    errorType: 'InvalidInput',
    hosts: async () => {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (e) {
        throw new LifeboatError('InvalidInput', `cannot read config backup dir ${dir}: ${(e as NodeJS.ErrnoException).code ?? e}`);
      }
      const hosts: string[] = [];
      for (const n of names.sort()) if ((await stat(join(dir, n))).isDirectory()) hosts.push(n);
      return hosts;
    },
    exists: (p) => existsSync(join(dir, p)),
    read: (p) => readFile(join(dir, p)),
  });
}
