/**
 * kafkajs clients built from a cluster spec. kafkajs's own logging is routed to stderr at WARN
 * so it never interleaves with --json output.
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { type ClusterSpec, resolveSecret } from '../config/spec';

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
      ca: k.ssl.ca ? [readFileSync(k.ssl.ca, 'utf8')] : undefined,
      cert: k.ssl.cert ? readFileSync(k.ssl.cert, 'utf8') : undefined,
      key: k.ssl.key ? readFileSync(k.ssl.key, 'utf8') : undefined,
    };
  }
  if (k.sasl) {
    config.sasl = { mechanism: k.sasl.mechanism, username: k.sasl.username, password: resolveSecret(k.sasl.password) } as SASLOptions;
  }
  return config;
}

export const kafkaFor = (spec: ClusterSpec, clientSuffix?: string): Kafka => new Kafka(kafkaConfig(spec, clientSuffix));
