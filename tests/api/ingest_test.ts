import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { IngestResponseSchema } from "../../api/schemas.ts";
import { harness } from "../../testing/api_fakes.ts";
import { rawValidator } from "../../agent/api.ts";
import { ConfigSchema } from "../../config/schema.ts";

const AUTH = { Authorization: "Bearer s3cret-token" };
const SEED = {
  tenant_id: "acme",
  host: "host-a",
  metric: "cpu_load",
  value: 85,
  ts_event: "2025-10-21T10:00:00Z",
  unit: "percent",
  tags: { env: "prod" },
};

function post(body: BodyInit, headers: Record<string, string> = {}): Request {
  return new Request("http://agent/ingest", { method: "POST", body, headers: { ...AUTH, ...headers } });
}

Deno.test("ingest: one JSON object is produced as one message (202)", async () => {
  const { app, ingestor } = harness();
  const res = await app.request(post(JSON.stringify(SEED), { "Content-Type": "application/json" }));
  equal(res.status, 202);
  const body = IngestResponseSchema.parse(await res.json());
  deepStrictEqual(body, {
    accepted: 1,
    rejected: 0,
    results: [{ index: 0, status: "accepted", partition: 0, offset: "0" }],
  });
  deepStrictEqual(ingestor.parsed(), [SEED]);
});

Deno.test("ingest: a JSON array gives one message per item", async () => {
  const { app, ingestor } = harness();
  const res = await app.request(
    post(JSON.stringify([SEED, { ...SEED, value: 97 }]), { "Content-Type": "application/json" }),
  );
  equal(res.status, 202);
  equal(ingestor.messages.length, 2);
  equal((ingestor.parsed()[1] as { value: number }).value, 97);
});

Deno.test("ingest: NDJSON by content type and by sniffing; blank lines ignored", async () => {
  const { app, ingestor } = harness();
  const ndjson = `${JSON.stringify(SEED)}\n\n${JSON.stringify({ ...SEED, value: 97 })}\r\n`;
  let res = await app.request(post(ndjson, { "Content-Type": "application/x-ndjson" }));
  equal(res.status, 202);
  equal(IngestResponseSchema.parse(await res.json()).accepted, 2);
  res = await app.request(post(ndjson, { "Content-Type": "text/plain" }));
  equal(res.status, 202);
  res = await app.request(post(ndjson)); // no content type at all
  equal(res.status, 202);
  equal(ingestor.messages.length, 6);
});

Deno.test("ingest: mixed good and bad items is 207 with per-item results", async () => {
  const { app, ingestor } = harness();
  const body = [JSON.stringify(SEED), "{not json", "[1,2]", "42", JSON.stringify({ ...SEED, value: 97 })]
    .join("\n");
  const res = await app.request(post(body, { "Content-Type": "application/x-ndjson" }));
  equal(res.status, 207);
  const out = IngestResponseSchema.parse(await res.json());
  equal(out.accepted, 2);
  equal(out.rejected, 3);
  deepStrictEqual(out.results.map((r) => r.status), [
    "accepted",
    "rejected",
    "rejected",
    "rejected",
    "accepted",
  ]);
  match(out.results[1].error ?? "", /line 2 is not valid JSON/);
  match(out.results[2].error ?? "", /line 3 must be a JSON object, got an array/);
  match(out.results[3].error ?? "", /line 4 must be a JSON object, got a number/);
  equal(out.results[4].offset, "1");
  equal(ingestor.messages.length, 2);
});

Deno.test("ingest: an array with non-objects is 207/400 per item", async () => {
  const { app } = harness();
  const res = await app.request(post(JSON.stringify([null, "x"]), { "Content-Type": "application/json" }));
  equal(res.status, 400);
  const body = await res.json();
  match(body.error.message, /no item was accepted \(first problem: item 0 must be a JSON object, got null\)/);
  equal(body.rejected, 2);
});

Deno.test("ingest: unreadable bodies are 400 with what to send", async () => {
  const { app } = harness();
  let res = await app.request(post("{broken", { "Content-Type": "application/json" }));
  equal(res.status, 400);
  match((await res.json()).error.message, /body is not valid JSON .*application\/x-ndjson/);
  res = await app.request(post("   ", { "Content-Type": "application/json" }));
  equal(res.status, 400);
  match((await res.json()).error.message, /body is empty/);
  res = await app.request(post("[]", { "Content-Type": "application/json" }));
  match((await res.json()).error.message, /array is empty/);
  res = await app.request(post('"just a string"', { "Content-Type": "application/json" }));
  match((await res.json()).error.message, /body is a string/);
  res = await app.request(post(new Uint8Array([0xff, 0xfe, 0x00]), { "Content-Type": "application/json" }));
  match((await res.json()).error.message, /not valid UTF-8/);
});

Deno.test("ingest: injection strings are data, passed through untouched", async () => {
  const { app, ingestor } = harness();
  const evil = { ...SEED, tenant_id: "acme'; DROP TABLE metrics; --", host: "<img src=x onerror=alert(1)>" };
  const res = await app.request(post(JSON.stringify(evil), { "Content-Type": "application/json" }));
  equal(res.status, 202);
  deepStrictEqual(ingestor.parsed(), [evil]);
});

Deno.test("ingest: body over http.max_body_bytes is 413 JSON (declared or streamed)", async () => {
  const { app, ingestor } = harness({ max_body_bytes: 1024 });
  const big = JSON.stringify({ ...SEED, pad: "x".repeat(2000) });
  let res = await app.request(
    post(big, { "Content-Type": "application/json", "Content-Length": String(big.length) }),
  );
  equal(res.status, 413);
  const body = await res.json();
  match(body.error.message, /body is larger than 1024 bytes \(http\.max_body_bytes\); split it/);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode("x".repeat(200)));
      controller.close();
    },
  });
  res = await app.request(post(stream, { "Content-Type": "application/x-ndjson" }));
  equal(res.status, 413);
  equal(ingestor.messages.length, 0);
});

Deno.test("ingest: missing or wrong token is 401; no token configured is 403 with how to set it", async () => {
  const { app, ingestor } = harness();
  let res = await app.request(
    new Request("http://agent/ingest", { method: "POST", body: JSON.stringify(SEED) }),
  );
  equal(res.status, 401);
  ok(res.headers.get("www-authenticate")?.startsWith("Bearer"));
  match((await res.json()).error.message, /need the API token: send an Authorization: Bearer <token> header/);
  res = await app.request(post(JSON.stringify(SEED), { Authorization: "Bearer wrong" }));
  equal(res.status, 401);
  match((await res.json()).error.message, /token is wrong/);
  res = await app.request(post(JSON.stringify(SEED), { Authorization: "Basic czNjcmV0LXRva2Vu" }));
  equal(res.status, 401);
  // the query token is for reads only
  res = await app.request(
    new Request("http://agent/ingest?access_token=s3cret-token", {
      method: "POST",
      body: JSON.stringify(SEED),
    }),
  );
  equal(res.status, 401);
  equal(ingestor.messages.length, 0);

  const open = harness({ token: "" });
  res = await open.app.request(post(JSON.stringify(SEED)));
  equal(res.status, 403);
  match(
    (await res.json()).error.message,
    /no API token is configured: set the EVENTOPS_HTTP_TOKEN environment variable/,
  );
});

Deno.test("ingest: broker failure is 503 with Retry-After, nothing accepted", async () => {
  const { app, ingestor } = harness();
  ingestor.failing = true;
  const res = await app.request(post(JSON.stringify(SEED), { "Content-Type": "application/json" }));
  equal(res.status, 503);
  equal(res.headers.get("retry-after"), "5");
  match(
    (await res.json()).error.message,
    /could not write to the broker \(broker 127\.0\.0\.1:9092 unreachable\)/,
  );
});

Deno.test("ingest: GET is 405 with Allow", async () => {
  const { app } = harness();
  const res = await app.request("/ingest");
  equal(res.status, 405);
  equal(res.headers.get("allow"), "POST");
});

Deno.test("ingest: each item is validated by the normalizer; rejected items say why and still go to the DLQ", async () => {
  const { app, ingestor } = harness();
  ingestor.validate = rawValidator("raw", ConfigSchema.parse({}).normalize);
  const items = [
    SEED,
    { ...SEED, value: "85" }, // a numeric string
    { tenant_id: "acme", host: "host-a", metric: "cpu_load", value: 85 }, // no ts_event
    { tenant_id: "acme", host: "host-a", metric: "cpu_load", value: 85, timestamp: "2025-10-21T10:00:00Z" },
    42, // not an object
  ];
  const res = await app.request(post(JSON.stringify(items), { "Content-Type": "application/json" }));
  equal(res.status, 207);
  const body = IngestResponseSchema.parse(await res.json());
  equal(body.accepted, 1);
  equal(body.rejected, 4);
  deepStrictEqual(body.results[0], { index: 0, status: "accepted", partition: 0, offset: "0" });
  const reasons = body.results.slice(1, 4).map((r) => r.error ?? "");
  match(reasons[0], /^value: expected a finite number, got "85"/);
  match(reasons[1], /missing field ts_event/);
  match(reasons[2], /missing field ts_event/); // "timestamp" is not a field the normalizer reads
  for (const r of body.results.slice(1, 4)) {
    equal(r.status, "rejected");
    equal(r.dlq, true, "the DLQ keeps it");
  }
  equal(body.results[4].status, "rejected");
  equal(body.results[4].dlq, undefined);
  // the four objects went to the raw topic, where the stateless group dead-letters the three bad ones
  equal(ingestor.messages.length, 4);
});

Deno.test("ingest: an array of only invalid events is a 400 that names the first reason", async () => {
  const { app, ingestor } = harness();
  ingestor.validate = rawValidator("raw", ConfigSchema.parse({}).normalize);
  const res = await app.request(
    post(JSON.stringify([{ ...SEED, value: "high" }]), { "Content-Type": "application/json" }),
  );
  equal(res.status, 400);
  const body = await res.json();
  match(
    body.error.message,
    /no item was accepted \(first problem: value: expected a finite number, got "high"/,
  );
  equal(body.results[0].dlq, true);
});
