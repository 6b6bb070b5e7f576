/**
 * Broker config files (seed §4): capture them per broker host with a manifest, diff the current files
 * against a capture key by key, and restore them into a broker's config dir — with the identity keys
 * (`broker.id`, listeners, `log.dirs`, `zookeeper.connect`) rewritten from the target spec when the
 * target is another broker or cluster. The core works on plain data (`BrokerConfigCapture`); storage
 * lives in brokerConfigsStore.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { BrokerSpec, ClusterSpec } from '../config/spec';
import { type ErrorType, LifeboatError } from '../errors';
import { parseProperties, setProperties } from './properties';
import { displayValue } from './propertiesSecrets';

export const CONFIGS_FORMAT = 'lifeboat.configs/v1';

/** The files operators back up today (seed §4.1). */
export const CONFIG_FILE_PATTERN = /^(server|log4j|tools-log4j|producer|consumer|connect-[A-Za-z0-9._-]+)\.properties$/;

/** A file name that is one plain path segment: what a manifest may name (no "/", no ".."). */
const SAFE_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;

const fileEntrySchema = z.strictObject({
  name: z.string().regex(SAFE_NAME, 'a plain file name (no "/" or "..")'),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  mtime: z.string(),
  mode: z.number().int().min(0),
});
export type ConfigFileEntry = z.infer<typeof fileEntrySchema>;

export const brokerConfigManifestSchema = z.strictObject({
  format: z.literal(CONFIGS_FORMAT),
  cluster: z.string().min(1),
  brokerId: z.number().int().min(0),
  host: z.string().regex(SAFE_NAME, 'a plain host name'),
  configDir: z.string().min(1),
  listener: z.string().optional(),
  logDirs: z.array(z.string()),
  capturedAt: z.string(),
  files: z.array(fileEntrySchema),
});
export type BrokerConfigManifest = z.infer<typeof brokerConfigManifestSchema>;

export interface BrokerConfigCapture {
  manifest: BrokerConfigManifest;
  /** File name → content (raw bytes: secrets included; the repository encrypts them). */
  files: Map<string, Buffer>;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------
// Capture

export async function captureBrokerConfigs(cluster: string, broker: BrokerSpec): Promise<BrokerConfigCapture> {
  let names: string[];
  try {
    names = (await readdir(broker.configDir)).filter((n) => CONFIG_FILE_PATTERN.test(n)).sort();
  } catch (e) {
    throw new LifeboatError('InvalidInput', `cannot read the config dir of broker ${broker.id} (${broker.configDir}): ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  if (!names.includes('server.properties')) {
    throw new LifeboatError('InvalidInput', `broker ${broker.id}: no server.properties in ${broker.configDir} (is configDir in the spec right?)`);
  }
  const files = new Map<string, Buffer>();
  const entries: ConfigFileEntry[] = [];
  for (const name of names) {
    const path = join(broker.configDir, name);
    const [content, st] = await Promise.all([readFile(path), stat(path)]);
    files.set(name, content);
    entries.push({ name, size: content.length, sha256: sha256(content), mtime: st.mtime.toISOString(), mode: st.mode & 0o7777 });
  }
  const manifest: BrokerConfigManifest = {
    format: CONFIGS_FORMAT,
    cluster,
    brokerId: broker.id,
    host: broker.host,
    configDir: broker.configDir,
    listener: broker.listener,
    logDirs: broker.logDirs,
    capturedAt: new Date().toISOString(),
    files: entries,
  };
  return { manifest, files };
}

export async function captureConfigs(spec: ClusterSpec, brokerIds?: number[]): Promise<BrokerConfigCapture[]> {
  const brokers = brokerIds ? brokerIds.map((id) => findBroker(spec, id)) : spec.brokers;
  if (brokers.length === 0) throw new LifeboatError('InvalidSpec', `cluster spec "${spec.name}" lists no brokers; there are no config dirs to capture`);
  const out: BrokerConfigCapture[] = [];
  for (const b of brokers) out.push(await captureBrokerConfigs(spec.name, b));
  return out;
}

function findBroker(spec: ClusterSpec, id: number): BrokerSpec {
  const b = spec.brokers.find((x) => x.id === id);
  if (!b) throw new LifeboatError('InvalidInput', `cluster "${spec.name}" has no broker ${id} (brokers: ${spec.brokers.map((x) => x.id).join(', ') || 'none'})`);
  return b;
}

/**
 * Checks a capture read back from storage: a valid manifest, safe names only, and every file present
 * with the size and hash the manifest records. Anything else is a corrupt backup (nothing is written).
 */
export function validateCapture(
  manifestJson: unknown,
  files: Map<string, Buffer>,
  where: string,
  errorType: ErrorType = 'CorruptBackup',
  opts: { namesOnly?: boolean } = {},
): BrokerConfigCapture {
  const r = brokerConfigManifestSchema.safeParse(manifestJson);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new LifeboatError(errorType, `malformed config manifest ${where}: ${i.path.join('.') || '(top level)'}: ${i.message}`);
  }
  const manifest = r.data;
  if (opts.namesOnly) return { manifest, files };
  const checked = new Map<string, Buffer>();
  for (const f of manifest.files) {
    const content = files.get(f.name);
    if (!content) throw new LifeboatError(errorType, `config backup ${where} lists ${f.name} but the file is missing`);
    if (content.length !== f.size || sha256(content) !== f.sha256) {
      throw new LifeboatError(errorType, `config backup ${where}: ${f.name} does not match its manifest (size or sha256 differs)`);
    }
    checked.set(f.name, content);
  }
  return { manifest, files: checked };
}

// ---------------------------------------------------------------------------------------------
// Diff

export interface KeyChange {
  key: string;
  change: 'added' | 'removed' | 'changed';
  /** Values as they may be shown (secrets redacted). */
  before?: string;
  after?: string;
}

export interface FileDiff {
  file: string;
  status: 'same' | 'changed' | 'added' | 'removed';
  keys: KeyChange[];
}

export interface BrokerConfigDiff {
  host: string;
  brokerId: number;
  changed: boolean;
  files: FileDiff[];
}

export function diffProperties(before: string, after: string): KeyChange[] {
  const a = parseProperties(before).values;
  const b = parseProperties(after).values;
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: KeyChange[] = [];
  for (const key of keys) {
    const va = a.get(key);
    const vb = b.get(key);
    if (va === vb) continue;
    const change = va === undefined ? 'added' : vb === undefined ? 'removed' : 'changed';
    out.push({ key, change, before: displayValue(key, va), after: displayValue(key, vb) });
  }
  return out;
}

/** What changed from `snapshot` to `current`, per file and per key. */
export function diffConfigs(snapshot: BrokerConfigCapture, current: BrokerConfigCapture): BrokerConfigDiff {
  const names = [...new Set([...snapshot.files.keys(), ...current.files.keys()])].sort();
  const files: FileDiff[] = names.map((file) => {
    const was = snapshot.files.get(file);
    const now = current.files.get(file);
    if (was && now) {
      if (was.equals(now)) return { file, status: 'same', keys: [] };
      // Bytes differ but keys may not (comments, order): still "changed", with no key list.
      return { file, status: 'changed', keys: diffProperties(was.toString('latin1'), now.toString('latin1')) };
    }
    if (now) return { file, status: 'added', keys: diffProperties('', now.toString('latin1')) };
    return { file, status: 'removed', keys: diffProperties(was!.toString('latin1'), '') };
  });
  return { host: current.manifest.host, brokerId: current.manifest.brokerId, changed: files.some((f) => f.status !== 'same'), files };
}

// ---------------------------------------------------------------------------------------------
// Restore

export interface ConfigRestoreOptions {
  /** The cluster the broker belongs to after the restore; defaults to the captured one (same broker). */
  targetSpec?: ClusterSpec;
  /** Broker of the target spec to restore into; defaults to the captured broker id. */
  targetBrokerId?: number;
  /** Where to write; defaults to the target broker's configDir. */
  targetDir?: string;
  overwrite?: boolean;
  dryRun?: boolean;
}

export interface ConfigRewrite {
  file: string;
  key: string;
  before?: string;
  after?: string;
}

export interface ConfigRestorePlan {
  source: { cluster: string; brokerId: number; host: string };
  target: { cluster: string; brokerId: number; host: string; dir: string };
  /** True when identity keys are rewritten (another broker, host or cluster). */
  rewritten: boolean;
  rewrites: ConfigRewrite[];
  files: { name: string; path: string; action: 'create' | 'overwrite' | 'refused' }[];
  warnings: string[];
  dryRun: boolean;
  written: boolean;
}

/** Replaces the source listener's host:port in a listeners value (`NAME://host:port,...`). */
function rewriteListeners(value: string, source: string | undefined, target: string, warnings: string[], key: string): string {
  const [targetHost] = target.split(':');
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  const rewritten = parts.map((entry, i) => {
    const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(entry);
    if (!m) {
      warnings.push(`${key}: could not parse "${entry}"; left as is`);
      return entry;
    }
    const hostPort = `${m[2]}:${m[3]}`;
    // The listener the spec names (or the only one) moves to the target's host:port; the others keep their port.
    if (hostPort === source || parts.length === 1 || (!source && i === 0)) return `${m[1]}://${target}`;
    warnings.push(`${key}: ${m[1]} keeps port ${m[3]} (only the spec's listener has a known target port)`);
    return `${m[1]}://${m[2] === '' ? '' : targetHost}:${m[3]}`;
  });
  return rewritten.join(',');
}

function identityRewrites(text: string, capture: BrokerConfigCapture, target: ClusterSpec, broker: BrokerSpec, warnings: string[]): Record<string, string | undefined> {
  const values = parseProperties(text).values;
  const changes: Record<string, string | undefined> = { 'broker.id': String(broker.id) };
  if (values.has('node.id') || target.kafka.mode === 'kraft') {
    warnings.push('KRaft settings (node.id, controller.quorum.voters) are not rewritten; review them');
  }
  for (const key of ['listeners', 'advertised.listeners']) {
    const v = values.get(key);
    if (v === undefined) continue;
    if (!broker.listener) {
      throw new LifeboatError('InvalidSpec', `target broker ${broker.id} of "${target.name}" has no listener in its spec; cannot rewrite ${key}`);
    }
    changes[key] = rewriteListeners(v, capture.manifest.listener, broker.listener, warnings, key);
  }
  if (values.has('log.dir') && !values.has('log.dirs')) changes['log.dir'] = broker.logDirs.join(',');
  else changes['log.dirs'] = broker.logDirs.join(',');
  if (target.zookeeper) changes['zookeeper.connect'] = `${target.zookeeper.connect}${target.zookeeper.chroot}`;
  else if (values.has('zookeeper.connect')) warnings.push(`zookeeper.connect kept: the target spec "${target.name}" has no zookeeper section`);
  return changes;
}

/** Plans (and unless dry-run, performs) the restore of one broker's captured files. Nothing is written if any file is refused. */
export async function restoreBrokerConfigs(capture: BrokerConfigCapture, opts: ConfigRestoreOptions = {}): Promise<ConfigRestorePlan> {
  const m = capture.manifest;
  const target = opts.targetSpec;
  if (!target && opts.targetBrokerId !== undefined && opts.targetBrokerId !== m.brokerId) {
    throw new LifeboatError('InvalidInput', `restoring broker ${m.brokerId}'s configs into broker ${opts.targetBrokerId} needs the target cluster spec (--target-spec)`);
  }
  // Without a target spec the files go back to the broker they came from, unchanged.
  const targetBroker: BrokerSpec = target
    ? findBroker(target, opts.targetBrokerId ?? m.brokerId)
    : { id: m.brokerId, host: m.host, listener: m.listener, logDirs: m.logDirs, configDir: m.configDir, control: { type: 'adapter', adapter: 'none', options: {} } };
  const targetCluster = target?.name ?? m.cluster;
  const rewritten = target !== undefined && (targetCluster !== m.cluster || targetBroker.id !== m.brokerId || targetBroker.host !== m.host);
  const dir = opts.targetDir ?? targetBroker.configDir;
  const warnings: string[] = [];
  const rewrites: ConfigRewrite[] = [];
  const contents = new Map<string, Buffer>();

  for (const f of m.files) {
    let content = capture.files.get(f.name)!;
    if (target && rewritten && f.name === 'server.properties') {
      const text = content.toString('latin1');
      const changes = identityRewrites(text, capture, target, targetBroker, warnings);
      const before = parseProperties(text).values;
      for (const [key, after] of Object.entries(changes)) {
        if (before.get(key) !== after) rewrites.push({ file: f.name, key, before: displayValue(key, before.get(key)), after: displayValue(key, after) });
      }
      content = Buffer.from(setProperties(text, changes), 'latin1');
    }
    if (rewritten) {
      // Other files may still name the source broker's directories (log4j's File=...): say so.
      const text = content.toString('latin1');
      for (const p of [...m.logDirs, m.configDir.replace(/\/config\/?$/, '')]) {
        if (p.length > 1 && text.includes(p) && f.name !== 'server.properties') warnings.push(`${f.name} mentions ${p} (a path of the source broker); review it`);
      }
    }
    contents.set(f.name, content);
  }

  const files = m.files.map((f) => {
    const path = join(dir, f.name);
    const exists = existsSync(path);
    return { name: f.name, path, action: (exists ? (opts.overwrite ? 'overwrite' : 'refused') : 'create') as 'create' | 'overwrite' | 'refused' };
  });
  const plan: ConfigRestorePlan = {
    source: { cluster: m.cluster, brokerId: m.brokerId, host: m.host },
    target: { cluster: targetCluster, brokerId: targetBroker.id, host: targetBroker.host, dir },
    rewritten,
    rewrites,
    files,
    warnings: [...new Set(warnings)],
    dryRun: opts.dryRun ?? false,
    written: false,
  };
  if (plan.dryRun) return plan;
  const refused = files.filter((f) => f.action === 'refused');
  if (refused.length) {
    throw new LifeboatError('UnsafeTarget', `refusing to overwrite ${refused.map((f) => f.path).join(', ')} (pass --overwrite to replace them); nothing was written`);
  }
  await mkdir(dir, { recursive: true });
  for (const f of m.files) {
    // Write then rename, so a broker never starts from a half-written file.
    const path = join(dir, f.name);
    const tmp = `${path}.lifeboat-tmp`;
    await writeFile(tmp, contents.get(f.name)!);
    await chmod(tmp, f.mode || 0o644);
    await rename(tmp, path);
  }
  plan.written = true;
  return plan;
}
