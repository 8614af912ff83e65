/**
 * `inputs` topics without a broker: the stateless builder converts a message of an influx input
 * topic into events with ids of that topic's positions, dead-letters the lines it cannot convert with
 * the reason, and leaves the raw topic's messages as they were; the config refuses inputs in the
 * topologies that do not read them.
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

const config = ConfigSchema.parse({
  inputs: [{ topic: "telegraf.influx", format: "influx", tenant: "acme", precision: "s" }],
});

function message(topic: string, offset: number, value: string): ConsumedMessage {
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

Deno.test("inputs: refused outside the partitioned topology, on the raw topic, and in an unknown format", () => {
  const input = { topic: "t.influx", format: "influx" };
  assert.throws(
    () => ConfigSchema.parse({ topology: "local", inputs: [input] }),
    /need topology: partitioned/,
  );
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
