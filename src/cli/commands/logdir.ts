/**
 * `lifeboat logdir backup|restore`: file-level copies of brokers' log dirs (run on the broker's
 * host). Restore goes only into a stopped broker whose ZooKeeper has the copy's cluster id.
 *
 *   logdir backup  --spec s.yaml [--broker <id,..>] [--cold] [--json]
 *   logdir restore --spec s.yaml --snapshot <ref> --broker <id> [--from-host <host>] [--json]
 */
import { EXIT } from '../../errors';
import { copyLogDirs, type PartitionCover, restoreLogDirs } from '../../host/logdirs';
import { openRepositoryForSpec } from '../../repository';
import { brokers, cold, commandLine, describe, ignoreCtime, ignoreInode, json, snapshot, spec as specOption, subcommand, text } from '../options';
import { output } from '../output';
import { requireSpec } from '../requireSpec';

export const summary = 'copy brokers\' log dirs (hot or cold) and restore them into a stopped broker';
const CLI = commandLine(
  'lifeboat logdir',
  `usage:
  lifeboat logdir backup  --spec <cluster.yaml> [--broker <id,..>] [--cold] [--ignore-inode] [--ignore-ctime] [--json]
  lifeboat logdir restore --spec <cluster.yaml> --snapshot <ref> --broker <id> [--from-host <host>] [--json]
backup copies every broker of the spec unless --broker is given (hot by default; --cold stops, copies, starts).
A file the previous copy holds with the same size, mtime, inode and ctime is not read again; --ignore-inode and
--ignore-ctime leave those out (unstable inode numbers, tools that touch the files; also per broker in the spec).`,
  [
    specOption,
    describe(brokers, 'backup: these brokers (default: every broker of the spec); restore: the one broker to restore into'),
    cold,
    ignoreInode,
    ignoreCtime,
    describe(snapshot, 'restore: the log-dir copy to restore'),
    text('from-host', '<host>', "restore: the host whose copy to restore (default: the broker's own)"),
    json,
  ],
);

export async function run(argv: string[]): Promise<number> {
  const [sub, rest] = subcommand(argv, CLI.usage);
  const { values } = CLI.parse(rest);
  const spec = requireSpec(values.spec, CLI);
  const out = output(values.json ?? false);
  const ids = values.broker ?? spec.brokers.map((b) => b.id);

  if (sub === 'backup') {
    const mode = values.cold ? 'cold' : 'hot';
    const repo = await openRepositoryForSpec(spec, 'primary', { create: true }); // a backup may create the repository
    try {
      const points: Record<string, Record<string, PartitionCover>> = {};
      const lines: string[] = [];
      // The newest log-dir copy of this cluster: files unchanged since (closed segments) are not read again.
      const previous = (await repo.snapshots({ cluster: spec.name, component: 'logdirs' })).filter((s) => !s.tags.includes('pre-restore')).at(-1);
      const view = out.view();
      const { meta } = await repo.saveSnapshot({ cluster: spec.name, components: ['logdirs'], tags: ['logdirs', mode], ...(previous ? { reuseFrom: previous.id } : {}) }, async (w) => {
        for (const id of ids) {
          out.progress(`${mode} copy of broker ${id}`);
          const m = await copyLogDirs(spec, id, w, {
            mode,
            ignoreInode: values['ignore-inode'] || undefined,
            ignoreCtime: values['ignore-ctime'] || undefined,
            onProgress: (p) => view.update({ phase: `${mode} copy of broker ${id}`, done: p.bytes, unit: 'bytes', subject: `${p.files} files` }),
          });
          points[m.host] = m.partitions;
          lines.push(`  broker ${id} (${m.host}): ${m.files} files, ${(m.bytes / 1e6).toFixed(1)} MB, ${(m.newBytes / 1e6).toFixed(1)} MB new, ${((m.reusedBytes ?? 0) / 1e6).toFixed(1)} MB unchanged (not read), ${Object.keys(m.partitions).length} partitions`);
        }
        w.setPoints('logdirs', points);
      }).finally(() => view.stop());
      out.result({ snapshot: meta.id, mode, brokers: ids, points }, [`snapshot ${meta.id.slice(0, 12)} (${mode} log-dir copy):`, ...lines].join('\n'));
    } finally {
      await repo.close();
    }
    return EXIT.OK;
  }

  if (sub === 'restore') {
    if (!values.snapshot) throw CLI.error('--snapshot <ref> is required');
    if (ids.length !== 1 || !values.broker) throw CLI.error('restore takes exactly one --broker');
    const repo = await openRepositoryForSpec(spec);
    try {
      const reader = await repo.openSnapshot(values.snapshot, { cluster: spec.name, component: 'logdirs' });
      const view = out.view();
      const r = await restoreLogDirs(spec, ids[0]!, reader, {
        fromHost: values['from-host'],
        onProgress: (p) => view.update({ phase: `restore of broker ${ids[0]}`, done: p.bytes, unit: 'bytes', subject: `${p.files} files` }),
      }).finally(() => view.stop());
      const lines = [`restored ${r.files} files (${(r.bytes / 1e6).toFixed(1)} MB) of ${r.host} into broker ${ids[0]}; start it now`];
      for (const a of r.movedAside) lines.push(`  previous contents kept at ${a}`);
      for (const wmsg of r.warnings) lines.push(`  WARNING: ${wmsg}`);
      out.result({ snapshot: reader.meta.id, broker: ids[0], ...r }, lines.join('\n'));
      return r.warnings.length ? EXIT.PARTIAL : EXIT.OK;
    } finally {
      await repo.close();
    }
  }
  throw CLI.error(`unknown subcommand "logdir ${sub}"`);
}
