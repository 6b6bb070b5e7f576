/** docker-compose.yml cannot run here (no Docker engine); keep it parseable and in step with the native lab. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { labTopology } from '../../lab/topology';

type Service = { ports?: string[]; environment?: Record<string, string | number> };

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> };
  const topo = labTopology({});

  it('has a service per lab broker with the same id, port and chroot', () => {
    for (const c of topo.clusters) {
      for (const b of c.brokers) {
        const svc = compose.services[`${c.name}-${b.id}`];
        expect(svc, `${c.name}-${b.id}`).toBeDefined();
        expect(Number(svc!.environment!.KAFKA_BROKER_ID)).toBe(b.id);
        expect(svc!.environment!.KAFKA_ZOOKEEPER_CONNECT).toBe(`zookeeper:2181${c.chroot}`);
        expect(svc!.environment!.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://127.0.0.1:${b.port}`);
        expect(svc!.ports).toContain(`127.0.0.1:${b.port}:${b.port}`);
        expect(svc!.environment!.KAFKA_AUTHORIZER_CLASS_NAME).toBe('kafka.security.authorizer.AclAuthorizer');
      }
    }
  });

  it('has the KRaft cluster "next" with the native lab ports and Kafka version', () => {
    for (const b of topo.kraft.brokers) {
      const svc = compose.services[`${topo.kraft.name}-${b.id}`] as Service & { image?: string };
      expect(svc, `${topo.kraft.name}-${b.id}`).toBeDefined();
      expect(svc.image).toBe(`apache/kafka:${topo.kraft.kafkaVersion}`);
      expect(Number(svc.environment!.KAFKA_NODE_ID)).toBe(b.id);
      expect(svc.environment!.KAFKA_PROCESS_ROLES).toBe('broker,controller');
      expect(svc.environment!.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://127.0.0.1:${b.port}`);
      expect(svc.ports).toContain(`127.0.0.1:${b.port}:${b.port}`);
      expect(svc.environment!.KAFKA_ZOOKEEPER_CONNECT).toBeUndefined();
    }
  });

  it('publishes Temporal and ZooKeeper on the native lab ports', () => {
    expect(compose.services.temporal!.ports).toContain(`127.0.0.1:${topo.temporal.port}:7233`);
    expect(compose.services.temporal!.ports).toContain(`127.0.0.1:${topo.temporal.uiPort}:8233`);
    expect(compose.services.zookeeper!.ports).toContain(`127.0.0.1:${topo.zookeeper.port}:2181`);
  });
});
