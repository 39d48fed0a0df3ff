import protobuf from 'protobufjs';

/**
 * OTLP metrics (opentelemetry-proto v1: collector/metrics/v1, metrics/v1, common/v1,
 * resource/v1): the messages an OTLP/HTTP exporter sends, as protobuf or as protobuf's JSON
 * mapping. Exemplars, exponential histograms' buckets and metadata are not read.
 */
const PROTO = `
syntax = "proto3";
package otlp;
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1; }
message ExportMetricsPartialSuccess { int64 rejected_data_points = 1; string error_message = 2; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
message Metric {
  string name = 1; string description = 2; string unit = 3;
  oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; Summary summary = 11; }
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message Summary { repeated SummaryDataPoint data_points = 1; }
message NumberDataPoint {
  repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; }
  uint32 flags = 8;
}
message HistogramDataPoint {
  repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
  uint32 flags = 10; optional double min = 11; optional double max = 12;
}
message ExponentialHistogramDataPoint { repeated KeyValue attributes = 1; fixed64 time_unix_nano = 3; fixed64 count = 4; }
message SummaryDataPoint {
  repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; double sum = 5; repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8;
}
message ValueAtQuantile { double quantile = 1; double value = 2; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
`;

const root = protobuf.parse(PROTO).root;
const RequestType = root.lookupType('otlp.ExportMetricsServiceRequest');
const ResponseType = root.lookupType('otlp.ExportMetricsServiceResponse');

/** The answer: empty, or a partial success naming the data points not stored and why. */
export function encodeResponse(rejected: number, message: string): Uint8Array {
  return ResponseType.encode(ResponseType.fromObject(rejected === 0 ? {} : { partialSuccess: { rejectedDataPoints: rejected, errorMessage: message } })).finish();
}

export interface KeyValue {
  key: string;
  value?: { stringValue?: string; boolValue?: boolean; intValue?: number | string; doubleValue?: number; arrayValue?: { values?: unknown[] }; kvlistValue?: unknown; bytesValue?: string };
}
export interface NumberDataPoint {
  attributes?: KeyValue[];
  timeUnixNano?: number | string;
  asDouble?: number;
  asInt?: number | string;
  flags?: number;
}
export interface HistogramDataPoint {
  attributes?: KeyValue[];
  timeUnixNano?: number | string;
  count?: number | string;
  sum?: number;
  bucketCounts?: Array<number | string>;
  explicitBounds?: number[];
  flags?: number;
}
export interface SummaryDataPoint {
  attributes?: KeyValue[];
  timeUnixNano?: number | string;
  count?: number | string;
  sum?: number;
  quantileValues?: Array<{ quantile?: number; value?: number }>;
  flags?: number;
}
export interface Metric {
  name?: string;
  unit?: string;
  gauge?: { dataPoints?: NumberDataPoint[] };
  sum?: { dataPoints?: NumberDataPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints?: HistogramDataPoint[]; aggregationTemporality?: number };
  exponentialHistogram?: { dataPoints?: unknown[] };
  summary?: { dataPoints?: SummaryDataPoint[] };
}
export interface ExportRequest {
  resourceMetrics?: Array<{ resource?: { attributes?: KeyValue[] }; scopeMetrics?: Array<{ metrics?: Metric[] }> }>;
}

export class OtlpDecodeError extends Error {}

/** Reads a protobuf body (int64 and fixed64 as strings, as the JSON mapping has them). */
export function decodeProtobuf(body: Uint8Array): ExportRequest {
  try {
    return RequestType.toObject(RequestType.decode(body), { longs: String, defaults: false, arrays: true, oneofs: false });
  } catch (error) {
    throw new OtlpDecodeError(`not a protobuf ExportMetricsServiceRequest: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Checks a JSON body against the same messages (protobuf's JSON mapping: lowerCamelCase, int64 as strings). */
export function checkJson(body: unknown): ExportRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new OtlpDecodeError('not an OTLP ExportMetricsServiceRequest: not an object');
  try {
    return RequestType.toObject(RequestType.fromObject(body), { longs: String, defaults: false, arrays: true, oneofs: false });
  } catch (error) {
    throw new OtlpDecodeError(`not an OTLP ExportMetricsServiceRequest: ${error instanceof Error ? error.message : String(error)}`);
  }
}
