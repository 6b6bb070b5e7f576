/**
 * What `lifeboat serve`'s /metrics watches: cluster spec files and directories of them, read again on
 * every scrape (a spec added to a directory appears, a deleted one disappears with its series), each
 * spec's facts gathered with a time limit. One gathering serves every scrape that arrives while it
 * runs and, for `cacheMs`, after it (an HA pair of Prometheus servers does not double the work).
 * A spec that cannot be read or whose facts cannot be gathered is one `lifeboat_backup_facts_up 0`
 * series with the reason, never a failed scrape: the other clusters' series stay.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadSpec, type ClusterSpec } from '../config/spec';
import type { BackupFacts } from './types';
import type { MirrorLag, WatchedFacts } from './metrics';

export type GatherFacts = (spec: ClusterSpec) => Promise<BackupFacts>;
/** The mirrors whose state the cluster holds as their target ([] when none); aborted at the time limit. */
export type GatherMirror = (spec: ClusterSpec, signal: AbortSignal) => Promise<MirrorLag[]>;

export interface WatchOptions {
  /** Spec files, and directories whose *.yaml / *.yml files are specs. */
  paths: string[];
  gather: GatherFacts;
  mirror?: GatherMirror;
  /** A spec whose facts take longer is reported as not gathered (default 20 s). */
  timeoutMs?: number;
  /** A gathering is reused for this long (default 0: each scrape after the last one finished gathers again). */
  cacheMs?: number;
  now?: () => number;
}

const SPEC_FILE = /\.ya?ml$/i;
const oneLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n').filter(Boolean).join(' ').slice(0, 300);

/** The spec files named by `paths` now (directories listed again; sorted, each once). A missing path is an error entry. */
export function watchedSpecFiles(paths: string[]): { files: string[]; errors: { spec: string; error: string }[] } {
  const files: string[] = [];
  const errors: { spec: string; error: string }[] = [];
  for (const p of paths.map((x) => resolve(x))) {
    try {
      if (statSync(p).isDirectory()) files.push(...readdirSync(p).filter((f) => SPEC_FILE.test(f)).sort().map((f) => join(p, f)));
      else files.push(p);
    } catch (e) {
      errors.push({ spec: p, error: `cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? oneLine(e)}` });
    }
  }
  return { files: [...new Set(files)], errors };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function mirrorOf(gather: GatherMirror, spec: ClusterSpec, timeoutMs: number): Promise<MirrorLag[] | { error: string }> {
  const controller = new AbortController();
  try {
    return await withTimeout(gather(spec, controller.signal), timeoutMs, `reading the mirror state on ${spec.name}`);
  } catch (e) {
    return { error: oneLine(e) };
  } finally {
    controller.abort();
  }
}

/** Gathers the facts of every watched spec once. */
export async function collectWatched(opts: WatchOptions): Promise<WatchedFacts[]> {
  const { files, errors } = watchedSpecFiles(opts.paths);
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const now = opts.now ?? Date.now;
  const out: WatchedFacts[] = errors.map((e) => ({ ...e }));
  const seen = new Map<string, string>();
  const specs: { file: string; spec: ClusterSpec }[] = [];
  for (const file of files) {
    try {
      const spec = loadSpec(file);
      const other = seen.get(spec.name);
      if (other) {
        out.push({ spec: file, cluster: spec.name, error: `cluster "${spec.name}" is also named by ${other}: its series come from that spec only` });
        continue;
      }
      seen.set(spec.name, file);
      specs.push({ file, spec });
    } catch (e) {
      out.push({ spec: file, error: oneLine(e) });
    }
  }
  const gathered = await Promise.all(
    specs.map(async ({ file, spec }): Promise<WatchedFacts> => {
      const started = now();
      const mirror = opts.mirror ? mirrorOf(opts.mirror, spec, timeoutMs) : undefined;
      try {
        const facts = await withTimeout(opts.gather(spec), timeoutMs, `gathering the facts of ${basename(file)}`);
        return { spec: file, cluster: spec.name, facts, gatherSeconds: (now() - started) / 1000, ...(mirror ? { mirror: await mirror } : {}) };
      } catch (e) {
        return { spec: file, cluster: spec.name, error: oneLine(e), gatherSeconds: (now() - started) / 1000 };
      }
    }),
  );
  return [...out, ...gathered];
}

/** A collector for scrapes: single flight, reused for `cacheMs` after it finished. */
export function factsWatcher(opts: WatchOptions): () => Promise<WatchedFacts[]> {
  const now = opts.now ?? Date.now;
  let current: { promise: Promise<WatchedFacts[]>; done?: number } | undefined;
  return () => {
    const cacheMs = opts.cacheMs ?? 0;
    if (current && (current.done === undefined || now() - current.done < cacheMs)) return current.promise;
    const entry: { promise: Promise<WatchedFacts[]>; done?: number } = {
      promise: collectWatched(opts).finally(() => {
        entry.done = now();
      }),
    };
    current = entry;
    return entry.promise;
  };
}
