/**
 * Every kafkajs internal Lifeboat uses, in one place. kafkajs's public API has no raw request, no
 * assignment-free reader and no connection of one's own, so the wire code borrows these:
 *   - the Cluster (through the client's private cluster factory): broker connections, metadata,
 *     API versions, SASL; its brokers' connection pools and their options;
 *   - network/connection: a connection kafkajs opens and authenticates, then hands over (connection.ts);
 *   - protocol/error: an error code's type and whether it is retriable;
 *   - protocol/encoder and the Metadata v1 response decoder: one broker's metadata as it is (ready.ts);
 *   - protocol/decoder and the record header decoder: the wire order of headers (topicReader.ts).
 * kafkajs is pinned exactly in package.json (internals change without notice); a unit test keeps
 * `kafkajs/src` out of every other file of the product.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Kafka } from 'kafkajs';

const req = createRequire(__filename);

/** The kafkajs version these internals were written against (package.json pins it). */
export const KAFKAJS_VERSION = '2.2.4';

const installed = (): string => {
  try {
    return (req('kafkajs/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

function internal<T>(path: string): T {
  try {
    return req(`kafkajs/src/${path}`) as T;
  } catch (e) {
    throw new Error(`kafkajs ${installed()} has no src/${path} (Lifeboat needs kafkajs ${KAFKAJS_VERSION}): ${(e as Error).message}`, { cause: e });
  }
}

export interface ApiVersion {
  minVersion: number;
  maxVersion: number;
}

export interface WireRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse?: () => boolean;
  encode: () => Promise<unknown>;
}

export interface WireResponse<T> {
  decode: (raw: Buffer) => Promise<T>;
  parse: (data: T) => Promise<T>;
}

/** What kafkajs's ConnectionPool keeps of the options its connections are made with. */
export interface KafkajsPoolOptions {
  host: string;
  port: number;
  ssl: unknown;
  sasl: unknown;
  clientId: string;
  socketFactory: unknown;
  connectionTimeout: number;
}

export interface KafkajsConnectionPool extends KafkajsPoolOptions {
  send: (r: { request: WireRequest; response: WireResponse<unknown>; requestTimeout?: number }) => Promise<unknown>;
}

export interface KafkajsBroker {
  nodeId: number;
  versions: Record<number, ApiVersion> | null;
  connectionPool: KafkajsConnectionPool;
  initProducerId: (a: { transactionalId?: string | null; transactionTimeout: number }) => Promise<{ errorCode: number; producerId: string; producerEpoch: number }>;
  /** DescribeAcls answered by this broker from its own authorizer (not the controller's view). */
  describeAcls: (f: {
    resourceType: number;
    resourceName: string | null;
    resourcePatternType: number;
    principal: string | null;
    host: string | null;
    operation: number;
    permissionType: number;
  }) => Promise<{ resources: { resourceType: number; resourceName: string; resourcePatternType: number; acls: { principal: string; host: string; operation: number; permissionType: number }[] }[] }>;
  /** OffsetCommit to this broker (the group's coordinator); a partition's error code is thrown. */
  offsetCommit: (a: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    retentionTime?: number;
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }) => Promise<unknown>;
  listOffsets: (a: {
    replicaId: number;
    isolationLevel: number;
    topics: { topic: string; partitions: { partition: number; timestamp: number }[] }[];
  }) => Promise<{ responses: { topic: string; partitions: { partition: number; errorCode: number; offset: string }[] }[] }>;
}

export interface KafkajsCluster {
  connect: () => Promise<void>;
  disconnect: () => Promise<void>;
  refreshMetadata: () => Promise<void>;
  addMultipleTargetTopics: (topics: string[]) => Promise<void>;
  findTopicPartitionMetadata: (topic: string) => { partitionId: number; leader: number | null }[];
  findBroker: (a: { nodeId: number }) => Promise<KafkajsBroker>;
  /** coordinatorType 1: the transaction coordinator of a transactional id. */
  findGroupCoordinator: (a: { groupId: string; coordinatorType?: number }) => Promise<KafkajsBroker>;
  getNodeIds: () => number[];
  brokerPool: {
    seedBroker: {
      connectionPool: KafkajsConnectionPool;
      /** DescribeConfigs answered by the seed broker itself (no metadata needed: kafkajs's admin refuses metadata with a leaderless partition). */
      describeConfigs: (a: { resources: { type: number; name: string; configNames?: string[] }[]; includeSynonyms?: boolean }) => Promise<{
        resources: { errorCode: number; resourceName: string; configEntries: { configName: string; configValue: string | null }[] }[];
      }>;
    };
  };
}

/** kafkajs's cluster object for `kafka`: its own connections, with metadata only for the topics added. */
export function clusterOf(kafka: Kafka): KafkajsCluster {
  const factory = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = factory && (kafka as unknown as Record<symbol, unknown>)[factory];
  if (typeof create !== 'function') throw new Error(`kafkajs ${installed()} does not expose its cluster factory (Lifeboat needs kafkajs ${KAFKAJS_VERSION})`);
  return (create as (o: object) => KafkajsCluster)({ metadataMaxAge: 300_000, allowAutoTopicCreation: false, maxInFlightRequests: null });
}

export type ProtocolError = Error & { type: string; retriable: boolean; code: number };

/** kafkajs's error for a protocol error code: `type` (e.g. NOT_LEADER_FOR_PARTITION) and `retriable`. */
export function protocolError(code: number): ProtocolError {
  const { createErrorFromCode } = internal<{ createErrorFromCode: (c: number) => ProtocolError }>('protocol/error');
  return createErrorFromCode(code);
}

/** A kafkajs connection: Lifeboat connects and authenticates it, then reads its socket itself. */
export interface KafkajsConnection {
  socket: Socket;
  sasl: unknown;
  /** Authenticated, and not within kafkajs's threshold (10 s) of the session lifetime the broker gave. */
  isAuthenticated(): boolean;
  connect(): Promise<boolean>;
  authenticate(): Promise<void>;
  disconnect(): Promise<boolean>;
  setVersions(v: unknown): void;
  setSupportAuthenticationProtocol(supported: boolean): void;
  processData(data: Buffer): void;
}

export function newConnection(options: KafkajsPoolOptions & { requestTimeout: number; logger: unknown }): KafkajsConnection {
  const Connection = internal<new (o: object) => KafkajsConnection>('network/connection');
  return new Connection(options);
}

/** kafkajs's default socket factory (plain TCP, or TLS when `ssl` is set). */
export function defaultSocketFactory(): unknown {
  return internal<() => unknown>('network/socketFactory')();
}

export interface MetadataV1 {
  brokers: { nodeId: number; host: string; port: number }[];
  controllerId: number;
  topicMetadata: {
    topicErrorCode: number;
    topic: string;
    partitionMetadata: { partitionErrorCode: number; partitionId: number; leader: number; replicas: number[]; isr: number[] }[];
  }[];
}

/**
 * A Metadata v1 request for exactly these topics (an empty list asks for none, not all; null asks
 * for every topic) and its decoder, without kafkajs's all-or-nothing parsing (a partition without a
 * leader is an answer).
 */
export function metadataV1(topics: string[] | null): { request: WireRequest; response: WireResponse<MetadataV1> } {
  const Encoder = internal<new () => { writeArray(a: string[], type: string, length: number): unknown; writeInt32(n: number): unknown }>('protocol/encoder');
  const { decode } = internal<{ decode: (raw: Buffer) => Promise<MetadataV1> }>('protocol/requests/metadata/v1/response');
  return {
    request: { apiKey: 3, apiVersion: 1, apiName: 'Metadata', encode: async () => (topics === null ? new Encoder().writeInt32(-1) : new Encoder().writeArray(topics, 'string', topics.length)) },
    response: { decode, parse: async (d: MetadataV1) => d },
  };
}

/**
 * A Metadata v4 request for exactly these topics (as metadataV1) that never creates one: v1-v3 let a
 * broker with auto.create.topics.enable (Kafka's default) create a topic it is asked about and does
 * not know. The answer decodes to the same shape (v4's extra fields aside).
 */
export function metadataV4(topics: string[] | null): { request: WireRequest; response: WireResponse<MetadataV1> } {
  const Encoder = internal<new () => { writeArray(a: string[], type: string, length: number): unknown; writeInt32(n: number): unknown; writeBoolean(b: boolean): unknown }>('protocol/encoder');
  const { decode } = internal<{ decode: (raw: Buffer) => Promise<MetadataV1> }>('protocol/requests/metadata/v4/response');
  // Encoded here, not by kafkajs's v4 request, which writes an empty list as null (every topic).
  const encode = async () => {
    const e = new Encoder();
    if (topics === null) e.writeInt32(-1);
    else e.writeArray(topics, 'string', topics.length);
    e.writeBoolean(false);
    return e;
  };
  return { request: { apiKey: 3, apiVersion: 4, apiName: 'Metadata', encode }, response: { decode, parse: async (d: MetadataV1) => d } };
}

/** kafkajs's Decoder class and its record header decoder (to see headers in wire order); undefined if absent. */
export function headerDecoding(): { Decoder: { prototype: { readVarIntArray: (reader: unknown) => unknown[] } }; HeaderDecoder: unknown } | undefined {
  try {
    return { Decoder: internal('protocol/decoder'), HeaderDecoder: internal('protocol/recordBatch/header/v0/decoder') };
  } catch {
    return undefined;
  }
}
