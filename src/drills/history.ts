/**
 * The drills' history (issue 16): each drill's record kept in the cluster's repository, so it
 * outlives Temporal's retention. One snapshot per drill: component `drill`, tags `drill` and
 * `drill:<id>`, files drill/record.json (the DrillRecord), drill/report.md and drill/report.html
 * (the report with the trend up to that drill). Snapshot time = the drill's start.
 *
 * Saving is idempotent by drill id (a second save finds the first). Retention never removes a
 * drill record (src/repository/forget.ts DRILL_RECORD_TAG; src/backup/retention.ts).
 *
 * Down the tiers: after a save the cluster's drill records are copied to every repository tier
 * after the primary (src/backup/tiers.pure.ts, as a backup set is), and a read falls back along the
 * tiers when the primary cannot be used or holds none (as a recovery's choice of set does).
 */
import type { ClusterSpec } from '../config/spec';
import { mapLimit } from '../core/parallel';
import { type ErrorType, isLifeboatError, LifeboatError } from '../errors';
import { copyTiers, repositoryTiers, type RepositoryTier, tierOf } from '../backup/tiers.pure';
import { fallsBack } from '../recovery/choose';
import { openRepositoryForSpec, type SpecOpenOptions } from '../repository';
import { copySnapshots } from '../repository/copy';
import { DRILL_RECORD_TAG } from '../repository/forget';
import type { LocalRepository } from '../repository/repo';
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
  // Read several at once: a cluster's history grows by a record a month, each a few small reads
  // (one after the other, 24 records took ~0.1 s, and every save lists them for its report).
  const read = await mapLimit(metas, 8, async (meta): Promise<{ meta: SnapshotMeta; record?: DrillRecord; error?: string }> => {
    try {
      const reader = await repo.openSnapshot(meta.id);
      return { meta, record: checkDrillRecord(await reader.readJson(RECORD_FILE), `drill record in snapshot ${meta.id.slice(0, 12)}`) };
    } catch (e) {
      return { meta, error: (e as Error).message.split('\n')[0]! };
    }
  });
  for (const { meta, record, error } of read) {
    if (!record) {
      unreadable.push({ snapshot: meta.id, error: error! });
      continue;
    }
    const seen = byId.get(record.id);
    // Two saves that raced: the older snapshot is the record, as findDrillRecord says.
    if (!seen || meta.time < seen.snapshot.time || (meta.time === seen.snapshot.time && meta.id < seen.snapshot.id)) byId.set(record.id, { record, snapshot: meta });
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

/** What a copy down one tier did: records copied and already there, or why the tier could not be reached. */
export interface TierCopy {
  tier: string;
  location: string;
  copied: number;
  skipped: number;
  error?: string;
}

/**
 * Copies the cluster's drill records `src` (the primary) holds and a tier lacks to every tier after
 * the primary, creating a tier's repository if need be (as a set's copy does). Every record, not
 * only the newest: a tier that was down at an earlier save catches up. A tier that fails is
 * reported (one line), never thrown: the record is safe in the primary and the next save retries.
 */
export async function copyDrillRecordsDown(
  spec: ClusterSpec,
  src: LocalRepository,
  opts: Pick<SpecOpenOptions, 'sessions'> & { signal?: AbortSignal; tierTimeoutMs?: number } = {},
): Promise<TierCopy[]> {
  const out: TierCopy[] = [];
  const limitMs = opts.tierTimeoutMs ?? 60_000;
  for (const tier of copyTiers(spec)) {
    // Bounded: a tier that hangs (an unmounted NAS, an object store not answering) must not hold up the drill's review.
    const ctl = new AbortController();
    const stop = () => ctl.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', stop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new LifeboatError('Unreachable', `no answer within ${limitMs / 1000} s`);
        ctl.abort(e);
        reject(e);
      }, limitMs);
    });
    const work = (async () => {
      const dst = await openRepositoryForSpec(spec, tier.name, { create: true, sessions: opts.sessions });
      try {
        const r = await copySnapshots(src, dst, { filter: { cluster: spec.name, tags: [DRILL_RECORD_TAG], component: DRILL_COMPONENT }, signal: ctl.signal });
        return { tier: tier.name, location: tier.location, copied: r.copied.length, skipped: r.skipped.length };
      } finally {
        await dst.close();
      }
    })();
    try {
      out.push(await Promise.race([work, timedOut]));
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      out.push({ tier: tier.name, location: tier.location, copied: 0, skipped: 0, error: (e as Error).message.split('\n')[0]! });
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', stop);
      work.catch(() => undefined);
    }
  }
  return out;
}

/** A tier a read passed over, and why. */
export interface PassedTier {
  tier: string;
  location: string;
  reason: string;
}


/**
 * Opens the repository to read a cluster's drill records from (the caller closes it): the tier
 * named, else the first of the spec's tiers that opens and where `has` holds (the records wanted
 * are there), falling back along the tiers as a recovery does. When every tier that opens lacks
 * them, the first that opened (the primary) is returned, so the caller's "none" names it; when
 * none opens, the first tier's error (the others named). Reads only: nothing is created.
 */
export async function openDrillRecords(
  spec: ClusterSpec,
  opts: Pick<SpecOpenOptions, 'sessions'> & { tier?: string; has?: (repo: LocalRepository) => Promise<boolean> } = {},
): Promise<{ repo: LocalRepository; tier: string; passed: PassedTier[] }> {
  let tiers: RepositoryTier[];
  if (opts.tier !== undefined) {
    const named = tierOf(spec, opts.tier);
    if (!named) throw new LifeboatError('InvalidInput', `cluster spec ${spec.name} has no repository tier "${opts.tier}" (its tiers: ${repositoryTiers(spec).map((t) => t.name).join(', ') || 'none'})`);
    tiers = [named];
  } else tiers = repositoryTiers(spec);
  if (tiers.length === 0) throw new LifeboatError('InvalidSpec', `cluster spec ${spec.name} has no repository section: drill records are kept there`);
  const passed: PassedTier[] = [];
  let firstError: unknown;
  let empty: { repo: LocalRepository; tier: string; passed: PassedTier[] } | undefined;
  for (const tier of tiers) {
    let repo: LocalRepository;
    try {
      // No create: a read of a mistyped path must fail, not answer from an empty repository made there.
      repo = await openRepositoryForSpec(spec, tier.name, { sessions: opts.sessions });
    } catch (e) {
      if (!fallsBack(e) || tiers.length === 1) throw e;
      firstError ??= e;
      passed.push({ tier: tier.name, location: tier.location, reason: (e as Error).message.split('\n')[0]! });
      continue;
    }
    let found: boolean;
    try {
      found = opts.has ? await opts.has(repo) : true;
    } catch (e) {
      await repo.close();
      if (!fallsBack(e) || tiers.length === 1) throw e;
      firstError ??= e;
      passed.push({ tier: tier.name, location: tier.location, reason: (e as Error).message.split('\n')[0]! });
      continue;
    }
    if (found) {
      if (empty) await empty.repo.close();
      return { repo, tier: tier.name, passed };
    }
    if (empty) await repo.close();
    else empty = { repo, tier: tier.name, passed: [...passed] };
    passed.push({ tier: tier.name, location: tier.location, reason: 'does not hold the drill records asked for' });
  }
  if (empty) return empty;
  const first = firstError as Error & { type?: ErrorType };
  const others = passed.slice(1).map((p) => `tier ${p.tier} (${p.location}): ${p.reason}`);
  throw new LifeboatError(isLifeboatError(first) ? first.type : 'RepositoryNotFound', `${first.message.split('\n')[0]}; no other repository tier can be read either: ${others.join(' | ')}`);
}

/** `has` for openDrillRecords: the repository holds any drill record of the cluster. */
export const holdsDrillRecords = (cluster: string) => async (repo: Repository): Promise<boolean> =>
  (await repo.snapshots({ cluster, tags: [DRILL_RECORD_TAG], component: DRILL_COMPONENT })).length > 0;

/** `has` for openDrillRecords: the repository holds drill `id`'s record. */
export const holdsDrillRecord = (cluster: string, id: string) => async (repo: Repository): Promise<boolean> => (await findDrillRecord(repo, cluster, id)) !== undefined;
