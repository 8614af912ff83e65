/**
 * OTLP/HTTP metrics (pure): an `ExportMetricsServiceRequest`, protobuf or JSON, to raw events.
 * Resource, scope and point attributes become tags (point over scope over resource); `tenant_id`
 * and `host` (else `host.name`, else `service.instance.id`) name the tenant and host (else the
 * request's defaults). Gauges and sums give one event per point (monotonic sums are tagged
 * `otel_type: counter`, others `gauge`). Histograms and exponential histograms (`otel_type:
 * histogram`) give `<name>_count`, `<name>_sum` and one `<name>_bucket` per bucket with the
 * cumulative count and its upper bound in the `le` tag (`+Inf` last), Prometheus style, the bounds
 * in the canonical unit of the metric's unit (`sources/otlp_distribution.ts` says how exponential
 * buckets map); summaries (`otel_type: summary`) give `<name>_count`, `<name>_sum` and `<name>` per
 * quantile (tag `quantile`). Non-finite values and unreadable points are rejected with a reason.
 *
 * @module
 */
import type { RawEvent } from "../model/raw.ts";
import { type Conversion, type RequestDefaults, type Unconvertible, UnreadableBody } from "./convert.ts";
import { canonicalUnit } from "../lib/units.ts";
import {
  type Distribution,
  explicitHistogram,
  exponentialHistogram,
  type ExponentialHistogramPoint,
  type HistogramPoint,
  summary,
  type SummaryPoint,
} from "./otlp_distribution.ts";
import { messageType } from "./protobuf.ts";

const OTLP_METRICS_PROTO = `
syntax = "proto3";
package opentelemetry.proto;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1; }
message ExportMetricsPartialSuccess { int64 rejected_data_points = 1; string error_message = 2; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message Metric {
  string name = 1; string description = 2; string unit = 3;
  oneof data {
    Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9;
    ExponentialHistogram exponential_histogram = 10; Summary summary = 11;
  }
}
enum AggregationTemporality {
  AGGREGATION_TEMPORALITY_UNSPECIFIED = 0; AGGREGATION_TEMPORALITY_DELTA = 1; AGGREGATION_TEMPORALITY_CUMULATIVE = 2;
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; }
message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; }
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
message ExponentialHistogramDataPoint {
  repeated KeyValue attributes = 1; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; sint32 scale = 6; fixed64 zero_count = 7;
  Buckets positive = 8; Buckets negative = 9; uint32 flags = 10;
  optional double min = 12; optional double max = 13; double zero_threshold = 14;
  message Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; }
}
message SummaryDataPoint {
  repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; double sum = 5;
  message ValueAtQuantile { double quantile = 1; double value = 2; }
  repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8;
}
`;

const exportRequest = messageType(OTLP_METRICS_PROTO, "opentelemetry.proto.ExportMetricsServiceRequest");
const exportResponse = messageType(OTLP_METRICS_PROTO, "opentelemetry.proto.ExportMetricsServiceResponse");

/** The two OTLP/HTTP encodings. */
export type OtlpEncoding = "protobuf" | "json";

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
}
interface KeyValue {
  key?: string;
  value?: AnyValue;
}
interface NumberPoint {
  attributes?: KeyValue[];
  timeUnixNano?: string;
  asDouble?: number;
  asInt?: string;
}
/** What every data point has besides its value. */
interface PointBase {
  attributes?: KeyValue[];
  timeUnixNano?: string;
}
interface Metric {
  name?: string;
  unit?: string;
  gauge?: { dataPoints?: NumberPoint[] };
  sum?: { dataPoints?: NumberPoint[]; isMonotonic?: boolean };
  histogram?: { dataPoints?: (HistogramPoint & PointBase)[] };
  exponentialHistogram?: { dataPoints?: (ExponentialHistogramPoint & PointBase)[] };
  summary?: { dataPoints?: (SummaryPoint & PointBase)[] };
}
interface ResourceMetrics {
  resource?: { attributes?: KeyValue[] };
  scopeMetrics?: { scope?: { name?: string; attributes?: KeyValue[] }; metrics?: Metric[] }[];
}

function attributeText(value: AnyValue | undefined): string {
  if (value === undefined) return "";
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return String(value.boolValue);
  if (value.intValue !== undefined) return value.intValue;
  if (value.doubleValue !== undefined) return String(value.doubleValue);
  if (value.bytesValue !== undefined) return value.bytesValue;
  return JSON.stringify(value.arrayValue ?? value.kvlistValue ?? "");
}

function addAttributes(tags: Record<string, string>, attributes: KeyValue[] | undefined): void {
  for (const { key, value } of attributes ?? []) if (key) tags[key] = attributeText(value);
}

/** Epoch ms of an OTLP nanosecond timestamp (decimal string), or `fallback` when it is 0 or absent. */
function nanosToMs(nanos: string | undefined, fallback: number): number {
  if (nanos === undefined || nanos === "0" || nanos === "") return fallback;
  return Number(BigInt(nanos) / 1_000_000n);
}

/** An `ExportMetricsServiceRequest` (proto3-JSON shape) as protobuf bytes, for tests and the bench. */
export function encodeOtlpMetricsRequest(request: Record<string, unknown>): Uint8Array {
  return exportRequest.encode(request);
}

/** Decodes the request body in `encoding`; throws {@link UnreadableBody} when it is not one. */
function decodeRequest(body: Uint8Array, encoding: OtlpEncoding): ResourceMetrics[] {
  try {
    const request = encoding === "json"
      ? exportRequest.fromJson(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body)))
      : exportRequest.decode(body);
    return (request.resourceMetrics ?? []) as ResourceMetrics[];
  } catch (err) {
    throw new UnreadableBody(
      `body is not an OTLP ExportMetricsServiceRequest in ${encoding} (${
        err instanceof Error ? err.message.slice(0, 200) : err
      })`,
    );
  }
}

/**
 * The points of a histogram, exponential histogram or summary metric, each read as a distribution
 * (or the reason it is refused), with the `otel_type` they are tagged with; undefined for others.
 */
function distributionPoints(
  metric: Metric,
): { kind: string; points: { point: PointBase; distribution: Distribution | string }[] } | undefined {
  const unit = canonicalUnit(metric.unit);
  if (metric.histogram !== undefined) {
    const points = metric.histogram.dataPoints ?? [];
    return {
      kind: "histogram",
      points: points.map((point) => ({ point, distribution: explicitHistogram(point, unit) })),
    };
  }
  if (metric.exponentialHistogram !== undefined) {
    const points = metric.exponentialHistogram.dataPoints ?? [];
    return {
      kind: "histogram",
      points: points.map((point) => ({ point, distribution: exponentialHistogram(point, unit) })),
    };
  }
  if (metric.summary !== undefined) {
    const points = metric.summary.dataPoints ?? [];
    return { kind: "summary", points: points.map((point) => ({ point, distribution: summary(point) })) };
  }
  return undefined;
}

/** Converts an OTLP/HTTP metrics body to raw events; throws {@link UnreadableBody} for an unreadable one. */
export function decodeOtlpMetrics(
  body: Uint8Array,
  encoding: OtlpEncoding,
  defaults: RequestDefaults,
): Conversion {
  const events: RawEvent[] = [];
  const rejected: Unconvertible[] = [];
  decodeRequest(body, encoding).forEach((resource, r) => {
    const resourceTags: Record<string, string> = {};
    addAttributes(resourceTags, resource.resource?.attributes);
    (resource.scopeMetrics ?? []).forEach((scope) => {
      const scopeTags = { ...resourceTags };
      addAttributes(scopeTags, scope.scope?.attributes);
      if (scope.scope?.name) scopeTags["otel.scope.name"] = scope.scope.name;
      for (const metric of scope.metrics ?? []) {
        const name = metric.name ?? "";
        const where = `resource ${r} metric ${JSON.stringify(name)}`;
        const reject = (reason: string, item: unknown): undefined => {
          rejected.push({
            where,
            reason: `${where}: ${reason}`,
            original: JSON.stringify(item).slice(0, 65_536),
          });
        };
        /** The event base for a point, or undefined (rejected) when it has no tenant or host. */
        const base = (attributes: KeyValue[] | undefined, item: unknown) => {
          const tags = { ...scopeTags };
          addAttributes(tags, attributes);
          const { tenant_id: tenantTag, host: hostTag, ...rest } = tags;
          const tenant = tenantTag ?? defaults.tenant;
          const host = hostTag ?? rest["host.name"] ?? rest["service.instance.id"] ?? defaults.host;
          if (tenant === undefined) {
            return reject("no tenant_id attribute (or add ?tenant= to the URL)", item);
          }
          if (host === undefined) {
            return reject("no host or host.name attribute (or add ?host= to the URL)", item);
          }
          return { tenant, host, tags: rest };
        };
        const push = (
          b: { tenant: string; host: string; tags: Record<string, string> },
          metricName: string,
          value: number,
          tsMs: number,
          extra: Record<string, string>,
          unit: string | undefined,
          item: unknown,
        ) => {
          if (!Number.isFinite(value)) return reject(`value ${value} is not a finite number`, item);
          const event: RawEvent = {
            tenant_id: b.tenant,
            host: b.host,
            metric: metricName,
            value,
            ts_event: tsMs,
            tags: { ...b.tags, ...extra },
          };
          if (unit) event.unit = unit;
          events.push(event);
        };
        const distributions = name === "" ? undefined : distributionPoints(metric);
        if (name === "") {
          reject("the metric has no name", metric);
        } else if (metric.gauge !== undefined || metric.sum !== undefined) {
          const points = metric.gauge?.dataPoints ?? metric.sum?.dataPoints ?? [];
          const kind = metric.sum?.isMonotonic ? "counter" : "gauge";
          for (const point of points) {
            const b = base(point.attributes, point);
            if (b === undefined) continue;
            const value = point.asDouble ?? (point.asInt === undefined ? undefined : Number(point.asInt));
            if (value === undefined) {
              reject("a data point has no value", point);
              continue;
            }
            push(
              b,
              name,
              value,
              nanosToMs(point.timeUnixNano, defaults.nowMs),
              { otel_type: kind },
              metric.unit,
              point,
            );
          }
        } else if (distributions !== undefined) {
          for (const { point, distribution } of distributions.points) {
            const b = base(point.attributes, point);
            if (b === undefined) continue;
            if (typeof distribution === "string") {
              reject(distribution, point);
              continue;
            }
            const ts = nanosToMs(point.timeUnixNano, defaults.nowMs);
            const type = { otel_type: distributions.kind };
            push(b, `${name}_count`, distribution.count, ts, type, undefined, point);
            if (distribution.sum !== undefined) {
              push(b, `${name}_sum`, distribution.sum, ts, type, metric.unit, point);
            }
            for (const { le, count } of distribution.buckets) {
              push(b, `${name}_bucket`, count, ts, { ...type, le }, undefined, point);
            }
            for (const { quantile, value } of distribution.quantiles) {
              push(b, name, value, ts, { ...type, quantile }, metric.unit, point);
            }
          }
        } else {
          reject("the metric has no data (gauge, sum, histogram, exponential histogram or summary)", {
            name,
          });
        }
      }
    });
  });
  return { events, rejected };
}

/**
 * The `ExportMetricsServiceResponse` for a request: empty when everything was taken, else a
 * partial success with the rejected count and the first reasons.
 */
export function encodeOtlpResponse(
  summary: { rejected: number; errors: string[] },
  encoding: OtlpEncoding,
): Uint8Array {
  const response = summary.rejected === 0 ? {} : {
    partialSuccess: {
      rejectedDataPoints: String(summary.rejected),
      errorMessage: summary.errors.join("; ").slice(0, 4_096),
    },
  };
  return encoding === "json"
    ? new TextEncoder().encode(JSON.stringify(response))
    : exportResponse.encode(response);
}
