import assert from "node:assert/strict";
import { decodeRemoteWrite, encodeRemoteWrite } from "../../../sources/prometheus.ts";
import { decodeOtlpMetrics, encodeOtlpMetricsRequest, encodeOtlpResponse } from "../../../sources/otlp.ts";
import { UnreadableBody } from "../../../sources/convert.ts";

const NOW = Date.parse("2026-01-02T03:04:05Z");
const label = (name: string, value: string) => ({ name, value });

Deno.test("remote write: samples to events; __name__, tenant_id, host/instance and labels", () => {
  const body = encodeRemoteWrite([
    {
      labels: [label("__name__", "node_load1"), label("instance", "pi-1:9100"), label("job", "node")],
      samples: [{ value: 0.5, timestamp: "1700000000000" }, { value: 0.75, timestamp: "1700000015000" }],
    },
    {
      labels: [label("__name__", "up"), label("host", "h2"), label("tenant_id", "t2")],
      samples: [{ value: 1, timestamp: "1700000000000" }],
    },
  ]);
  const { events, rejected } = decodeRemoteWrite(body, { tenant: "acme", nowMs: NOW });
  assert.deepEqual(rejected, []);
  assert.deepEqual(events, [
    {
      tenant_id: "acme",
      host: "pi-1:9100",
      metric: "node_load1",
      value: 0.5,
      ts_event: 1700000000000,
      tags: { instance: "pi-1:9100", job: "node" },
    },
    {
      tenant_id: "acme",
      host: "pi-1:9100",
      metric: "node_load1",
      value: 0.75,
      ts_event: 1700000015000,
      tags: { instance: "pi-1:9100", job: "node" },
    },
    { tenant_id: "t2", host: "h2", metric: "up", value: 1, ts_event: 1700000000000 },
  ]);
});

Deno.test("remote write: NaN, Inf, no name and no host are rejected with reasons", () => {
  const body = encodeRemoteWrite([
    { labels: [label("__name__", "m"), label("host", "h")], samples: [{ value: NaN, timestamp: "1" }] },
    { labels: [label("__name__", "m"), label("host", "h")], samples: [{ value: Infinity, timestamp: "1" }] },
    { labels: [label("host", "h")], samples: [{ value: 1, timestamp: "1" }] },
    { labels: [label("__name__", "m")], samples: [{ value: 1, timestamp: "1" }] },
  ]);
  const { events, rejected } = decodeRemoteWrite(body, { tenant: "acme", nowMs: NOW });
  assert.equal(events.length, 0);
  assert.deepEqual(rejected.map((r) => r.reason), [
    "series 0 (m) sample 0 is NaN (not a finite number)",
    "series 1 (m) sample 0 is Infinity (not a finite number)",
    "series 2 has no __name__ label",
    "series 3 has no host or instance label (or add ?host= to the URL)",
  ]);
});

Deno.test("remote write: bad Snappy, a too-large declared length and truncated protobuf are unreadable", () => {
  const defaults = { tenant: "acme", nowMs: NOW };
  assert.throws(
    () => decodeRemoteWrite(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]), defaults),
    UnreadableBody,
  );
  const good = encodeRemoteWrite([{
    labels: [label("__name__", "m")],
    samples: [{ value: 1, timestamp: "1" }],
  }]);
  assert.throws(() => decodeRemoteWrite(good, defaults, 4), /too big/);
  // Valid Snappy around a truncated protobuf (a 32-byte series field with 1 byte of it).
  assert.throws(
    () => decodeRemoteWrite(snappyLiteral(new Uint8Array([0x0a, 0x20, 0x0a])), defaults),
    /not a remote-write/,
  );
});

/** Snappy of arbitrary bytes (a literal-only block: length varint, then one literal run). */
function snappyLiteral(bytes: Uint8Array): Uint8Array {
  return new Uint8Array([bytes.length, (bytes.length - 1) << 2, ...bytes]);
}

const RESOURCE = {
  attributes: [
    { key: "host.name", value: { stringValue: "pi-1" } },
    { key: "service.name", value: { stringValue: "app" } },
  ],
};

function request(metrics: unknown[]): Record<string, unknown> {
  return {
    resourceMetrics: [{ resource: RESOURCE, scopeMetrics: [{ scope: { name: "meter" }, metrics }] }],
  };
}

const GAUGE = {
  name: "queue.depth",
  unit: "1",
  gauge: {
    dataPoints: [{
      timeUnixNano: "1700000000000000000",
      asInt: "12",
      attributes: [{ key: "queue", value: { stringValue: "q" } }],
    }],
  },
};
const COUNTER = {
  name: "requests",
  sum: {
    isMonotonic: true,
    aggregationTemporality: 2,
    dataPoints: [{ timeUnixNano: "1700000000000000000", asDouble: 7 }],
  },
};
const HISTOGRAM = {
  name: "latency",
  unit: "ms",
  histogram: {
    aggregationTemporality: 2,
    dataPoints: [{
      timeUnixNano: "1700000000000000000",
      count: "4",
      sum: 562,
      bucketCounts: ["2", "1", "1"],
      explicitBounds: [10, 100],
    }],
  },
};

Deno.test("otlp: gauge, monotonic sum and histogram, JSON and protobuf give the same events", () => {
  const json = new TextEncoder().encode(JSON.stringify(request([GAUGE, COUNTER, HISTOGRAM])));
  const proto = encodeOtlpMetricsRequest(request([GAUGE, COUNTER, HISTOGRAM]));
  const defaults = { tenant: "acme", nowMs: NOW };
  const fromJson = decodeOtlpMetrics(json, "json", defaults);
  const fromProto = decodeOtlpMetrics(proto, "protobuf", defaults);
  assert.deepEqual(fromJson, fromProto);
  assert.deepEqual(fromJson.rejected, []);
  const base = { "host.name": "pi-1", "service.name": "app", "otel.scope.name": "meter" };
  const ts = 1_700_000_000_000;
  assert.deepEqual(fromJson.events, [
    {
      tenant_id: "acme",
      host: "pi-1",
      metric: "queue.depth",
      value: 12,
      ts_event: ts,
      unit: "1",
      tags: { ...base, queue: "q", otel_type: "gauge" },
    },
    {
      tenant_id: "acme",
      host: "pi-1",
      metric: "requests",
      value: 7,
      ts_event: ts,
      tags: { ...base, otel_type: "counter" },
    },
    {
      tenant_id: "acme",
      host: "pi-1",
      metric: "latency_count",
      value: 4,
      ts_event: ts,
      tags: { ...base, otel_type: "histogram" },
    },
    {
      tenant_id: "acme",
      host: "pi-1",
      metric: "latency_sum",
      value: 562,
      ts_event: ts,
      unit: "ms",
      tags: { ...base, otel_type: "histogram" },
    },
    // The bounds in the unit the sum is stored in (ms -> seconds), as normalize converts the sum.
    ...[["0.01", 2], ["0.1", 3], ["+Inf", 4]].map(([le, value]) => ({
      tenant_id: "acme",
      host: "pi-1",
      metric: "latency_bucket",
      value: value as number,
      ts_event: ts,
      tags: { ...base, otel_type: "histogram", le: le as string },
    })),
  ]);
});

Deno.test("otlp: NaN, unreadable distribution points and a missing tenant are rejected with reasons", () => {
  const body = request([
    { name: "s", summary: { dataPoints: [{ count: "1", quantileValues: [{ quantile: 2, value: 1 }] }] } },
    { name: "e", exponentialHistogram: { dataPoints: [{ count: "1", scale: 90 }] } },
    { name: "h", histogram: { dataPoints: [{ count: "1", sum: "NaN" }] } },
    { name: "nan", gauge: { dataPoints: [{ asDouble: "NaN" }] } },
    { name: "nodata" },
  ]);
  const { events, rejected } = decodeOtlpMetrics(new TextEncoder().encode(JSON.stringify(body)), "json", {
    nowMs: NOW,
    tenant: "acme",
  });
  assert.equal(events.length, 0);
  assert.deepEqual(rejected.map((r) => r.reason), [
    'resource 0 metric "s": quantile 2 is outside 0..1',
    'resource 0 metric "e": scale 90 is outside -10..20',
    'resource 0 metric "h": sum NaN is not a finite number',
    'resource 0 metric "nan": value NaN is not a finite number',
    'resource 0 metric "nodata": the metric has no data (gauge, sum, histogram, exponential histogram or summary)',
  ]);
  const noTenant = decodeOtlpMetrics(encodeOtlpMetricsRequest(request([GAUGE])), "protobuf", { nowMs: NOW });
  assert.match(noTenant.rejected[0].reason, /no tenant_id attribute/);
});

Deno.test("otlp: an exponential histogram and a summary, JSON and protobuf give the same events", () => {
  const metrics = [
    {
      name: "latency",
      unit: "ms",
      exponentialHistogram: {
        aggregationTemporality: 2,
        dataPoints: [{
          timeUnixNano: "1700000000000000000",
          count: "6",
          sum: 14,
          scale: 0,
          zeroCount: "1",
          positive: { offset: 1, bucketCounts: ["2", "0", "1"] },
          negative: { offset: 0, bucketCounts: ["2"] },
        }],
      },
    },
    {
      name: "rpc.duration",
      unit: "s",
      summary: {
        dataPoints: [{
          timeUnixNano: "1700000000000000000",
          count: "10",
          sum: 3.5,
          quantileValues: [{ quantile: 0.5, value: 0.25 }, { quantile: 0.99, value: 1.5 }],
        }],
      },
    },
  ];
  const defaults = { tenant: "acme", nowMs: NOW };
  const fromJson = decodeOtlpMetrics(
    new TextEncoder().encode(JSON.stringify(request(metrics))),
    "json",
    defaults,
  );
  const fromProto = decodeOtlpMetrics(encodeOtlpMetricsRequest(request(metrics)), "protobuf", defaults);
  assert.deepEqual(fromJson, fromProto);
  assert.deepEqual(fromJson.rejected, []);
  const rows = fromJson.events.map((
    e,
  ) => [e.metric, e.value, e.unit ?? "", e.tags?.le ?? e.tags?.quantile ?? ""]);
  assert.deepEqual(rows, [
    ["latency_count", 6, "", ""],
    ["latency_sum", 14, "ms", ""],
    ["latency_bucket", 2, "", "-0.001"], // negative bucket 0: [-2, -1) ms, bounds in seconds
    ["latency_bucket", 3, "", "0"], // the zero bucket
    ["latency_bucket", 5, "", "0.004"], // (2, 4] ms
    ["latency_bucket", 5, "", "0.008"],
    ["latency_bucket", 6, "", "0.016"],
    ["latency_bucket", 6, "", "+Inf"],
    ["rpc.duration_count", 10, "", ""],
    ["rpc.duration_sum", 3.5, "s", ""],
    ["rpc.duration", 0.25, "s", "0.5"],
    ["rpc.duration", 1.5, "s", "0.99"],
  ]);
  assert.ok(
    fromJson.events.every((e) =>
      e.tags?.otel_type === (e.metric.startsWith("rpc") ? "summary" : "histogram")
    ),
  );
});

Deno.test("otlp: unreadable bodies (not JSON, wrong shape, truncated protobuf) throw UnreadableBody", () => {
  const enc = new TextEncoder();
  assert.throws(() => decodeOtlpMetrics(enc.encode("{"), "json", { nowMs: NOW }), UnreadableBody);
  assert.throws(
    () => decodeOtlpMetrics(enc.encode('{"resourceMetrics": 5}'), "json", { nowMs: NOW }),
    UnreadableBody,
  );
  const proto = encodeOtlpMetricsRequest(request([GAUGE, HISTOGRAM]));
  assert.throws(
    () => decodeOtlpMetrics(proto.slice(0, proto.length - 7), "protobuf", { nowMs: NOW }),
    UnreadableBody,
  );
});

Deno.test("otlp: the response is empty when all was taken, a partial success otherwise", () => {
  assert.equal(new TextDecoder().decode(encodeOtlpResponse({ rejected: 0, errors: [] }, "json")), "{}");
  assert.deepEqual(
    JSON.parse(new TextDecoder().decode(encodeOtlpResponse({ rejected: 2, errors: ["a", "b"] }, "json"))),
    {
      partialSuccess: { rejectedDataPoints: "2", errorMessage: "a; b" },
    },
  );
  assert.equal(encodeOtlpResponse({ rejected: 0, errors: [] }, "protobuf").length, 0);
  assert.ok(encodeOtlpResponse({ rejected: 1, errors: ["x"] }, "protobuf").length > 0);
});
