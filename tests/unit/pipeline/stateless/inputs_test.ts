/**
 * `inputs` topics without a broker: the stateless builder converts a message of an influx input
 * topic into events with ids of that topic's positions, dead-letters the lines it cannot convert with
 * the reason, and leaves the raw topic's messages as they were; remote write and OTLP (protobuf and
 * JSON) messages go through the HTTP receivers' decoders, a message that is not the format at all is
 * dead-lettered whole; an envelope input is read as the raw topic; inputs are taken in every topology.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ConfigSchema } from "../../../../config/schema.ts";
import type { ConsumedMessage } from "../../../../kafka/batch_consumer.ts";
import { DeadLetterSchema } from "../../../../model/dlq.ts";
import { readEnrichedBatch } from "../../../../enriched/read.ts";
import { StatelessBatchBuilder } from "../../../../pipeline/stateless/batch.ts";
import { emptyInventory } from "../../../../stages/inventory.ts";
import { encodeRemoteWrite } from "../../../../sources/prometheus.ts";
import { encodeOtlpMetricsRequest } from "../../../../sources/otlp.ts";

const config = ConfigSchema.parse({
  inputs: [{ topic: "telegraf.influx", format: "influx", tenant: "acme", precision: "s" }],
});

function message(topic: string, offset: number, value: string | Uint8Array): ConsumedMessage {
  return {
    topic,
    partition: 1,
    offset: BigInt(offset),
    value: Buffer.from(value),
  } as unknown as ConsumedMessage;
}

Deno.test("inputs: an influx topic's lines become events with its positions as ids; bad lines go to the DLQ with the line and reason", () => {
  const inventory = emptyInventory();
  const builder = new StatelessBatchBuilder({ config, inventory: () => inventory, enrichedPartitions: 1 });
  const nowS = Math.floor(Date.now() / 1000) - 5;
  builder.add(message(
    "telegraf.influx",
    7,
    [
      `mem,host=pi-1 used_percent=41.5,available=1024i ${nowS}`,
      `cpu,host=pi-1 usage_idle="busy" ${nowS}`,
      `cpu usage_user=3 ${nowS}`,
    ].join("\n"),
  ));
  builder.add(message(
    config.topics.raw,
    3,
    JSON.stringify({ tenant_id: "acme", host: "web-1", metric: "x", value: 1, ts_event: Date.now() }),
  ));
  const batch = builder.take();
  assert.deepEqual({ read: batch.read, accepted: batch.accepted, rejected: batch.rejected }, {
    read: 2,
    accepted: 3,
    rejected: 2,
  });
  const enriched = batch.messages.filter((m) => m.topic === config.topics.enriched);
  const read = readEnrichedBatch(JSON.parse(enriched[0].value.toString()));
  assert.ok(read.success);
  assert.deepEqual(
    read.events.map((e) => [e.id, e.tenant, e.host, e.metric, e.value, e.ts]),
    [
      ["telegraf.influx:1:7:0", "acme", "pi-1", "mem_used_percent", 41.5, nowS * 1000],
      ["telegraf.influx:1:7:1", "acme", "pi-1", "mem_available", 1024, nowS * 1000],
      [`${config.topics.raw}:1:3:0`, "acme", "web-1", "x", 1, read.events[2].ts],
    ],
  );
  const dead = batch.messages.filter((m) => m.topic === config.topics.dlq)
    .map((m) => DeadLetterSchema.parse(JSON.parse(m.value.toString())));
  assert.deepEqual(dead.map((d) => [d.stage, d.source.topic, d.source.offset, d.original]), [
    ["input", "telegraf.influx", "7", `cpu,host=pi-1 usage_idle="busy" ${nowS}`],
    ["input", "telegraf.influx", "7", `cpu usage_user=3 ${nowS}`],
  ]);
  assert.match(dead[0].reason, /line 2: field "usage_idle" is a string/);
  assert.match(dead[1].reason, /line 3: no host/);
});

Deno.test("inputs: taken in every topology; refused on the raw topic and in an unknown format", () => {
  const input = { topic: "t.influx", format: "influx" };
  for (const topology of ["partitioned", "local", "auto"]) {
    assert.equal(ConfigSchema.parse({ topology, inputs: [input] }).inputs[0].topic, "t.influx");
  }
  assert.throws(
    () => ConfigSchema.parse({ inputs: [{ ...input, topic: "ingest.raw.agent" }] }),
    /cannot be the raw topic/,
  );
  assert.throws(() => ConfigSchema.parse({ inputs: [{ ...input, format: "csv" }] }), /format/);
  assert.throws(() => ConfigSchema.parse({ inputs: [{ ...input, precision: "days" }] }), /precision/);
  assert.throws(
    () => ConfigSchema.parse({ inputs: [{ ...input, format: "json", mapping: { metric: "m" } }] }),
    /needs mapping.metric and mapping.value, or mapping.fields/,
  );
});

/** The stored events of a batch as [id, tenant, host, metric, value, ts, tags]. */
function eventsOf(messages: readonly { topic: string; value: Buffer | Uint8Array | string }[]) {
  const enriched = messages.filter((m) => m.topic === config.topics.enriched);
  return enriched.flatMap((m) => {
    const read = readEnrichedBatch(JSON.parse(m.value.toString()));
    assert.ok(read.success);
    return read.events.map((e) => [e.id, e.tenant, e.host, e.metric, e.value, e.ts, e.tags]);
  });
}

function deadLettersOf(messages: readonly { topic: string; value: Buffer | Uint8Array | string }[]) {
  return messages.filter((m) => m.topic === config.topics.dlq)
    .map((m) => DeadLetterSchema.parse(JSON.parse(m.value.toString())));
}

const protocolConfig = ConfigSchema.parse({
  inputs: [
    { topic: "prom.rw", format: "prometheus-remote-write", tenant: "acme" },
    { topic: "otel.proto", format: "otlp-proto", tenant: "acme" },
    { topic: "otel.json", format: "otlp-json", host: "gw-1" },
    { topic: "other.raw", format: "envelope" },
  ],
});

function protocolBuilder(): StatelessBatchBuilder {
  const inventory = emptyInventory();
  return new StatelessBatchBuilder({
    config: protocolConfig,
    inventory: () => inventory,
    enrichedPartitions: 1,
  });
}

/** An OTLP request of one gauge point (and a monotonic sum point) at `tsMs`. */
function otlpRequest(tsMs: number, resource: Record<string, string>) {
  const nanos = String(BigInt(tsMs) * 1_000_000n);
  return {
    resourceMetrics: [{
      resource: {
        attributes: Object.entries(resource).map(([key, value]) => ({ key, value: { stringValue: value } })),
      },
      scopeMetrics: [{
        metrics: [
          { name: "queue.depth", gauge: { dataPoints: [{ timeUnixNano: nanos, asDouble: 4.5 }] } },
          {
            name: "requests",
            sum: {
              isMonotonic: true,
              aggregationTemporality: 2,
              dataPoints: [{ timeUnixNano: nanos, asInt: "7" }],
            },
          },
        ],
      }],
    }],
  };
}

Deno.test("inputs: remote write and OTLP messages go through the receivers' decoders; ids are the input topic's positions", () => {
  const builder = protocolBuilder();
  const ts = Date.now() - 10_000;
  builder.add(message(
    "prom.rw",
    4,
    encodeRemoteWrite([{
      labels: [{ name: "__name__", value: "node_load1" }, { name: "instance", value: "pi-1" }],
      samples: [{ value: 0.5, timestamp: String(ts) }, { value: 0.75, timestamp: String(ts + 1000) }],
    }]),
  ));
  builder.add(message(
    "otel.proto",
    5,
    encodeOtlpMetricsRequest(otlpRequest(ts, { "host.name": "pi-2" })),
  ));
  builder.add(message("otel.json", 6, JSON.stringify(otlpRequest(ts, { tenant_id: "beta" }))));
  const batch = builder.take();
  assert.deepEqual({ read: batch.read, accepted: batch.accepted, rejected: batch.rejected }, {
    read: 3,
    accepted: 6,
    rejected: 0,
  });
  assert.deepEqual(eventsOf(batch.messages), [
    ["prom.rw:1:4:0", "acme", "pi-1", "node_load1", 0.5, ts, { instance: "pi-1" }],
    ["prom.rw:1:4:1", "acme", "pi-1", "node_load1", 0.75, ts + 1000, { instance: "pi-1" }],
    ["otel.proto:1:5:0", "acme", "pi-2", "queue_depth", 4.5, ts, { "host.name": "pi-2", otel_type: "gauge" }],
    ["otel.proto:1:5:1", "acme", "pi-2", "requests", 7, ts, { "host.name": "pi-2", otel_type: "counter" }],
    ["otel.json:1:6:0", "beta", "gw-1", "queue_depth", 4.5, ts, { otel_type: "gauge" }],
    ["otel.json:1:6:1", "beta", "gw-1", "requests", 7, ts, { otel_type: "counter" }],
  ]);
});

Deno.test("inputs: a message that is not its topic's format is dead-lettered whole with the reason; the batch goes on", () => {
  const builder = protocolBuilder();
  const ts = Date.now() - 10_000;
  const truncated = encodeOtlpMetricsRequest(otlpRequest(ts, { "host.name": "pi-2" })).subarray(0, 20);
  builder.add(message("prom.rw", 1, "not snappy at all"));
  builder.add(message("otel.proto", 2, truncated));
  builder.add(message("otel.json", 3, "{not json"));
  // Decodable, but points without a host: those points alone, with where it was.
  builder.add(
    message("otel.proto", 4, encodeOtlpMetricsRequest(otlpRequest(ts, {}))),
  );
  builder.add(message("otel.json", 5, JSON.stringify(otlpRequest(ts, { tenant_id: "beta" }))));
  const batch = builder.take();
  assert.deepEqual({ read: batch.read, accepted: batch.accepted, rejected: batch.rejected }, {
    read: 5,
    accepted: 2,
    rejected: 5,
  });
  const dead = deadLettersOf(batch.messages);
  assert.deepEqual(dead.map((d) => [d.stage, d.source.topic, d.source.offset]), [
    ["input", "prom.rw", "1"],
    ["input", "otel.proto", "2"],
    ["input", "otel.json", "3"],
    ["input", "otel.proto", "4"],
    ["input", "otel.proto", "4"],
  ]);
  assert.match(dead[0].reason, /^message: body is not Snappy block-compressed/);
  assert.equal(dead[0].original, "not snappy at all");
  assert.match(dead[1].reason, /^message: body is not an OTLP ExportMetricsServiceRequest in protobuf/);
  const kept = dead[1].encoding === "base64"
    ? Buffer.from(dead[1].original, "base64")
    : Buffer.from(dead[1].original);
  assert.deepEqual(new Uint8Array(kept), new Uint8Array(truncated), "the message's bytes kept");
  assert.match(dead[2].reason, /^message: body is not an OTLP ExportMetricsServiceRequest in json/);
  assert.match(dead[3].reason, /metric "queue.depth": no host or host.name attribute/);
  assert.deepEqual(eventsOf(batch.messages).map((e) => [e[0], e[3]]), [
    ["otel.json:1:5:0", "queue_depth"],
    ["otel.json:1:5:1", "requests"],
  ]);
});

Deno.test("inputs: an envelope topic is read as the raw topic is, with its own positions as ids", () => {
  const builder = protocolBuilder();
  const ts = Date.now() - 10_000;
  builder.add(message(
    "other.raw",
    9,
    JSON.stringify({ tenant_id: "acme", host: "web-1", metric: "cpu_load", value: 12, ts_event: ts }),
  ));
  const batch = builder.take();
  assert.deepEqual(eventsOf(batch.messages), [["other.raw:1:9:0", "acme", "web-1", "cpu_load", 12, ts, {}]]);
  assert.throws(
    () => ConfigSchema.parse({ inputs: [{ topic: "t", format: "envelope", tenant: "acme" }] }),
    /envelope input's events name their tenant and host/,
  );
});
