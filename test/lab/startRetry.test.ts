import { describe, expect, it } from 'vitest';
import { transientStartFailure } from '../../lab/lab';

// What a 3.9 broker printed in CI when its 6 s ZooKeeper session expired during a busy `lab up`.
const sessionExpired = `[2026-12-03 21:50:08,342] ERROR Exiting Kafka due to fatal exception during startup. (kafka.Kafka$)
org.apache.zookeeper.KeeperException$SessionExpiredException: KeeperErrorCode = Session expired for /feature
	at kafka.server.FinalizedFeatureChangeListener.initOrThrow(FinalizedFeatureChangeListener.scala:231)`;

describe('broker start-up failures the lab retries', () => {
  it('retries a start that lost its ZooKeeper session', () => {
    expect(transientStartFailure(sessionExpired)).toBe(true);
    expect(transientStartFailure('kafka.zookeeper.ZooKeeperClientTimeoutException: Timed out waiting for connection while in state: CONNECTING')).toBe(true);
  });

  it('does not retry a real failure', () => {
    expect(transientStartFailure('org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:19091: Address already in use.')).toBe(false);
    expect(transientStartFailure('kafka.common.InconsistentClusterIdException: The Cluster ID doesn\'t match stored clusterId')).toBe(false);
    expect(transientStartFailure('')).toBe(false);
  });
});
