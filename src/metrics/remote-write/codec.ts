import protobuf from 'protobufjs';
import { compress, uncompress } from 'snappyjs';

/**
 * Prometheus remote write 1.0 (https://prometheus.io/docs/specs/remote_write_spec/): a
 * snappy-compressed (block format) protobuf WriteRequest, the messages of prometheus/prompb
 * remote.proto and types.proto that carry samples and metadata.
 */
const PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest {
  repeated TimeSeries timeseries = 1;
  repeated MetricMetadata metadata = 3;
}
message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
}
message Label {
  string name = 1;
  string value = 2;
}
message Sample {
  double value = 1;
  int64 timestamp = 2;
}
message MetricMetadata {
  enum MetricType {
    UNKNOWN = 0; COUNTER = 1; GAUGE = 2; HISTOGRAM = 3; GAUGEHISTOGRAM = 4; SUMMARY = 5; INFO = 6; STATESET = 7;
  }
  MetricType type = 1;
  string metric_family_name = 2;
  string help = 4;
  string unit = 5;
}
`;

// int64 timestamps decode as plain numbers (epoch ms fits in 2^53) instead of Long objects.
Reflect.set(protobuf.util, 'Long', undefined);
protobuf.configure();
const WriteRequestType = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('prometheus.WriteRequest');

export interface RemoteLabel {
  name: string;
  value: string;
}

export interface RemoteSample {
  value: number;
  /** Epoch milliseconds. */
  timestamp: number;
}

export interface RemoteTimeSeries {
  labels: RemoteLabel[];
  samples: RemoteSample[];
}

export type RemoteMetricType = 'UNKNOWN' | 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'GAUGEHISTOGRAM' | 'SUMMARY' | 'INFO' | 'STATESET';

export interface RemoteMetadata {
  type: RemoteMetricType;
  metric_family_name: string;
  help: string;
  unit: string;
}

export interface WriteRequest {
  timeseries: RemoteTimeSeries[];
  metadata: RemoteMetadata[];
}

/** The body of a remote-write POST: protobuf, then snappy. */
export function encodeWriteRequest(request: { timeseries: RemoteTimeSeries[]; metadata?: RemoteMetadata[] }): Uint8Array {
  const message = WriteRequestType.fromObject({ timeseries: request.timeseries, metadata: request.metadata ?? [] });
  return compress(WriteRequestType.encode(message).finish());
}

export class RemoteWriteDecodeError extends Error {}

/** Reads a remote-write body; refuses one that would inflate past `maxBytes` before inflating it. */
export function decodeWriteRequest(body: Uint8Array, maxBytes: number): WriteRequest {
  let raw: Uint8Array;
  try {
    raw = uncompress(body, maxBytes);
  } catch (error) {
    throw new RemoteWriteDecodeError(`not a snappy block within ${maxBytes} bytes: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const message = WriteRequestType.decode(raw);
    const object = WriteRequestType.toObject(message, { enums: String, defaults: true, arrays: true });
    return object as WriteRequest;
  } catch (error) {
    throw new RemoteWriteDecodeError(`not a protobuf WriteRequest: ${error instanceof Error ? error.message : String(error)}`);
  }
}
