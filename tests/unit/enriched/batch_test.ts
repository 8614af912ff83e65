import assert from "node:assert/strict";
import { partitionOf } from "../../../kafka/partition.ts";
import { prng } from "../../../lib/prng.ts";
import {
  decodeEnriched,
  ENRICHED_BATCH_FORMAT,
  type EnrichedBatch,
  EnrichedBatchPacker,
  EnrichedBatchSchema,
} from "../../../enriched/mod.ts";
import { BatchRow, isExactEnrichedBatch, readEnrichedBatch } from "../../../enriched/read.ts";
import { type Envelope, eventId, seriesKey, type Source } from "../../../model/envelope.ts";
import { VALID_ENVELOPE } from "../pipeline/fixtures.ts";

const ENVELOPE: Envelope = { ...VALID_ENVELOPE, v: 1 };

const TOPIC = "events.enriched";
const CTX: Record<string, string> = Object.freeze({ site: "par-1", role: "web" });
const TAGS: Record<string, string>[] = [{}, { env: "prod" }, { env: "dev", region: "eu-west" }];
const CTXS: Record<string, string>[] = [CTX, {}, { site: "ams" }];

/** Random envelopes over a few series, with varying units, tags, contexts and source topics. */
function randomEnvelopes(count: number, seed: number): Envelope[] {
  const random = prng(seed);
  const pick = <T>(options: readonly T[]): T => options[Math.floor(random() * options.length)];
  const offsets = new Map<string, number>();
  return Array.from({ length: count }, () => {
    const topic = pick(["ingest.raw.agent", "other.raw"]);
    const partition = pick([0, 1, 7]);
    const key = `${topic}:${partition}`;
    const offset = (offsets.get(key) ?? pick([0, 2 ** 53 - 5])) + 1;
    offsets.set(key, offset);
    const source = {
      topic,
      partition,
      offset: offset > 2 ** 53 - 3 ? `${BigInt(offset) * 1000n}` : String(offset),
      index: pick([0, 0, 3]),
    };
    const event: Envelope = {
      v: 1,
      id: eventId(source),
      tenant: pick(["acme", "globex", "ünïcode \u2603"]),
      host: pick(["host-a", "host-b", 'quote"host']),
      metric: pick(["cpu_load", "mem_used", "temp"]),
      value: pick([85.5, -0.001, 1e300, 0, 12]),
      unit: pick(["percent", ""]),
      ts: (random() < 0.1 ? -1 : 1) * (1_761_040_800_000 + Math.floor(random() * 1e6)),
      ts_ingest: 1_761_040_900_000,
      tags: pick(TAGS),
      ctx: pick(CTXS),
      source,
    };
    if (random() < 0.2) event.unit_original = pick(["MiB", "°F"]);
    return event;
  });
}

/** Decoded envelopes as plain objects (batch rows read their columns through getters). */
function decodeMessages(messages: { partition?: number; value: Buffer }[]): Envelope[] {
  return plain(
    decodeEnriched(
      messages.map((message, i) => ({
        topic: TOPIC,
        partition: message.partition ?? 0,
        offset: BigInt(i),
        value: message.value,
      })),
      1,
    ).events,
  );
}

function plain(events: readonly Envelope[]): Envelope[] {
  return JSON.parse(JSON.stringify(events));
}

Deno.test("enriched batch: envelopes come back equal, each series on its key's partition and in order", () => {
  const events = randomEnvelopes(3_000, 7);
  const packer = new EnrichedBatchPacker(TOPIC, 5);
  for (const event of events) packer.addEnvelope(event);
  assert.equal(packer.records, events.length);
  const messages = packer.take();
  assert.equal(packer.records, 0);
  assert.ok(messages.length <= 5, `${messages.length} messages for 5 partitions`);
  for (const message of messages) {
    const batch = JSON.parse(message.value.toString());
    assert.ok(isExactEnrichedBatch(batch), "the packer writes exact batches");
    const decoded = readEnrichedBatch(batch);
    assert.ok(decoded.success);
    for (const event of decoded.events) assert.equal(partitionOf(seriesKey(event), 5), message.partition);
  }
  const decoded = decodeMessages(messages);
  const bySeries = (list: Envelope[]) => Map.groupBy(list, seriesKey);
  assert.deepEqual(bySeries(decoded), bySeries(events));
  assert.equal(decoded.length, events.length);
});

Deno.test("enriched batch in memory (local topology): every envelope back in the order added, batch after batch", () => {
  const packer = EnrichedBatchPacker.inMemory();
  for (const round of [1, 2, 3]) {
    const events = randomEnvelopes(2_000 * round, round);
    for (const event of events) packer.addEnvelope(event);
    const batches = packer.takeBatches();
    assert.equal(batches.length, 1, "one partition, no size limit: one batch");
    assert.ok(isExactEnrichedBatch(JSON.parse(JSON.stringify(batches[0]))), "the same shape as on the wire");
    const read = readEnrichedBatch(batches[0]);
    assert.ok(read.success);
    assert.deepEqual(plain(read.events), plain(events));
    assert.deepEqual(read.events.map((event) => event.id), events.map((event) => event.id));
  }
  assert.deepEqual(packer.takeBatches(), [], "nothing added: no batch");
  assert.throws(() => new EnrichedBatchPacker(TOPIC, 1).takeBatches(), /writes messages/);
});

Deno.test("enriched batch: an event added with a context packs as the event with that ctx", () => {
  const events = randomEnvelopes(1_000, 11).map((event) => ({ ...event, ctx: {} }));
  // As the stateless group adds them: the normalized event and its context, no enriched copy.
  const withContext = new EnrichedBatchPacker(TOPIC, 3);
  const copied = new EnrichedBatchPacker(TOPIC, 3);
  // One source object, rewritten per event as the builder does: the packer keeps nothing of it.
  const source: Source = { topic: "", partition: 0, offset: "0", index: 0 };
  events.forEach((event, i) => {
    const ctx = CTXS[i % CTXS.length];
    const { v: _v, id: _id, ctx: _ctx, source: eventSource, ...normalized } = event;
    Object.assign(source, eventSource);
    withContext.add(normalized, source, ctx);
    copied.addEnvelope({ ...event, ctx });
  });
  const packed = withContext.take();
  assert.deepEqual(
    packed.map((m) => [m.partition, m.value.toString()]),
    copied.take().map((m) => [m.partition, m.value.toString()]),
  );
  // Every event comes back with its context (ids repeat in these envelopes: compared as sorted lists).
  const withCtx = (event: Envelope, ctx: Record<string, string>) => `${event.id} ${JSON.stringify(ctx)}`;
  assert.deepEqual(
    decodeMessages(packed).map((event) => withCtx(event, event.ctx)).sort(),
    events.map((event, i) => withCtx(event, CTXS[i % CTXS.length])).sort(),
  );
});

Deno.test("enriched batch: the packer starts over after take, and reuses dictionary entries", () => {
  const packer = new EnrichedBatchPacker(TOPIC, 1);
  const first = randomEnvelopes(500, 1);
  for (const event of first) packer.addEnvelope(event);
  assert.ok(packer.take().length > 0);
  assert.equal(packer.records, 0);
  assert.deepEqual(packer.take(), []);
  // Units as in practice: one per metric.
  const second = randomEnvelopes(800, 2).map(({ unit_original: _, ...event }) => ({
    ...event,
    unit: event.metric === "temp" ? "celsius" : "percent",
  }));
  for (const event of second) packer.addEnvelope(event);
  const [message, ...more] = packer.take();
  assert.equal(more.length, 0);
  const batch: EnrichedBatch = JSON.parse(message.value.toString());
  assert.deepEqual(decodeMessages([message]), second);
  // 3 tenants x 3 hosts x 3 metrics; contexts are found again by identity, tags by their contents.
  assert.equal(batch.series.length, 27);
  assert.ok(batch.ctx.length <= 3 * 27, `${batch.ctx.length} ctx entries`);
  assert.equal(batch.tags.length, 3);
  assert.equal(batch.topics.length, 2);
});

Deno.test("enriched batch: messages stay under the size limit; a split keeps every series in order", () => {
  const events = randomEnvelopes(2_000, 3);
  const maxBytes = 8_000;
  const packer = new EnrichedBatchPacker(TOPIC, 2, maxBytes);
  for (const event of events) packer.addEnvelope(event);
  const messages = packer.take();
  assert.ok(messages.length > 10, `${messages.length} messages`);
  for (const message of messages) {
    assert.ok(message.value.length <= maxBytes, `${message.value.length} bytes`);
  }
  const decoded = decodeMessages(messages);
  assert.deepEqual(Map.groupBy(decoded, seriesKey), Map.groupBy(events, seriesKey));
});

Deno.test("enriched batch: about a fifth of the bytes of the same envelopes as JSON", () => {
  const events = randomEnvelopes(5_000, 4);
  const packer = new EnrichedBatchPacker(TOPIC, 1);
  for (const event of events) packer.addEnvelope(event);
  const [message] = packer.take();
  const asJson = Buffer.byteLength(JSON.stringify(events));
  assert.ok(message.value.length * 4 < asJson, `${message.value.length} vs ${asJson} bytes`);
});

function validBatch(): Record<string, unknown> {
  const packer = new EnrichedBatchPacker(TOPIC, 1);
  packer.addEnvelope(ENVELOPE);
  packer.addEnvelope({
    ...ENVELOPE,
    id: "ingest.raw.agent:2:18:0",
    source: { ...ENVELOPE.source, offset: "18" },
  });
  return JSON.parse(packer.take()[0].value.toString());
}

type Json = Record<string, unknown>;

function mutated(path: (string | number)[], value: unknown): Json {
  const copy: Json = structuredClone(validBatch());
  let target = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Json;
  const last = path[path.length - 1];
  if (value === DELETE) delete target[last];
  else target[last] = value;
  return copy;
}

const DELETE = Symbol("delete");

Deno.test("enriched batch: the fast check agrees with zod on valid and broken batches", () => {
  const cases: [string, Json][] = [
    ["valid", validBatch()],
    ["extra key", mutated(["extra"], 1)],
    ["v 2", mutated(["v"], 2)],
    ["no rows", mutated(["rows"], DELETE)],
    ["short column", mutated(["rows", "value"], [1])],
    ["extra column", mutated(["rows", "extra"], [1, 2])],
    ["index beyond series", mutated(["rows", "series", 1], 5)],
    ["index beyond ctx", mutated(["rows", "ctx", 0], 1)],
    ["negative index", mutated(["rows", "tags", 0], -1)],
    ["string value", mutated(["rows", "value", 0], "85")],
    ["fraction ts", mutated(["rows", "ts", 1], 1.5)],
    ["huge offset number", mutated(["rows", "offset", 0], 2 ** 60)],
    ["offset string", mutated(["rows", "offset", 0], "123456789012345678901")],
    ["bad offset string", mutated(["rows", "offset", 0], "-1")],
    ["bad metric", mutated(["series", 0, "metric"], "Cpu")],
    ["empty host", mutated(["series", 0, "host"], "")],
    ["unit_original", mutated(["series", 0, "unit_original"], "MiB")],
    ["unit_original number", mutated(["series", 0, "unit_original"], 1)],
    ["tags not strings", mutated(["tags", 0], { env: 1 })],
    ["empty topic", mutated(["topics", 0], "")],
    ["series not array", mutated(["series"], {})],
  ];
  for (const [what, value] of cases) {
    const zod = EnrichedBatchSchema.safeParse(value);
    if (isExactEnrichedBatch(value)) {
      assert.ok(zod.success, `${what}: fast check accepted, zod rejected`);
      assert.deepEqual(zod.data, value, `${what}: zod's output differs`);
    }
    const ours = readEnrichedBatch(value);
    assert.equal(ours.success, zod.success, `${what}: readEnrichedBatch and zod disagree`);
  }
  assert.ok(isExactEnrichedBatch(cases[0][1]));
  assert.ok(readEnrichedBatch(mutated(["extra"], 1)).success, "zod strips an extra key");
});

Deno.test("enriched batch: a broken batch goes to the DLQ whole, with the path of the problem", () => {
  const cases: [Json, RegExp][] = [
    [
      mutated(["rows", "series", 1], 5),
      /^not an enriched batch: rows\.series\.1: index 5 is beyond series \(1 entries\)$/,
    ],
    [
      mutated(["rows", "value"], [1]),
      /^not an enriched batch: rows\.value: has 1 entries, rows\.series has 2/,
    ],
    [mutated(["rows", "value", 0], "85"), /^not an enriched batch: rows\.value\.0: .*number/],
    [{ format: ENRICHED_BATCH_FORMAT }, /^not an enriched batch: v: .* \(and \d+ more problems\)$/],
  ];
  cases.forEach(([batch, reason], i) => {
    const text = JSON.stringify(batch);
    const decoded = decodeEnriched([{
      topic: TOPIC,
      partition: 0,
      offset: BigInt(i),
      value: Buffer.from(text),
    }], 9);
    assert.deepEqual(decoded.events, []);
    assert.equal(decoded.elements, 1);
    assert.equal(decoded.deadLetters.length, 1);
    const [letter] = decoded.deadLetters;
    assert.match(letter.reason, reason);
    assert.equal(letter.original, text);
    assert.deepEqual(letter.source, { topic: TOPIC, partition: 0, offset: String(i) });
  });
});

Deno.test("enriched batch: decoded tags and contexts are shared and frozen", () => {
  const decoded = readEnrichedBatch(validBatch());
  assert.ok(decoded.success);
  const [a, b] = decoded.events;
  assert.equal(a.tags, b.tags);
  assert.equal(a.ctx, b.ctx);
  assert.ok(Object.isFrozen(a.tags) && Object.isFrozen(a.ctx));
  assert.deepEqual(plain([a]), [ENVELOPE]);
});

Deno.test("enriched batch: a decoded row reads like the envelope, and serializes to the same JSON", () => {
  const events = randomEnvelopes(300, 11);
  const packer = new EnrichedBatchPacker(TOPIC, 1);
  for (const event of events) packer.addEnvelope(event);
  const [message] = packer.take();
  const decoded = readEnrichedBatch(JSON.parse(message.value.toString()));
  assert.ok(decoded.success);
  assert.equal(decoded.events.length, events.length);
  for (let i = 0; i < events.length; i++) {
    const row: Envelope = decoded.events[i];
    const event = events[i];
    assert.ok(row instanceof BatchRow);
    // Byte for byte the JSON the stateless group would have sent (key order included).
    assert.equal(JSON.stringify(row), JSON.stringify(event));
    assert.equal(row.id, event.id);
    assert.equal(row.id, eventId(row.source));
    assert.equal(row.unit_original, event.unit_original);
    assert.deepEqual([row.tenant, row.host, row.metric, row.value, row.unit, row.ts, row.ts_ingest], [
      event.tenant,
      event.host,
      event.metric,
      event.value,
      event.unit,
      event.ts,
      event.ts_ingest,
    ]);
    // The row is its own source; serialized as a source it is the plain source.
    assert.equal(JSON.stringify({ source: row.source }), JSON.stringify({ source: event.source }));
  }
});
