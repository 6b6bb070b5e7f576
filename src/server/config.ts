/**
 * The receiver's config file (YAML), validated with zod; every error names the field. Secrets are
 * references as in cluster specs ({ file } relative to the config file, or { env }), read once at
 * start-up: a receiver without its token does not start (fail closed).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { LifeboatError } from '../errors';
import { CLUSTER_NAME, secretRef, type SecretRef } from '../config/spec';
import { DEFAULT_CLUSTER_LABEL, DEFAULT_MATCH_LABELS, type MatchRules, type Route } from './alerts';

export const DEFAULT_LISTEN = '127.0.0.1:9464';
export const DEFAULT_SIGNATURE_HEADER = 'X-Grafana-Alerting-Signature';
export const DEFAULT_TIMESTAMP_HEADER = 'X-Grafana-Alerting-Timestamp';
const ROUTES = ['alertmanager', 'grafana', 'generic'] as const;

export const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/, 'host:port such as 127.0.0.1:9464')
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'the port is 1-65535');

const cluster = z.string().regex(CLUSTER_NAME, 'a cluster spec name (lower-case letters, digits, "-")');

export const serverConfigSchema = z.strictObject({
  listen: listenAddress.default(DEFAULT_LISTEN),
  /** Every alert route needs `Authorization: Bearer <token>`. */
  token: secretRef,
  hmac: z
    .strictObject({
      secret: secretRef,
      skewSeconds: z.number().int().positive().max(86_400).default(300),
      header: z.string().min(1).default(DEFAULT_SIGNATURE_HEADER),
      timestampHeader: z.string().min(1).default(DEFAULT_TIMESTAMP_HEADER),
      /** Routes that need the signature besides the token (Alertmanager cannot sign). */
      routes: z.array(z.enum(ROUTES)).min(1).default([...ROUTES]),
    })
    .optional(),
  match: z
    .strictObject({
      labels: z.record(z.string(), z.string()).default(DEFAULT_MATCH_LABELS),
      clusterLabel: z.string().min(1).default(DEFAULT_CLUSTER_LABEL),
    })
    .default({ labels: DEFAULT_MATCH_LABELS, clusterLabel: DEFAULT_CLUSTER_LABEL }),
  /** The clusters alerts may fail over (fail closed: others are left alone, 202 and audited). */
  clusters: z.array(cluster).min(1),
  /** How long a request waits for Temporal before it is answered 503 (Alertmanager retries). */
  temporalTimeoutSeconds: z.number().positive().max(60).default(10),
  /** GET /metrics: the backup facts of these cluster specs (files, or directories of *.yaml), read on every scrape. */
  metrics: z
    .strictObject({
      specs: z.array(z.string().min(1)).min(1),
      /** One gathering serves the scrapes of this many seconds (an HA pair of Prometheus servers). */
      cacheSeconds: z.number().min(0).max(3600).default(10),
      /** A spec whose facts take longer is exported as not gathered (lifeboat_backup_facts_up 0). */
      timeoutSeconds: z.number().positive().max(300).default(20),
      /** Scrapes need the receiver's bearer token too (Prometheus: authorization.credentials_file). */
      requireToken: z.boolean().default(false),
    })
    .optional(),
});
export type ServerConfigFile = z.infer<typeof serverConfigSchema>;

/** The config with its secrets read: what the server runs with. */
export interface ServerConfig {
  listen: string;
  token: string;
  hmac?: { secret: string; skewSeconds: number; header: string; timestampHeader: string; routes: Route[] };
  match: MatchRules;
  temporalTimeoutMs: number;
  /** The specs /metrics watches (paths resolved against the config file's directory); absent: /metrics is 404. */
  metrics?: { specs: string[]; cacheMs: number; timeoutMs: number; requireToken?: boolean };
}

function readSecret(ref: SecretRef, field: string, baseDir: string, env: NodeJS.ProcessEnv): string {
  let value: string;
  if ('env' in ref) {
    value = env[ref.env] ?? '';
    if (!value) throw new LifeboatError('InvalidInput', `${field}: ${ref.env} is not set in the environment of lifeboat serve`);
  } else {
    const path = isAbsolute(ref.file) ? ref.file : resolve(baseDir, ref.file);
    try {
      value = readFileSync(path, 'utf8').trim();
    } catch (e) {
      throw new LifeboatError('InvalidInput', `${field}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    if (!value) throw new LifeboatError('InvalidInput', `${field}: ${path} is empty`);
  }
  return value;
}

/** Validates a parsed config and reads its secrets (relative secret files from `baseDir`). */
export function resolveServerConfig(raw: unknown, source: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const parsed = serverConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new LifeboatError('InvalidInput', `invalid receiver config ${source}:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return {
    listen: c.listen,
    token: readSecret(c.token, 'token', baseDir, env),
    ...(c.hmac ? { hmac: { ...c.hmac, secret: readSecret(c.hmac.secret, 'hmac.secret', baseDir, env) } } : {}),
    match: { labels: c.match.labels, clusterLabel: c.match.clusterLabel, clusters: c.clusters },
    temporalTimeoutMs: c.temporalTimeoutSeconds * 1000,
    ...(c.metrics
      ? { metrics: { specs: c.metrics.specs.map((p) => (isAbsolute(p) ? p : resolve(baseDir, p))), cacheMs: c.metrics.cacheSeconds * 1000, timeoutMs: c.metrics.timeoutSeconds * 1000, requireToken: c.metrics.requireToken } }
      : {}),
  };
}

export function loadServerConfig(file: string, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LifeboatError('InvalidInput', `cannot read receiver config ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new LifeboatError('InvalidInput', `receiver config ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return resolveServerConfig(raw, path, dirname(path), env);
}

/** host and port of a listen address ("[::1]:9464" → "::1", 9464). */
export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(listen.slice(i + 1)) };
}
