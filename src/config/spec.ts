/**
 * The cluster spec: one YAML file per cluster (design.md, "Cluster spec"). It is validated on
 * load and every error names the field, e.g. `brokers[1].control.unit: required for systemd`.
 * Secrets are references ({ env } or { file }), resolved only where they are used: a relative
 * file is relative to the spec file (made absolute on load), a variable is read in the
 * environment of the process that runs the step.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, posix, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { LifeboatError } from '../errors';
import { resolveSecret, S3_URL, SpecError, type SecretRef } from './secrets';

export { resolveSecret, S3_URL, SpecError, type SecretRef } from './secrets';

export const secretRef: z.ZodType<SecretRef> = z.union([
  z.strictObject({ env: z.string().min(1) }),
  z.strictObject({ file: z.string().min(1) }),
]);

const MAX_PORT = 65535;
const badPort = (port: string): string | undefined => {
  const n = Number(port);
  return n >= 1 && n <= MAX_PORT ? undefined : `port ${port} is not a TCP port (1-${MAX_PORT})`;
};

const hostPort = z.string().superRefine((s, ctx) => {
  const m = /^[^\s:]+:(\d+)$/.exec(s);
  const problem = m ? badPort(m[1]!) : 'expected host:port';
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** ZooKeeper's connect string: host[:port] (default 2181), comma-separated, optionally followed by a chroot. */
const zkConnect = z.string().min(1).superRefine((s, ctx) => {
  const slash = s.indexOf('/');
  for (const server of (slash >= 0 ? s.slice(0, slash) : s).split(',')) {
    const m = /^[^\s:/,]+(?::(\d+))?$/.exec(server);
    const problem = m ? (m[1] === undefined ? undefined : badPort(m[1])) : `"${server}" is not host:port (expected host:port[,host:port...][/chroot])`;
    if (problem) return ctx.addIssue({ code: 'custom', message: problem });
  }
});

/** Absolute, and without ".." (a path that climbs out of where it says it is; "/var/.." is "/"). */
const absPath = z.string().min(1).superRefine((p, ctx) => {
  if (!isAbsolute(p)) ctx.addIssue({ code: 'custom', message: 'must be an absolute path' });
  else if (p.split('/').includes('..')) ctx.addIssue({ code: 'custom', message: `"${p}" contains "..": write the path it stands for` });
});

/** A broker's own directory: never the filesystem root (a restore replaces what a log dir holds). */
const brokerDir = absPath.superRefine((p, ctx) => {
  if (isAbsolute(p) && !p.split('/').includes('..') && posix.normalize(p) === '/') ctx.addIssue({ code: 'custom', message: 'must not be "/" (name the directory of its own that the broker uses)' });
});

/** A regular expression that compiles (patterns are matched against topic names). */
const topicPattern = z.string().superRefine((p, ctx) => {
  try {
    new RegExp(p);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(e as Error).message}` });
  }
});

const brokerControl = z.discriminatedUnion('type', [
  /**
   * A broker-control adapter registered by the process that runs the worker (e.g. the DR lab's own
   * process manager registers "lab"; `lifeboat worker --adapter <module>` loads others), with its options.
   */
  z.strictObject({
    type: z.literal('adapter'),
    adapter: z.string().regex(/^[A-Za-z0-9._-]+$/, 'an adapter name: letters, digits, ".", "_" and "-"'),
    options: z.record(z.string(), z.string()).default({}),
  }),
  z.strictObject({ type: z.literal('systemd'), unit: z.string().min(1) }),
  /**
   * Shell command templates; {id} and {host} are replaced. `status` exits 0 when the broker runs.
   * `kill` (optional) ends it the way a host dies (e.g. SIGKILL), for drills; without it a drill's kill is a stop.
   */
  z.strictObject({ type: z.literal('command'), start: z.string().min(1), stop: z.string().min(1), status: z.string().min(1), kill: z.string().min(1).optional() }),
]);
export type BrokerControlSpec = z.infer<typeof brokerControl>;

const broker = z.strictObject({
  id: z.number().int().min(0),
  host: z.string().min(1).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only (it names a task queue)'),
  listener: hostPort.optional(),
  logDirs: z.array(brokerDir).min(1),
  /**
   * A log-dir copy takes over a file of the previous one unread when its size, mtime, inode and
   * ctime are unchanged. Leave the inode out where the filesystem's are not stable (FUSE, CIFS),
   * the ctime where tools touch the files (hard-link snapshots, recursive chmod): restic's
   * --ignore-inode / --ignore-ctime.
   */
  ignoreInode: z.boolean().optional(),
  ignoreCtime: z.boolean().optional(),
  configDir: brokerDir,
  control: brokerControl,
});
export type BrokerSpec = z.infer<typeof broker>;

const retention = z.strictObject({
  keepLast: z.number().int().min(0).optional(),
  keepHourly: z.number().int().min(0).optional(),
  keepDaily: z.number().int().min(0).optional(),
  keepWeekly: z.number().int().min(0).optional(),
  keepMonthly: z.number().int().min(0).optional(),
  keepYearly: z.number().int().min(0).optional(),
  keepWithin: z.string().regex(/^(\d+[yMwdhm])+$/, 'a duration such as 24h or 7d').optional(),
});

/** The seeds' tier table: 24 h of hourly, 7 daily, 4 weekly, 12 monthly. */
export const DEFAULT_RETENTION: z.infer<typeof retention> = { keepLast: 1, keepHourly: 24, keepDaily: 7, keepWeekly: 4, keepMonthly: 12 };

/** A repository's place: an absolute path (local disk, NAS mount) or an s3:// URL. */
const repositoryPath = z.string().min(1).superRefine((p, ctx) => {
  if (p.startsWith('s3://')) {
    if (!S3_URL.test(p)) ctx.addIssue({ code: 'custom', message: `"${p}" is not s3://bucket[/prefix] (a bucket name of 3-63 lower-case letters, digits, dots and hyphens)` });
  } else if (!isAbsolute(p)) ctx.addIssue({ code: 'custom', message: 'must be an absolute path or an s3://bucket/prefix URL' });
  else if (p.split('/').includes('..')) ctx.addIssue({ code: 'custom', message: `"${p}" contains "..": write the path it stands for` });
});

/** Where and as whom an s3:// repository is reached (credentials by secret reference, never inline). */
const s3Section = z.strictObject({
  /** The server, e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:7070 (default: AWS for the region). */
  endpoint: z.string().url().optional(),
  region: z.string().min(1).default('us-east-1'),
  /** Path-style addressing (http://host/bucket/key), as most S3-compatible servers want. */
  pathStyle: z.boolean().default(false),
  accessKeyId: secretRef,
  secretAccessKey: secretRef,
});

/** Kinds of media, for 3-2-1: a set is protected when it is on two media and one copy is off-site. */
export const MEDIA = ['disk', 'nas', 'object', 'archive'] as const;

const repositoryFields = {
  path: repositoryPath,
  password: secretRef,
  compression: z.enum(['auto', 'off', 'max']).default('auto'),
  /** Required when `path` is an s3:// URL. */
  s3: s3Section.optional(),
};
const needsS3 = (r: { path: string; s3?: unknown }, ctx: z.RefinementCtx): void => {
  if (r.path.startsWith('s3://') && !r.s3) ctx.addIssue({ code: 'custom', path: ['s3'], message: `${r.path} is on object storage: add an s3 section (endpoint, region, pathStyle, accessKeyId, secretAccessKey)` });
};
const repository = z.strictObject(repositoryFields).superRefine(needsS3);

/**
 * One tier of the seed's layout (local → NAS → object storage → archive): a repository of its own,
 * its medium, whether it is off-site, and its retention (default: the spec's). Sets are copied
 * down the tiers in order after a backup; recovery falls back along them.
 */
const tier = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'a short lower-case name such as nas, s3 or archive'),
    ...repositoryFields,
    medium: z.enum(MEDIA),
    offsite: z.boolean().default(false),
    retention: retention.optional(),
  })
  .superRefine(needsS3);

/** ZooKeeper paths: absolute, no trailing "/" (a registry node a client-switch hook writes). */
const zkPath = z.string().regex(/^(\/[^/\s]+)+$/, 'an absolute ZooKeeper path such as /services/kafka/bootstrap');

/**
 * Client-switch hooks (declared in the spec of the cluster clients move TO): how applications learn
 * the new bootstrap servers at a cut-over. Run in order; each has a dry run and a revert.
 * `${bootstrap}` in a value is the target's bootstrap servers, comma-joined.
 */
export const clientSwitchHookSchema = z.discriminatedUnion('type', [
  /** Sets a ZooKeeper node (created if missing) in the spec's own ensemble, or the one `connect` names. */
  z.strictObject({
    type: z.literal('registry-node'),
    path: zkPath,
    value: z.string().default('${bootstrap}'),
    connect: zkConnect.optional(),
    description: z.string().optional(),
  }),
  /** Runs a program (execFile, no shell unless `shell: true`); env LIFEBOAT_BOOTSTRAP/SOURCE/TARGET/DRY_RUN/REVERT. */
  z.strictObject({
    type: z.literal('command'),
    command: z.array(z.string().min(1)).min(1),
    shell: z.boolean().default(false),
    timeoutSeconds: z.number().positive().max(3600).default(60),
    description: z.string().optional(),
  }),
  /** Rewrites the `key` line (bootstrap.servers) of a Java properties file, keeping every other line. */
  z.strictObject({
    type: z.literal('bootstrap-file'),
    path: absPath,
    key: z.string().min(1).regex(/^[^\s=:]+$/, 'a property key (no spaces, "=" or ":")').default('bootstrap.servers'),
    description: z.string().optional(),
  }),
]);
export type ClientSwitchHook = z.infer<typeof clientSwitchHookSchema>;

/**
 * Overrides of the failover policy (src/failover/types.ts FailoverPolicy; defaults in
 * src/failover/policy.pure.ts). Every field optional: an absent one takes the default.
 */
export const failoverPolicySchema = z.strictObject({
  repairBudgetMinutes: z.number().min(0).max(24 * 60).optional(),
  confirmProbes: z.number().int().min(1).max(20).optional(),
  confirmIntervalSeconds: z.number().min(0).max(600).optional(),
  maxLagRecords: z.number().int().min(0).optional(),
  approvers: z.number().int().min(1).max(10).optional(),
  autoApprove: z.array(z.enum(['P0', 'P1', 'P2', 'P3'])).optional(),
  approvalTimeoutMinutes: z.number().positive().max(7 * 24 * 60).optional(),
  onApprovalTimeout: z.enum(['escalate', 'proceed', 'stand-down']).optional(),
  degradationLevel: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).optional(),
});
export type FailoverPolicySpec = z.infer<typeof failoverPolicySchema>;

/** A cluster's name: it names workflows, spec files and the alert receiver's label values. */
export const CLUSTER_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** A cluster name given on a command line: the name, or one InvalidInput line. */
export function clusterName(raw: string): string {
  if (!CLUSTER_NAME.test(raw)) throw new LifeboatError('InvalidInput', `a cluster name is lower-case letters, digits and "-", got ${JSON.stringify(raw)}`);
  return raw;
}

export const clusterSpecSchema = z.strictObject({
  name: z.string().min(1).regex(CLUSTER_NAME, 'lower-case letters, digits and "-" (it names workflows)'),
  kafka: z.strictObject({
    bootstrapServers: z.array(hostPort).min(1),
    mode: z.enum(['zookeeper', 'kraft']).default('zookeeper'),
    clientId: z.string().default('lifeboat'),
    ssl: z
      .strictObject({ ca: absPath.optional(), cert: absPath.optional(), key: absPath.optional(), rejectUnauthorized: z.boolean().default(true) })
      .optional(),
    sasl: z
      .strictObject({ mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']), username: z.string().min(1), password: secretRef })
      .optional(),
  }),
  zookeeper: z
    .strictObject({
      connect: zkConnect,
      chroot: z.string().regex(/^(\/[^/\s]+)*$/, 'an absolute path without a trailing "/", or empty').default(''),
      auth: z.array(z.strictObject({ scheme: z.string().min(1), credentials: secretRef })).default([]),
    })
    .optional(),
  /** A ZooKeeper-based service registry in the same ensemble (absolute paths, not under the chroot). */
  registry: z
    .strictObject({
      curator: z.string().regex(/^(\/[^/\s]+)+$/, 'an absolute ZooKeeper path such as /services').optional(),
      dubbo: z.string().regex(/^(\/[^/\s]+)+$/, 'an absolute ZooKeeper path such as /dubbo').optional(),
      /** Services kept at degradation level 4 ("core only"): names, or regular expressions matched like topics.critical. */
      critical: z.array(topicPattern).optional(),
    })
    .optional(),
  brokers: z.array(broker).default([]),
  repository: repository.optional(),
  offsiteRepository: repository.optional(),
  /** Further tiers after `repository` (and `offsiteRepository`), in copy and fallback order. */
  tiers: z
    .array(tier)
    .superRefine((tiers, ctx) => {
      // Commands and the backup's copies name a tier by its name; these two name the repositories above.
      const reserved = new Map([
        ['primary', 'repository'],
        ['offsite', 'offsiteRepository'],
      ]);
      const seen = new Map<string, number>();
      for (const [i, t] of tiers.entries()) {
        if (reserved.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${t.name}" is reserved for ${reserved.get(t.name)}: give this tier another name such as nas, s3 or archive` });
        const first = seen.get(t.name);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${t.name}" is also the name of tiers[${first}]: each tier needs a name of its own` });
        else seen.set(t.name, i);
      }
    })
    .default([]),
  retention: retention.default(DEFAULT_RETENTION),
  objectives: z.strictObject({ rtoMinutes: z.number().positive(), rpoMinutes: z.number().positive() }).default({ rtoMinutes: 30, rpoMinutes: 15 }),
  topics: z
    .strictObject({
      critical: z.array(topicPattern).default([]),
      disposable: z.array(topicPattern).default([]),
    })
    .default({ critical: [], disposable: [] }),
  standby: z.string().optional(),
  /**
   * What the cluster is for. Drills (issue 16) inject faults only into a cluster marked staging or
   * development; a production one (or an unmarked one) is refused unless the operator says so.
   */
  environment: z.enum(['production', 'staging', 'development']).optional(),
  /** How a failover from this cluster decides and asks (the standby is `standby` above). */
  failover: failoverPolicySchema.optional(),
  /** How clients switch to this cluster at a migration's (or failover's) cut-over. */
  clientSwitch: z.array(clientSwitchHookSchema).default([]),
});

export type ClusterSpec = z.infer<typeof clusterSpecSchema>;


function formatIssues(source: string, error: z.ZodError): string {
  const lines = error.issues.map((i) => {
    const path = i.path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');
    return `  ${path || '(top level)'}: ${i.message}`;
  });
  return `invalid cluster spec ${source}:\n${lines.join('\n')}`;
}

/** Path a is b or lies inside it (both absolute, normalized). */
const within = (a: string, b: string): boolean => a === b || a.startsWith(b === '/' ? '/' : `${b}/`);

/**
 * Log dirs that two brokers (or one broker twice) would share on one host: the same directory, or
 * one inside the other. Brokers on different hosts may well use the same path.
 */
function sharedLogDirs(brokers: BrokerSpec[]): string[] {
  const seen: { host: string; id: number; dir: string }[] = [];
  const problems: string[] = [];
  for (const [bi, b] of brokers.entries()) {
    for (const [di, raw] of b.logDirs.entries()) {
      const dir = posix.normalize(raw).replace(/(.)\/+$/, '$1');
      const other = seen.find((o) => o.host === b.host && (within(dir, o.dir) || within(o.dir, dir)));
      if (other) {
        const whose = other.id === b.id ? 'another log dir of this broker' : `the log dir of broker ${other.id} on host ${b.host}`;
        problems.push(`brokers[${bi}].logDirs[${di}]: ${raw} ${dir === other.dir ? 'is also' : 'overlaps'} ${whose} (${other.dir}); each broker needs log dirs of its own`);
      }
      seen.push({ host: b.host, id: b.id, dir });
    }
  }
  return problems;
}

export function parseSpec(input: unknown, source = '(input)'): ClusterSpec {
  const r = clusterSpecSchema.safeParse(input);
  if (!r.success) throw new SpecError(formatIssues(source, r.error));
  const ids = new Set<number>();
  for (const b of r.data.brokers) {
    if (ids.has(b.id)) throw new SpecError(`invalid cluster spec ${source}:\n  brokers: broker id ${b.id} appears twice`);
    ids.add(b.id);
  }
  const shared = sharedLogDirs(r.data.brokers);
  if (shared.length) throw new SpecError(`invalid cluster spec ${source}:\n${shared.map((l) => `  ${l}`).join('\n')}`);
  return r.data;
}

/** Every secret reference of a spec, with where it sits (for messages). */
function secretRefs(spec: ClusterSpec): { field: string; ref: SecretRef; set: (r: SecretRef) => void }[] {
  const out: { field: string; ref: SecretRef; set: (r: SecretRef) => void }[] = [];
  const repos: [string, { password: SecretRef; s3?: { accessKeyId: SecretRef; secretAccessKey: SecretRef } } | undefined][] = [
    ['repository', spec.repository],
    ['offsiteRepository', spec.offsiteRepository],
    ...spec.tiers.map((t, i): [string, (typeof spec.tiers)[number]] => [`tiers[${i}]`, t]),
  ];
  for (const [field, repo] of repos) {
    if (!repo) continue;
    out.push({ field: `${field}.password`, ref: repo.password, set: (r) => (repo.password = r) });
    const s3 = repo.s3;
    if (s3) {
      out.push({ field: `${field}.s3.accessKeyId`, ref: s3.accessKeyId, set: (r) => (s3.accessKeyId = r) });
      out.push({ field: `${field}.s3.secretAccessKey`, ref: s3.secretAccessKey, set: (r) => (s3.secretAccessKey = r) });
    }
  }
  const sasl = spec.kafka.sasl;
  if (sasl) out.push({ field: 'kafka.sasl.password', ref: sasl.password, set: (r) => (sasl.password = r) });
  for (const [i, a] of (spec.zookeeper?.auth ?? []).entries()) out.push({ field: `zookeeper.auth[${i}].credentials`, ref: a.credentials, set: (r) => (a.credentials = r) });
  return out;
}

export function loadSpec(file: string): ClusterSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SpecError(`cannot read cluster spec ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new SpecError(`cluster spec ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const spec = parseSpec(doc, file);
  // A relative secret file is relative to the spec, not to where a command or worker was started:
  // stored absolute, it is found by every process the spec travels to (workflow inputs).
  for (const s of secretRefs(spec)) if ('file' in s.ref && !isAbsolute(s.ref.file)) s.set({ file: resolve(specDir(file), s.ref.file) });
  return spec;
}



/** The registry's roots the spec names (Curator's services, Dubbo's), in that order; none without a registry. */
export const registryRootsOf = (spec: Pick<ClusterSpec, 'registry'>): string[] => [spec.registry?.curator, spec.registry?.dubbo].filter((r): r is string => !!r);

/** The spec's ZooKeeper credentials, secrets resolved, as a ZooKeeper session takes them. */
export const zkAuthOf = (spec: Pick<ClusterSpec, 'zookeeper'> | undefined): { scheme: string; credentials: string }[] =>
  (spec?.zookeeper?.auth ?? []).map((a) => ({ scheme: a.scheme, credentials: resolveSecret(a.credentials) }));

export const specDir = (file: string): string => dirname(resolve(file));
