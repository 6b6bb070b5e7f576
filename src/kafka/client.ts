/**
 * kafkajs clients built from a cluster spec. kafkajs's own logging is routed to stderr at WARN
 * so it never interleaves with --json output.
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { type ClusterSpec, resolveSecret, SpecError } from '../config/spec';

/** A TLS file of the spec, read; a missing or unreadable one is one line naming the field and the file. */
function tlsFile(field: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this process' : `cannot be read (${code ?? String(e)})`;
    throw new SpecError(`kafka.ssl.${field}: the TLS file ${path} ${why}`);
  }
}

export function kafkaConfig(spec: ClusterSpec, clientSuffix?: string): KafkaConfig {
  const k = spec.kafka;
  const config: KafkaConfig = {
    clientId: clientSuffix ? `${k.clientId}-${clientSuffix}` : k.clientId,
    brokers: k.bootstrapServers,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
    logLevel: process.env.LIFEBOAT_KAFKA_DEBUG ? logLevel.DEBUG : logLevel.NOTHING,
  };
  if (k.ssl) {
    config.ssl = {
      rejectUnauthorized: k.ssl.rejectUnauthorized,
      ca: k.ssl.ca ? [tlsFile('ca', k.ssl.ca)] : undefined,
      cert: k.ssl.cert ? tlsFile('cert', k.ssl.cert) : undefined,
      key: k.ssl.key ? tlsFile('key', k.ssl.key) : undefined,
    };
  }
  if (k.sasl) {
    config.sasl = { mechanism: k.sasl.mechanism, username: k.sasl.username, password: resolveSecret(k.sasl.password) } as SASLOptions;
  }
  return config;
}

export const kafkaFor = (spec: ClusterSpec, clientSuffix?: string): Kafka => new Kafka(kafkaConfig(spec, clientSuffix));
