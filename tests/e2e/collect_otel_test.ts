/**
 * Collect end to end with the REAL OpenTelemetry JS SDK (`@opentelemetry/sdk-metrics` 3.1.1 with the
 * OTLP/HTTP protobuf and JSON exporters 0.301.0, run in this Deno process): a gauge, a monotonic
 * counter and a histogram go through `POST /v1/metrics` to the real agent, broker and DuckDB, and
 * come back from the store with the values the SDK sent, each once.
 */
import assert from "node:assert/strict";
import { PeriodicExportingMetricReader, type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { OTLPMetricExporter as ProtoExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPMetricExporter as JsonExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { eventually, freePort, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll } from "../../testing/kcat.ts";
import { OTEL_SAMPLE_EXPECTED as EXPECTED, recordOtelSample } from "../../testing/otel_sdk.ts";

const TOKEN = "test-token";

type Row = [string, number, Record<string, string>];

async function storedRows(base: string, tenant: string): Promise<Row[]> {
  const response = await fetch(`${base}/query`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      sql: `SELECT metric, "value", tags FROM metrics WHERE tenant = '${tenant}' AND host = 'otel-e2e' ` +
        `ORDER BY metric, "value"`,
      max_rows: 1_000,
    }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return (body.rows as [string, number, string | Record<string, string>][]).map(([metric, value, tags]) => [
    metric,
    value,
    typeof tags === "string" ? JSON.parse(tags) : tags,
  ]);
}

/** Records the sample with the SDK and exports it once through `exporter`. */
async function sendWithSdk(exporter: PushMetricExporter, tenant: string): Promise<void> {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = recordOtelSample(reader, tenant);
  await provider.shutdown(); // collects and exports once (a forceFlush before it would export twice)
}

Deno.test("collect: the OpenTelemetry JS SDK exports a gauge, a counter and a histogram (protobuf and JSON)", async (t) => {
  const name = uniqueName("collect-otel");
  const port = await freePort();
  const { file, topics } = await writeTestConfig(name, { http: { host: "127.0.0.1", port, token: TOKEN } });
  const agent = await startAgent(file, port);
  const url = `${agent.baseUrl}/v1/metrics`;
  const headers = { Authorization: `Bearer ${TOKEN}` };
  try {
    for (
      const [encoding, exporter] of [
        ["protobuf", new ProtoExporter({ url, headers })],
        ["json", new JsonExporter({ url, headers })],
      ] as const
    ) {
      await t.step(`OTLP/HTTP ${encoding}`, async () => {
        const tenant = `acme-otel-${encoding}`;
        await sendWithSdk(exporter, tenant);
        const rows = await eventually(
          async () => {
            const stored = await storedRows(agent.baseUrl, tenant);
            return stored.length >= EXPECTED.length ? stored : undefined;
          },
          30_000,
          `${EXPECTED.length} rows of ${tenant}`,
        );
        assert.equal(rows.length, EXPECTED.length, JSON.stringify(rows));
        EXPECTED.forEach(([metric, value, tags], i) => {
          const [gotMetric, gotValue, gotTags] = rows[i];
          assert.equal(gotMetric, metric);
          assert.ok(Math.abs(gotValue - value) < 1e-9, `${metric}: ${gotValue} != ${value}`);
          for (const [key, tag] of Object.entries(tags)) {
            assert.equal(gotTags[key], tag, `${metric} tag ${key}`);
          }
          assert.equal(gotTags["service.name"], "e2e-app", "resource attributes are tags");
          assert.equal(gotTags["otel.scope.name"], "e2e-meter", "the scope is a tag");
        });
      });
    }
    assert.deepEqual(await kcatConsumeAll(topics.dlq), []);
  } finally {
    await agent.stop();
  }
});
