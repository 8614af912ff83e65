import assert from "node:assert/strict";
import { JsonBatcher } from "../../../kafka/json_batches.ts";
import { partitionOf, SeriesPartitioner } from "../../../kafka/partition.ts";

const decoder = new TextDecoder();

Deno.test("JsonBatcher: one array message per partition, each key on its partition, in order", () => {
  const partitioner = new SeriesPartitioner(3);
  const batcher = new JsonBatcher("events.enriched", 3);
  const added: { key: string; n: number }[] = [];
  for (let n = 0; n < 300; n++) {
    const series = { tenant: "acme", host: `host-${n % 17}`, metric: "cpu_load" };
    const key = `acme|host-${n % 17}|cpu_load`;
    batcher.add(partitioner.partition(series), JSON.stringify({ key, n }));
    added.push({ key, n });
  }
  assert.equal(batcher.records, 300);
  const messages = batcher.take();
  assert.equal(messages.length, 3);
  assert.equal(batcher.records, 0);
  const seen: { key: string; n: number }[] = [];
  for (const message of messages) {
    assert.equal(message.topic, "events.enriched");
    assert.equal(message.key, undefined);
    const records: { key: string; n: number }[] = JSON.parse(decoder.decode(message.value));
    for (const record of records) assert.equal(partitionOf(record.key, 3), message.partition);
    seen.push(...records);
  }
  for (let h = 0; h < 17; h++) {
    const key = `acme|host-${h}|cpu_load`;
    assert.deepEqual(seen.filter((r) => r.key === key), added.filter((r) => r.key === key), key);
  }
  assert.deepEqual(batcher.take(), [], "take starts afresh");
});

Deno.test("JsonBatcher: splits a partition's records at the size limit, keeping order", () => {
  const batcher = new JsonBatcher("t", 1, 100);
  for (let n = 0; n < 10; n++) batcher.add(0, JSON.stringify({ n, pad: "x".repeat(20) }));
  const messages = batcher.take();
  assert.ok(messages.length > 1);
  const values = messages.map((message) => decoder.decode(message.value));
  for (const value of values) assert.ok(value.length <= 100, `${value.length} chars`);
  assert.deepEqual(values.flatMap((value) => JSON.parse(value).map((r: { n: number }) => r.n)), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
});

Deno.test("JsonBatcher: a record over the limit still goes out, alone", () => {
  const batcher = new JsonBatcher("t", 1, 10);
  batcher.add(0, '"small"');
  batcher.add(0, JSON.stringify("x".repeat(50)));
  const messages = batcher.take();
  assert.deepEqual(messages.map((message) => JSON.parse(decoder.decode(message.value))), [["small"], [
    "x".repeat(50),
  ]]);
});
