/**
 * Histories as JSON files in the format other Temporal tools write (`temporal workflow show
 * --output json`, the UI's download): protobuf's canonical JSON of temporal.api.history.v1.History.
 *
 * Not @temporalio/common's historyToJSON/historyFromJSON: in this install they fail with "type must
 * be a Type", because npm gave @temporalio/common and @temporalio/proto separate copies of
 * protobufjs 8 (the top level holds @grpc/proto-loader's protobufjs 7) and protojson checks
 * `instanceof Type` across them. The protojson beside @temporalio/proto's own copy is used instead.
 */
import { createRequire } from 'node:module';
import type { temporal } from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type History = temporal.api.history.v1.History;
type ProtoJson = {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
};

const protoRequire = createRequire(require.resolve('@temporalio/proto'));
const { toJson, fromJson } = protoRequire('protobufjs/ext/protojson') as ProtoJson;
// The CommonJS module itself (its root), as the SDK loads it; an ESM namespace of it has no lookupType.
const proto = protoRequire('@temporalio/proto') as { temporal: typeof temporal };
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export function historyToJson(history: temporal.api.history.v1.IHistory): string {
  return JSON.stringify(toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
}

/** Unknown fields (a newer server's) are skipped, as the SDK's own loader does. */
export function historyFromJson(text: string): History {
  const history = fromJson(historyType, JSON.parse(text), { ignoreUnknownFields: true }) as History | null;
  if (!history?.events?.length) throw new Error('not a workflow history (no events)');
  return history;
}
