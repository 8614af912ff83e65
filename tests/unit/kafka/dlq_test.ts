/**
 * Dead letters fit the broker's limit: a record that would be larger keeps the start of its
 * original (never half a surrogate pair, base64 still decodable), a shortened reason that says it
 * was truncated, and the whole original's length and SHA-256; a record that fits is written as is.
 *
 * @module
 */
import assert from "node:assert/strict";
import { deadLetter, encodeDeadLetter, withAddedReason } from "../../../kafka/dlq.ts";
import { sha256Hex } from "../../../lib/digest.ts";
import { type DeadLetter, DeadLetterSchema } from "../../../model/dlq.ts";

const source = { topic: "raw", partition: 2, offset: "41", index: 0 };

function decode(bytes: Uint8Array): DeadLetter {
  return DeadLetterSchema.parse(JSON.parse(new TextDecoder().decode(bytes)));
}

Deno.test("dlq: a record that fits is written as is", () => {
  const record = deadLetter("normalize", "value: expected a number", source, '{"value":"high"}', 1);
  assert.equal(new TextDecoder().decode(encodeDeadLetter(record, 16_384)), JSON.stringify(record));
});

Deno.test("dlq: escaping that grows a record past the limit truncates the original, with its size and digest", () => {
  const original = `{"note":"${'\\"'.repeat(50_000)}"}`;
  const record = deadLetter("normalize", "missing field metric", source, original, 1);
  assert.ok(JSON.stringify(record).length > 2 * original.length - 100, "escaping doubles it");
  const bytes = encodeDeadLetter(record, 16_384);
  assert.ok(bytes.length <= 16_384, `${bytes.length} bytes`);
  assert.ok(bytes.length > 16_000, `uses the room it has: ${bytes.length} bytes`);
  const fitted = decode(bytes);
  assert.equal(fitted.truncated, true);
  assert.equal(fitted.original_bytes, original.length);
  assert.equal(fitted.original_sha256, sha256Hex(new TextEncoder().encode(original)));
  assert.ok(original.startsWith(fitted.original) && fitted.original.length > 1_000);
  assert.match(
    fitted.reason,
    /^missing field metric; dead-letter record truncated: .* over the 16384 bytes a record may take \(the topic's max.message.bytes/,
  );
  assert.deepEqual(fitted.source, source);
});

Deno.test("dlq: a base64 original keeps whole quads; a text original never half a surrogate pair", () => {
  const random = new Uint8Array(60_000).map((_, i) => (i * 7919) % 256);
  const binary = encodeDeadLetter(deadLetter("normalize", "not UTF-8", source, random, 1), 20_000);
  const fittedBinary = decode(binary);
  assert.equal(fittedBinary.encoding, "base64");
  assert.equal(fittedBinary.original.length % 4, 0);
  const prefix = Buffer.from(fittedBinary.original, "base64");
  assert.deepEqual(new Uint8Array(prefix), random.subarray(0, prefix.length));
  assert.equal(fittedBinary.original_sha256, sha256Hex(random));

  for (let shift = 0; shift < 4; shift++) {
    const text = "x".repeat(shift) + "😀".repeat(20_000);
    const fitted = decode(encodeDeadLetter(deadLetter("normalize", "bad", source, text, 1), 17_000 + shift));
    assert.ok(fitted.original.isWellFormed(), "no lone surrogate");
    assert.ok(text.startsWith(fitted.original));
  }
});

Deno.test("dlq: a huge reason is shortened; a record truncated before keeps the whole original's size and digest", () => {
  const reason = "tags: too many; ".repeat(100_000);
  const fitted = decode(encodeDeadLetter(deadLetter("normalize", reason, source, "{}", 1), 16_384));
  assert.ok(fitted.reason.length < 5_000, `${fitted.reason.length} characters`);
  assert.match(fitted.reason, /more characters\)/);
  const earlier: DeadLetter = {
    ...deadLetter("normalize", "message is 9000000 bytes", source, "{".repeat(40_000), 1),
    truncated: true,
    original_bytes: 9_000_000,
    original_sha256: "ab".repeat(32),
  };
  const again = decode(encodeDeadLetter(earlier, 16_384));
  assert.equal(again.original_bytes, 9_000_000);
  assert.equal(again.original_sha256, "ab".repeat(32));
});

Deno.test("dlq: a record of an already encoded original (normalize's reject) keeps it, and its size and digest when cut", () => {
  const plain = deadLetter("normalize", "bad", source, { original: "{}", encoding: "utf8" }, 7);
  assert.equal(JSON.stringify(plain), JSON.stringify({ ...deadLetter("normalize", "bad", source, "{}", 7) }));
  const whole = { bytes: 2_000_000, sha256: "ab".repeat(32) };
  const cut = deadLetter("normalize", "too big", source, { original: "AAAA", encoding: "base64", whole }, 7);
  assert.deepEqual(Object.keys(cut), [
    "stage",
    "reason",
    "source",
    "original",
    "encoding",
    "ts",
    "truncated",
    "original_bytes",
    "original_sha256",
  ]);
  assert.deepEqual([cut.original, cut.encoding, cut.truncated, cut.original_bytes, cut.original_sha256], [
    "AAAA",
    "base64",
    true,
    2_000_000,
    whole.sha256,
  ]);
});

Deno.test("dlq: a record amended with another reason keeps everything else", () => {
  const record = deadLetter("normalize", "bad", source, "{}", 7);
  assert.deepEqual(withAddedReason(record, "refused"), { ...record, reason: "bad; refused" });
});
