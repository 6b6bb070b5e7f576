/**
 * The drills' history (issue 16): each drill's record kept in the cluster's repository, so it
 * outlives Temporal's retention. One snapshot per drill: component `drill`, tags `drill` and
 * `drill:<id>`, files drill/record.json (the DrillRecord), drill/report.md and drill/report.html
 * (the report with the trend up to that drill). Snapshot time = the drill's start.
 *
 * Saving is idempotent by drill id (a second save finds the first). Retention never removes a
 * drill record (src/repository/forget.ts DRILL_RECORD_TAG; src/backup/retention.ts).
 */
import { LifeboatError } from '../errors';
import { DRILL_RECORD_TAG } from '../repository/forget';
import type { Repository, SnapshotMeta } from '../repository/types';
import { SCENARIOS, type DrillRecord } from './records';
import { renderDrillHtml, renderDrillMarkdown } from './report.pure';

export { DRILL_RECORD_TAG };
export const DRILL_COMPONENT = 'drill' as const;
export const RECORD_FILE = 'drill/record.json';
export const REPORT_MD_FILE = 'drill/report.md';
export const REPORT_HTML_FILE = 'drill/report.html';

/** The tag naming one drill's record. */
export const drillRecordTag = (id: string): string => `${DRILL_RECORD_TAG}:${id}`;

const TYPES = ['tabletop', 'partial', 'full', 'chaos'];

/** Checks what a record must have to be stored and shown; one line naming the first problem. */
export function checkDrillRecord(x: unknown, where = 'drill record'): DrillRecord {
  const bad = (what: string) => new LifeboatError('InvalidInput', `${where}: ${what}`);
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw bad('is not an object');
  const r = x as Partial<DrillRecord>;
  // Workflow IDs (a schedule's add its time, with ":"): anything printable but a path separator.
  if (typeof r.id !== 'string' || !/^[^\s/\\]{1,250}$/.test(r.id) || r.id.startsWith('.')) throw bad(`id must be 1-250 characters without spaces, "/" or "\\", not starting with ".", got ${JSON.stringify(r.id)}`);
  if (typeof r.cluster !== 'string' || !r.cluster) throw bad('has no cluster');
  if (typeof r.startedAt !== 'string' || !Number.isFinite(Date.parse(r.startedAt))) throw bad(`startedAt is not an ISO time: ${JSON.stringify(r.startedAt)}`);
  if (typeof r.type !== 'string' || !TYPES.includes(r.type)) throw bad(`type must be one of ${TYPES.join(', ')}, got ${JSON.stringify(r.type)}`);
  if (typeof r.scenario !== 'string' || !(SCENARIOS as readonly string[]).includes(r.scenario)) throw bad(`scenario must be one of ${SCENARIOS.join(', ')}, got ${JSON.stringify(r.scenario)}`);
  if (typeof r.score !== 'object' || r.score === null || typeof r.score.total !== 'number') throw bad('has no score');
  if (!Array.isArray(r.problems)) throw bad('has no problems list');
  return r as DrillRecord;
}

/** The snapshot holding drill `id`'s record, if any (the oldest, should two saves have raced). */
export async function findDrillRecord(repo: Repository, cluster: string, id: string): Promise<SnapshotMeta | undefined> {
  const found = await repo.snapshots({ cluster, tags: [DRILL_RECORD_TAG, drillRecordTag(id)], component: DRILL_COMPONENT });
  return found.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : 1))[0];
}

export interface ListedRecords {
  /** Oldest first (by start, then id); one per drill id. */
  records: DrillRecord[];
  /** The snapshot of each record, by drill id. */
  snapshots: Record<string, string>;
  /** Drill snapshots whose record could not be read: named, not fatal (one damaged record must not hide the rest). */
  unreadable: { snapshot: string; error: string }[];
}

/** The cluster's drill records, oldest first; `limit`: only the newest N (still oldest first). */
export async function listDrillRecords(repo: Repository, cluster: string, opts: { limit?: number } = {}): Promise<ListedRecords> {
  const metas = await repo.snapshots({ cluster, tags: [DRILL_RECORD_TAG], component: DRILL_COMPONENT });
  const byId = new Map<string, { record: DrillRecord; snapshot: SnapshotMeta }>();
  const unreadable: ListedRecords['unreadable'] = [];
  for (const meta of metas) {
    try {
      const reader = await repo.openSnapshot(meta.id);
      const record = checkDrillRecord(await reader.readJson(RECORD_FILE), `drill record in snapshot ${meta.id.slice(0, 12)}`);
      const seen = byId.get(record.id);
      // Two saves that raced: the older snapshot is the record, as findDrillRecord says.
      if (!seen || meta.time < seen.snapshot.time || (meta.time === seen.snapshot.time && meta.id < seen.snapshot.id)) byId.set(record.id, { record, snapshot: meta });
    } catch (e) {
      unreadable.push({ snapshot: meta.id, error: (e as Error).message.split('\n')[0]! });
    }
  }
  let entries = [...byId.values()].sort((a, b) => cmp(a.record.startedAt, b.record.startedAt) || cmp(a.record.id, b.record.id));
  if (opts.limit !== undefined) entries = opts.limit > 0 ? entries.slice(-opts.limit) : [];
  return {
    records: entries.map((e) => e.record),
    snapshots: Object.fromEntries(entries.map((e) => [e.record.id, e.snapshot.id])),
    unreadable,
  };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One drill's record; SnapshotNotFound (exit 14) naming the drills there are when it has none. */
export async function readDrillRecord(repo: Repository, cluster: string, id: string): Promise<{ record: DrillRecord; snapshot: string }> {
  const meta = await findDrillRecord(repo, cluster, id);
  if (!meta) {
    const known = (await repo.snapshots({ cluster, tags: [DRILL_RECORD_TAG], component: DRILL_COMPONENT })).flatMap((s) => s.tags.filter((t) => t.startsWith(`${DRILL_RECORD_TAG}:`)).map((t) => t.slice(DRILL_RECORD_TAG.length + 1)));
    const list = [...new Set(known)].sort().slice(-5);
    throw new LifeboatError(
      'SnapshotNotFound',
      `no record of drill "${id}" for cluster ${cluster} in ${repo.path}${list.length ? ` (newest drills there: ${list.join(', ')}; see "lifeboat drill history")` : ' (it holds no drill records)'}`,
      { drill: id, cluster },
    );
  }
  const reader = await repo.openSnapshot(meta.id);
  return { record: checkDrillRecord(await reader.readJson(RECORD_FILE), `drill record in snapshot ${meta.id.slice(0, 12)}`), snapshot: meta.id };
}

/**
 * Stores the record with its reports (the trend over the drills before it in this repository);
 * a record already stored under this drill id is found and returned (`created` false), unchanged.
 */
export async function saveDrillRecord(repo: Repository, input: DrillRecord): Promise<{ snapshot: string; created: boolean }> {
  const record = checkDrillRecord(input);
  const existing = await findDrillRecord(repo, record.cluster, record.id);
  if (existing) return { snapshot: existing.id, created: false };
  const { records: history } = await listDrillRecords(repo, record.cluster);
  const { meta } = await repo.saveSnapshot(
    {
      cluster: record.cluster,
      components: [DRILL_COMPONENT],
      tags: [DRILL_RECORD_TAG, drillRecordTag(record.id)],
      time: new Date(record.startedAt),
      extra: { drill: { id: record.id, scenario: record.scenario, type: record.type, score: record.score.total, rtoSeconds: record.rtoSeconds, rpoSeconds: record.rpoSeconds } },
    },
    async (w) => {
      await w.writeJson(RECORD_FILE, record);
      await w.writeFile(REPORT_MD_FILE, Buffer.from(renderDrillMarkdown(record, history)));
      await w.writeFile(REPORT_HTML_FILE, Buffer.from(renderDrillHtml(record, history)));
    },
  );
  return { snapshot: meta.id, created: true };
}
