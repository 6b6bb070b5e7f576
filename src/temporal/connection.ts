/**
 * Connection to Temporal from Temporal's own environment conventions, so Lifeboat points at any
 * cluster the way the `temporal` CLI does: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_TLS, TEMPORAL_TLS_CERT/KEY (paths), TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME.
 * Without TEMPORAL_ADDRESS it uses Temporal's own default, localhost:7233. The lab prints its
 * exports (`eval "$(npm run -s lab -- env)"`); nothing here knows the lab.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from '@temporalio/client';
import { LifeboatError } from '../errors';

export { CONTROL_TASK_QUEUE, CONTROL_TASK_QUEUE as TASK_QUEUE, hostTaskQueue } from './taskQueues.pure';

/** Temporal's own default (the `temporal` CLI and SDKs use it too). */
export const DEFAULT_ADDRESS = 'localhost:7233';

export interface TemporalSettings {
  address: string;
  namespace: string;
  connection: ConnectionOptions;
  /** Base URL of the Web UI, for links in reports (TEMPORAL_UI_URL; localhost:8233 beside a default local server). */
  uiUrl?: string;
}

function readPath(env: NodeJS.ProcessEnv, name: string): Buffer | undefined {
  const path = env[name];
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw new LifeboatError('InvalidInput', `${name}=${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = env.TEMPORAL_ADDRESS || DEFAULT_ADDRESS;
  const namespace = env.TEMPORAL_NAMESPACE || 'default';
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const cert = readPath(env, 'TEMPORAL_TLS_CERT');
  const key = readPath(env, 'TEMPORAL_TLS_KEY');
  const ca = readPath(env, 'TEMPORAL_TLS_CA');
  const tlsWanted = env.TEMPORAL_TLS === 'true' || !!cert || !!ca || !!apiKey;
  if (!!cert !== !!key) throw new LifeboatError('InvalidInput', 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
  const connection: ConnectionOptions = { address };
  if (tlsWanted) {
    connection.tls = {
      serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME || undefined,
      serverRootCACertificate: ca,
      clientCertPair: cert && key ? { crt: cert, key } : undefined,
    };
  }
  if (apiKey) connection.apiKey = apiKey;
  // A local dev server's UI listens beside it on 8233; elsewhere only TEMPORAL_UI_URL says where the UI is.
  const uiUrl = env.TEMPORAL_UI_URL || (env.TEMPORAL_ADDRESS ? undefined : 'http://localhost:8233');
  return { address, namespace, connection, uiUrl };
}

export function workflowUiLink(settings: TemporalSettings, workflowId: string, runId?: string): string | undefined {
  if (!settings.uiUrl) return undefined;
  const base = `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}

/**
 * A failed connection to Temporal as one line (exit 18). The native client's error is a Rust
 * transport dump ("tonic::transport::Error(Transport, ConnectError(…Connection refused…))"): keep
 * only its reason.
 */
export function temporalUnreachable(address: string, e: unknown): LifeboatError {
  const raw = (e as Error)?.message ?? String(e);
  const reason =
    /message: "([^"]+)"/.exec(raw)?.[1] ??
    /(Connection refused|connection refused|timed out|dns error[^)"]*|No connection established[^)"]*|certificate[^)"]*)/.exec(raw)?.[1] ??
    raw.split('\n')[0]!.slice(0, 200);
  return new LifeboatError('Unreachable', `cannot reach Temporal at ${address}: ${reason.toLowerCase()} (set TEMPORAL_ADDRESS, or start the lab)`);
}
