/**
 * `lifeboat config backup|diff|restore`: broker config files (server.properties, log4j, connect,
 * producer/consumer) to and from a directory or the repository. Secrets never appear in output.
 *
 *   config backup  --spec s.yaml (--out <dir> | --repo) [--broker <id> ...]
 *   config diff    --spec s.yaml (--in <dir> | --snapshot <ref>) [--broker <id> ...]
 *   config restore --spec s.yaml (--in <dir> | --snapshot <ref>) [--broker <id>] [--target-spec t.yaml]
 *                  [--target-broker <id>] [--target-dir <dir>] [--overwrite] [--dry-run]
 */
import { join } from 'node:path';
import { type BrokerSpec, type ClusterSpec, loadSpec } from '../../config/spec';
import { EXIT, LifeboatError } from '../../errors';
import { type BrokerConfigCapture, type BrokerConfigDiff, captureBrokerConfigs, captureConfigs, type ConfigRestoreOptions, type ConfigRestorePlan, diffConfigs, restoreBrokerConfigs } from '../../host/brokerConfigs';
import { readConfigsComponent, readConfigsDir, writeConfigsComponent, writeConfigsDir } from '../../host/brokerConfigsStore';
import { openRepositoryForSpec } from '../../repository';
import { NO_PRE_RESTORE_FLAG, preRestoreSnapshot } from '../../repository/preRestore';
import { brokerId, brokers, commandLine, describe, dryRun, flag, json, noPreRestoreSnapshot, snapshot, spec as specOption, subcommand, targetSpec, text, toRepository } from '../options';
import { output } from '../output';
import { requireSpec } from '../requireSpec';

export const summary = 'back up, diff and restore broker config files (directory or repository snapshot)';
const CLI = commandLine(
  'lifeboat config',
  `usage:
  lifeboat config backup  --spec <cluster.yaml> (--out <dir> | --repo) [--broker <id> ...] [--json]
  lifeboat config diff    --spec <cluster.yaml> (--in <dir> | --snapshot <ref>) [--broker <id> ...] [--json]
  lifeboat config restore --spec <cluster.yaml> (--in <dir> | --snapshot <ref>) [--broker <id>] [--target-spec <cluster.yaml>]
                          [--target-broker <id>] [--target-dir <dir>] [--overwrite] [--no-pre-restore-snapshot] [--dry-run] [--json]
restore writes into each target broker's configDir unless --target-dir is given (with several brokers: <dir>/<host>/).
With --overwrite, the files it replaces are first kept as a "pre-restore" snapshot in the target cluster's repository.`,
  [
    specOption,
    describe(brokers, 'only these brokers (restore: at most one, the source broker)'),
    text('out', '<dir>', 'backup: into this directory'),
    describe(toRepository, "backup: into the --spec cluster's repository, as a snapshot"),
    text('in', '<dir>', 'diff, restore: from this directory'),
    describe(snapshot, "diff, restore: from this configs snapshot of the --spec cluster's repository"),
    describe(targetSpec, 'restore: the cluster whose broker receives the files (rewrites its addresses)'),
    text('target-broker', '<id>', 'restore: the broker that receives the files (needs --broker)', brokerId),
    text('target-dir', '<dir>', 'restore: write here instead of the config dir'),
    flag('overwrite', 'restore: replace files that differ'),
    noPreRestoreSnapshot,
    dryRun,
    json,
  ],
);

function brokerOf(spec: ClusterSpec, id: number): BrokerSpec {
  const b = spec.brokers.find((x) => x.id === id);
  if (!b) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no broker ${id}`);
  return b;
}


async function loadCaptures(spec: ClusterSpec, values: { in?: string; snapshot?: string }): Promise<BrokerConfigCapture[]> {
  if (!values.in === !values.snapshot) throw new LifeboatError('InvalidInput', `give --in <dir> or --snapshot <ref> (see "lifeboat config --help")`);
  if (values.in) return readConfigsDir(values.in);
  const repo = await openRepositoryForSpec(spec);
  try {
    return await readConfigsComponent(await repo.openSnapshot(values.snapshot!, { cluster: spec.name, component: 'configs' }));
  } finally {
    await repo.close();
  }
}

function select(captures: BrokerConfigCapture[], ids: number[] | undefined): BrokerConfigCapture[] {
  if (!ids) return captures;
  return ids.map((id) => {
    const c = captures.find((x) => x.manifest.brokerId === id);
    if (!c) throw new LifeboatError('InvalidInput', `the backup has no configs of broker ${id} (it has ${captures.map((x) => x.manifest.brokerId).join(', ')})`);
    return c;
  });
}

function formatDiff(d: BrokerConfigDiff): string {
  if (!d.changed) return `${d.host} (broker ${d.brokerId}): no changes`;
  const lines = [`${d.host} (broker ${d.brokerId}):`];
  for (const f of d.files.filter((x) => x.status !== 'same')) {
    lines.push(`  ${f.status} ${f.file}`);
    for (const k of f.keys) {
      if (k.change === 'added') lines.push(`    + ${k.key}=${k.after}`);
      else if (k.change === 'removed') lines.push(`    - ${k.key}=${k.before}`);
      else lines.push(`    ~ ${k.key}: ${k.before} -> ${k.after}`);
    }
    if (f.status === 'changed' && f.keys.length === 0) lines.push('    (comments or layout only)');
  }
  return lines.join('\n');
}

function formatRestore(p: ConfigRestorePlan): string {
  const lines = [
    `${p.dryRun ? 'would restore' : 'restored'} ${p.source.host} (broker ${p.source.brokerId} of ${p.source.cluster}) -> ${p.target.host} (broker ${p.target.brokerId} of ${p.target.cluster}) in ${p.target.dir}`,
    ...p.files.map((f) => `  ${f.action} ${f.path}`),
    ...p.rewrites.map((r) => `  rewrite ${r.file} ${r.key}: ${r.before ?? '(unset)'} -> ${r.after}`),
    ...p.warnings.map((w) => `  WARNING: ${w}`),
  ];
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [sub, rest] = subcommand(argv, CLI.usage);
  const { values } = CLI.parse(rest);
  const spec = requireSpec(values.spec, CLI);
  const out = output(values.json ?? false);
  const ids = values.broker;

  if (sub === 'backup') {
    if (!values.out === !values.repo) throw CLI.error('give --out <dir> or --repo');
    const captures = await captureConfigs(spec, ids);
    const files = captures.reduce((n, c) => n + c.manifest.files.length, 0);
    const brokers = captures.map((c) => ({ host: c.manifest.host, brokerId: c.manifest.brokerId, files: c.manifest.files.map((f) => f.name) }));
    if (values.out) {
      await writeConfigsDir(values.out, captures);
      out.result({ dir: values.out, brokers }, `${values.out}: ${files} files of ${captures.length} broker(s)`);
      return EXIT.OK;
    }
    const repo = await openRepositoryForSpec(spec, 'primary', { create: true }); // a backup may create the repository
    try {
      const { meta } = await repo.saveSnapshot({ cluster: spec.name, components: ['configs'], tags: ['configs'] }, (w) => writeConfigsComponent(w, captures));
      out.result({ snapshot: meta.id, brokers }, `snapshot ${meta.id.slice(0, 12)}: ${files} files of ${captures.length} broker(s)`);
    } finally {
      await repo.close();
    }
    return EXIT.OK;
  }

  if (sub === 'diff') {
    const saved = select(await loadCaptures(spec, values), ids);
    const current = await captureConfigs(spec, saved.map((c) => c.manifest.brokerId));
    const diffs = saved.map((s, i) => diffConfigs(s, current[i]!));
    out.result({ changed: diffs.some((d) => d.changed), brokers: diffs }, diffs.map(formatDiff).join('\n'));
    return diffs.some((d) => d.changed) ? EXIT.PARTIAL : EXIT.OK;
  }

  if (sub === 'restore') {
    if (ids && ids.length > 1) throw new LifeboatError('InvalidInput', 'restore takes at most one --broker (omit it to restore every broker of the backup)');
    if (values['target-broker'] !== undefined && !ids) throw new LifeboatError('InvalidInput', '--target-broker needs --broker (the source broker)');
    const captures = select(await loadCaptures(spec, values), ids);
    const targetSpec = values['target-spec'] ? loadSpec(values['target-spec']) : undefined;
    const targetBrokerId = values['target-broker'];
    const optionsFor = (c: BrokerConfigCapture): ConfigRestoreOptions => {
      const host = targetSpec?.brokers.find((b) => b.id === (targetBrokerId ?? c.manifest.brokerId))?.host ?? c.manifest.host;
      const targetDir = values['target-dir'] ? (ids ? values['target-dir'] : join(values['target-dir'], host)) : undefined;
      return { targetSpec, targetBrokerId, targetDir, overwrite: values.overwrite };
    };
    // Plan every broker first: a refusal on one leaves all of them untouched.
    const plans = await Promise.all(captures.map((c) => restoreBrokerConfigs(c, { ...optionsFor(c), dryRun: true })));
    const refused = plans.flatMap((p) => p.files.filter((f) => f.action === 'refused').map((f) => f.path));
    if (values['dry-run']) {
      out.result({ dryRun: true, restores: plans }, plans.map(formatRestore).join('\n'));
      return EXIT.OK;
    }
    if (refused.length) throw new LifeboatError('UnsafeTarget', `refusing to overwrite ${refused.join(', ')} (pass --overwrite to replace them); nothing was written`);
    // Files about to be replaced are kept first, in the target cluster's repository.
    const replacing = plans.filter((p) => p.files.some((f) => f.action === 'overwrite'));
    if (replacing.length > 0) {
      const keepIn = targetSpec ?? spec;
      const pre = await preRestoreSnapshot(
        keepIn,
        `config restore over ${replacing.map((p) => p.target.dir).join(', ')}`,
        'configs',
        async (w) => writeConfigsComponent(w, await Promise.all(replacing.map((p) => captureBrokerConfigs(keepIn.name, { ...brokerOf(keepIn, p.target.brokerId), configDir: p.target.dir })))),
        { optOut: values['no-pre-restore-snapshot'] },
      );
      out.progress(pre ? `pre-restore snapshot ${pre.id.slice(0, 12)} of the replaced config files saved` : `no pre-restore snapshot (${NO_PRE_RESTORE_FLAG})`);
    }
    const done: ConfigRestorePlan[] = [];
    for (const c of captures) done.push(await restoreBrokerConfigs(c, optionsFor(c)));
    out.result({ dryRun: false, restores: done }, done.map(formatRestore).join('\n'));
    return EXIT.OK;
  }
  throw CLI.error(`unknown subcommand "config ${sub}"`);
}
