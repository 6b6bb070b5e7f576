/**
 * The `kafka-metadata` snapshot component: what a cluster needs besides its data (seed §5) — cluster
 * id, brokers, topics (partitions, assignment, non-default configs), consumer-group offsets, ACLs.
 * ACL enums are stored by name ("TOPIC", "READ", "ALLOW"), not kafkajs's numbers, so the file reads
 * well and does not depend on a client library's numbering. Validated with zod when read back.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';
import { z } from 'zod';
import { type ErrorType, LifeboatError } from '../errors';

export const METADATA_FORMAT = 'lifeboat.kafka-metadata/v1';

const names = (e: Record<string, number | string>) => Object.keys(e).filter((k) => typeof e[k] === 'number') as [string, ...string[]];

export const ACL_RESOURCE_TYPES = names(AclResourceTypes as unknown as Record<string, number>);
export const ACL_OPERATIONS = names(AclOperationTypes as unknown as Record<string, number>);
export const ACL_PERMISSIONS = names(AclPermissionTypes as unknown as Record<string, number>);
export const ACL_PATTERN_TYPES = names(ResourcePatternTypes as unknown as Record<string, number>);

const offsetString = z.string().regex(/^-?\d+$/, 'an integer offset');

export const topicExportSchema = z.strictObject({
  name: z.string().min(1),
  partitions: z.number().int().min(1),
  replicationFactor: z.number().int().min(1),
  assignment: z.array(z.strictObject({ partition: z.number().int().min(0), replicas: z.array(z.number().int()) })),
  /** Only configs set on the topic itself (source TOPIC_CONFIG), not broker defaults. */
  configs: z.record(z.string(), z.string()),
  /** Sensitive topic configs: Kafka never returns their values, so they cannot be restored. */
  sensitiveConfigs: z.array(z.string()).default([]),
});
export type TopicExport = z.infer<typeof topicExportSchema>;

export const groupExportSchema = z.strictObject({
  groupId: z.string().min(1),
  state: z.string(),
  protocolType: z.string(),
  members: z.number().int().min(0),
  offsets: z.array(
    z.strictObject({ topic: z.string().min(1), partition: z.number().int().min(0), offset: offsetString, metadata: z.string().nullable() }),
  ),
});
export type GroupExport = z.infer<typeof groupExportSchema>;

export const aclExportSchema = z.strictObject({
  resourceType: z.enum(ACL_RESOURCE_TYPES),
  resourceName: z.string(),
  patternType: z.enum(ACL_PATTERN_TYPES),
  principal: z.string().min(1),
  host: z.string().min(1),
  operation: z.enum(ACL_OPERATIONS),
  permission: z.enum(ACL_PERMISSIONS),
});
export type AclExport = z.infer<typeof aclExportSchema>;

export const kafkaMetadataExportSchema = z.strictObject({
  format: z.literal(METADATA_FORMAT),
  exportedAt: z.string(),
  cluster: z.strictObject({
    id: z.string(),
    name: z.string().optional(),
    controller: z.number().int().nullable(),
    brokers: z.array(z.strictObject({ nodeId: z.number().int(), host: z.string(), port: z.number().int() })),
  }),
  topics: z.array(topicExportSchema),
  groups: z.array(groupExportSchema),
  acls: z.array(aclExportSchema),
  /** False when the cluster has no authorizer (ACLs could not be listed). */
  aclsCaptured: z.boolean(),
  warnings: z.array(z.string()),
});
export type KafkaMetadataExport = z.infer<typeof kafkaMetadataExportSchema>;

/** Validates an export read from a file or a snapshot; the first problem names its field. */
export function parseMetadataExport(value: unknown, where: string, errorType: ErrorType = 'CorruptBackup'): KafkaMetadataExport {
  const r = kafkaMetadataExportSchema.safeParse(value);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  const path = i.path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');
  throw new LifeboatError(errorType, `malformed Kafka metadata in ${where}: ${path || '(top level)'}: ${i.message}`);
}
