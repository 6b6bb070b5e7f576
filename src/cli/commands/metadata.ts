/**
 * `lifeboat metadata export|apply`: Kafka topics, configs, group offsets and ACLs to and from a JSON
 * file or the repository; apply always computes the plan first and prints it.
 *
 *   metadata export --spec s.yaml (--out metadata.json | --repo)
 *   metadata apply  --spec s.yaml (--in metadata.json | --snapshot <ref>) [--target-spec t.yaml] [--dry-run]
 *                   [--offset-map map.json] [--topics <regex>] [--skip-acls]
 */
import { readFileSync } from 'node:fs';
import { loadSpec } from '../../config/spec';
import { EXIT, LifeboatError } from '../../errors';
import { type ApplyPlan, applyPlan, exportMetadata, type KafkaMetadataExport, planApply } from '../../kafka/metadata';
import { reachableKafka } from '../../kafka/admin';
import { readMetadataComponent, readMetadataFile, writeMetadataComponent, writeMetadataFile } from '../../kafka/metadataStore';
import { loadOffsetMap as loadRestoreOffsetMap } from '../../kafka/offsetMap';
import { type OffsetMap, offsetMapTranslator, type OffsetTranslator, restoreMapTranslator } from '../../kafka/offsets';
import { openRepositoryForSpec } from '../../repository';
import { NO_PRE_RESTORE_FLAG, preRestoreSnapshot } from '../../repository/preRestore';
import { commandLine, describe, dryRun, json, noPreRestoreSnapshot, regex, snapshot, spec as specOption, subcommand, targetSpec, text, toRepository, flag } from '../options';
import { output } from '../output';
import { requireSpec } from '../requireSpec';

export const summary = 'export Kafka metadata (topics, configs, offsets, ACLs) and apply it to a cluster';
const CLI = commandLine(
  'lifeboat metadata',
  `usage:
  lifeboat metadata export --spec <cluster.yaml> (--out <file.json> | --repo) [--json]
  lifeboat metadata apply  --spec <cluster.yaml> (--in <file.json> | --snapshot <ref>) [--target-spec <cluster.yaml>] [--dry-run]
                           [--offset-map <map.json>] [--topics <regex>] [--skip-acls] [--no-pre-restore-snapshot] [--json]
apply targets --target-spec (default: the --spec cluster); --snapshot reads the --spec cluster's repository.
Before changing anything, apply keeps the target's current metadata as a "pre-restore" snapshot in the target's repository.`,
  [
    specOption,
    describe(targetSpec, 'apply: the cluster to change (default: --spec)'),
    text('out', '<file.json>', 'export: into this file'),
    describe(toRepository, "export: into the --spec cluster's repository, as a snapshot"),
    text('in', '<file.json>', 'apply: from this export file'),
    describe(snapshot, "apply: from this metadata snapshot of the --spec cluster's repository"),
    describe(dryRun, 'apply: print the plan, change nothing'),
    text('offset-map', '<map.json>', "apply: translate group offsets (a topics restore's offset map, or {topic: {partition: {original: new}}})"),
    regex('topics', 'apply: only topics whose names match (and their topic ACLs)'),
    flag('skip-acls', 'apply: leave ACLs alone'),
    noPreRestoreSnapshot,
    json,
  ],
);

export function formatApplyPlan(plan: ApplyPlan, target: string): string {
  const s = plan.summary;
  const lines = [
    `plan for ${target} (cluster id ${plan.target.clusterId}, brokers ${plan.target.brokers.join(',')}) from export of ${plan.source.name ?? plan.source.clusterId} at ${plan.source.exportedAt}:`,
    `  topics: ${s.topicsToCreate} to create, ${s.topicsExisting} already there, ${s.partitionConflicts} partition-count conflicts`,
    `  groups: ${s.groupsToSet} to set (${s.offsetsToSet} offsets), ${s.groupsSkipped} skipped (live members)`,
    `  acls:   ${s.aclsToCreate} to create`,
  ];
  for (const t of plan.topics.filter((x) => x.action === 'create')) {
    const cfg = Object.entries(t.configs).map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(`  + topic ${t.topic} partitions=${t.partitions} rf=${t.replicationFactor}${t.replicaAssignment ? ' (captured placement)' : ''}${cfg ? ` ${cfg}` : ''}`);
  }
  for (const g of plan.groups.filter((x) => x.action === 'set-offsets')) lines.push(`  ~ group ${g.groupId}: ${g.offsets.length} offset(s)`);
  for (const a of plan.acls.filter((x) => x.action === 'create')) lines.push(`  + acl ${a.permission} ${a.principal} ${a.operation} ${a.resourceType}:${a.patternType}:${a.resourceName} from ${a.host}`);
  for (const w of plan.warnings) lines.push(`  WARNING: ${w}`);
  return lines.join('\n');
}

/** `--offset-map`: a topic restore's JSON-lines run file, or a plain `{topic: {partition: {original: new}}}` JSON map. */
async function loadTranslator(file: string): Promise<OffsetTranslator> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new LifeboatError('InvalidInput', `cannot read offset map ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (/^\s*\{"k":/.test(text)) return restoreMapTranslator(await loadRestoreOffsetMap(file));
  return offsetMapTranslator(parseOffsetMap(text, file));
}

function parseOffsetMap(text: string, file: string): OffsetMap {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new LifeboatError('InvalidInput', `offset map ${file} is not valid JSON: ${(e as Error).message}`);
  }
  const ok = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const valid =
    ok(value) &&
    Object.values(value).every((parts) => ok(parts) && Object.values(parts).every((m) => ok(m) && Object.entries(m).every(([k, v]) => /^\d+$/.test(k) && /^\d+$/.test(String(v)))));
  if (!valid) throw new LifeboatError('InvalidInput', `offset map ${file} must look like {"topic": {"partition": {"originalOffset": newOffset}}}`);
  return value as OffsetMap;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, rest] = subcommand(argv, CLI.usage);
  const { values } = CLI.parse(rest);
  const spec = requireSpec(values.spec, CLI);
  const out = output(values.json ?? false);

  if (sub === 'export') {
    if (!values.out === !values.repo) throw CLI.error('give --out <file> or --repo');
    const kafka = await reachableKafka(spec);
    out.progress(`exporting metadata of ${spec.name}`);
    const exp = await exportMetadata(kafka, { name: spec.name });
    const counts = { clusterId: exp.cluster.id, topics: exp.topics.length, groups: exp.groups.length, acls: exp.acls.length, warnings: exp.warnings };
    const text = `${exp.topics.length} topics, ${exp.groups.length} groups, ${exp.acls.length} ACLs of ${spec.name} (cluster id ${exp.cluster.id})`;
    for (const w of exp.warnings) out.progress(`WARNING: ${w}`);
    if (values.out) {
      await writeMetadataFile(values.out, exp);
      out.result({ file: values.out, ...counts }, `${values.out}: ${text}`);
      return EXIT.OK;
    }
    const repo = await openRepositoryForSpec(spec, 'primary', { create: true }); // a backup may create the repository
    try {
      const { meta } = await repo.saveSnapshot({ cluster: spec.name, components: ['kafka-metadata'], tags: ['kafka-metadata'] }, (w) => writeMetadataComponent(w, exp));
      out.result({ snapshot: meta.id, ...counts }, `snapshot ${meta.id.slice(0, 12)}: ${text}`);
    } finally {
      await repo.close();
    }
    return EXIT.OK;
  }

  if (sub === 'apply') {
    if (!values.in === !values.snapshot) throw CLI.error('give --in <file> or --snapshot <ref>');
    const topicFilter = values.topics;
    const translator = values['offset-map'] ? await loadTranslator(values['offset-map']) : undefined;
    let exp: KafkaMetadataExport;
    if (values.in) exp = await readMetadataFile(values.in);
    else {
      const repo = await openRepositoryForSpec(spec);
      try {
        exp = await readMetadataComponent(await repo.openSnapshot(values.snapshot!, { cluster: spec.name, component: 'kafka-metadata' }));
      } finally {
        await repo.close();
      }
    }
    const targetSpec = values['target-spec'] ? loadSpec(values['target-spec']) : spec;
    const target = await reachableKafka(targetSpec);
    const plan = await planApply(exp, target, {
      name: targetSpec.name,
      offsetTranslator: translator,
      topics: topicFilter ? (t) => topicFilter.test(t) : undefined,
      // With --topics, topic ACLs follow the same filter; other ACLs (groups, cluster) are kept.
      acls: values['skip-acls'] ? () => false : topicFilter ? (a) => a.resourceType !== 'TOPIC' || topicFilter.test(a.resourceName) : undefined,
    });
    const partial = plan.summary.partitionConflicts > 0 || plan.summary.groupsSkipped > 0 || plan.groups.some((g) => g.skipped.length > 0);
    if (values['dry-run']) {
      out.result({ dryRun: true, target: targetSpec.name, plan }, formatApplyPlan(plan, targetSpec.name));
      return EXIT.OK;
    }
    out.progress(formatApplyPlan(plan, targetSpec.name));
    const changes = plan.summary.topicsToCreate + plan.summary.groupsToSet + plan.summary.aclsToCreate;
    const pre = changes === 0 ? undefined : await preRestoreSnapshot(targetSpec, `metadata apply to ${targetSpec.name}`, 'kafka-metadata', async (w) => writeMetadataComponent(w, await exportMetadata(target)), {
      optOut: values['no-pre-restore-snapshot'],
    });
    if (changes > 0) out.progress(pre ? `pre-restore snapshot ${pre.id.slice(0, 12)} of ${targetSpec.name}'s metadata saved` : `no pre-restore snapshot (${NO_PRE_RESTORE_FLAG})`);
    const result = await applyPlan(target, plan, { name: targetSpec.name });
    const text = [
      `applied to ${targetSpec.name}: ${result.topicsCreated.length} topics created, ${result.offsetsSet} offsets set in ${result.groupsSet.length} groups, ${result.aclsCreated} ACLs created`,
      ...result.failures.map((f) => `  FAILED: ${f.what}: ${f.error}`),
    ].join('\n');
    out.result({ dryRun: false, target: targetSpec.name, preRestoreSnapshot: pre?.id, ...result, warnings: plan.warnings }, text);
    return result.failures.length > 0 || partial ? EXIT.PARTIAL : EXIT.OK;
  }
  throw CLI.error(`unknown subcommand "metadata ${sub}"`);
}
