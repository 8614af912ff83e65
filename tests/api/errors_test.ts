import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { errorBody, wellFormed } from "../../api/errors.ts";
import { harness } from "../../testing/api_fakes.ts";

/** A lone surrogate, as JSON.stringify escapes it (`\udXXX` not preceded by a high surrogate escape). */
const LONE_ESCAPE = /\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i;

Deno.test("wellFormed replaces lone surrogates deeply and keeps pairs", () => {
  deepStrictEqual(
    wellFormed({ a: "x\uD83D", b: ["\uDE00y", "😀"], c: 3, d: null, ["k\uD800"]: true }),
    { a: "x\uFFFD", b: ["\uFFFDy", "😀"], c: 3, d: null, ["k\uFFFD"]: true },
  );
  const body = errorBody(400, "Unexpected token '\uD83D'", [{ param: "x", message: "\uDC00" }]);
  ok(!LONE_ESCAPE.test(JSON.stringify(body)));
});

const BAD_JSON_BODIES = [
  // V8's JSON.parse quotes the first bad token: half of this emoji (ST109 "JSON deserialization error").
  "😀😀😀",
  "[" + "😀".repeat(300),
  '{"tenant_id":"😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀x',
];

Deno.test("error bodies are well-formed: a JSON parse message cut inside a surrogate pair (ingest, query)", async () => {
  const { app } = harness({ max_body_bytes: 8192 }, {
    query: () => Promise.resolve({ columns: [], rows: [], truncated: false }),
  });
  for (const body of BAD_JSON_BODIES) {
    for (const [path, type] of [["/ingest", "application/json"], ["/query", "application/json"]]) {
      const res = await app.request(path, {
        method: "POST",
        headers: { Authorization: "Bearer s3cret-token", "Content-Type": type },
        body,
      });
      equal(res.status, 400, path);
      const text = await res.text();
      ok(!LONE_ESCAPE.test(text), `${path}: ${text.slice(0, 200)}`);
      match(JSON.parse(text).error.message, /not valid JSON/);
    }
  }
});

Deno.test("per-item errors are well-formed too (NDJSON lines, 207 and 400 with results)", async () => {
  const { app } = harness({ max_body_bytes: 8192 });
  const good = JSON.stringify({ tenant_id: "acme", host: "h", metric: "cpu", value: 1, ts_event: 1 });
  for (const lines of [["😀😀"], [good, "😀😀", "[" + "😀".repeat(150)]]) {
    const res = await app.request("/ingest", {
      method: "POST",
      headers: { Authorization: "Bearer s3cret-token", "Content-Type": "application/x-ndjson" },
      body: lines.join("\n"),
    });
    equal(res.status, lines.length === 1 ? 400 : 207);
    const text = await res.text();
    ok(!LONE_ESCAPE.test(text), text.slice(0, 300));
    const results = JSON.parse(text).results as { status: string; error?: string }[];
    ok(results.some((r) => r.status === "rejected" && /not valid JSON/.test(r.error ?? "")));
  }
});
