import assert from "node:assert/strict";
import { decodeEnriched } from "../../../pipeline/enriched_decode.ts";
import { VALID_ENVELOPE } from "./fixtures.ts";

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
  const second = { ...ENVELOPE, id: "ingest.raw.agent:2:18:0", value: 97 };
  const decoded = decodeEnriched([
    message(JSON.stringify([ENVELOPE, second])),
    message(JSON.stringify({ ...ENVELOPE, id: "single" }), 6n),
  ], 1);
  assert.deepEqual(decoded.events.map((event) => event.id), [ENVELOPE.id, second.id, "single"]);
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
