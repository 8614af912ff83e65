/** lib/utf8.ts, lib/base64.ts and lib/epoch.ts: the one implementation of each. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { encodeBase64 } from "../../../lib/base64.ts";
import { EPOCH_CUTOFFS, epochToMs } from "../../../lib/epoch.ts";
import { decodeUtf8 } from "../../../lib/utf8.ts";

Deno.test("decodeUtf8: valid text (BOM dropped, U+FFFD sent as such kept); undefined for invalid bytes", () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  assert.equal(decodeUtf8(encode("température ✓ 😀")), "température ✓ 😀");
  assert.equal(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), "A");
  assert.equal(decodeUtf8(encode("a\uFFFDb")), "a\uFFFDb");
  assert.equal(decodeUtf8(Buffer.from("abc")), "abc");
  for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0x41, 0xf0, 0x9f, 0x98]]) {
    assert.equal(decodeUtf8(new Uint8Array(bad)), undefined, `${bad}`);
  }
  // A view into a larger buffer decodes only its own bytes.
  assert.equal(decodeUtf8(encode("xxhello").subarray(2)), "hello");
});

Deno.test("encodeBase64: what Buffer's base64 gives, beyond one chunk too", () => {
  const bytes = new Uint8Array(100_003).map((_, i) => (i * 31) & 0xff);
  assert.equal(encodeBase64(bytes), Buffer.from(bytes).toString("base64"));
  assert.equal(encodeBase64(new Uint8Array([0xff, 0xfe])), "//4=");
  assert.equal(encodeBase64(new Uint8Array()), "");
});

Deno.test("epochToMs: seconds, milliseconds, microseconds, nanoseconds by magnitude; out of range beyond", () => {
  const ms = Date.UTC(2025, 9, 21, 10);
  assert.equal(epochToMs(ms / 1000), ms);
  assert.equal(epochToMs(ms / 1000 + 0.1234), ms + 123);
  assert.equal(epochToMs(ms), ms);
  assert.equal(epochToMs(ms * 1000 + 999), ms);
  assert.equal(epochToMs(2e17 + 400_000), 2e11);
  assert.equal(epochToMs(EPOCH_CUTOFFS.nanoseconds), undefined);
  assert.equal(epochToMs(-(ms / 1000)), -ms);
});
