/**
 * `lifeboat drill history` and `lifeboat drill report` (issue 16): the drill records kept in the
 * cluster's repository (src/drills/history.ts). Reads only: nothing is written to the repository,
 * and a missing repository is not created (exit 10). A drill id with no record: exit 14. Without
 * --tier-repo the records are read from the primary, else (missing, unreadable, or without them)
 * from the next tier that holds them, as a recovery falls back; stderr says so.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { loadSpecCatalog } from '../../config/catalog';
import { loadSpec, type ClusterSpec } from '../../config/spec';
import { EXIT, LifeboatError } from '../../errors';
import { holdsDrillRecord, holdsDrillRecords, listDrillRecords, openDrillRecords, type PassedTier, readDrillRecord } from '../../drills/history';
import { drillRow, historyTable, renderDrillHtml, renderDrillMarkdown, trendOf } from '../../drills/report.pure';
import type { Output } from '../output';
import { choice, commandLine, describe, int, json, spec as specOption, text } from '../options';
import { output } from '../output';

const TARGET = [
  text('cluster', '<name>', 'the cluster spec of this name in --specs-dir (or LIFEBOAT_SPECS_DIR)'),
  text('specs-dir', '<dir>', 'where --cluster finds its spec (default LIFEBOAT_SPECS_DIR)'),
  describe(specOption, 'the cluster spec (instead of --cluster)'),
  text('tier-repo', '<name>', 'read only this repository tier of the spec (primary, offsite, or a tiers[] name; default: the primary, else the next tier holding the records)'),
] as const;

const HISTORY = commandLine(
  'lifeboat drill history',
  `usage: lifeboat drill history (--cluster <name> [--specs-dir <dir>] | --spec <cluster.yaml>) [--tier-repo <name>] [--limit N] [--json]
  the cluster's drills, oldest first (date, scenario, type, score, RTO, RPO, open problems), and the trend`,
  [...TARGET, int('limit', '<N>', 'only the newest N drills', 1), json],
);

const REPORT = commandLine(
  'lifeboat drill report',
  `usage: lifeboat drill report <drill-id> (--cluster <name> [--specs-dir <dir>] | --spec <cluster.yaml>) [--tier-repo <name>]
                             [--format md|html] [--out <file>] [--json]
  one drill's report (the five phases, the score and its deductions, problems, inventory differences,
  faults and reverts, improvements, the trend); html is one self-contained page with the chart of RTO,
  RPO and score over the drills; --json prints the drill's record`,
  [...TARGET, choice('format', ['md', 'html'] as const, 'the report as Markdown (default) or HTML'), text('out', '<file>', 'write the report to this new file (an existing file is not replaced)'), json],
);

type TargetValues = { cluster?: string; 'specs-dir'?: string; spec?: string; 'tier-repo'?: string };

function targetSpec(values: TargetValues, cl: { error(m: string): LifeboatError }): ClusterSpec {
  if (values.spec && values.cluster) throw cl.error('give --spec or --cluster, not both');
  if (values.spec) return loadSpec(values.spec);
  if (!values.cluster) throw cl.error('the cluster is required: --cluster <name> or --spec <cluster.yaml>');
  const dir = values['specs-dir'] ?? process.env.LIFEBOAT_SPECS_DIR;
  if (!dir) throw cl.error('--cluster needs --specs-dir <dir> (or LIFEBOAT_SPECS_DIR): where the cluster specs are');
  return loadSpecCatalog({ dir }).get(values.cluster).spec;
}

/** Says on stderr which tier is read when it is not the primary, and why the ones before it were passed over. */
function tellFallback(out: Output, tier: string, location: string, passed: PassedTier[]): void {
  if (passed.length === 0) return;
  for (const p of passed) out.progress(`repository tier ${p.tier} (${p.location}) cannot be used: ${p.reason}`);
  out.progress(`reading the drill records from repository tier ${tier} (${location})`);
}

export async function history(argv: string[]): Promise<number> {
  const { values, positionals } = HISTORY.parse(argv);
  const out = output(values.json ?? false);
  if (positionals.length) throw HISTORY.error(`unexpected argument "${positionals[0]}"`);
  const spec = targetSpec(values, HISTORY);
  const { repo, tier, passed } = await openDrillRecords(spec, { tier: values['tier-repo'], has: holdsDrillRecords(spec.name) });
  try {
    tellFallback(out, tier, repo.path, passed);
    const listed = await listDrillRecords(repo, spec.name, { limit: values.limit });
    for (const u of listed.unreadable) out.progress(`warning: drill snapshot ${u.snapshot.slice(0, 12)} could not be read: ${u.error}`);
    const trend = trendOf(listed.records);
    const drills = listed.records.map((r) => ({ ...drillRow(r), snapshot: listed.snapshots[r.id] }));
    const text = listed.records.length ? `${historyTable(listed.records)}\n\ntrend: ${trend.summary}` : `no drill records of ${spec.name} in ${repo.path}`;
    out.result({ cluster: spec.name, repository: repo.path, tier, ...(passed.length ? { passed } : {}), drills, trend, unreadable: listed.unreadable }, text);
    return listed.unreadable.length ? EXIT.PARTIAL : EXIT.OK;
  } finally {
    await repo.close();
  }
}

export async function report(argv: string[]): Promise<number> {
  const { values, positionals } = REPORT.parse(argv);
  const out = output(values.json ?? false);
  if (positionals.length !== 1) throw REPORT.error(positionals.length ? `one drill id, got ${positionals.length}: ${positionals.join(' ')}` : 'the drill id is required: lifeboat drill report <drill-id> (ids: lifeboat drill history)');
  if (values.json && (values.format || values.out)) throw REPORT.error('--json prints the record; give it without --format and --out');
  if (values.out && existsSync(values.out)) throw new LifeboatError('InvalidInput', `--out ${values.out} exists: give a new file (the report never replaces one)`);
  const spec = targetSpec(values, REPORT);
  const { repo, tier, passed } = await openDrillRecords(spec, { tier: values['tier-repo'], has: holdsDrillRecord(spec.name, positionals[0]!) });
  try {
    tellFallback(out, tier, repo.path, passed);
    const { record, snapshot } = await readDrillRecord(repo, spec.name, positionals[0]!);
    if (values.json) {
      out.result({ snapshot, tier, record });
      return EXIT.OK;
    }
    // The trend as of that drill: the drills up to it (report.pure.ts leaves later ones out).
    const { records } = await listDrillRecords(repo, spec.name);
    const body = values.format === 'html' ? renderDrillHtml(record, records) : renderDrillMarkdown(record, records);
    if (values.out) {
      writeFileSync(values.out, body, { flag: 'wx' });
      out.progress(`wrote the ${values.format ?? 'md'} report of ${record.id} to ${values.out}`);
      return EXIT.OK;
    }
    process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
    return EXIT.OK;
  } finally {
    await repo.close();
  }
}
