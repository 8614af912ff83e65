/**
 * OTLP exponential histograms and summaries end to end, through `POST /v1/metrics` and the
 * `otlp-proto` / `otlp-json` Kafka inputs, to the real agent, broker and DuckDB:
 * - the REAL OpenTelemetry JS SDK records a histogram through its exponential-histogram aggregation
 *   (it picks the scale) and exports it with its OTLP/HTTP protobuf and JSON exporters, and its own
 *   serializers put the same on the two input topics;
 * - a summary and an exponential histogram with negative buckets (the JS SDK emits neither: its
 *   histogram instrument drops negative values and it has no summary aggregation) are sent as OTLP JSON;
 * - a point with an impossible scale is refused with the reason (OTLP partial success; DLQ record).
 * Every value comes back from `/metrics/:metric` once, bucket bounds in seconds like the sums.
 */
import assert from "node:assert/strict";
import { PeriodicExportingMetricReader, type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { OTLPMetricExporter as ProtoExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPMetricExporter as JsonExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatJsonAtLeast, kcatProduceRaw } from "../../testing/kcat.ts";
import type { DeadLetter } from "../../model/dlq.ts";
import {
  OTEL_SAMPLE_HOST as HOST,
  recordExponentialSample,
  serializedOtelSample,
} from "../../testing/otel_sdk.ts";
import { assertSdkHistogram, bucketsByBound, pointsOf } from "../../testing/otel_stored.ts";

const TOKEN = "test-token";
const NANOS = `${Date.UTC(2025, 9, 21, 12)}000000`;

/** A resource of the SDK's host for `tenant` with `metrics`, as an OTLP JSON request. */
function request(tenant: string, metrics: unknown[]): Uint8Array<ArrayBuffer> {
  const attribute = (key: string, value: string) => ({ key, value: { stringValue: value } });
  return new TextEncoder().encode(JSON.stringify({
    resourceMetrics: [{
      resource: { attributes: [attribute("host.name", HOST), attribute("tenant_id", tenant)] },
      scopeMetrics: [{ scope: { name: "hand-built" }, metrics }],
    }],
  }));
}

/** A summary (ms) and an exponential histogram (ms) with negative buckets, written by hand. */
const HAND_BUILT = [
  {
    name: "rpc.duration",
    unit: "ms",
    summary: {
      dataPoints: [{
        timeUnixNano: NANOS,
        count: "10",
        sum: 35,
        quantileValues: [{ quantile: 0.5, value: 2.5 }, { quantile: 0.99, value: 15 }],
      }],
    },
  },
  {
    name: "clock.skew",
    unit: "ms",
    exponentialHistogram: {
      aggregationTemporality: 2,
      dataPoints: [{
        timeUnixNano: NANOS,
        count: "7",
        sum: -3,
        scale: 0, // base 2
        zeroCount: "1",
        negative: { offset: 1, bucketCounts: ["2"] }, // 2 values in [-4, -2) ms
        positive: { offset: 0, bucketCounts: ["1", "3"] }, // (1, 2] and (2, 4] ms
      }],
    },
  },
];

/** An exponential histogram no SDK can make: refused with the reason. */
const IMPOSSIBLE = [{
  name: "broken.latency",
  exponentialHistogram: { dataPoints: [{ timeUnixNano: NANOS, count: "1", zeroCount: "1", scale: 1_000 }] },
}];

async function exportWithSdk(exporter: PushMetricExporter, tenant: string): Promise<void> {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  await recordExponentialSample(reader, tenant).shutdown(); // collects and exports once
}

async function postJson(base: string, body: Uint8Array<ArrayBuffer>): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}/v1/metrics`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body,
  });
  assert.equal(response.status, 200);
  return await response.json();
}

/** The hand-built summary and exponential histogram as stored. */
async function assertHandBuilt(base: string, tenant: string): Promise<void> {
  const quantiles = await pointsOf(base, "rpc_duration", tenant, 2);
  assert.deepEqual(
    quantiles.map((p) => [p.tags.otel_type, p.tags.quantile, p.value]).sort(),
    [["summary", "0.5", 0.0025], ["summary", "0.99", 0.015]],
  );
  assert.deepEqual((await pointsOf(base, "rpc_duration_count", tenant, 1)).map((p) => p.value), [10]);
  assert.deepEqual((await pointsOf(base, "rpc_duration_sum", tenant, 1)).map((p) => p.value), [0.035]);
  const skew = bucketsByBound(await pointsOf(base, "clock_skew_bucket", tenant, 5));
  assert.deepEqual(
    [...skew].sort(([a], [b]) => Number(a) - Number(b)),
    [["-0.002", 2], ["0", 3], ["0.002", 4], ["0.004", 7], ["+Inf", 7]],
  );
  assert.deepEqual((await pointsOf(base, "clock_skew_count", tenant, 1)).map((p) => p.value), [7]);
  assert.deepEqual((await pointsOf(base, "clock_skew_sum", tenant, 1)).map((p) => p.value), [-0.003]);
}

Deno.test("collect: OTLP exponential histograms (the OpenTelemetry JS SDK) and summaries through /v1/metrics and the otlp inputs, each value once", async () => {
  const name = uniqueName("collect-otel-dist");
  const inputs = { proto: `${name}.otlp-proto`, json: `${name}.otlp-json` };
  const { file, port, topics } = await writeTestConfig(name, {
    inputs: [{ topic: inputs.proto, format: "otlp-proto" }, { topic: inputs.json, format: "otlp-json" }],
  });
  // The input topics exist (and hold their messages) before the agent starts.
  const sdkProto = "dist-kafka-proto";
  const sdkJson = "dist-kafka-json";
  await kcatProduceRaw(
    inputs.proto,
    await serializedOtelSample(sdkProto, "protobuf", recordExponentialSample),
  );
  await kcatProduceRaw(inputs.json, await serializedOtelSample(sdkJson, "json", recordExponentialSample));
  await kcatProduceRaw(inputs.json, request(sdkJson, [...HAND_BUILT, ...IMPOSSIBLE]));
  const agent = await startAgent(file, port);
  try {
    const url = `${agent.baseUrl}/v1/metrics`;
    const headers = { Authorization: `Bearer ${TOKEN}` };
    await exportWithSdk(new ProtoExporter({ url, headers }), "dist-http-proto");
    await exportWithSdk(new JsonExporter({ url, headers }), "dist-http-json");
    const answer = await postJson(agent.baseUrl, request("dist-http-json", [...HAND_BUILT, ...IMPOSSIBLE]));
    assert.deepEqual(answer, {
      partialSuccess: {
        rejectedDataPoints: "1",
        errorMessage: 'resource 0 metric "broken.latency": scale 1000 is outside -10..20',
      },
    });

    for (const tenant of ["dist-http-proto", "dist-http-json", sdkProto, sdkJson]) {
      await assertSdkHistogram(agent.baseUrl, tenant);
    }
    for (const tenant of ["dist-http-json", sdkJson]) await assertHandBuilt(agent.baseUrl, tenant);

    const dead = await kcatJsonAtLeast<DeadLetter>(topics.dlq, 2, "the two dead letters");
    assert.deepEqual(dead.map((d) => d.stage).sort(), ["collect", "input"]);
    for (const letter of dead) {
      assert.match(letter.reason, /metric "broken.latency": scale 1000 is outside -10\.\.20/);
    }
  } finally {
    assert.equal(await agent.stop(), 0);
  }
});
