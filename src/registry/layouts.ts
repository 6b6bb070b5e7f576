/**
 * The two ZooKeeper registry layouts Lifeboat understands, parsed into the seed document's instance
 * shape (ip, port, status, metadata):
 *
 * - Curator service discovery: `<base>/<service>/<instance id>`, data = JSON ServiceInstance
 *   ({ name, id, address, port, sslPort, payload, registrationTimeUTC, serviceType, uriSpec, enabled }).
 * - Dubbo: `<base>/<interface>/providers/<url-encoded dubbo://ip:port/interface?k=v&...>`, no data.
 */
export type RegistryLayout = 'curator' | 'dubbo';

export interface RegistryInstance {
  id: string;
  ip: string;
  port: number;
  status: string;
  metadata: Record<string, string>;
  /** Absolute znode path of the registration. */
  znode: string;
  ephemeral: boolean;
  mzxid: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** Curator: one instance node's JSON. Returns null for nodes that are not instances. */
export function parseCuratorInstance(id: string, data: Buffer | null): Omit<RegistryInstance, 'znode' | 'ephemeral' | 'mzxid'> | null {
  if (!data || data.length === 0) return null;
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null || typeof doc.address !== 'string') return null;
  const metadata: Record<string, string> = {};
  const payload = doc.payload;
  if (payload && typeof payload === 'object') {
    for (const [k, v] of Object.entries(payload as Record<string, unknown>)) if (k !== '@class' && v !== null && v !== undefined) metadata[k] = str(v);
  } else if (payload !== null && payload !== undefined) metadata.payload = str(payload);
  for (const k of ['sslPort', 'serviceType', 'uriSpec', 'registrationTimeUTC']) if (doc[k] !== null && doc[k] !== undefined) metadata[k] = str(doc[k]);
  const status = doc.enabled === false ? 'DOWN' : typeof metadata.status === 'string' ? metadata.status.toUpperCase() : 'UP';
  return { id: typeof doc.id === 'string' ? doc.id : id, ip: doc.address, port: Number(doc.port ?? 0), status, metadata };
}

/** Dubbo: one providers child name (URL-encoded). Returns null for names that are not dubbo URLs. */
export function parseDubboProvider(encoded: string): Omit<RegistryInstance, 'znode' | 'ephemeral' | 'mzxid'> | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    return null;
  }
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/:?]+):(\d+)(\/[^?]*)?(?:\?(.*))?$/i.exec(decoded);
  if (!m) return null;
  const metadata: Record<string, string> = { protocol: m[1]! };
  if (m[4]) metadata.path = m[4].slice(1);
  for (const [k, v] of new URLSearchParams(m[5] ?? '')) metadata[k] = v;
  const down = metadata.enabled === 'false' || metadata.disabled === 'true';
  return { id: `${m[2]}:${m[3]}`, ip: m[2]!, port: Number(m[3]), status: down ? 'DOWN' : 'UP', metadata };
}

/** The provider child name Dubbo writes for a URL (used by the probe and tests). */
export const dubboProviderName = (url: string): string => encodeURIComponent(url);

/** The JSON Curator's JsonInstanceSerializer writes (used by the probe and tests). */
export function curatorInstanceJson(i: { name: string; id: string; address: string; port: number; payload?: unknown }): Buffer {
  return Buffer.from(
    JSON.stringify({
      name: i.name,
      id: i.id,
      address: i.address,
      port: i.port,
      sslPort: null,
      payload: i.payload ?? null,
      registrationTimeUTC: Date.now(),
      serviceType: 'DYNAMIC',
      uriSpec: null,
    }),
  );
}
