/**
 * The stateless group without a broker: the builder normalizes, enriches and packs each raw message
 * as it is added (bad input becomes dead letters), and the handler produces a built batch; a
 * failed produce is retried with the same messages and counted once.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ConfigSchema } from "../../../../config/schema.ts";
import type { ConsumedMessage } from "../../../../kafka/batch_consumer.ts";
import type { ByteProducer, OutgoingMessage } from "../../../../kafka/clients.ts";
import { DeadLetterSchema } from "../../../../model/dlq.ts";
import { type Envelope, EnvelopeSchema } from "../../../../model/envelope.ts";
import { MemoryCounters } from "../../../../telemetry/counters.ts";
import { readEnrichedBatch } from "../../../../enriched/read.ts";
import { createStatelessHandler, StatelessBatchBuilder } from "../../../../pipeline/stateless/batch.ts";
import { parseInventory } from "../../../../stages/inventory.ts";

const config = ConfigSchema.parse({});
const inventory = parseInventory(
  "hosts:\n  - { tenant: acme, host: web-1, site: par-1 }\n",
  "(test inventory)",
);

function raw(offset: number, value: string): ConsumedMessage {
  return {
    topic: config.topics.raw,
    partition: 0,
    offset: BigInt(offset),
    timestamp: BigInt(Date.now()),
    value: Buffer.from(value),
  } as unknown as ConsumedMessage;
}

function event(host: string, value: number): string {
  return JSON.stringify({
    tenant_id: "acme",
    host,
    metric: "cpuLoad",
    value,
    unit: "percent",
    ts_event: Date.now() - 1_000,
  });
}

/** A producer whose first `failures` sends reject; records what got through. */
function producer(failures: number): { producer: ByteProducer; sent: OutgoingMessage[][] } {
  const sent: OutgoingMessage[][] = [];
  return {
    sent,
    producer: {
      send({ messages }: { messages: OutgoingMessage[] }) {
        if (failures-- > 0) return Promise.reject(new Error("broker unavailable"));
        sent.push(messages);
        return Promise.resolve();
      },
    } as unknown as ByteProducer,
  };
}

Deno.test("stateless builder: packs enriched events and dead letters per batch, with counts", () => {
  const builder = new StatelessBatchBuilder({ config, inventory: () => inventory, enrichedPartitions: 1 });
  builder.add(raw(10, event("web-1", 42)));
  builder.add(raw(11, "{not json"));
  builder.add(raw(12, `[${event("db-9", 7)},${event("web-1", 43)}]`));
  const batch = builder.take();
  assert.deepEqual(
    {
      read: batch.read,
      accepted: batch.accepted,
      rejected: batch.rejected,
      unknownHosts: batch.unknownHosts,
    },
    { read: 3, accepted: 3, rejected: 1, unknownHosts: 1 },
  );
  const enriched = batch.messages.filter((m) => m.topic === config.topics.enriched);
  const dead = batch.messages.filter((m) => m.topic === config.topics.dlq);
  assert.equal(enriched.length, 1);
  const read = readEnrichedBatch(JSON.parse(enriched[0].value.toString()));
  assert.ok(read.success);
  assert.deepEqual(
    read.events.map((e) => [e.id, e.host, e.metric, e.value, e.ctx.site ?? e.ctx.inventory]),
    [
      [`${config.topics.raw}:0:10:0`, "web-1", "cpu_load", 42, "par-1"],
      [`${config.topics.raw}:0:12:0`, "db-9", "cpu_load", 7, "unknown"],
      [`${config.topics.raw}:0:12:1`, "web-1", "cpu_load", 43, "par-1"],
    ],
  );
  assert.equal(dead.length, 1);
  const letter = DeadLetterSchema.parse(JSON.parse(dead[0].value.toString()));
  assert.equal(letter.source.offset, "11");
  assert.match(letter.reason, /not valid JSON/);
  // The next batch starts empty.
  assert.deepEqual(builder.take().messages, []);
});

Deno.test("stateless builder: both enriched encodings carry the same envelopes, with ids, sources and tags", () => {
  const messages = [
    raw(20, event("web-1", 1)),
    raw(21, `${event("web-1", 2)}\n${event("db-9", 3)}`),
    raw(
      22,
      JSON.stringify({
        tenant_id: "acme",
        host: "web-1",
        metric: "mem",
        value: 1,
        unit: "KiB",
        ts_event: Date.now(),
        tags: { a: "b" },
      }),
    ),
  ];
  const envelopesOf = (encoding: "columns" | "envelopes") => {
    const encoded = ConfigSchema.parse({ kafka: { enriched_encoding: encoding } });
    const builder = new StatelessBatchBuilder({
      config: encoded,
      inventory: () => inventory,
      enrichedPartitions: 2,
    });
    for (const message of messages) builder.add(message);
    const batch = builder.take();
    assert.equal(batch.rejected, 0, batch.messages.map((m) => m.value.toString()).join("\n"));
    return batch.messages.flatMap((m) => {
      const json = JSON.parse(m.value.toString());
      if (encoding === "envelopes") return json;
      const read = readEnrichedBatch(json);
      assert.ok(read.success);
      return JSON.parse(JSON.stringify(read.events));
    }).sort((a: Envelope, b: Envelope) => a.id.localeCompare(b.id));
  };
  const envelopes = envelopesOf("envelopes");
  // Built a moment apart: the same but for the ingest time.
  const sameButIngest = (list: Envelope[]) => list.map((e) => ({ ...e, ts_ingest: 0 }));
  assert.deepEqual(sameButIngest(envelopesOf("columns")), sameButIngest(envelopes));
  // Each is a valid envelope of its own element (the builder rewrites one event and one source).
  for (const envelope of envelopes) EnvelopeSchema.parse(envelope);
  assert.deepEqual(
    envelopes.map((
      e: Envelope,
    ) => [
      e.id,
      e.source.index,
      e.host,
      e.value,
      e.unit,
      e.unit_original,
      e.tags,
      e.ctx.site ?? e.ctx.inventory,
    ]),
    [
      [`${config.topics.raw}:0:20:0`, 0, "web-1", 1, "percent", undefined, {}, "par-1"],
      [`${config.topics.raw}:0:21:0`, 0, "web-1", 2, "percent", undefined, {}, "par-1"],
      [`${config.topics.raw}:0:21:1`, 1, "db-9", 3, "percent", undefined, {}, "unknown"],
      [`${config.topics.raw}:0:22:0`, 0, "web-1", 1024, "bytes", "KiB", { a: "b" }, "par-1"],
    ],
  );
});

Deno.test("stateless handler: a failed produce is retried with the same messages, counted once", async () => {
  const counters = new MemoryCounters();
  const { producer: sender, sent } = producer(1);
  const deps = { config, producer: sender, inventory: () => inventory, counters, enrichedPartitions: 1 };
  const builder = new StatelessBatchBuilder(deps);
  const handle = createStatelessHandler(deps);
  builder.add(raw(1, event("web-1", 1)));
  builder.add(raw(2, "[]x"));
  const batch = builder.take();
  await assert.rejects(handle(batch), /broker unavailable/);
  assert.equal(counters.get("normalize", "in"), 0);
  await handle(batch);
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0], batch.messages);
  assert.deepEqual(counters.snapshot(), { "normalize.in": 2, "normalize.out": 1, "normalize.dlq": 1 });
});

Deno.test("stateless: an empty array message is counted (normalize.empty), neither an event nor a dead letter", async () => {
  const counters = new MemoryCounters();
  const { producer: sender } = producer(0);
  const deps = { config, producer: sender, inventory: () => inventory, counters, enrichedPartitions: 1 };
  const builder = new StatelessBatchBuilder(deps);
  builder.add(raw(1, "[]"));
  builder.add(raw(2, " [ ] "));
  builder.add(raw(3, "[[]]"));
  builder.add(raw(4, "[]\n[]"));
  const batch = builder.take();
  assert.equal(batch.empty, 2);
  await createStatelessHandler(deps)(batch);
  // "[[]]" holds one element (not an object) and the NDJSON "[]" lines are arrays: dead letters.
  assert.deepEqual(counters.snapshot(), { "normalize.in": 4, "normalize.dlq": 3, "normalize.empty": 2 });
});
