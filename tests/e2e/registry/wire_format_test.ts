/**
 * The Confluent wire format on the raw topic, end to end: the real broker, the real schema registry
 * (AxonOps Schema Registry) and the real Python confluent-kafka producer with its Avro and JSON
 * serializers. Framed events are stored and alert exactly as JSON ones; v1 and v2 of a schema in the
 * same stream; an unknown schema id goes to the DLQ with the reason.
 */
import assert from "node:assert/strict";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../../testing/agent.ts";
import { kcatConsumeAll, kcatProduce, kcatProduceRaw } from "../../../testing/kcat.ts";
import { confluentProduce, startRegistry } from "../../../testing/schema_registry.ts";
import { frame } from "../../../registry/wire.ts";
import { briefEvent, RAW_AVRO_V1, RAW_AVRO_V2, RAW_JSON_SCHEMA } from "./fixtures.ts";

type Alert = { host: string; severity: string; state: string; value: number };
type Point = { ts: string; value: number; unit: string; tags: Record<string, string> };

async function points(base: string, host: string, count: number): Promise<Point[]> {
  return await eventually(
    async () => {
      const response = await fetch(`${base}/metrics/cpu?tenant=acme&host=${host}`);
      const body = await response.json();
      return (body.points as Point[] | undefined)?.length === count ? body.points as Point[] : undefined;
    },
    30_000,
    `${count} points of ${host}`,
  );
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`wire format (topology ${topology}): Avro v1 + v2, JSON Schema and unframed JSON in one stream are stored and alert alike; an unknown id is dead-lettered`, async () => {
    const registry = await startRegistry();
    const name = uniqueName("registry-wire");
    const { file, port, topics } = await writeTestConfig(name, {
      topology,
      schema_registry: { url: registry.url },
    });
    const agent = await startAgent(file, port);
    try {
      const avro1 = await confluentProduce({
        registry: registry.url,
        topic: topics.raw,
        format: "avro",
        schema: JSON.stringify(RAW_AVRO_V1),
        events: [briefEvent("host-avro", 85, 0), briefEvent("host-avro", 97, 5)],
        key: "host-avro",
      });
      const avro2 = await confluentProduce({
        registry: registry.url,
        topic: topics.raw,
        format: "avro",
        schema: JSON.stringify(RAW_AVRO_V2),
        events: [{ ...briefEvent("host-avro", 60, 10), site: "paris" }, briefEvent("host-avro", 61, 11)],
        key: "host-avro",
      });
      assert.notEqual(avro1.schema_id, avro2.schema_id, "v2 is a new schema id");
      // JSON Schema under the record's subject (RawEvent): the topic's subject holds Avro.
      const json = await confluentProduce({
        registry: registry.url,
        topic: topics.raw,
        format: "json",
        schema: JSON.stringify(RAW_JSON_SCHEMA),
        events: [briefEvent("host-json", 85, 0), briefEvent("host-json", 97, 5)],
        key: "host-json",
        subject_strategy: "record",
      });
      assert.ok(json.schema_id > 0);
      await kcatProduce(topics.raw, [JSON.stringify(briefEvent("host-plain", 85, 0))], "host-plain");
      await kcatProduceRaw(topics.raw, frame(987_654, new TextEncoder().encode("{}")));

      const avroPoints = await points(agent.baseUrl, "host-avro", 4);
      assert.deepEqual(avroPoints.map((p) => [p.value, p.unit]), [[85, "percent"], [97, "percent"], [
        60,
        "percent",
      ], [61, "percent"]]);
      assert.deepEqual(avroPoints[0].tags, { env: "prod" });
      await points(agent.baseUrl, "host-plain", 1);
      const jsonPoints = await points(agent.baseUrl, "host-json", 2);
      assert.deepEqual(jsonPoints.map((p) => p.value), [85, 97]);

      const alerts = await eventually(
        async () => {
          const found = (await kcatConsumeAll(topics.alerts)).map((text) => JSON.parse(text) as Alert)
            .filter((alert) => alert.host === "host-avro");
          return found.length >= 3 ? found : undefined;
        },
        30_000,
        "3 alerts of host-avro",
      );
      assert.deepEqual(alerts.map((a) => [a.severity, a.state, a.value]), [
        ["warning", "firing", 85],
        ["critical", "firing", 97],
        ["critical", "resolved", 60],
      ]);
      const dead = await eventually(
        async () => {
          const found = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
          return found.length >= 1 ? found : undefined;
        },
        30_000,
        "the unknown id's dead letter",
      );
      assert.equal(dead.length, 1, JSON.stringify(dead));
      assert.equal(dead[0].stage, "schema_registry");
      assert.match(dead[0].reason, /schema id 987654 is not in the schema registry/);
      const metrics = await (await fetch(`${agent.baseUrl}/prometheus`)).text();
      assert.match(metrics, /eventops_pipeline_events_total\{stage="schema_registry",kind="framed"\} 6/);
      assert.match(metrics, /eventops_pipeline_events_total\{stage="schema_registry",kind="dlq"\} 1/);
    } finally {
      assert.equal(await agent.stop(), 0);
      await registry.stop();
    }
  });
}
