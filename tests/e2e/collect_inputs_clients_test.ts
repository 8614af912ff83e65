/**
 * `inputs` in the protocols' formats with REAL clients through the real agent and broker: a real
 * Telegraf (`scripts/install-telegraf.sh`) writes one gather of `inputs.mem` with `outputs.kafka` in
 * `prometheusremotewrite` (Snappy protobuf per message) and in `influx`, the OpenTelemetry JS SDK's
 * own serializers (`@opentelemetry/otlp-transformer`) put an `ExportMetricsServiceRequest` in protobuf
 * and in JSON on two topics (kcat). Every value comes back from `/metrics/:metric` as sent, once; a
 * message that is not its topic's format is dead-lettered with the reason. In both topologies: the
 * stateless group (partitioned) and the one-pass consumer (local) read the inputs topics.
 */
import assert from "node:assert/strict";
import { BROKERS, eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll, kcatJsonAtLeast, kcatProduceRaw } from "../../testing/kcat.ts";
import type { DeadLetter } from "../../model/dlq.ts";
import { telegrafOnce } from "../../testing/telegraf.ts";
import { OTEL_SAMPLE_EXPECTED, OTEL_SAMPLE_HOST, serializedOtelSample } from "../../testing/otel_sdk.ts";
import { parseLine } from "../../sources/influx.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TELEGRAF_HOST = "telegraf-e2e";

type Point = { value: number; tags: Record<string, string> };

/** The points of one series' metric from `/metrics/:metric`. */
async function pointsOf(base: string, metric: string, tenant: string, host: string): Promise<Point[]> {
  const query = new URLSearchParams({ tenant, host });
  const response = await fetch(`${base}/metrics/${metric}?${query}`);
  const body = await response.json();
  if (response.status === 404) return [];
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.points as Point[];
}

function telegrafConfig(topics: { rw: string; influx: string }, sentFile: string): string {
  const kafka = (topic: string, measurement: string, format: string) => `
[[outputs.kafka]]
  namepass = ["${measurement}"]
  brokers = ["${BROKERS}"]
  topic = "${topic}"
  # Kafka 4.x: without a version of at least 3.x sarama speaks a protocol the broker refuses (EOF).
  version = "3.9.0"
  data_format = "${format}"
`;
  return `
[agent]
  hostname = "${TELEGRAF_HOST}"
  omit_hostname = false

[[inputs.mem]]
  name_override = "memrw"
[[inputs.mem]]
  name_override = "memkx"
${kafka(topics.rw, "memrw", "prometheusremotewrite")}
${kafka(topics.influx, "memkx", "influx")}
[[outputs.file]]
  files = ["${sentFile}"]
  data_format = "influx"
`;
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`inputs: Telegraf's outputs.kafka (remote write, influx) and the OpenTelemetry SDK's OTLP (protobuf, JSON) on Kafka topics, each value stored once (topology ${topology})`, async () => {
    const name = uniqueName(`inputs-clients-${topology}`);
    const inputTopics = {
      rw: `${name}.prom-rw`,
      influx: `${name}.influx`,
      otlpProto: `${name}.otlp-proto`,
      otlpJson: `${name}.otlp-json`,
    };
    const { file, port, topics } = await writeTestConfig(name, {
      topology,
      inputs: [
        { topic: inputTopics.rw, format: "prometheus-remote-write", tenant: "acme-rw" },
        { topic: inputTopics.influx, format: "influx", tenant: "acme-kx" },
        { topic: inputTopics.otlpProto, format: "otlp-proto" },
        { topic: inputTopics.otlpJson, format: "otlp-json" },
      ],
    });
    const dir = `${ROOT}data/test/${name}`;
    const sentFile = `${dir}/sent.influx`;
    const log = await telegrafOnce(telegrafConfig(inputTopics, sentFile), dir);
    assert.doesNotMatch(log, /E! \[outputs/, `Telegraf reported an output error:\n${log}`);
    await kcatProduceRaw(inputTopics.otlpProto, await serializedOtelSample("acme-otlp-proto", "protobuf"));
    await kcatProduceRaw(inputTopics.otlpJson, await serializedOtelSample("acme-otlp-json", "json"));
    // Not the topics' formats: dead-lettered whole, with the reason.
    await kcatProduceRaw(inputTopics.rw, new TextEncoder().encode("not snappy"));
    await kcatProduceRaw(inputTopics.otlpProto, new Uint8Array([0x0a, 0xff, 0xff, 0x01]));

    // What Telegraf sent: each numeric field of each measurement is one value.
    const sent = (await Deno.readTextFile(sentFile)).split("\n").filter((line) => line !== "").map(parseLine);
    assert.deepEqual(sent.map((p) => p.measurement).sort(), ["memkx", "memrw"]);
    const expected: { metric: string; tenant: string; host: string; values: number[] }[] = [];
    for (const point of sent) {
      const tenant = point.measurement === "memrw" ? "acme-rw" : "acme-kx";
      for (const [field, value] of Object.entries(point.fields)) {
        expected.push({
          metric: `${point.measurement}_${field}`,
          tenant,
          host: TELEGRAF_HOST,
          values: [Number(value)],
        });
      }
    }
    assert.ok(expected.length >= 40, `inputs.mem gave ${expected.length} fields`);
    for (const encoding of ["proto", "json"]) {
      const byMetric = new Map<string, number[]>();
      for (const [metric, value] of OTEL_SAMPLE_EXPECTED) {
        byMetric.set(metric, [...byMetric.get(metric) ?? [], value]);
      }
      for (const [metric, values] of byMetric) {
        expected.push({ metric, tenant: `acme-otlp-${encoding}`, host: OTEL_SAMPLE_HOST, values });
      }
    }

    const agent = await startAgent(file, port);
    try {
      for (const { metric, tenant, host, values } of expected) {
        const points = await eventually(
          async () => {
            const found = await pointsOf(agent.baseUrl, metric, tenant, host);
            return found.length >= values.length ? found : undefined;
          },
          30_000,
          `${values.length} points of ${metric} (${tenant})`,
        );
        const got = points.map((p) => p.value).sort((a, b) => a - b);
        const want = [...values].sort((a, b) => a - b);
        assert.equal(got.length, want.length, `${metric} (${tenant}) stored once: ${JSON.stringify(got)}`);
        got.forEach((value, i) =>
          assert.ok(Math.abs(value - want[i]) < 1e-9, `${metric}: ${got} != ${want}`)
        );
      }
      const dead = await kcatJsonAtLeast<DeadLetter>(topics.dlq, 2, "the two dead letters");
      assert.deepEqual(
        dead.map((d) => [d.stage, d.source.topic]).sort(),
        [["input", inputTopics.otlpProto], ["input", inputTopics.rw]],
      );
      // Local: one pass, nothing on the internal enriched topic; partitioned: the stateless group wrote it.
      const enriched = await kcatConsumeAll(topics.enriched);
      assert.equal(enriched.length > 0, topology === "partitioned", `${enriched.length} enriched messages`);
      const reasons = dead.map((d) => d.reason).sort();
      assert.match(reasons[0], /^message: body is not Snappy block-compressed/);
      assert.match(reasons[1], /^message: body is not an OTLP ExportMetricsServiceRequest in protobuf/);
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  });
}
