import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { RulesResponseSchema, StatusResponseSchema } from "../../api/schemas.ts";
import { Registry } from "../../telemetry/registry.ts";
import type { MetricsRegistry } from "../../api/deps.ts";
import { harness } from "../../testing/api_fakes.ts";

Deno.test("GET /rules lists thresholds; ?metric= resolves aliases", async () => {
  const { app } = harness();
  let body = RulesResponseSchema.parse(await (await app.request("/rules")).json());
  equal(body.rules.length, 2);
  body = RulesResponseSchema.parse(await (await app.request("/rules?metric=cpu")).json());
  deepStrictEqual(body.rules.map((r) => [r.metric, r.warning, r.critical]), [["cpu_load", 80, 95]]);
});

Deno.test("GET /status merges the agent status with API numbers", async () => {
  const { app } = harness();
  const res = await app.request("/status");
  equal(res.status, 200);
  const body = StatusResponseSchema.parse(await res.json());
  equal(body.consumer_lag, 3);
  equal(body.dlq.total, 2);
  equal(body.rates.consumed, 120.5);
  equal(body.started_at, "2025-10-21T09:00:00.000Z");
  equal(body.uptime_s, 5400);
  deepStrictEqual(body.api.sse_clients, { alerts: 0, events: 0 });
  ok(body.api.rss_bytes > 0);
});

Deno.test("GET /prometheus and its alias /-/metrics serve the text format with RSS, SSE clients, HTTP metrics", async () => {
  const { app, registry } = harness();
  registry.counter({ name: "eventops_dlq_messages_total", help: "DLQ", labelNames: ["stage"] }).labels(
    "normalize",
  ).inc(2);
  await app.request("/metrics");
  for (const path of ["/prometheus", "/-/metrics"]) {
    const res = await app.request(path);
    equal(res.status, 200);
    equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    match(text, /^process_resident_memory_bytes \d+$/m);
    match(text, /^eventops_http_sse_clients\{stream="alerts"\} 0$/m);
    match(text, /^eventops_http_sse_clients\{stream="events"\} 0$/m);
    match(text, /^eventops_http_requests_total\{method="GET",route="\/metrics",status="200"\} 1$/m);
    match(text, /^eventops_http_request_duration_seconds_bucket\{route="\/metrics",le="\+Inf"\} 1$/m);
    match(text, /^eventops_dlq_messages_total\{stage="normalize"\} 2$/m);
    match(text, /^eventops_store_disk_bytes 123456$/m);
  }
});

Deno.test("a foreign MetricsRegistry is rendered together with the API's own", async () => {
  const foreign: MetricsRegistry = { render: () => "# TYPE other_total counter\nother_total 7\n" };
  const { app } = harness({}, { metrics: foreign });
  const text = await (await app.request("/prometheus")).text();
  match(text, /^other_total 7$/m);
  match(text, /^process_resident_memory_bytes \d+$/m);
  ok(!(foreign instanceof Registry));
});

Deno.test("reads need the token when http.token_for_reads is set (header or access_token)", async () => {
  const { app } = harness({ token_for_reads: true });
  equal((await app.request("/metrics")).status, 401);
  equal((await app.request("/metrics", { headers: { Authorization: "Bearer nope" } })).status, 401);
  equal((await app.request("/metrics", { headers: { Authorization: "Bearer s3cret-token" } })).status, 200);
  equal((await app.request("/metrics/cpu?access_token=s3cret-token")).status, 200);
  equal((await app.request("/alerts?access_token=wrong")).status, 401);
  equal((await app.request("/prometheus")).status, 401);
  // the page, its assets and the API description stay public
  equal((await app.request("/")).status, 200);
  equal((await app.request("/openapi.json")).status, 200);
  const noToken = harness({ token_for_reads: true, token: "" });
  const res = await noToken.app.request("/metrics");
  equal(res.status, 403);
  match((await res.json()).error.message, /EVENTOPS_HTTP_TOKEN/);
});

Deno.test("CORS headers only when http.cors_origins is set", async () => {
  const closed = harness();
  let res = await closed.app.request("/metrics", { headers: { Origin: "http://dash.example" } });
  equal(res.headers.get("access-control-allow-origin"), null);
  const open = harness({ cors_origins: ["http://dash.example"] });
  res = await open.app.request("/metrics", { headers: { Origin: "http://dash.example" } });
  equal(res.headers.get("access-control-allow-origin"), "http://dash.example");
  res = await open.app.request("/ingest", {
    method: "OPTIONS",
    headers: { Origin: "http://dash.example", "Access-Control-Request-Method": "POST" },
  });
  equal(res.status, 204);
  match(res.headers.get("access-control-allow-headers") ?? "", /Authorization/);
  res = await open.app.request("/metrics", { headers: { Origin: "http://evil.example" } });
  equal(res.headers.get("access-control-allow-origin"), null);
});

Deno.test("one structured log line per request", async () => {
  const { app, logs } = harness();
  await app.request("/metrics/cpu?tenant=acme");
  await app.request("/nope");
  const lines = logs.filter((l) => l.msg === "http");
  equal(lines.length, 2);
  equal(lines[0].method, "GET");
  equal(lines[0].path, "/metrics/cpu");
  equal(lines[0].status, 200);
  equal(typeof lines[0].ms, "number");
  equal(lines[1].status, 404);
});

Deno.test("the default logger writes JSON lines to stderr", async () => {
  const { app } = harness({}, { log: undefined });
  const original = console.error;
  const seen: string[] = [];
  console.error = (line: string) => seen.push(line);
  try {
    await app.request("/healthz");
  } finally {
    console.error = original;
  }
  const record = JSON.parse(seen[0]);
  equal(record.path, "/healthz");
  equal(record.status, 200);
});

Deno.test("unknown routes are 404 JSON; wrong methods 405 with Allow; HEAD works", async () => {
  const { app } = harness();
  let res = await app.request("/nope");
  equal(res.status, 404);
  match((await res.json()).error.message, /no route GET \/nope; see \/openapi.json/);
  res = await app.request("/metrics/cpu", { method: "DELETE" });
  equal(res.status, 405);
  equal(res.headers.get("allow"), "GET, HEAD");
  res = await app.request("/healthz", { method: "HEAD" });
  equal(res.status, 200);
  res = await app.request("/metrics/");
  equal(res.status, 404);
  match((await res.json()).error.message, /did you mean \/metrics\?/);
});
