/**
 * A REAL OpenTelemetry Collector's `kafka` exporter into the agent's `inputs` topics: the OpenTelemetry
 * JS SDK exports its samples (a gauge, a counter, an explicit-bucket histogram, and a histogram through
 * the exponential-histogram aggregation) over OTLP/HTTP to a Collector (the trimmed build of
 * `scripts/install-otelcol.sh`: collector v0.165.0, contrib kafkaexporter v0.165.1), which writes them to
 * one topic as `otlp_proto` and to another as `otlp_json`; the agent reads them as `otlp-proto` and
 * `otlp-json` inputs and every value comes back from `/metrics/:metric` once.
 */
import assert from "node:assert/strict";
import { PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import {
  BROKERS,
  eventually,
  freePort,
  startAgent,
  uniqueName,
  writeTestConfig,
} from "../../testing/agent.ts";
import { kcatConsumeAll } from "../../testing/kcat.ts";
import { startCollector } from "../../testing/otelcol.ts";
import { OTEL_SAMPLE_EXPECTED, recordExponentialSample, recordOtelSample } from "../../testing/otel_sdk.ts";
import { assertSdkHistogram, pointsOf } from "../../testing/otel_stored.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function collectorConfig(
  ports: { proto: number; json: number },
  topics: { proto: string; json: string },
): string {
  const receiver = (port: number) => ({ protocols: { http: { endpoint: `127.0.0.1:${port}` } } });
  const exporter = (topic: string, encoding: string) => ({
    brokers: [BROKERS],
    metrics: { topic, encoding },
  });
  return JSON.stringify({
    receivers: { "otlp/proto": receiver(ports.proto), "otlp/json": receiver(ports.json) },
    exporters: {
      "kafka/proto": exporter(topics.proto, "otlp_proto"),
      "kafka/json": exporter(topics.json, "otlp_json"),
    },
    service: {
      telemetry: { metrics: { level: "none" }, logs: { level: "warn" } },
      pipelines: {
        "metrics/proto": { receivers: ["otlp/proto"], exporters: ["kafka/proto"] },
        "metrics/json": { receivers: ["otlp/json"], exporters: ["kafka/json"] },
      },
    },
  }); // JSON is YAML
}

Deno.test("collect: an OpenTelemetry Collector's kafka exporter (otlp_proto, otlp_json) into the otlp inputs, each value once", async () => {
  const name = uniqueName("collect-otelcol");
  const topics = { proto: `${name}.otelcol-proto`, json: `${name}.otelcol-json` };
  const { file, port } = await writeTestConfig(name, {
    inputs: [{ topic: topics.proto, format: "otlp-proto" }, { topic: topics.json, format: "otlp-json" }],
  });
  const ports = { proto: freePort(), json: freePort() };
  const collector = await startCollector(collectorConfig(ports, topics), `${ROOT}data/test/${name}`, [
    ports.proto,
    ports.json,
  ]);
  let log = "";
  try {
    for (const [encoding, receiverPort] of [["proto", ports.proto], ["json", ports.json]] as const) {
      const url = `http://127.0.0.1:${receiverPort}/v1/metrics`;
      for (const record of [recordOtelSample, recordExponentialSample]) {
        const exporter = new OTLPMetricExporter({ url });
        const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
        await record(reader, `otelcol-${encoding}`).shutdown(); // collects and exports once
      }
    }
    // The Collector wrote both exports to each topic (it creates the topics; the agent then reads them).
    for (const topic of [topics.proto, topics.json]) {
      await eventually(
        async () => (await kcatConsumeAll(topic)).length >= 2 || undefined,
        30_000,
        `2 messages on ${topic}`,
      );
    }
  } finally {
    log = await collector.stop();
  }
  assert.doesNotMatch(log, /"level":"error"|\terror\t/i, `the Collector logged an error:\n${log}`);

  const agent = await startAgent(file, port);
  try {
    for (const encoding of ["proto", "json"]) {
      const tenant = `otelcol-${encoding}`;
      const byMetric = new Map<string, number[]>();
      for (const [metric, value] of OTEL_SAMPLE_EXPECTED) {
        byMetric.set(metric, [...byMetric.get(metric) ?? [], value]);
      }
      for (const [metric, values] of byMetric) {
        const points = await pointsOf(agent.baseUrl, metric, tenant, values.length);
        const got = points.map((p) => p.value).sort((a, b) => a - b);
        const want = [...values].sort((a, b) => a - b);
        assert.equal(got.length, want.length, `${metric} (${tenant}) stored once: ${got}`);
        got.forEach((value, i) =>
          assert.ok(Math.abs(value - want[i]) < 1e-9, `${metric}: ${got} != ${want}`)
        );
      }
      await assertSdkHistogram(agent.baseUrl, tenant);
    }
  } finally {
    assert.equal(await agent.stop(), 0);
  }
});
