/**
 * Client-switch hooks: how applications learn the new bootstrap servers at a cut-over, declared in
 * the spec of the cluster clients move TO (`clientSwitch`, src/config/spec.ts). Run in order; the
 * first failure stops the run (LifeboatError 'HookFailed', exit 19, naming the hook, with the
 * outcomes so far in its details, so what ran before it can be reverted). Every hook has a dry run
 * that says what it would do and changes nothing, and a revert that puts back exactly what it found:
 *
 *  - registry-node: sets a ZooKeeper node (created with its missing parents if need be) to `value`;
 *    the previous bytes are kept (null: it did not exist, and revert removes what was created).
 *  - command: runs a program (execFile: no shell unless `shell: true`) with LIFEBOAT_BOOTSTRAP,
 *    LIFEBOAT_SOURCE, LIFEBOAT_TARGET, LIFEBOAT_DRY_RUN (1 in a dry run: the program must then change
 *    nothing) and LIFEBOAT_REVERT (1 when reverting) in its environment; a non-zero exit or the
 *    timeout fails it, with the tail of its stderr in the line.
 *  - bootstrap-file: rewrites the `bootstrap.servers` (or `key`) line of a properties file, every
 *    other byte kept, atomically (a temporary file in the same directory, renamed over it).
 *
 * `${bootstrap}` (the target's bootstrap servers, comma-joined), `${source}` and `${target}` (the
 * cluster names) are replaced in a registry node's value and in a command's arguments.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type ClientSwitchHook, type ClusterSpec, zkAuthOf } from '../config/spec';
import { LifeboatError } from '../errors';
import { setProperties, parseProperties } from '../host/properties';
import { type ZkClient, create, exists, getACL, getChildren, getData, remove, setData } from '../zookeeper/client';
import { withZkSession } from '../zookeeper/errors';

export type { ClientSwitchHook } from '../config/spec';

export interface HookOutcome {
  index: number;
  type: string;
  description: string;
  dryRun: boolean;
  ok: boolean;
  detail: string;
  /** What was there before (registry node data, the file's whole content); null: nothing was. */
  previous?: string | null;
  /** How `previous` is encoded: utf8 text, or base64 for a registry node's binary data. */
  previousEncoding?: 'utf8' | 'base64' | 'latin1';
  /** Whether the hook changed something (revert undoes only what changed; a failed command may have). */
  changed?: boolean;
  /** Registry nodes created (parents first), removed again by revert. */
  created?: string[];
  /** Revert: whether this outcome was put back. */
  reverted?: boolean;
}

export interface HookContext {
  source: ClusterSpec;
  target: ClusterSpec;
}

const STDERR_TAIL = 400;

export const bootstrapOf = (spec: ClusterSpec): string => spec.kafka.bootstrapServers.join(',');

function expand(template: string, ctx: HookContext): string {
  return template.replace(/\$\{(bootstrap|source|target)\}/g, (_, k: string) => (k === 'bootstrap' ? bootstrapOf(ctx.target) : k === 'source' ? ctx.source.name : ctx.target.name));
}

/** The ensemble a registry-node hook writes: its own `connect`, the target's ZooKeeper, else the source's. */
function registryOf(hook: Extract<ClientSwitchHook, { type: 'registry-node' }>, ctx: HookContext): { connect: string; auth: { scheme: string; credentials: string }[]; whose: string } {
  if (hook.connect) return { connect: hook.connect, auth: [], whose: hook.connect };
  for (const spec of [ctx.target, ctx.source]) {
    if (spec.zookeeper) return { connect: spec.zookeeper.connect, auth: zkAuthOf(spec), whose: `${spec.name}'s ZooKeeper ${spec.zookeeper.connect}` };
  }
  throw new LifeboatError('InvalidSpec', `clientSwitch registry-node ${hook.path}: neither "${ctx.target.name}" nor "${ctx.source.name}" has a zookeeper section; give the hook a connect: string`);
}

export function describeHook(hook: ClientSwitchHook, ctx: HookContext): string {
  if (hook.description) return hook.description;
  switch (hook.type) {
    case 'registry-node':
      return `registry node ${hook.path} = ${expand(hook.value, ctx)}`;
    case 'command': {
      const text = hook.command.map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a)).join(' ');
      return `command ${text.length > 120 ? `${text.slice(0, 117)}...` : text}`;
    }
    case 'bootstrap-file':
      return `${hook.key} in ${hook.path}`;
  }
}

const failed = (index: number, description: string, why: string, outcomes: HookOutcome[]): LifeboatError =>
  new LifeboatError('HookFailed', `client-switch hook ${index + 1} (${description}) failed: ${why}`, { index, outcomes });

// ---- registry-node ----

const encodeData = (data: Buffer | null): { previous: string | null; previousEncoding?: 'utf8' | 'base64' } => {
  if (data === null) return { previous: null };
  const text = data.toString('utf8');
  return Buffer.from(text, 'utf8').equals(data) ? { previous: text, previousEncoding: 'utf8' } : { previous: data.toString('base64'), previousEncoding: 'base64' };
};
const decodeData = (o: HookOutcome): Buffer | null => (o.previous === null || o.previous === undefined ? null : Buffer.from(o.previous, o.previousEncoding === 'base64' ? 'base64' : 'utf8'));

/** The node's data, or undefined when it does not exist. */
async function nodeData(zk: ZkClient, path: string): Promise<Buffer | null | undefined> {
  if (!(await exists(zk, path))) return undefined;
  return (await getData(zk, path)).data;
}

/** Creates the missing parents of `path` (with the ACL of the nearest existing one); returns those it created. */
async function ensureParents(zk: ZkClient, path: string): Promise<string[]> {
  const parts = path.split('/').filter(Boolean);
  const created: string[] = [];
  let acl = (await getACL(zk, '/')).acl;
  for (let i = 1; i < parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    if (await exists(zk, p)) acl = (await getACL(zk, p)).acl;
    else {
      await create(zk, p, null, acl);
      created.push(p);
    }
  }
  return created;
}

async function runRegistryNode(hook: Extract<ClientSwitchHook, { type: 'registry-node' }>, base: HookOutcome, ctx: HookContext, dryRun: boolean): Promise<HookOutcome> {
  const reg = registryOf(hook, ctx);
  const value = expand(hook.value, ctx);
  return withZkSession(reg.connect, { auth: reg.auth, timeoutMs: 15_000 }, async (zk) => {
    const before = await nodeData(zk, hook.path);
    const prev = encodeData(before ?? null);
    const shown = before === undefined ? 'missing' : before === null ? 'empty' : JSON.stringify(prev.previousEncoding === 'base64' ? `base64:${prev.previous}` : prev.previous);
    if (before && before.equals(Buffer.from(value))) return { ...base, ok: true, changed: false, ...prev, detail: `${hook.path} on ${reg.whose} already holds ${JSON.stringify(value)}` };
    if (dryRun) return { ...base, ok: true, changed: false, ...prev, detail: `would set ${hook.path} on ${reg.whose} from ${shown} to ${JSON.stringify(value)}` };
    let created: string[] = [];
    if (before === undefined) {
      created = await ensureParents(zk, hook.path);
      const parent = hook.path.slice(0, hook.path.lastIndexOf('/')) || '/';
      await create(zk, hook.path, Buffer.from(value), (await getACL(zk, parent)).acl);
      created.push(hook.path);
    } else await setData(zk, hook.path, Buffer.from(value));
    return { ...base, ok: true, changed: true, ...prev, ...(created.length ? { created } : {}), detail: `set ${hook.path} on ${reg.whose} from ${shown} to ${JSON.stringify(value)}` };
  });
}

async function revertRegistryNode(hook: Extract<ClientSwitchHook, { type: 'registry-node' }>, o: HookOutcome, ctx: HookContext): Promise<string> {
  const reg = registryOf(hook, ctx);
  return withZkSession(reg.connect, { auth: reg.auth, timeoutMs: 15_000 }, async (zk) => {
    if (o.previous === null || o.previous === undefined) {
      // It did not exist: remove it and the parents created for it (deepest first, only while empty).
      const created = o.created ?? [hook.path];
      for (const p of [...created].reverse()) {
        if (!(await exists(zk, p))) continue;
        if (p !== hook.path && (await getChildren(zk, p)).length) break;
        await remove(zk, p);
      }
      return `removed ${hook.path}${created.length > 1 ? ` and the ${created.length - 1} parent node(s) created for it` : ''} (it did not exist before)`;
    }
    const data = decodeData(o);
    if (await exists(zk, hook.path)) await setData(zk, hook.path, data);
    else {
      await ensureParents(zk, hook.path);
      await create(zk, hook.path, data, (await getACL(zk, hook.path.slice(0, hook.path.lastIndexOf('/')) || '/')).acl);
    }
    return `put ${hook.path} back to its previous ${data?.length ?? 0} bytes`;
  });
}

// ---- command ----

interface CommandResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Killed through the caller's signal. */
  aborted: boolean;
  ms: number;
}

function runCommand(hook: Extract<ClientSwitchHook, { type: 'command' }>, ctx: HookContext, flags: { dryRun: boolean; revert: boolean; signal?: AbortSignal }): Promise<CommandResult> {
  const [file, ...args] = hook.command.map((a) => expand(a, ctx));
  const env = {
    ...process.env,
    LIFEBOAT_BOOTSTRAP: bootstrapOf(ctx.target),
    LIFEBOAT_SOURCE: ctx.source.name,
    LIFEBOAT_TARGET: ctx.target.name,
    LIFEBOAT_DRY_RUN: flags.dryRun ? '1' : '0',
    LIFEBOAT_REVERT: flags.revert ? '1' : '0',
  };
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      file!,
      args,
      // The signal: a run that no longer wants the hook (its activity cancelled, its workflow terminated) kills the command.
      { env, shell: hook.shell, timeout: hook.timeoutSeconds * 1000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, windowsHide: true, ...(flags.signal ? { signal: flags.signal } : {}) },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: string | null; killed?: boolean }) | null;
        const timedOut = Boolean(e?.killed) && Date.now() - t0 >= hook.timeoutSeconds * 1000 - 50;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout: String(stdout),
          stderr: String(stderr) || (e && typeof e.code === 'string' ? `${e.code}: ${e.message}` : ''),
          timedOut,
          aborted: flags.signal?.aborted ?? false,
          ms: Date.now() - t0,
        });
      },
    );
  });
}

const tail = (s: string, n = STDERR_TAIL): string => {
  const one = s.trim().replace(/\s*\n\s*/g, ' | ');
  return one.length > n ? `...${one.slice(-n)}` : one;
};

function commandFailure(r: CommandResult, hook: Extract<ClientSwitchHook, { type: 'command' }>): string | undefined {
  if (r.code === 0 && !r.timedOut) return undefined;
  const how = r.aborted ? 'stopped: the run that started it no longer wants it (cancelled or ended)' : r.timedOut ? `timed out after ${hook.timeoutSeconds} s` : r.code !== null ? `exit ${r.code}` : `killed by ${r.signal ?? 'a signal'}`;
  const err = tail(r.stderr);
  return `${how}${err ? `; stderr: ${err}` : ''}`;
}

async function runCommandHook(hook: Extract<ClientSwitchHook, { type: 'command' }>, base: HookOutcome, ctx: HookContext, dryRun: boolean, signal?: AbortSignal): Promise<HookOutcome> {
  const r = await runCommand(hook, ctx, { dryRun, revert: false, ...(signal ? { signal } : {}) });
  const why = commandFailure(r, hook);
  const out = tail(r.stdout, 200);
  // A command that ran (even one that failed part-way) may have changed something: revert runs it again with LIFEBOAT_REVERT=1.
  return { ...base, ok: !why, changed: !dryRun, detail: why ?? `exit 0 in ${(r.ms / 1000).toFixed(1)} s${dryRun ? ' (LIFEBOAT_DRY_RUN=1)' : ''}${out ? `; stdout: ${out}` : ''}` };
}

// ---- bootstrap-file ----

/** Writes `content` to `path` atomically: a temporary file beside it (same mode), synced, renamed over it. */
async function writeAtomically(path: string, content: Buffer): Promise<void> {
  const mode = (await stat(path).catch(() => undefined))?.mode ?? 0o644;
  const tmp = join(dirname(path), `.${basename(path)}.lifeboat-${randomBytes(4).toString('hex')}`);
  const fh = await open(tmp, 'wx', mode & 0o7777);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

async function readText(path: string): Promise<string> {
  try {
    // latin1 maps every byte to one character and back: the rest of the file is kept byte for byte.
    return (await readFile(path)).toString('latin1');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path} (${code ?? String(e)})`, { cause: e });
  }
}

async function runBootstrapFile(hook: Extract<ClientSwitchHook, { type: 'bootstrap-file' }>, base: HookOutcome, ctx: HookContext, dryRun: boolean): Promise<HookOutcome> {
  const before = await readText(hook.path);
  const value = bootstrapOf(ctx.target);
  const was = parseProperties(before).values.get(hook.key);
  const prev = { previous: before, previousEncoding: 'latin1' as const };
  if (was === value) return { ...base, ok: true, changed: false, ...prev, detail: `${hook.key} in ${hook.path} is already ${value}` };
  const after = setProperties(before, { [hook.key]: value });
  const from = was === undefined ? 'unset' : JSON.stringify(was);
  if (dryRun) return { ...base, ok: true, changed: false, ...prev, detail: `would set ${hook.key} in ${hook.path} from ${from} to ${value}` };
  await writeAtomically(hook.path, Buffer.from(after, 'latin1'));
  return { ...base, ok: true, changed: true, ...prev, detail: `set ${hook.key} in ${hook.path} from ${from} to ${value}` };
}

// ---- run and revert ----

/** Runs every hook in order (dryRun: says what each would do, changes nothing); stops at the first failure. */
export async function runSwitchHooks(hooks: ClientSwitchHook[], ctx: HookContext, opts: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<HookOutcome[]> {
  const dryRun = opts.dryRun ?? false;
  const outcomes: HookOutcome[] = [];
  for (const [index, hook] of hooks.entries()) {
    const description = describeHook(hook, ctx);
    const base: HookOutcome = { index, type: hook.type, description, dryRun, ok: false, detail: '' };
    // A hook that throws (ZooKeeper unreachable, a file missing) changed nothing: each writes last and at once.
    const outcome: HookOutcome = await (hook.type === 'registry-node'
      ? runRegistryNode(hook, base, ctx, dryRun)
      : hook.type === 'command'
        ? runCommandHook(hook, base, ctx, dryRun, opts.signal)
        : runBootstrapFile(hook, base, ctx, dryRun)
    ).catch((e: unknown) => ({ ...base, changed: false, detail: (e instanceof Error ? e.message : String(e)).split('\n')[0]! }));
    outcomes.push(outcome);
    if (!outcome.ok) throw failed(index, description, outcome.detail, outcomes);
  }
  return outcomes;
}

/**
 * Puts back what the hooks changed, last first: a registry node's or a file's previous content, a
 * command run again with LIFEBOAT_REVERT=1. Every outcome is tried; those that could not be put back
 * come back with ok: false and the reason (nothing is thrown: the caller reports what was put back).
 */
export async function revertSwitchHooks(hooks: ClientSwitchHook[], outcomes: HookOutcome[], ctx: HookContext): Promise<HookOutcome[]> {
  const out: HookOutcome[] = [];
  for (const o of [...outcomes].reverse()) {
    const hook = hooks[o.index];
    const base: HookOutcome = { index: o.index, type: o.type, description: o.description, dryRun: false, ok: true, detail: '', reverted: false };
    if (o.dryRun || !o.changed) {
      out.push({ ...base, detail: 'nothing to put back (it changed nothing)' });
      continue;
    }
    if (!hook || hook.type !== o.type) {
      out.push({ ...base, ok: false, detail: `hook ${o.index + 1} is no longer a ${o.type} hook in the spec: put it back by hand (${o.detail})` });
      continue;
    }
    try {
      let detail: string;
      if (hook.type === 'registry-node') detail = await revertRegistryNode(hook, o, ctx);
      else if (hook.type === 'bootstrap-file') {
        await writeAtomically(hook.path, Buffer.from(o.previous ?? '', o.previousEncoding === 'base64' ? 'base64' : o.previousEncoding === 'utf8' ? 'utf8' : 'latin1'));
        detail = `put ${hook.path} back as it was`;
      } else {
        const r = await runCommand(hook, ctx, { dryRun: false, revert: true });
        const why = commandFailure(r, hook);
        if (why) throw new Error(`LIFEBOAT_REVERT=1 run: ${why}`);
        detail = `ran it with LIFEBOAT_REVERT=1 (exit 0)`;
      }
      out.push({ ...base, reverted: true, detail });
    } catch (e) {
      out.push({ ...base, ok: false, detail: (e instanceof Error ? e.message : String(e)).split('\n')[0]! });
    }
  }
  return out.reverse();
}
