/**
 * `lifeboat registry export|restore|fallback|verify`: the ZooKeeper service registry (Curator
 * `/services`, Dubbo `/dubbo`) in the seed's JSON shape, to and from a directory or the repository.
 * `registry degrade <0-4>` and `registry degradation` set and show its degradation level
 * (src/registry/degrade.ts); `registry sync start|stop|status` runs the off-site registry sync.
 */
import { EXIT, LifeboatError } from '../../errors';
import { openRepositoryForSpec } from '../../repository';
import { withZkSession } from '../../zookeeper/errors';
import { keepZkTarget } from '../../zookeeper/preRestore';
import { formatPlan, type RestoreMode } from '../../zookeeper/restore';
import {
  captureRegistry,
  restoreRegistry,
  staticFallback,
  verifyRegistry,
  writeFallback,
  type RegistryCapture,
  type RegistryRoots,
} from '../../registry/registry';
import { readCaptureDir, writeCaptureDir, writeRegistryComponent } from '../../registry/storage';
import { choice, commandLine, confirm, describe, dryRun, flag, includeEphemerals, incremental, int, list, noPreRestoreSnapshot, noWait, snapshot, subcommand, text, toRepository } from '../options';
import { output } from '../output';
import { restoreMode, ZK_OPTIONS, zkTarget } from './zk';
import { loadSpec, type ClusterSpec } from '../../config/spec';
import { loadSpecCatalog } from '../../config/catalog';
import { dirname } from 'node:path';
import { REGISTRY_SYNC_STATUS_QUERY, REGISTRY_SYNC_STOP_SIGNAL, registrySyncId, type RegistrySyncStatus, statsText, SyncPlanError, syncPlan } from '../../registry/sync.pure';
import { connectTemporal, describeRun, followRun, startRun } from '../../temporal/runs';
import { workflowUiLink } from '../../temporal/connection';
import type { Output } from '../output';
import { userInfo } from 'node:os';
import { DEGRADATION_LEVELS, type DegradationLevel, describeDegradation, materializeRegistry, readDegradation, setDegradation } from '../../registry/degrade';

export const summary = 'export, restore, verify the service registry; static fallback files; degradation levels; off-site sync';
const CLI = commandLine(
  'lifeboat registry',
  `usage:
  lifeboat registry export   (--spec <cluster.yaml> | --zk <host:port>) (--out <dir> | --repo [--incremental]) [roots] [--json]
  lifeboat registry restore  (--spec | --zk) (--in <dir> | --snapshot <ref>) [--mode <m>] [--confirm] [--dry-run] [--include-ephemerals] [--no-pre-restore-snapshot] [target roots]
  lifeboat registry fallback (--in <dir> | --spec <cluster.yaml> --snapshot <ref>) --out-dir <dir>
  lifeboat registry verify   (--spec | --zk) (--in <dir> | --snapshot <ref>) [--no-probe] [roots]
  lifeboat registry degrade <0-4> (--spec <cluster.yaml> | --cluster <name> [--specs-dir <dir>]) [--reason <text>] [--by <name>]
                            [--fallback-dir <dir>] [--critical <a,b>] [--in <dir> | --snapshot <ref>] [--dry-run] [--json]
  lifeboat registry degradation (--spec | --cluster) [--json]        (also: registry status)
  lifeboat registry sync start  (--spec <source.yaml> | --cluster <name>) [--target-spec <target.yaml>] [--prefix <path>]
                                [--ephemerals held|persistent] [--two-way] [--full-diff-seconds <s>] [--json]
  lifeboat registry sync status (<workflow-id> | --spec ... [--target-spec ...]) [--json]
  lifeboat registry sync stop   (<workflow-id> | --spec ... [--target-spec ...]) [--by <name>] [--reason <text>] [--no-wait] [--json]
levels: 0 normal (lifts everything back exactly), 1 read-only (registrations paused by ZooKeeper ACLs), 2 local cache
(1, and clients keep their cached lists), 3 static addresses (2, and one address file per service in --fallback-dir,
from the newest registry snapshot, --snapshot or --in), 4 core only (3 for the critical services only)
sync: the source's registry roots kept in sync with the target's ZooKeeper (default target: the source spec's standby,
found beside the source spec or in --specs-dir), under --prefix (default /offsite when both share one ensemble)
roots: --curator-root <path> (default /services), --dubbo-root <path> (default /dubbo); "none" leaves a layout out`,
  [
    ...ZK_OPTIONS,
    text('curator-root', '<path>', 'the Curator services root (default /services; "none" leaves it out)'),
    text('dubbo-root', '<path>', 'the Dubbo root (default /dubbo; "none" leaves it out)'),
    text('out', '<dir>', 'export: into this directory'),
    text('out-dir', '<dir>', 'fallback: write the static address files here'),
    describe(toRepository, "export: into the --spec cluster's repository, as a snapshot"),
    describe(incremental, 'export --repo: only what changed since the previous registry snapshot'),
    text('in', '<dir>', 'restore, verify, fallback, degrade 3-4: from this export directory'),
    describe(snapshot, "restore, verify, fallback, degrade 3-4: from this registry snapshot of the --spec cluster's repository"),
    restoreMode,
    confirm,
    dryRun,
    noPreRestoreSnapshot,
    includeEphemerals,
    flag('no-probe', 'verify: skip the register/discover probe'),
    text('cluster', '<name>', 'degrade, degradation, sync: the cluster spec of this name in --specs-dir (or LIFEBOAT_SPECS_DIR)'),
    text('specs-dir', '<dir>', 'where --cluster finds its spec (default LIFEBOAT_SPECS_DIR)'),
    text('reason', '<text>', 'degrade, sync stop: why (kept with the level)'),
    text('by', '<name>', 'degrade, sync stop: who (default: the user running this)'),
    text('fallback-dir', '<dir>', 'degrade 3-4: where the static address files go'),
    list('critical', '<a,b>', "degrade 4: the critical services (names or regular expressions; default the spec's registry.critical)"),
    text('target-spec', '<target.yaml>', "sync: the cluster written to (default: the source spec's standby)"),
    text('prefix', '<path>', 'sync start: where the copy goes on the target (default /offsite on a shared ensemble, else none)'),
    choice('ephemerals', ['held', 'persistent'] as const, "sync start: ephemeral instances held by the sync's own session (default) or written persistent"),
    flag('two-way', 'sync start: the reverse direction runs too (nodes created on the target are not deleted by full diffs)'),
    int('full-diff-seconds', '<s>', 'sync start: a full diff this often (default 60)', 1),
    noWait,
  ],
);

function roots(values: { 'curator-root'?: string; 'dubbo-root'?: string }): RegistryRoots {
  const r = (v: string | undefined): string | null | undefined => (v === 'none' ? null : v);
  return { curator: r(values['curator-root']), dubbo: r(values['dubbo-root']) };
}

const materialize = materializeRegistry;

/** The cluster a degrade/degradation/sync names: --spec, or --cluster in the specs directory. */
function clusterSpec(values: { spec?: string; cluster?: string; 'specs-dir'?: string }): ClusterSpec {
  if (values.spec && values.cluster) throw CLI.error('give --spec or --cluster, not both');
  if (values.spec) return loadSpec(values.spec);
  if (!values.cluster) throw CLI.error('--spec <cluster.yaml> or --cluster <name> is required');
  const dir = values['specs-dir'] ?? process.env.LIFEBOAT_SPECS_DIR;
  if (!dir) throw CLI.error('--cluster needs --specs-dir <dir> (or LIFEBOAT_SPECS_DIR): where the cluster specs are');
  return loadSpecCatalog({ dir }).get(values.cluster).spec;
}

async function loadCapture(spec: ClusterSpec | undefined, values: { in?: string; snapshot?: string }): Promise<RegistryCapture> {
  if (values.in && values.snapshot) throw new LifeboatError('InvalidInput', 'give --in or --snapshot, not both');
  if (values.in) return readCaptureDir(values.in);
  if (!values.snapshot) throw new LifeboatError('InvalidInput', `--in <dir> or --snapshot <ref> is required (see "lifeboat registry --help")`);
  if (!spec) throw new LifeboatError('InvalidInput', '--snapshot needs --spec (the repository is named in the cluster spec)');
  const repo = await openRepositoryForSpec(spec);
  try {
    return await materialize(repo, values.snapshot, spec.name);
  } finally {
    await repo.close();
  }
}

export async function run(argv: string[]): Promise<number> {
  const [sub, rest] = subcommand(argv, CLI.usage);
  const { values, positionals } = CLI.parse(rest);
  const out = output(values.json ?? false);

  if (sub === 'degrade') {
    const raw = positionals[0];
    if (raw === undefined) throw CLI.error('the level is required: registry degrade <0-4>');
    if (positionals.length > 1) throw CLI.error(`one level, got ${positionals.join(' ')}`);
    const level = Number(raw) as DegradationLevel;
    if (!/^[0-4]$/.test(raw) || !DEGRADATION_LEVELS.includes(level)) throw CLI.error(`the level is one of 0-4, got "${raw}"`);
    const spec = clusterSpec(values);
    const exportDir = values.in;
    if (exportDir && values.snapshot) throw new LifeboatError('InvalidInput', 'give --in or --snapshot, not both');
    const s = await setDegradation({
      spec,
      level,
      by: values.by ?? userInfo().username,
      reason: values.reason,
      fallbackDir: values['fallback-dir'],
      critical: values.critical,
      snapshot: values.snapshot,
      exportDir,
      dryRun: values['dry-run'],
    });
    out.result({ ...s }, `${s.dryRun ? 'dry run, nothing changed:\n' : ''}${s.actions.map((a) => `  ${a}`).join('\n')}\n${s.dryRun ? '' : describeDegradation(s)}`.trimEnd());
    return EXIT.OK;
  }
  if (sub === 'degradation' || sub === 'status') {
    if (positionals.length) throw CLI.error(`registry ${sub} takes no arguments, got ${positionals.join(' ')}`);
    const s = await readDegradation(clusterSpec(values));
    out.result({ ...s }, describeDegradation(s));
    return EXIT.OK;
  }
  if (sub === 'sync') return sync(values, positionals, out);
  if (positionals.length) throw CLI.error(`registry ${sub} takes no arguments, got ${positionals.join(' ')}`);

  if (sub === 'fallback') {
    if (!values['out-dir']) throw CLI.error('--out-dir <dir> is required');
    // No ZooKeeper needed: this is what you use when it is gone.
    const cap = await loadCapture(values.spec ? loadSpec(values.spec) : undefined, values);
    const files = writeFallback(values['out-dir'], staticFallback(cap.registry));
    out.result({ dir: values['out-dir'], files, services: files.length, backup_time: cap.registry.backup_time }, `${files.length} static address file(s) in ${values['out-dir']} (registry of ${cap.registry.backup_time} UTC)`);
    return EXIT.OK;
  }

  const t = zkTarget(values);
  if (sub === 'export') {
    if (!values.out && !values.repo) throw CLI.error('--out <dir> or --repo is required');
    if (values.repo) {
      if (!t.spec) throw new LifeboatError('InvalidInput', '--repo needs --spec');
      const repo = await openRepositoryForSpec(t.spec, 'primary', { create: true }); // a backup may create the repository
      try {
        let parent: { id: string; capture: RegistryCapture } | undefined;
        if (values.incremental) {
          const last = (await repo.snapshots({ cluster: t.spec.name, component: 'registry' })).at(-1);
          if (last) parent = { id: last.id, capture: await materialize(repo, last.id, t.spec.name) };
        }
        const cap = await withZkSession(t.connect, t.connectOpts, (zk) => captureRegistry(zk, roots(values), parent?.capture));
        const { meta } = await repo.saveSnapshot({ cluster: t.spec.name, components: ['registry'], parent: parent?.id, tags: ['registry'] }, (w) => writeRegistryComponent(w, cap));
        out.result(
          { snapshot: meta.id, kind: cap.registry.kind, zxid: cap.registry.zxid, services: cap.registry.services.length, instances: cap.registry.instance_count, content_hash: cap.registry.content_hash },
          `snapshot ${meta.id.slice(0, 12)}: ${cap.registry.kind} registry at zxid ${cap.registry.zxid}, ${cap.registry.services.length} services, ${cap.registry.instance_count} instances`,
        );
      } finally {
        await repo.close();
      }
      return EXIT.OK;
    }
    const cap = await withZkSession(t.connect, t.connectOpts, (zk) => captureRegistry(zk, roots(values)));
    const files = writeCaptureDir(values.out!, cap);
    out.result(
      { dir: values.out, files, zxid: cap.registry.zxid, services: cap.registry.services.length, instances: cap.registry.instance_count, content_hash: cap.registry.content_hash },
      `${values.out}: registry at zxid ${cap.registry.zxid}, ${cap.registry.services.length} services, ${cap.registry.instance_count} instances`,
    );
    return EXIT.OK;
  }

  if (sub === 'restore') {
    const mode: RestoreMode = values.mode ?? 'create-missing';
    const cap = await loadCapture(t.spec, values);
    const r = roots(values);
    const targetRoots = { curator: r.curator ?? undefined, dubbo: r.dubbo ?? undefined };
    const results = await withZkSession(t.connect, t.connectOpts, (zk) =>
      restoreRegistry(zk, cap.trees, {
        mode,
        confirm: values.confirm,
        dryRun: values['dry-run'],
        includeEphemerals: values['include-ephemerals'],
        targetRoots,
        digestAuth: t.digestAuth,
        beforeWrite: async (plan) => {
          const pre = await keepZkTarget(zk, plan, t.spec, `registry restore into ${plan.targetRoot}`, { optOut: values['no-pre-restore-snapshot'] });
          if (pre) out.progress(`pre-restore snapshot ${pre.id.slice(0, 12)} of ${plan.targetRoot} saved`);
        },
      }),
    );
    out.result(
      {
        restores: results.map((x) => ({
          layout: x.layout,
          target: x.plan.targetRoot,
          dryRun: !x.result,
          added: x.plan.add.length,
          changed: x.plan.change.length,
          removed: x.plan.remove.length,
          skippedEphemerals: x.plan.skippedEphemerals.length,
          ...(x.result ?? {}),
        })),
      },
      results
        .map((x) =>
          x.result ? `${x.layout} → ${x.plan.targetRoot}: ${x.result.created} created, ${x.result.updated} updated, ${x.result.deleted} deleted, ${x.result.skippedEphemerals.length} ephemeral instances skipped` : formatPlan(x.plan),
        )
        .join('\n') || 'nothing to restore: the capture holds no registry layout',
    );
    return EXIT.OK;
  }

  if (sub === 'verify') {
    const cap = await loadCapture(t.spec, values);
    const r = roots(values);
    const v = await withZkSession(t.connect, t.connectOpts, (zk) =>
      verifyRegistry(zk, cap.registry, { roots: r.curator !== undefined || r.dubbo !== undefined ? { ...cap.registry.roots, ...r } : undefined, probe: !values['no-probe'] }),
    );
    const lines = [
      `instances: expected ${v.expected.instances}, live ${v.live.instances}`,
      `content hash: ${v.hashMatch ? 'match' : `differs (expected ${v.expected.hash.slice(0, 12)}, live ${v.live.hash.slice(0, 12)})`}`,
      ...v.countMismatches.map((m) => `  ${m.layout} ${m.service}: expected ${m.expected}, live ${m.live}`),
      v.probe ? `register/discover probe: ${v.probe.ok ? `ok (${v.probe.registerMs} ms register, ${v.probe.discoverMs} ms discover)` : `FAILED: ${v.probe.error}`}` : 'probe skipped',
      v.ok ? 'registry verified' : 'registry differs from the export',
    ];
    out.result({ ...v }, lines.join('\n'));
    return v.ok ? EXIT.OK : EXIT.PARTIAL;
  }
  throw CLI.error(`unknown subcommand "registry ${sub}"`);
}

type Values = ReturnType<typeof CLI.parse>['values'];

/** The source spec and its sync target (--target-spec, else its standby beside it or in --specs-dir). */
function syncPair(values: Values): { src: ClusterSpec; dst: ClusterSpec } {
  const src = clusterSpec(values);
  if (values['target-spec']) return { src, dst: loadSpec(values['target-spec']) };
  if (!src.standby) throw CLI.error(`cluster spec ${src.name} names no standby: give --target-spec <target.yaml>`);
  const dir = values['specs-dir'] ?? process.env.LIFEBOAT_SPECS_DIR ?? (values.spec ? dirname(values.spec) : undefined);
  if (!dir) throw CLI.error('give --target-spec <target.yaml> or --specs-dir <dir> (where the standby spec is)');
  return { src, dst: loadSpecCatalog({ dir }).get(src.standby).spec };
}

function statusText(id: string, s: RegistrySyncStatus): string {
  const head = `${id}: ${s.state}, ${s.source} → ${s.target} (${s.mappings.map((m) => `${m.from} → ${m.to}`).join(', ')}), ephemerals ${s.ephemerals}, run ${s.runs} since ${s.startedAt}`;
  if (!s.stats) return `${head}\n  no stats yet (the sync is starting: a full diff first)`;
  return `${head}\n  ${statsText(s.stats)}${s.statsAgeMs !== undefined ? `\n  as of ${Math.round(s.statsAgeMs / 1000)} s ago` : ''}${s.stop ? `\n  stopped by ${s.stop.by} at ${s.stop.at}${s.stop.reason ? ` (${s.stop.reason})` : ''}` : ''}`;
}

async function sync(values: Values, positionals: string[], out: Output): Promise<number> {
  const [action, ...rest] = positionals;
  if (!action || !['start', 'stop', 'status'].includes(action)) throw CLI.error(`registry sync start|stop|status, got "${action ?? ''}"`);
  if (rest.length > (action === 'start' ? 0 : 1)) throw CLI.error(`too many arguments: ${rest.join(' ')}`);
  let workflowId = rest[0];
  if (action === 'start') {
    const { src, dst } = syncPair(values);
    let plan;
    try {
      plan = syncPlan(src, dst, values.prefix);
    } catch (e) {
      if (e instanceof SyncPlanError) throw new LifeboatError('InvalidInput', e.message);
      throw e;
    }
    const t = await connectTemporal();
    try {
      await startRun(t.client, 'registrySync', {
        workflowId: plan.syncId,
        args: [
          {
            source: { spec: src },
            target: { spec: dst },
            ...(values.prefix !== undefined ? { prefix: values.prefix } : {}),
            ephemerals: values.ephemerals ?? 'held',
            ...(values['two-way'] ? { twoWay: true } : {}),
            ...(values['full-diff-seconds'] !== undefined ? { fullDiffSeconds: values['full-diff-seconds'] } : {}),
          },
        ],
        summary: `registry sync ${src.name} → ${dst.name}`,
      });
      const ui = workflowUiLink(t.settings, plan.syncId);
      out.result(
        { workflowId: plan.syncId, mappings: plan.mappings, ui },
        `started ${plan.syncId}: ${plan.mappings.map((m) => `${m.from} → ${dst.name}:${m.to}`).join(', ')}\n${ui ?? ''}\nfollow it: lifeboat registry sync status ${plan.syncId}`,
      );
      return EXIT.OK;
    } finally {
      await t.close();
    }
  }
  if (!workflowId) {
    const { src, dst } = syncPair(values);
    workflowId = registrySyncId(src.name, dst.name);
  }
  const t = await connectTemporal();
  try {
    const { handle, desc } = await describeRun(t.client, workflowId);
    if (action === 'status') {
      const s = desc.status.name === 'RUNNING' ? await handle.query<RegistrySyncStatus>(REGISTRY_SYNC_STATUS_QUERY) : ((await handle.result()) as RegistrySyncStatus);
      out.result({ workflowId, ...s }, statusText(workflowId, s));
      return EXIT.OK;
    }
    if (desc.status.name !== 'RUNNING') throw new LifeboatError('InvalidInput', `${workflowId} is not running (${desc.status.name.toLowerCase()}): nothing to stop`);
    await handle.signal(REGISTRY_SYNC_STOP_SIGNAL, { by: values.by ?? userInfo().username, ...(values.reason ? { reason: values.reason } : {}) });
    if (values['no-wait']) {
      out.result({ workflowId, signal: 'stop' }, `stopping ${workflowId}`);
      return EXIT.OK;
    }
    const s = await followRun<'registrySync'>(t.client, workflowId);
    out.result({ workflowId, ...s }, statusText(workflowId, s));
    return EXIT.OK;
  } finally {
    await t.close();
  }
}
