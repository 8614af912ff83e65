/** The pure parts of the schema registry: the wire format, the decoders, the bounded cache, the builder's framed path. */
import assert from "node:assert/strict";
import avro from "avsc";
import { frame, isFramed, payloadOf, schemaIdOf } from "../../../registry/wire.ts";
import { compileDecoder } from "../../../registry/decode.ts";
import { SchemaCache } from "../../../registry/cache.ts";
import { SchemaResolver } from "../../../registry/resolver.ts";
import { RegistryUnavailableError } from "../../../registry/client.ts";
import { StatelessBatchBuilder } from "../../../pipeline/stateless/batch.ts";
import { ConfigSchema } from "../../../config/schema.ts";
import { emptyInventory } from "../../../stages/inventory.ts";

const RAW_AVRO = {
  type: "record",
  name: "Raw",
  fields: [
    { name: "tenant_id", type: "string" },
    { name: "host", type: "string" },
    { name: "metric", type: "string" },
    { name: "value", type: "double" },
    { name: "ts_event", type: "string" },
    { name: "unit", type: ["null", "string"], default: null },
  ],
};
const EVENT = {
  tenant_id: "acme",
  host: "h",
  metric: "cpu_load",
  value: 85,
  ts_event: "2025-10-21T10:00:00Z",
};

Deno.test("wire: frame, id and payload round-trip; JSON and short messages are not framed", () => {
  const framed = frame(0x01020304, new Uint8Array([7, 8]));
  assert.deepEqual([...framed], [0, 1, 2, 3, 4, 7, 8]);
  assert.equal(isFramed(framed), true);
  assert.equal(schemaIdOf(framed), 0x01020304);
  assert.equal(schemaIdOf(frame(4_000_000_000, new Uint8Array())), 4_000_000_000);
  assert.deepEqual([...payloadOf(framed)], [7, 8]);
  assert.equal(isFramed(new TextEncoder().encode('{"a":1}')), false);
  assert.equal(isFramed(new Uint8Array([0, 0, 0, 1])), false);
});

Deno.test("decode: Avro with the writer's schema; null optional fields left out; truncated and trailing bytes refused", () => {
  const type = avro.Type.forSchema(RAW_AVRO as avro.Schema);
  const decode = compileDecoder(7, { schemaType: "AVRO", schema: JSON.stringify(RAW_AVRO) });
  const bytes = type.toBuffer({ ...EVENT, unit: null });
  assert.deepEqual(decode(bytes), { ok: true, value: EVENT });
  assert.deepEqual(decode(type.toBuffer({ ...EVENT, unit: "percent" })), {
    ok: true,
    value: { ...EVENT, unit: "percent" },
  });
  const truncated = decode(bytes.subarray(0, 5));
  assert.equal(truncated.ok, false);
  assert.match((truncated as { reason: string }).reason, /schema id 7/);
  const trailing = decode(new Uint8Array([...bytes, 1, 2]));
  assert.equal(trailing.ok, false);
  assert.match((trailing as { reason: string }).reason, /2 bytes after the record/);
});

Deno.test("decode: JSON Schema validated (draft-07 and 2020-12); a mismatch names the field", () => {
  for (
    const dialect of [
      "http://json-schema.org/draft-07/schema#",
      "https://json-schema.org/draft/2020-12/schema",
    ]
  ) {
    const decode = compileDecoder(3, {
      schemaType: "JSON",
      schema: JSON.stringify({ $schema: dialect, type: "object", properties: { value: { type: "number" } } }),
    });
    assert.deepEqual(decode(new TextEncoder().encode('{"value":1}')), { ok: true, value: { value: 1 } });
    const wrong = decode(new TextEncoder().encode('{"value":"x"}'));
    assert.equal(wrong.ok, false);
    assert.match((wrong as { reason: string }).reason, /schema id 3: \/value must be number/);
    assert.equal(decode(new TextEncoder().encode("{")).ok, false);
  }
  assert.throws(() => compileDecoder(9, { schemaType: "PROTOBUF", schema: "syntax" }), /PROTOBUF/);
});

Deno.test("cache: bounded, least recently used out; unknown ids expire", () => {
  const cache = new SchemaCache(2);
  const decoder = () => ({ ok: true as const, value: 1 });
  cache.set(1, { decoder });
  cache.set(2, { decoder });
  cache.get(1);
  cache.set(3, { decoder });
  assert.equal(cache.size, 2);
  assert.equal(cache.get(2), undefined);
  assert.ok(cache.get(1));
  cache.set(4, { unknown: "no", untilMs: 1_000 });
  assert.ok(cache.get(4, 999));
  assert.equal(cache.get(4, 1_000), undefined);
});

Deno.test("resolver: fetches each id once, remembers unknown ids, lets unreachable errors through", async () => {
  const asked: number[] = [];
  let reachable = true;
  const resolver = new SchemaResolver({
    schemaById: (id) => {
      asked.push(id);
      if (!reachable) return Promise.reject(new RegistryUnavailableError("down"));
      return Promise.resolve(id === 1 ? { schemaType: "AVRO", schema: JSON.stringify(RAW_AVRO) } : undefined);
    },
  }, 10);
  const first = await resolver.resolve([1, 1, 2]);
  assert.equal(first.fetched, 2);
  assert.ok("decoder" in first.known.get(1)!);
  assert.match(
    (first.known.get(2) as { unknown: string }).unknown,
    /schema id 2 is not in the schema registry/,
  );
  assert.equal((await resolver.resolve([1, 2])).fetched, 0);
  reachable = false;
  await assert.rejects(resolver.resolve([5]), RegistryUnavailableError);
  assert.deepEqual(asked, [1, 2, 5]);
});

Deno.test("builder: framed messages with a cached schema are normalized like JSON; an unknown id is dead-lettered; an uncached id defers the rest of the batch", () => {
  // The brief's 2025 event: keep everything (retention 0s), as the demo does.
  const config = ConfigSchema.parse({ store: { parquet: { retention: "0s" } } });
  const type = avro.Type.forSchema(RAW_AVRO as avro.Schema);
  const cached = new Map([[1, {
    decoder: compileDecoder(1, { schemaType: "AVRO", schema: JSON.stringify(RAW_AVRO) }),
  }], [
    2,
    { unknown: "schema id 2 is not in the schema registry", untilMs: Infinity },
  ]]);
  const builder = new StatelessBatchBuilder({
    config,
    inventory: emptyInventory,
    enrichedPartitions: 1,
    schemas: { lookup: (id) => cached.get(id) },
  });
  const message = (offset: number, value: Uint8Array) => ({
    topic: "raw",
    partition: 0,
    offset: BigInt(offset),
    value: Buffer.from(value),
  });
  builder.add(message(0, frame(1, type.toBuffer({ ...EVENT, unit: null }))));
  builder.add(message(1, new TextEncoder().encode(JSON.stringify(EVENT))));
  builder.add(message(2, frame(2, new Uint8Array([1]))));
  builder.add(message(3, frame(3, new Uint8Array([1]))));
  builder.add(message(4, new TextEncoder().encode(JSON.stringify(EVENT))));
  const batch = builder.take();
  assert.equal(batch.accepted, 2);
  assert.equal(batch.framed, 1);
  assert.equal(batch.framedRejected, 1);
  assert.equal(batch.read, 3);
  assert.deepEqual(batch.deferred.map((m) => m.offset), [3n, 4n]);
  const dlq = JSON.parse(new TextDecoder().decode(batch.messages.at(-1)!.value as Uint8Array));
  assert.equal(dlq.stage, "schema_registry");
  assert.equal(dlq.reason, "schema id 2 is not in the schema registry");
  assert.equal(builder.take().deferred.length, 0);
});

Deno.test("builder: without a registry a framed message is dead-lettered saying schema_registry.url is not set", () => {
  const builder = new StatelessBatchBuilder({
    config: ConfigSchema.parse({}),
    inventory: emptyInventory,
    enrichedPartitions: 1,
  });
  builder.add({ topic: "raw", partition: 0, offset: 0n, value: Buffer.from(frame(5, new Uint8Array([1]))) });
  const batch = builder.take();
  assert.equal(batch.framedRejected, 1);
  assert.equal(batch.deferred.length, 0);
  const dlq = JSON.parse(new TextDecoder().decode(batch.messages[0].value as Uint8Array));
  assert.match(dlq.reason, /schema id 5 .*schema_registry.url is not set/);
});
