/**
 * The OpenTelemetry JS SDK as a real client for end-to-end tests: a meter provider recording one
 * gauge, one monotonic counter and one histogram, what the agent must store for them, a second one
 * recording a histogram through the SDK's exponential-histogram aggregation, and the SDK's own OTLP
 * serializers (`@opentelemetry/otlp-transformer`, what its OTLP exporters send) for tests that put
 * the request on a Kafka topic instead of POSTing it.
 *
 * @module
 */
import { AggregationType, MeterProvider, MetricReader, type ViewOptions } from "@opentelemetry/sdk-metrics";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from "@opentelemetry/otlp-transformer";

/** The host (`host.name`) of the SDK's resource. */
export const OTEL_SAMPLE_HOST = "otel-e2e";

/** A meter provider reading into `reader`, with `tenant_id: tenant`, `host.name` and `service.name` on its resource. */
function sampleProvider(reader: MetricReader, tenant: string, views: ViewOptions[] = []): MeterProvider {
  return new MeterProvider({
    resource: resourceFromAttributes({
      "host.name": OTEL_SAMPLE_HOST,
      tenant_id: tenant,
      "service.name": "e2e-app",
    }),
    readers: [reader],
    views,
  });
}

/**
 * A meter provider reading into `reader` (see {@link sampleProvider}) that recorded the sample: a gauge (42.5), a counter (3 + 4) and a histogram of
 * 5, 50, 500 and 7 ms in buckets [10, 100].
 */
export function recordOtelSample(reader: MetricReader, tenant: string): MeterProvider {
  const provider = sampleProvider(reader, tenant);
  const meter = provider.getMeter("e2e-meter");
  meter.createGauge("queue.depth").record(42.5, { queue: "orders" });
  const counter = meter.createCounter("requests.served", { unit: "1" });
  counter.add(3, { route: "/a" });
  counter.add(4, { route: "/a" });
  const histogram = meter.createHistogram("request.latency", {
    unit: "ms",
    advice: { explicitBucketBoundaries: [10, 100] },
  });
  for (const value of [5, 50, 500, 7]) histogram.record(value);
  return provider;
}

/** What the agent must store for {@link recordOtelSample}: canonical metric, value, tags of interest. */
export const OTEL_SAMPLE_EXPECTED: readonly [string, number, Record<string, string>][] = [
  ["queue_depth", 42.5, { otel_type: "gauge", queue: "orders" }],
  ["request_latency_bucket", 2, { otel_type: "histogram", le: "0.01" }], // 10 ms, in seconds like the sum
  ["request_latency_bucket", 3, { otel_type: "histogram", le: "0.1" }], // 100 ms
  ["request_latency_bucket", 4, { otel_type: "histogram", le: "+Inf" }],
  ["request_latency_count", 4, { otel_type: "histogram" }],
  ["request_latency_sum", 0.562, { otel_type: "histogram" }], // 562 ms, stored in seconds
  ["requests_served", 7, { otel_type: "counter", route: "/a" }],
];

/**
 * The values (ms) {@link recordExponentialSample} records: a zero, none on a bucket bound (no power
 * of two). No negative one: the SDK's histogram instrument drops negative values.
 */
export const EXPONENTIAL_SAMPLE_VALUES: readonly number[] = [0, 1.7, 5, 20.5, 20.5, 700];

/**
 * A meter provider reading into `reader` (see {@link sampleProvider}) that recorded
 * {@link EXPONENTIAL_SAMPLE_VALUES} in the histogram `rpc.latency` (ms) through a view with the
 * SDK's exponential-histogram aggregation (at most 20 buckets a side, so the SDK picks the scale).
 */
export function recordExponentialSample(reader: MetricReader, tenant: string): MeterProvider {
  const provider = sampleProvider(reader, tenant, [{
    instrumentName: "rpc.latency",
    aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 20 } },
  }]);
  const histogram = provider.getMeter("e2e-meter").createHistogram("rpc.latency", { unit: "ms" });
  for (const value of EXPONENTIAL_SAMPLE_VALUES) histogram.record(value);
  return provider;
}

/** A reader collected on demand (no exporter): the test serializes what it collects. */
class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The sample ({@link recordOtelSample}, or what `record` records) collected once and serialized by the SDK's own OTLP
 * serializer: an `ExportMetricsServiceRequest` in protobuf or JSON, the bytes its exporters POST.
 */
export async function serializedOtelSample(
  tenant: string,
  encoding: "protobuf" | "json",
  record: (reader: MetricReader, tenant: string) => MeterProvider = recordOtelSample,
): Promise<Uint8Array> {
  const reader = new CollectingReader();
  const provider = record(reader, tenant);
  const { resourceMetrics, errors } = await reader.collect();
  await provider.shutdown();
  if (errors.length > 0) throw new Error(`the SDK could not collect: ${errors.join("; ")}`);
  const serializer = encoding === "protobuf" ? ProtobufMetricsSerializer : JsonMetricsSerializer;
  const bytes = serializer.serializeRequest(resourceMetrics);
  if (bytes === undefined) throw new Error(`the SDK's ${encoding} serializer gave nothing`);
  return bytes;
}
