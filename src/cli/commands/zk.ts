/**
 * `lifeboat zk export|diff|import`: ZooKeeper subtrees to and from a file or the repository.
 *
 *   zk export --spec s.yaml [--root /primary] (--out tree.jsonl | --repo [--incremental])
 *   zk diff   --spec s.yaml (--in tree.jsonl | --snapshot <ref>) [--target-root /standby] [--mode m]
 *   zk import --spec s.yaml (--in tree.jsonl | --snapshot <ref>) [--target-root /standby] [--mode m]
 *             [--confirm] [--dry-run] [--include-ephemerals] [--log-dir d ...] [--no-cluster-id-check]
 *
 * `--zk host:port` (with `--auth user:password`, or `--auth-file`/`--auth-env` holding
 * `scheme:credentials`) works without a spec for file-based use.
 */
import { readFileSync } from 'node:fs';
import { loadSpec, resolveSecret, type ClusterSpec } from '../../config/spec';
import { EXIT, LifeboatError } from '../../errors';
import { openRepositoryForSpec } from '../../repository';
import type { ZkConnectOptions } from '../../zookeeper/client';
import { assertClusterIdConsistent } from '../../zookeeper/clusterId';
import { withZkSession } from '../../zookeeper/errors';
import { exportTree } from '../../zookeeper/export';
import { applyRestore, formatPlan, planRestoreLive, RESTORE_MODES, summarizePlan, type RestoreMode } from '../../zookeeper/restore';
import { NO_PRE_RESTORE_FLAG } from '../../repository/preRestore';
import { keepZkTarget } from '../../zookeeper/preRestore';
import { materializeZkTree, readExportFile, writeExportFile, writeZkComponent } from '../../zookeeper/storage';
import type { ZkTreeExport } from '../../zookeeper/tree';
import { choice, commandLine, confirm, describe, dryRun, flag, includeEphemerals, incremental, json, noPreRestoreSnapshot, repeated, snapshot, spec, subcommand, text, toRepository } from '../options';
import { output } from '../output';

export const summary = 'export, diff and import ZooKeeper subtrees (file or repository snapshot)';
const SYNOPSIS = `usage:
  lifeboat zk export (--spec <cluster.yaml> | --zk <host:port>) [--root <path>] (--out <file> | --repo [--incremental]) [--json]
  lifeboat zk diff   (--spec <cluster.yaml> | --zk <host:port>) (--in <file> | --snapshot <ref>) [--target-root <path>] [--mode <m>] [--include-ephemerals] [--json]
  lifeboat zk import (--spec <cluster.yaml> | --zk <host:port>) (--in <file> | --snapshot <ref>) [--target-root <path>] [--mode <m>]
                     [--confirm] [--dry-run] [--include-ephemerals] [--log-dir <dir> ...] [--no-cluster-id-check]
                     [--no-pre-restore-snapshot] [--json]
modes: ${RESTORE_MODES.join(', ')} (mirror deletes extras and needs --confirm); --auth <user:password> adds a digest identity
(visible to every user of the host in the process list: prefer --auth-file <file> or --auth-env <VAR>, holding
scheme:credentials such as digest:user:password).
Before writing, import keeps the target subtree as a "pre-restore" snapshot in the --spec cluster's repository;
without a spec it needs --no-pre-restore-snapshot.`;

/** How zk and registry commands reach ZooKeeper: a spec, or an address with identities. */
export const ZK_OPTIONS = [
  spec,
  text('zk', '<host:port>', 'ZooKeeper to use instead of the spec\'s zookeeper.connect'),
  repeated('auth', '<user:password>', 'a digest identity (visible in the process list: prefer --auth-file or --auth-env)'),
  repeated('auth-file', '<file>', 'a file holding scheme:credentials, e.g. digest:user:password'),
  repeated('auth-env', '<VAR>', 'an environment variable holding scheme:credentials'),
  json,
] as const;

/** The restore modes, for import and restore. */
export const restoreMode = choice('mode', RESTORE_MODES, 'how the target is changed (default create-missing; mirror deletes extras and needs --confirm)');

const CLI = commandLine('lifeboat zk', SYNOPSIS, [
  ...ZK_OPTIONS,
  text('root', '<path>', 'export: the subtree (default: the chroot, or /)'),
  text('out', '<file>', 'export: into this file'),
  describe(toRepository, "export: into the --spec cluster's repository, as a snapshot"),
  describe(incremental, 'export --repo: only what changed since the previous ZooKeeper snapshot'),
  text('in', '<file>', 'diff, import: from this export file'),
  describe(snapshot, "diff, import: from this ZooKeeper snapshot of the --spec cluster's repository"),
  text('target-root', '<path>', 'diff, import: where the subtree goes (default: the chroot, or the export\'s root)'),
  restoreMode,
  confirm,
  dryRun,
  includeEphemerals,
  repeated('log-dir', '<dir>', 'import: a broker log dir whose cluster id must match the import (repeatable)'),
  flag('no-cluster-id-check', 'import: skip the cluster-id check against the log dirs'),
  noPreRestoreSnapshot,
]);

/** ZooKeeper's authentication schemes (addauth): what `--auth-file`/`--auth-env` may name before the first ":". */
const AUTH_SCHEMES = ['digest', 'sasl', 'x509', 'ip', 'key'];

/** "digest:user:password" → { scheme, credentials }; `from` names where it came from (never the value). */
function schemeCredentials(text: string, from: string): { scheme: string; credentials: string } {
  const value = text.replace(/\r?\n$/, '');
  const i = value.indexOf(':');
  const scheme = i > 0 ? value.slice(0, i) : '';
  if (!AUTH_SCHEMES.includes(scheme) || i === value.length - 1) {
    throw new LifeboatError('InvalidInput', `${from} must hold scheme:credentials, such as digest:user:password (schemes: ${AUTH_SCHEMES.join(', ')})`);
  }
  return { scheme, credentials: value.slice(i + 1) };
}

/** Credentials from files and environment variables: unlike --auth, not in the process list. */
export function authFromFilesAndEnv(values: { 'auth-file'?: string[]; 'auth-env'?: string[] }, env: NodeJS.ProcessEnv = process.env): { scheme: string; credentials: string }[] {
  const out: { scheme: string; credentials: string }[] = [];
  for (const file of values['auth-file'] ?? []) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new LifeboatError('InvalidInput', `--auth-file ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    out.push(schemeCredentials(text, `--auth-file ${file}`));
  }
  for (const name of values['auth-env'] ?? []) {
    const v = env[name];
    if (v === undefined || v === '') throw new LifeboatError('InvalidInput', `--auth-env ${name}: ${name} is not set in the environment of this process`);
    out.push(schemeCredentials(v, `--auth-env ${name}`));
  }
  return out;
}

export interface ZkTarget {
  spec?: ClusterSpec;
  connect: string;
  chroot: string;
  connectOpts: ZkConnectOptions;
  /** "user:password" digests this session authenticates with. */
  digestAuth: string[];
}

export function zkTarget(values: { spec?: string; zk?: string; auth?: string[]; 'auth-file'?: string[]; 'auth-env'?: string[] }): ZkTarget {
  const spec = values.spec ? loadSpec(values.spec) : undefined;
  const connect = values.zk ?? spec?.zookeeper?.connect;
  if (!connect) throw new LifeboatError('InvalidInput', '--zk <host:port> or a --spec with a zookeeper section is required');
  const auth = (spec?.zookeeper?.auth ?? []).map((a) => ({ scheme: a.scheme, credentials: resolveSecret(a.credentials) }));
  for (const a of values.auth ?? []) {
    if (!a.includes(':')) throw new LifeboatError('InvalidInput', `--auth expects user:password, got "${a}"`);
    auth.push({ scheme: 'digest', credentials: a });
  }
  auth.push(...authFromFilesAndEnv(values));
  return {
    spec,
    connect,
    chroot: spec?.zookeeper?.chroot ?? '',
    connectOpts: { auth, timeoutMs: 10_000 },
    digestAuth: auth.filter((a) => a.scheme === 'digest').map((a) => a.credentials),
  };
}

function needSpec(t: ZkTarget, what: string): ClusterSpec {
  if (!t.spec) throw new LifeboatError('InvalidInput', `${what} needs --spec (the repository is named in the cluster spec)`);
  return t.spec;
}

async function loadSource(t: ZkTarget, values: { in?: string; snapshot?: string }): Promise<ZkTreeExport> {
  if (values.in && values.snapshot) throw new LifeboatError('InvalidInput', 'give --in or --snapshot, not both');
  if (values.in) return readExportFile(values.in);
  if (!values.snapshot) throw CLI.error('--in <file> or --snapshot <ref> is required');
  const spec = needSpec(t, '--snapshot');
  const repo = await openRepositoryForSpec(spec);
  try {
    return (await materializeZkTree(repo, values.snapshot, { cluster: spec.name })).tree;
  } finally {
    await repo.close();
  }
}

export async function run(argv: string[]): Promise<number> {
  const [sub, rest] = subcommand(argv, CLI.usage);
  const { values } = CLI.parse(rest);
  const out = output(values.json ?? false);
  const t = zkTarget(values);

  if (sub === 'export') {
    const root = values.root ?? (t.chroot || '/');
    // Znodes read: a line for people (a bar's counter on a terminal), a JSON status line with --json, as before.
    const view = out.view();
    const onProgress = (n: number) => (out.json ? out.progress(`${n} znodes read`) : view.update({ phase: `zk export of ${root}`, done: n, unit: 'znodes' }));
    if (!values.out && !values.repo) throw CLI.error('--out <file> or --repo is required');
    if (values.repo) {
      const spec = needSpec(t, '--repo');
      const repo = await openRepositoryForSpec(spec, 'primary', { create: true }); // a backup may create the repository
      try {
        let base: ZkTreeExport | undefined;
        let parent: string | undefined;
        if (values.incremental) {
          const last = (await repo.snapshots({ cluster: spec.name, component: 'zookeeper' })).at(-1);
          if (last) {
            const m = await materializeZkTree(repo, last.id);
            if (m.tree.root === root) {
              base = m.tree;
              parent = last.id;
            }
          }
        }
        const exp = await withZkSession(t.connect, t.connectOpts, (zk) => exportTree(zk, root, { base, onProgress })).finally(() => view.stop());
        const { meta } = await repo.saveSnapshot({ cluster: spec.name, components: ['zookeeper'], parent, tags: ['zookeeper'] }, (w) => writeZkComponent(w, exp));
        out.result(
          { snapshot: meta.id, root, kind: exp.kind, zxid: exp.zxid, consistent: exp.consistent, nodes: exp.nodeCount, deleted: exp.deleted?.length ?? 0 },
          `snapshot ${meta.id.slice(0, 12)}: ${exp.kind} export of ${root} at zxid ${exp.zxid}${exp.consistent ? '' : ' (fuzzy)'}, ${exp.nodeCount} znodes${exp.deleted ? `, ${exp.deleted.length} deleted` : ''}`,
        );
      } finally {
        await repo.close();
      }
      return EXIT.OK;
    }
    const exp = await withZkSession(t.connect, t.connectOpts, (zk) => exportTree(zk, root, { onProgress })).finally(() => view.stop());
    writeExportFile(values.out!, exp);
    out.result(
      { file: values.out, root, zxid: exp.zxid, consistent: exp.consistent, nodes: exp.nodeCount, ephemerals: exp.nodes.filter((n) => n.ephemeral).length },
      `${values.out}: ${root} at zxid ${exp.zxid}${exp.consistent ? '' : ' (fuzzy)'}, ${exp.nodeCount} znodes`,
    );
    return EXIT.OK;
  }

  if (sub === 'diff' || sub === 'import') {
    const mode: RestoreMode = values.mode ?? 'create-missing';
    const source = await loadSource(t, values);
    const targetRoot = values['target-root'] ?? (t.chroot || source.root);
    return withZkSession(t.connect, t.connectOpts, async (zk) => {
      const plan = await planRestoreLive(zk, source, targetRoot, { mode, includeEphemerals: values['include-ephemerals'] });
      const s = summarizePlan(plan);
      const diffRecord = {
        target: targetRoot,
        mode,
        ...s,
        added: plan.add.map((n) => n.path),
        changed: plan.change.map(({ path, data, acl }) => ({ path, data, acl })),
        removed: plan.remove,
        skippedEphemerals: plan.skippedEphemerals,
      };
      if (sub === 'diff' || values['dry-run']) {
        out.result({ dryRun: true, ...diffRecord }, formatPlan(plan));
        return EXIT.OK;
      }
      // Before the first write: the Kafka guard, then the pre-restore snapshot of the target.
      const logDirs = values['log-dir'] ?? (t.spec && targetRoot === t.chroot ? t.spec.brokers.flatMap((b) => b.logDirs) : []);
      const checkClusterId = !values['no-cluster-id-check'] && logDirs.length > 0;
      if (!checkClusterId) out.progress('cluster-id check skipped (no log dirs for this target; pass --log-dir to check)');
      out.progress(formatPlan(plan, 50));
      let preRestore: string | undefined;
      const beforeWrite = async () => {
        if (checkClusterId) await assertClusterIdConsistent(source, logDirs);
        const pre = await keepZkTarget(zk, plan, t.spec, `zk import into ${targetRoot}`, { optOut: values['no-pre-restore-snapshot'] });
        preRestore = pre?.id;
        if (pre) out.progress(`pre-restore snapshot ${pre.id.slice(0, 12)} of ${targetRoot} saved`);
        else if (values['no-pre-restore-snapshot']) out.progress(`no pre-restore snapshot (${NO_PRE_RESTORE_FLAG})`);
      };
      const r = await applyRestore(zk, plan, { confirm: values.confirm, digestAuth: t.digestAuth, beforeWrite });
      out.result(
        { ...r, target: targetRoot, mode, preRestoreSnapshot: preRestore },
        `restored into ${targetRoot}: ${r.created} created, ${r.updated} updated, ${r.deleted} deleted, ${r.skippedEphemerals.length} ephemerals skipped in ${r.durationMs} ms`,
      );
      return EXIT.OK;
    });
  }
  throw CLI.error(`unknown subcommand "zk ${sub}"`);
}
