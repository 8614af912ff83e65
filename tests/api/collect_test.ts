/**
 * The protocol receivers over the HTTP layer with in-memory fakes: token forms, content encodings,
 * per-request results, dead letters, and hostile bodies (each a 4xx with a reason, never a crash).
 */
import assert from "node:assert/strict";
import { harness } from "../../testing/api_fakes.ts";
import { encodeRemoteWrite } from "../../sources/prometheus.ts";
import { encodeOtlpMetricsRequest } from "../../sources/otlp.ts";
import { CollectErrorResponseSchema } from "../../api/schemas.ts";

const TOKEN = "s3cret-token";
const BEARER = { Authorization: `Bearer ${TOKEN}` };

function post(path: string, body: string | Uint8Array, headers: Record<string, string> = BEARER): Request {
  const payload = typeof body === "string" ? body : new Uint8Array(body);
  return new Request(`http://agent${path}`, { method: "POST", body: payload, headers });
}

async function gzip(text: string | Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([text as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function errorOf(res: Response, status: number): Promise<string> {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  return body.error.message as string;
}

Deno.test("collect: /write takes Influx lines (204), tenant from db, token as Basic password or ?p=", async () => {
  const { app, ingestor } = harness();
  const basic = { Authorization: `Basic ${btoa(`telegraf:${TOKEN}`)}` };
  let res = await app.request(post("/write?db=acme&precision=s", "cpu,host=h1 usage=5 1700000000", basic));
  assert.equal(res.status, 204);
  res = await app.request(post(`/write?db=acme&u=x&p=${TOKEN}`, "cpu,host=h1 usage=6", {}));
  assert.equal(res.status, 204);
  assert.deepEqual(ingestor.parsed(), [
    { tenant_id: "acme", host: "h1", metric: "cpu_usage", value: 5, ts_event: 1_700_000_000_000 },
    {
      tenant_id: "acme",
      host: "h1",
      metric: "cpu_usage",
      value: 6,
      ts_event: Date.parse("2025-10-21T10:30:00Z"),
    },
  ]);
  const wrong = { Authorization: `Basic ${btoa("telegraf:nope")}` };
  assert.match(
    await errorOf(await app.request(post("/write?db=acme", "m,host=h v=1", wrong)), 401),
    /token is wrong/,
  );
  assert.match(
    await errorOf(await app.request(post("/write?db=acme", "m,host=h v=1", {})), 401),
    /Token <token>/,
  );
  // POST /ingest keeps to Bearer only.
  const ingest = await app.request(post("/ingest", "{}", { Authorization: `Token ${TOKEN}` }));
  assert.equal(ingest.status, 401);
});

Deno.test("collect: /api/v2/write takes gzip with Authorization: Token, tenant from org", async () => {
  const { app, ingestor } = harness();
  const body = await gzip("mem,host=h1 used_percent=41.5 1700000000000\n");
  const res = await app.request(
    post("/api/v2/write?org=acme&bucket=b&precision=ms", body, {
      Authorization: `Token ${TOKEN}`,
      "Content-Encoding": "gzip",
    }),
  );
  assert.equal(res.status, 204);
  assert.deepEqual(ingestor.parsed(), [
    { tenant_id: "acme", host: "h1", metric: "mem_used_percent", value: 41.5, ts_event: 1_700_000_000_000 },
  ]);
});

Deno.test("collect: a partial Influx write is 400 with counts and reasons; the rest is taken, the bad lines dead-lettered", async () => {
  const { app, ingestor } = harness();
  const res = await app.request(post("/write?db=acme", 'm,host=h v=1\nm,host=h s="text"\ngarbage'));
  assert.equal(res.status, 400);
  const body = CollectErrorResponseSchema.parse(await res.json());
  assert.equal(body.accepted, 1);
  assert.equal(body.rejected, 2);
  assert.match(body.error.message, /partial write: 2 item\(s\) not taken/);
  assert.match(body.errors![0], /line 2: field "s" is a string/);
  assert.equal(ingestor.messages.length, 1);
  assert.deepEqual(ingestor.deadLetters.map((d) => [d.route, d.original]), [
    ["POST /write", 'm,host=h s="text"'],
    ["POST /write", "garbage"],
  ]);
});

Deno.test("collect: hostile Influx bodies: bad precision, not UTF-8, corrupt gzip, gzip bomb, unknown encoding", async () => {
  const { app, http } = harness();
  assert.match(
    await errorOf(await app.request(post("/write?db=a&precision=fortnight", "m,host=h v=1")), 400),
    /precision/,
  );
  assert.match(
    await errorOf(await app.request(post("/write?db=a", new Uint8Array([0xff, 0xfe]))), 400),
    /UTF-8/,
  );
  const gz = { ...BEARER, "Content-Encoding": "gzip" };
  assert.match(
    await errorOf(await app.request(post("/write?db=a", "not gzip", gz)), 400),
    /gzip body is corrupt/,
  );
  const bomb = await gzip(new Uint8Array(http.max_body_bytes * 50));
  assert.ok(bomb.length < http.max_body_bytes);
  assert.match(await errorOf(await app.request(post("/write?db=a", bomb, gz)), 413), /inflates to more than/);
  const br = { ...BEARER, "Content-Encoding": "br" };
  assert.match(
    await errorOf(await app.request(post("/write?db=a", "m,host=h v=1", br)), 415),
    /not supported/,
  );
  const big = "m,host=h v=1\n".repeat(200);
  assert.match(await errorOf(await app.request(post("/write?db=a", big)), 413), /max_body_bytes/);
});

Deno.test("collect: /api/v1/write takes Snappy remote write; bad Snappy and NaN are answered with reasons", async () => {
  const { app, ingestor } = harness();
  const headers = { ...BEARER, "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" };
  const good = encodeRemoteWrite([{
    labels: [{ name: "__name__", value: "up" }, { name: "instance", value: "pi:9100" }],
    samples: [{ value: 1, timestamp: "1700000000000" }, { value: NaN, timestamp: "1700000001000" }],
  }]);
  const res = await app.request(post("/api/v1/write?tenant=acme", good, headers));
  assert.equal(res.status, 400);
  const body = CollectErrorResponseSchema.parse(await res.json());
  assert.deepEqual([body.accepted, body.rejected], [1, 1]);
  assert.match(body.errors![0], /sample 1 is NaN/);
  assert.equal(ingestor.deadLetters.length, 1);
  assert.match(await errorOf(await app.request(post("/api/v1/write", "junk", headers)), 400), /not Snappy/);
  const ok = encodeRemoteWrite([{
    labels: [{ name: "__name__", value: "up" }, { name: "host", value: "h" }],
    samples: [{ value: 1, timestamp: "1700000000000" }],
  }]);
  assert.equal((await app.request(post("/api/v1/write?tenant=acme", ok, headers))).status, 204);
});

Deno.test("collect: 100k series and a huge label set in one request stay within the body limit and convert", async () => {
  const { app, ingestor } = harness({ max_body_bytes: 16 * 1024 * 1024 });
  const series = Array.from({ length: 100_000 }, (_, i) => ({
    labels: [{ name: "__name__", value: "s" }, { name: "host", value: `h${i}` }],
    samples: [{ value: i, timestamp: "1700000000000" }],
  }));
  series.push({
    labels: [
      { name: "__name__", value: "wide" },
      { name: "host", value: "h" },
      ...Array.from({ length: 5_000 }, (_, i) => ({ name: `l${i}`, value: "x".repeat(20) })),
    ],
    samples: [{ value: 1, timestamp: "1700000000000" }],
  });
  const res = await app.request(
    post("/api/v1/write?tenant=acme", encodeRemoteWrite(series), { ...BEARER, "Content-Encoding": "snappy" }),
  );
  assert.equal(res.status, 204);
  // Every sample reaches the raw topic; the normalize stage caps the wide one's tags (and dead-letters it).
  assert.equal(ingestor.messages.length, 100_001);
});

Deno.test("collect: /v1/metrics answers OTLP in the request's encoding, with a partial success", async () => {
  const { app, ingestor } = harness();
  const request = {
    resourceMetrics: [{
      resource: { attributes: [{ key: "host.name", value: { stringValue: "pi" } }] },
      scopeMetrics: [{
        metrics: [
          { name: "g", gauge: { dataPoints: [{ asDouble: 1.5, timeUnixNano: "1700000000000000000" }] } },
          { name: "e", exponentialHistogram: { dataPoints: [{ count: "1", scale: 1000, zeroCount: "1" }] } },
        ],
      }],
    }],
  };
  const json = await app.request(
    post("/v1/metrics?tenant=acme", JSON.stringify(request), {
      ...BEARER,
      "Content-Type": "application/json",
    }),
  );
  assert.equal(json.status, 200);
  assert.equal(json.headers.get("content-type"), "application/json");
  const body = await json.json();
  assert.equal(body.partialSuccess.rejectedDataPoints, "1");
  assert.match(body.partialSuccess.errorMessage, /metric "e": scale 1000 is outside -10..20/);
  const proto = await app.request(
    post("/v1/metrics?tenant=acme", await gzip(encodeOtlpMetricsRequest(request)), {
      ...BEARER,
      "Content-Type": "application/x-protobuf",
      "Content-Encoding": "gzip",
    }),
  );
  assert.equal(proto.status, 200);
  assert.equal(proto.headers.get("content-type"), "application/x-protobuf");
  assert.ok((await proto.arrayBuffer()).byteLength > 0);
  assert.equal(ingestor.messages.length, 2);
  assert.equal(ingestor.deadLetters.length, 2);
});

Deno.test("collect: hostile OTLP bodies: wrong content type 415, truncated protobuf and bad JSON 400", async () => {
  const { app } = harness();
  const message = await errorOf(
    await app.request(post("/v1/metrics", "x", { ...BEARER, "Content-Type": "text/plain" })),
    415,
  );
  assert.match(message, /application\/x-protobuf or application\/json/);
  const bytes = encodeOtlpMetricsRequest({
    resourceMetrics: [{
      scopeMetrics: [{ metrics: [{ name: "g", gauge: { dataPoints: [{ asDouble: 1 }] } }] }],
    }],
  });
  const truncated = await app.request(
    post("/v1/metrics", bytes.slice(0, bytes.length - 3), {
      ...BEARER,
      "Content-Type": "application/x-protobuf",
    }),
  );
  assert.match(await errorOf(truncated, 400), /not an OTLP ExportMetricsServiceRequest in protobuf/);
  const badJson = await app.request(
    post("/v1/metrics", "{", { ...BEARER, "Content-Type": "application/json" }),
  );
  assert.match(await errorOf(badJson, 400), /in json/);
  const noToken = await app.request(post("/v1/metrics", "{}", { "Content-Type": "application/json" }));
  assert.equal(noToken.status, 401);
});
