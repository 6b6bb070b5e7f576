/**
 * `lifeboat repo <init|snapshots|check|forget|prune|repair|copy|restore-files|backup|key>`: the backup
 * repository on its own. The repository comes from --repo <path> (password: --password-file, else
 * LIFEBOAT_PASSWORD) or from a cluster spec (--spec; --tier-repo <name> for another of its tiers,
 * --offsite for its off-site repository).
 * Exit codes: 0 ok, 2 usage, 3 check found only packs missing from the index, 10 no repository,
 * 11 locked, 12 wrong password, 13 damaged data (check found problems), 14 snapshot not found,
 * 15 unsafe restore target (docs/repository-format.md).
 */
import { promises as fs } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { EXIT, LifeboatError } from '../../errors';
import { OFFSITE_TIER, PRIMARY_TIER, repositoryTiers, tierOf, type RepositoryTier } from '../../backup/tiers.pure';
import { resolveSecret } from '../../config/secrets';
import { defaultRestoreWorkers } from '../../repository/restore';
import { RestorePool } from '../../repository/restorePool';
import { loadZstd } from '../../repository/compress';
import type { ClusterSpec } from '../../config/spec';
import {
  COMPONENTS,
  addKey,
  checkRepository,
  copySnapshots,
  forget,
  initRepository,
  listKeys,
  locationOf,
  openRepository,
  openRepositoryForSpec,
  parseRate,
  parseSubset,
  passwordFrom,
  pruneRepository,
  repairIndex,
  removeKey,
  restoreFiles,
  type ComponentName,
  type CompressionMode,
  type LocalRepository,
  type RetentionPolicy,
  type ReuseIgnore,
  type SnapshotFilter,
  type SnapshotWriter,
} from '../../repository';
import { choice, commandLine, describe, dryRun, flag, ignoreCtime, ignoreInode, int, json, offsite, type OptValues, passwordFile, readData, repeated, spec, tags, text } from '../options';
import { output, type Output } from '../output';

export const summary = 'backup repository: init, snapshots, check, forget, prune, repair, copy, restore-files, backup, key';

const SYNOPSIS = `usage: lifeboat repo <command> [--repo <path> | --spec <cluster.yaml> [--tier-repo <name> | --offsite]] [--password-file <file>] [--json]

commands:
  init [--compression auto|off|max]            create a repository
  snapshots [--cluster C] [--tag T] [--component X]
  check [--read-data] [--subset n/t|x%]        verify structure (and re-hash data); exit 13 on damage, 3 if only the index misses packs
  forget [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N]
         [--keep-yearly N] [--keep-within 24h] [--keep-tag T] [--cluster C] [--dry-run] [--prune]
         (with --spec and no --keep-*: the spec's retention)
  prune [--dry-run]                            reclaim space of forgotten snapshots
  repair index                                 rebuild the index from the packs' headers (lost or damaged index file)
  copy (--to <path> [--to-password-file F] | --spec S [--to-tier <name>]) [--limit-rate 10M] [snapshot...]
         (with --spec: from the tier --tier-repo names, default primary, to --to-tier, default offsite)
  restore-files <snapshot|latest> --target <dir> [--include <prefix>] [--strip <prefix>] [--overwrite]
  backup <path>... --cluster C --as <component>/<dir> [--tag T] [--force] [--ignore-inode] [--ignore-ctime]
         (a file the parent holds with the same size, mtime, inode and ctime is not read again)
  key list | key add [--new-password-file F] | key remove <id>

The password comes from --password-file or LIFEBOAT_PASSWORD (the new one for key add from
--new-password-file or LIFEBOAT_NEW_PASSWORD; copy's destination from --to-password-file,
LIFEBOAT_TO_PASSWORD, or the same password).

A repository may be on S3-compatible object storage: --repo/--to s3://bucket/prefix take the server
and credentials from AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3), AWS_REGION, AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY (path-style addressing with an endpoint; LIFEBOAT_S3_PATH_STYLE=0 turns it off);
a spec's s3:// repository has its own s3 section.

With --spec, --tier-repo <name> picks the spec's repository tier: primary (repository, the default),
offsite (offsiteRepository, as --offsite) or a tiers[] name; forget without --keep-* applies that
tier's retention.`;

const KEEP = <N extends string>(name: N, what: string) => int(`keep-${name}` as const, '<N>', `keep the newest snapshot of each of the last N ${what}`);

const CLI = commandLine('lifeboat repo', SYNOPSIS, [
  text('repo', '<path>', 'the repository (else LIFEBOAT_REPOSITORY)'),
  describe(spec, "the repository named in this cluster spec (and the spec's retention for forget)"),
  describe(offsite, "the spec's off-site repository (as --tier-repo offsite)"),
  text('tier-repo', '<name>', "with --spec: this repository tier (primary, offsite, or a tiers[] name)"),
  passwordFile,
  json,
  choice('compression', ['auto', 'off', 'max'], 'init: how data is compressed (default auto)'),
  text('cluster', '<C>', 'only snapshots of this cluster; backup: the cluster the snapshot belongs to'),
  describe(tags, 'only snapshots with this tag; backup: tag the snapshot (repeatable)'),
  choice('component', COMPONENTS, 'only snapshots of this component'),
  describe(readData, 'check: re-hash the data too'),
  text('subset', '<n/t|x%>', 'check --read-data: only this subset of the packs'),
  int('keep-last', '<N>', 'keep the newest N snapshots'),
  KEEP('hourly', 'hours'),
  KEEP('daily', 'days'),
  KEEP('weekly', 'weeks'),
  KEEP('monthly', 'months'),
  KEEP('yearly', 'years'),
  text('keep-within', '<24h>', 'keep the snapshots of this last while'),
  repeated('keep-tag', '<T>', 'keep snapshots with this tag (repeatable)'),
  dryRun,
  ignoreInode,
  ignoreCtime,
  flag('prune', 'forget: prune after forgetting'),
  text('to', '<path>', 'copy: the destination repository'),
  text('to-tier', '<name>', "copy with --spec: the destination tier (default offsite)"),
  text('to-password-file', '<file>', "copy: the destination's password (else LIFEBOAT_TO_PASSWORD, or the same password)"),
  text('limit-rate', '<10M>', 'copy: at most this many bytes per second'),
  text('target', '<dir>', 'restore-files: where to write'),
  text('include', '<prefix>', 'restore-files: only files under this prefix'),
  text('strip', '<prefix>', 'restore-files: leave this prefix out of the written paths'),
  flag('overwrite', 'restore-files: replace existing files'),
  text('as', '<component>/<dir>', 'backup: where the files go in the snapshot'),
  text('new-password-file', '<file>', 'key add: the new password (else LIFEBOAT_NEW_PASSWORD)'),
  flag('force', 'backup: read every file, also those unchanged since the parent'),
]);

type Values = OptValues<typeof CLI.options>;


const short = (id: string) => id.slice(0, 12);
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = CLI.parse(argv);
  const [cmd, ...args] = positionals;
  if (!cmd) throw CLI.error('a repo command is required: init, snapshots, check, forget, prune, repair, copy, restore-files, backup or key');
  const out = output(values.json ?? false);
  // The spec's module (zod, yaml) only when a spec is named: ~13 MB of a backup's or restore's RSS.
  const spec = values.spec ? (await import('../../config/spec')).loadSpec(values.spec) : undefined;
  const notice = (m: string) => out.progress(`notice: ${m}`, { notice: m });

  if (cmd === 'init') return init(values, spec, out);
  // A restore's worker threads start while the repository's key is derived (taken by restoreFiles, else ended below).
  if (cmd === 'restore-files') {
    RestorePool.prestart(defaultRestoreWorkers());
    // The snapshot's tree is zstd: its binding loads while the key is derived (~25 ms, then on the critical path).
    void loadZstd();
  }
  let repo: LocalRepository;
  try {
    repo = await openFrom(values, spec, notice, cmd === 'backup');
  } catch (e) {
    await RestorePool.discardWarm();
    throw e;
  }
  try {
    switch (cmd) {
      case 'snapshots':
        return await snapshots(repo, values, out);
      case 'check':
        return await check(repo, values, out);
      case 'forget':
        return await forgetCmd(repo, values, spec, out);
      case 'repair':
        return await repair(repo, args, out);
      case 'prune':
        return await prune(repo, values, out);
      case 'copy':
        return await copy(repo, values, spec, args, out, notice);
      case 'restore-files':
        return await restore(repo, values, args, out);
      case 'backup':
        return await backup(repo, values, args, out);
      case 'key':
        return await key(repo, values, args, out);
      default:
        throw CLI.error(`unknown repo command "${cmd}"`);
    }
  } finally {
    await RestorePool.discardWarm();
    await repo.close();
  }
}

function repoPath(values: Values): string {
  const p = values.repo ?? process.env.LIFEBOAT_REPOSITORY;
  if (!p) throw CLI.error('give --repo <path> or --spec <cluster.yaml>');
  return p;
}

/** The spec's tier the command works on: --tier-repo, --offsite, else the primary. */
function tierName(values: Values, spec: ClusterSpec | undefined): string {
  if (values.offsite && values['tier-repo'] !== undefined) throw CLI.error('give --tier-repo or --offsite, not both');
  if (!spec && (values.offsite || values['tier-repo'] !== undefined || values['to-tier'] !== undefined)) {
    throw CLI.error(`--${values.offsite ? 'offsite' : values['tier-repo'] !== undefined ? 'tier-repo' : 'to-tier'} names a repository of a cluster spec: give --spec <cluster.yaml>`);
  }
  return values.offsite ? OFFSITE_TIER : (values['tier-repo'] ?? PRIMARY_TIER);
}

/** A tier of the spec by name, or one clear line listing the spec's tiers. */
function specTier(spec: ClusterSpec, name: string): RepositoryTier {
  const t = tierOf(spec, name);
  if (t) return t;
  const known = repositoryTiers(spec).map((x) => x.name).join(', ') || 'none';
  throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no repository tier "${name}" (its tiers: ${known})`);
}

/** Only `backup` with --spec creates a missing repository (--repo needs `repo init`, as restic); reads never do. */
async function openFrom(values: Values, spec: ClusterSpec | undefined, notice: (m: string) => void, create = false): Promise<LocalRepository> {
  const tier = tierName(values, spec);
  if (spec) return openRepositoryForSpec(spec, tier, { notice, create });
  return openRepository(repoPath(values), passwordFrom(values['password-file']), { notice });
}

async function init(values: Values, spec: ClusterSpec | undefined, out: Output): Promise<number> {
  let repo: LocalRepository;
  const tier = tierName(values, spec);
  if (spec) {
    const r = specTier(spec, tier).repository;
    repo = await initRepository(locationOf(r), resolveSecret(r.password), { compression: r.compression });
  } else {
    const c: CompressionMode = values.compression ?? 'auto';
    repo = await initRepository(repoPath(values), passwordFrom(values['password-file']), { compression: c });
  }
  out.result({ created: repo.path, id: repo.config.id, version: repo.config.version, compression: repo.config.compression }, `created repository ${repo.path}`);
  await repo.close();
  return EXIT.OK;
}

function filterFrom(values: Values): SnapshotFilter {
  const f: SnapshotFilter = {};
  if (values.cluster) f.cluster = values.cluster;
  if (values.tag?.length) f.tags = values.tag;
  if (values.component) f.component = values.component;
  return f;
}

async function snapshots(repo: LocalRepository, values: Values, out: Output): Promise<number> {
  const list = await repo.snapshots(filterFrom(values));
  if (out.json) out.result(list);
  else {
    console.log(`${'ID'.padEnd(12)}  ${'TIME'.padEnd(24)}  ${'CLUSTER'.padEnd(14)}  ${'SIZE'.padStart(10)}  COMPONENTS / TAGS`);
    for (const s of list) console.log(`${short(s.id)}  ${s.time.padEnd(24)}  ${s.cluster.padEnd(14)}  ${mb(s.summary.bytes).padStart(10)}  ${s.components.join(',')}${s.tags.length ? ` [${s.tags.join(',')}]` : ''}`);
    console.log(`${list.length} snapshots`);
  }
  return EXIT.OK;
}

async function check(repo: LocalRepository, values: Values, out: Output): Promise<number> {
  const subset = values.subset ? parseSubset(values.subset) : undefined;
  if (subset && !values['read-data']) throw new LifeboatError('InvalidInput', '--subset needs --read-data');
  // Reading the data is the long part: a bar for people (its "read n/m packs" messages), lines otherwise.
  const view = out.view();
  const reading = /^read (\d+)\/(\d+) packs/;
  const r = await checkRepository(repo, {
    readData: values['read-data'],
    subset,
    progress: (m) => {
      const n = out.json ? null : reading.exec(m);
      if (n) view.update({ phase: 'check: reading data', done: Number(n[1]), total: Number(n[2]), unit: 'packs' });
      else out.progress(m);
    },
  }).finally(() => view.stop());
  const leftovers = r.unindexedPacks - r.problems.filter((p) => p.kind === 'unindexed').length;
  if (out.json) out.result({ ...r });
  else {
    for (const p of r.problems) console.log(`PROBLEM ${p.object}: ${p.message}${p.snapshots.length ? `; affects snapshots ${p.snapshots.map(short).join(', ')}` : ''}`);
    console.log(
      `${r.ok ? 'no problems found' : `${r.problems.length} problems; damaged snapshots: ${r.damagedSnapshots.map(short).join(', ') || 'none'}`} ` +
        `(${r.snapshots} snapshots, ${r.packs} packs${values['read-data'] ? `, ${r.packsRead} packs / ${r.blobsRead} chunks re-hashed` : ''}${leftovers ? `, ${leftovers} unindexed packs no snapshot uses (prune removes them)` : ''})`,
    );
  }
  // Only packs missing from the index (data intact, readable through their headers): 3, not 13.
  if (r.ok) return EXIT.OK;
  return r.problems.every((p) => p.kind === 'unindexed') ? EXIT.PARTIAL : EXIT.INTEGRITY;
}

function policyFrom(values: Values, spec: ClusterSpec | undefined): RetentionPolicy {
  const p: RetentionPolicy = {
    keepLast: values['keep-last'],
    keepHourly: values['keep-hourly'],
    keepDaily: values['keep-daily'],
    keepWeekly: values['keep-weekly'],
    keepMonthly: values['keep-monthly'],
    keepYearly: values['keep-yearly'],
    keepWithin: values['keep-within'],
    keepTags: values['keep-tag'],
  };
  const given = Object.values(p).some((v) => v !== undefined);
  return given || !spec ? p : { ...specTier(spec, tierName(values, spec)).retention };
}

async function forgetCmd(repo: LocalRepository, values: Values, spec: ClusterSpec | undefined, out: Output): Promise<number> {
  const policy = policyFrom(values, spec);
  const filter = filterFrom(values);
  if (spec && !filter.cluster) filter.cluster = spec.name;
  // A backup set's parts go only as a whole set, judged by what the set can restore (`backup forget`):
  // a per-snapshot policy here could remove part of the only full set.
  const snapshots = await repo.snapshots(filter);
  const setOf = (s: (typeof snapshots)[number]) => s.tags.find((t) => t.startsWith('set:'))?.slice(4);
  // What this forget does not judge stays, and so do its parents: set parts (a set's incremental part may
  // build on a plain `zk export --repo`, tagged otherwise than the part) and whatever the filter left out.
  const judged = snapshots.filter((s) => !setOf(s));
  const judgedIds = new Set(judged.map((s) => s.id));
  const keptOutside = (await repo.snapshots({})).filter((s) => !judgedIds.has(s.id));
  const plan = await forget(repo, judged, policy, { dryRun: values['dry-run'], keptOutside });
  for (const s of snapshots) {
    const setId = setOf(s);
    if (setId) plan.keep.push({ snapshot: s, reasons: [`part of backup set ${setId}: sets are removed whole by 'lifeboat backup forget'`] });
  }
  plan.keep.sort((a, b) => (a.snapshot.time < b.snapshot.time ? -1 : a.snapshot.time > b.snapshot.time ? 1 : 0));
  const pruning = values.prune && !values['dry-run'] && plan.remove.length > 0;
  if (out.json) {
    const doc = {
      dryRun: values['dry-run'] ?? false,
      keep: plan.keep.map((k) => ({ id: k.snapshot.id, time: k.snapshot.time, cluster: k.snapshot.cluster, reasons: k.reasons })),
      remove: plan.remove.map((s) => ({ id: s.id, time: s.time, cluster: s.cluster })),
    };
    // With --prune the prune's result joins this one document.
    if (pruning) return prune(repo, values, out, doc);
    out.result(doc);
    return EXIT.OK;
  } else {
    for (const k of plan.keep) console.log(`keep    ${short(k.snapshot.id)}  ${k.snapshot.time}  ${k.snapshot.cluster}  (${k.reasons.join(', ')})`);
    for (const s of plan.remove) console.log(`${values['dry-run'] ? 'would remove' : 'remove '} ${short(s.id)}  ${s.time}  ${s.cluster}`);
    console.log(`${plan.keep.length} kept, ${plan.remove.length} ${values['dry-run'] ? 'would be removed (dry run)' : 'removed'}`);
  }
  if (pruning) return prune(repo, values, out);
  return EXIT.OK;
}

async function repair(repo: LocalRepository, args: string[], out: Output): Promise<number> {
  if (args[0] !== 'index' || args.length > 1) throw new LifeboatError('InvalidInput', `usage: lifeboat repo repair index`);
  await repo.close(); // our own shared lock (if any) would block the exclusive one
  const r = await repairIndex(repo, { progress: (m) => out.progress(m) });
  const lines = [
    `index rebuilt from pack headers: ${r.packs} packs (${r.reindexed} not indexed before), ${r.blobs} chunks; ${r.indexFilesRemoved} old index files replaced`,
    ...(r.unreadable.length ? [`${r.unreadable.length} packs have an unreadable header: ${r.unreadable.map(short).join(', ')} (run 'lifeboat repo check --read-data')`] : []),
    ...(r.missing.length ? [`${r.missing.length} packs the old index named are gone: ${r.missing.map(short).join(', ')} (run 'lifeboat repo check')`] : []),
  ];
  out.result({ ...r }, lines.join('\n'));
  return EXIT.OK;
}

async function prune(repo: LocalRepository, values: Values, out: Output, forgot?: Record<string, unknown>): Promise<number> {
  await repo.close(); // our own shared lock (if any) would block the exclusive one
  const r = await pruneRepository(repo, { dryRun: values['dry-run'], progress: (m) => out.progress(m) });
  out.result(
    forgot ? { ...forgot, prune: r } : { ...r },
    `${r.dryRun ? 'would delete' : 'deleted'} ${r.packsDeleted} packs, repacked ${r.packsRepacked}, kept ${r.packsKept}; ` +
      `${mb(r.bytesBefore)} -> ${mb(r.bytesAfter)}${r.dryRun ? ' (dry run)' : ''}`,
  );
  return EXIT.OK;
}

async function copy(repo: LocalRepository, values: Values, spec: ClusterSpec | undefined, refs: string[], out: Output, notice: (m: string) => void): Promise<number> {
  let dst: LocalRepository;
  if (values.to) {
    const pw = values['to-password-file'] ? passwordFrom(values['to-password-file']) : (process.env.LIFEBOAT_TO_PASSWORD ?? passwordFrom(values['password-file']));
    dst = await openRepository(values.to, pw, { notice });
  } else if (spec) {
    // Down the spec's tiers: from --tier-repo (default primary) to --to-tier (default the off-site one).
    const from = tierName(values, spec);
    const to = values['to-tier'] ?? OFFSITE_TIER;
    if (to === from) throw CLI.error(`copy from tier ${from} to itself: give --to-tier <name> (another of the spec's tiers)`);
    if (!tierOf(spec, to) && values['to-tier'] === undefined) {
      throw new LifeboatError('InvalidInput', `copy needs --to <path>, --to-tier <name>, or a spec with an offsiteRepository (see "lifeboat repo --help")`);
    }
    dst = await openRepositoryForSpec(spec, specTier(spec, to).name, { notice, create: true });
  } else throw new LifeboatError('InvalidInput', `copy needs --to <path>, or --spec with an offsiteRepository (see "lifeboat repo --help")`);
  try {
    const r = await copySnapshots(repo, dst, {
      refs,
      filter: filterFrom(values),
      limitRate: values['limit-rate'] ? parseRate(values['limit-rate']) : undefined,
      progress: (m) => out.progress(m),
    });
    if (out.json) out.result({ ...r });
    else {
      for (const c of r.copied) console.log(`copied ${short(c.id)} -> ${short(c.newId)} (${c.blobs} chunks, ${mb(c.bytes)})`);
      console.log(`${r.copied.length} copied, ${r.skipped.length} already there; ${mb(r.bytesWritten)} written${r.reusedPacks ? `, ${r.reusedPacks} packs of an interrupted copy reused` : ''}`);
    }
  } finally {
    await dst.close();
  }
  return EXIT.OK;
}

async function restore(repo: LocalRepository, values: Values, args: string[], out: Output): Promise<number> {
  const [ref] = args;
  if (!ref || !values.target) throw new LifeboatError('InvalidInput', `restore-files needs a snapshot and --target <dir> (see "lifeboat repo --help")`);
  const reader = await repo.openSnapshot(ref, filterFrom(values));
  const r = await restoreFiles(reader, values.target, { include: values.include, stripPrefix: values.strip, overwrite: values.overwrite, progress: (m) => out.progress(m) });
  out.result({ snapshot: reader.meta.id, target: resolve(values.target), ...r }, `restored ${r.files} files (${mb(r.bytes)}), ${r.dirs} dirs, ${r.symlinks} symlinks from ${short(reader.meta.id)} into ${resolve(values.target)}`);
  return EXIT.OK;
}

async function backup(repo: LocalRepository, values: Values, paths: string[], out: Output): Promise<number> {
  const as = values.as?.replace(/\/+$/, '');
  if (!paths.length || !values.cluster || !as) throw new LifeboatError('InvalidInput', `backup needs paths, --cluster and --as <component>/<dir> (see "lifeboat repo --help")`);
  const component = as.split('/')[0]!;
  if (!(COMPONENTS as readonly string[]).includes(component)) throw new LifeboatError('InvalidInput', `--as must start with a component (${COMPONENTS.join(', ')})`);
  await repo.ensureShared('backup'); // before reading the parent: others see a backup, not a restore
  // Parent: the newest snapshot of this cluster holding files under the same prefix; files with the
  // parent's size, mtime, inode and ctime are not read again (--force reads everything).
  let parent: string | undefined;
  if (!values.force) {
    for (const s of (await repo.snapshots({ cluster: values.cluster })).reverse()) {
      const r = await repo.openSnapshot(s.id);
      if (r.list(as).length) {
        parent = s.id;
        break;
      }
    }
  }
  let files = 0;
  let bytes = 0;
  let last = Date.now();
  const { meta } = await repo.saveSnapshot({ cluster: values.cluster, components: [component as ComponentName], tags: values.tag, parent }, async (w) => {
    for (const p of paths) {
      const root = resolve(p);
      const st = await fs.lstat(root);
      const base = st.isDirectory() ? as : `${as}/${basename(root)}`;
      await walk(w, root, base, st.isDirectory(), { inode: values['ignore-inode'], ctime: values['ignore-ctime'] }, async (size) => {
        files++;
        bytes += size;
        if (Date.now() - last > 1000) {
          last = Date.now();
          out.progress(`${files} files, ${mb(bytes)}`, { files, bytes });
        }
      });
    }
  });
  out.result({ ...meta }, `snapshot ${short(meta.id)} saved: ${meta.summary.files} files, ${mb(meta.summary.bytes)} (${mb(meta.summary.newBytes)} new) in ${(meta.summary.durationMs / 1000).toFixed(1)} s`);
  return EXIT.OK;
}

async function walk(w: SnapshotWriter, path: string, name: string, isDir: boolean, ignore: ReuseIgnore, onFile: (size: number) => Promise<void>): Promise<void> {
  if (!isDir) {
    const st = await fs.lstat(path, { bigint: true }); // inode numbers may exceed 2^53
    if (st.isSymbolicLink()) w.writeSymlink(name, await fs.readlink(path), { mtime: st.mtime });
    else if (st.isFile()) {
      const size = Number(st.size);
      const stat = { size, mtime: st.mtime, mode: Number(st.mode) & 0o7777, inode: st.ino.toString(), ctime: st.ctime };
      if (await w.reuseUnchanged(name, stat, ignore)) return onFile(size);
      const fh = await fs.open(path, 'r');
      try {
        await w.writeFile(name, { file: fh }, stat);
      } finally {
        await fh.close();
      }
      await onFile(size);
    }
    return;
  }
  const entries = await fs.readdir(path, { withFileTypes: true });
  const st = await fs.stat(path);
  if (entries.length === 0) w.writeDir(name, { mode: st.mode & 0o7777, mtime: st.mtime });
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const child = join(path, e.name);
    const rel = relative(path, child).split(sep).join('/');
    await walk(w, child, `${name}/${rel}`, e.isDirectory(), ignore, onFile);
  }
}

async function key(repo: LocalRepository, values: Values, args: string[], out: Output): Promise<number> {
  const [sub, ref] = args;
  if (sub === 'list') {
    const keys = await listKeys(repo);
    if (out.json) out.result(keys);
    else for (const k of keys) console.log(`${k.current ? '*' : ' '} ${short(k.id)}  ${k.created}  ${k.username}@${k.hostname}`);
    return EXIT.OK;
  }
  if (sub === 'add') {
    const pw = values['new-password-file'] ? passwordFrom(values['new-password-file']) : process.env.LIFEBOAT_NEW_PASSWORD;
    if (!pw) throw new LifeboatError('InvalidInput', 'key add needs --new-password-file <file> or LIFEBOAT_NEW_PASSWORD');
    const id = await addKey(repo, pw);
    out.result({ added: id }, `added key ${short(id)}`);
    return EXIT.OK;
  }
  if (sub === 'remove' && ref) {
    await repo.close();
    const id = await removeKey(repo, ref);
    out.result({ removed: id }, `removed key ${short(id)}`);
    return EXIT.OK;
  }
  throw new LifeboatError('InvalidInput', `usage: lifeboat repo key list | add | remove <id>`);
}
