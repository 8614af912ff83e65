import assert from "node:assert/strict";
import { decodeEnriched } from "../../../enriched/mod.ts";
import { VALID_ENVELOPE } from "../pipeline/fixtures.ts";

const ENVELOPE = VALID_ENVELOPE;

const encoder = new TextEncoder();

function message(value: string | Uint8Array, offset = 5n) {
  return {
    topic: "events.enriched",
    partition: 1,
    offset,
    value: typeof value === "string" ? encoder.encode(value) : value,
  };
}

Deno.test("decodeEnriched: arrays of envelopes and single envelopes, in order", () => {
  const second = {
    ...ENVELOPE,
    id: "ingest.raw.agent:2:18:0",
    value: 97,
    source: { ...ENVELOPE.source, offset: "18" },
  };
  const single = { ...ENVELOPE, id: "ingest.raw.agent:2:19:0", source: { ...ENVELOPE.source, offset: "19" } };
  const decoded = decodeEnriched([
    message(JSON.stringify([ENVELOPE, second])),
    message(JSON.stringify(single), 6n),
  ], 1);
  assert.deepEqual(decoded.events.map((event) => event.id), [ENVELOPE.id, second.id, single.id]);
  assert.equal(decoded.elements, 3);
  assert.deepEqual(decoded.deadLetters, []);
});

Deno.test("decodeEnriched: a bad element goes to the DLQ alone, with its index and text", () => {
  const decoded = decodeEnriched([message(JSON.stringify([ENVELOPE, { v: 1, id: "x" }, 3]))], 42);
  assert.deepEqual(decoded.events.map((event) => event.id), [ENVELOPE.id]);
  assert.equal(decoded.elements, 3);
  assert.equal(decoded.deadLetters.length, 2);
  const [object, number] = decoded.deadLetters;
  assert.equal(object.stage, "stateful");
  assert.deepEqual(object.source, { topic: "events.enriched", partition: 1, offset: "5", index: 1 });
  assert.equal(object.original, '{"v":1,"id":"x"}');
  assert.match(object.reason, /^element 1: not an envelope v1: .*tenant/);
  assert.equal(object.ts, 42);
  assert.equal(number.source.index, 2);
  assert.equal(number.original, "3");
});

Deno.test("decodeEnriched: not JSON, or not an envelope: the whole message, original bytes kept", () => {
  const decoded = decodeEnriched([
    message("{nope"),
    message(new Uint8Array([0xff, 0xfe]), 6n),
    message('{"v":1}', 7n),
  ], 1);
  assert.equal(decoded.events.length, 0);
  assert.equal(decoded.elements, 3);
  const [notJson, binary, notEnvelope] = decoded.deadLetters;
  assert.match(notJson.reason, /^not JSON/);
  assert.equal(notJson.original, "{nope");
  assert.equal(binary.encoding, "base64");
  assert.equal(binary.original, "//4=");
  assert.match(notEnvelope.reason, /^not an envelope v1/);
  assert.equal(notEnvelope.source.index, undefined);
});

Deno.test("decodeEnriched: an id that is not its source's, or an offset with leading zeros, goes to the DLQ", () => {
  const wrongId = { ...ENVELOPE, id: "something-else" };
  const paddedOffset = {
    ...ENVELOPE,
    id: "ingest.raw.agent:2:017:0",
    source: { ...ENVELOPE.source, offset: "017" },
  };
  const decoded = decodeEnriched([message(JSON.stringify([wrongId, paddedOffset, ENVELOPE]))], 1);
  assert.deepEqual(decoded.events.map((event) => event.id), [ENVELOPE.id]);
  const [id, offset] = decoded.deadLetters;
  assert.equal(
    id.reason,
    "element 0: not an envelope v1: id: must be <topic>:<partition>:<offset>:<index> of source (the store derives ids from sources)",
  );
  assert.match(offset.reason, /^element 1: not an envelope v1: source\.offset: .*without leading zeros/);
});
