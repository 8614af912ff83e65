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
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll, kcatProduceRaw } from "../../testing/kcat.ts";
import {
  EXPONENTIAL_SAMPLE_VALUES,
  OTEL_SAMPLE_HOST as HOST,
  recordExponentialSample,
  serializedOtelSample,
} from "../../testing/otel_sdk.ts";

const TOKEN = "test-token";
const NANOS = `${Date.UTC(2025, 9, 21, 12)}000000`;

type Point = { value: number; tags: Record<string, string> };

/** The points of `metric` of the SDK's host for `tenant`, once at least `atLeast` are stored. */
function pointsOf(base: string, metric: string, tenant: string, atLeast: number): Promise<Point[]> {
  return eventually(
    async () => {
      const response = await fetch(
        `${base}/metrics/${metric}?${new URLSearchParams({ tenant, host: HOST })}`,
      );
      const body = await response.json();
      if (response.status === 404) return undefined;
      assert.equal(response.status, 200, JSON.stringify(body));
      return body.points.length >= atLeast ? body.points as Point[] : undefined;
    },
    30_000,
    `${atLeast} points of ${metric} (${tenant})`,
  );
}

/** Bucket counts by `le`, each bound stored once. */
function bucketsByBound(points: Point[]): Map<string, number> {
  const byBound = new Map<string, number>();
  for (const { value, tags } of points) {
    assert.equal(tags.otel_type, "histogram");
    assert.ok(!byBound.has(tags.le), `bucket le=${tags.le} stored twice`);
    byBound.set(tags.le, value);
  }
  return byBound;
}

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

/** The SDK's exponential histogram as stored: at each bound, the recorded values at most that bound. */
async function assertSdkHistogram(base: string, tenant: string): Promise<void> {
  const values = EXPONENTIAL_SAMPLE_VALUES;
  const [count] = await pointsOf(base, "rpc_latency_count", tenant, 1);
  assert.equal(count.value, values.length);
  const [sum] = await pointsOf(base, "rpc_latency_sum", tenant, 1);
  assert.ok(Math.abs(sum.value - values.reduce((a, b) => a + b) / 1_000) < 1e-12, `sum ${sum.value} s`);
  const buckets = await eventually(
    async () => {
      const points = await pointsOf(base, "rpc_latency_bucket", tenant, 1);
      return points.some((p) => p.tags.le === "+Inf") ? points : undefined;
    },
    30_000,
    `the +Inf bucket of ${tenant}`,
  );
  const byBound = bucketsByBound(buckets);
  assert.ok(byBound.size > 5, `the SDK's buckets: ${[...byBound.keys()]}`);
  assert.equal(byBound.get("+Inf"), values.length);
  assert.equal(byBound.get("0"), 1, "the zero bucket holds the recorded 0");
  const bounds = [...byBound.keys()].filter((le) => le !== "+Inf").map(Number).sort((a, b) => a - b);
  for (const le of bounds) {
    const expected = values.filter((v) => v <= le * 1_000).length; // the bounds are in seconds
    assert.equal(byBound.get(String(le)), expected, `${tenant}: values <= ${le} s`);
  }
  // Bounds reach past the largest value (700 ms) and the SDK's scale is finer than powers of 2.
  assert.ok(bounds.at(-1)! >= 0.7 && bounds.at(-1)! < 1.4, `top bound ${bounds.at(-1)}`);
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

    const dead = await eventually(
      async () => {
        const letters = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
        return letters.length >= 2 ? letters : undefined;
      },
      30_000,
      "the two dead letters",
    );
    assert.deepEqual(dead.map((d) => d.stage).sort(), ["collect", "input"]);
    for (const letter of dead) {
      assert.match(letter.reason, /metric "broken.latency": scale 1000 is outside -10\.\.20/);
    }
  } finally {
    assert.equal(await agent.stop(), 0);
  }
});
