import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { CatalogResponseSchema, ErrorResponseSchema, PointsResponseSchema } from "../../api/schemas.ts";
import type { PointRow } from "../../model/query.ts";
import { harness, SEED_POINTS } from "../../testing/api_fakes.ts";

async function error(res: Response): Promise<{ status: number; message: string; details?: unknown }> {
  const body = ErrorResponseSchema.parse(await res.json());
  return body.error;
}

Deno.test("GET /metrics returns the catalog", async () => {
  const { app } = harness();
  const res = await app.request("/metrics");
  equal(res.status, 200);
  const body = CatalogResponseSchema.parse(await res.json());
  deepStrictEqual(body.tenants, ["acme"]);
  deepStrictEqual(body.metrics, ["cpu_load"]);
  deepStrictEqual(body.hosts, ["host-a"]);
  equal(body.series[0].rows, 2);
  equal(body.series[0].first_ts, "2025-10-21T10:00:00.000Z");
  equal(body.series[0].last_ts, "2025-10-21T10:05:00.000Z");
});

Deno.test("GET /metrics?tenant= filters the catalog; unknown parameters are 400", async () => {
  const { app } = harness();
  const body = CatalogResponseSchema.parse(await (await app.request("/metrics?tenant=other")).json());
  deepStrictEqual(body.series, []);
  deepStrictEqual(body.tenants, []);
  const res = await app.request("/metrics?tenent=acme");
  equal(res.status, 400);
  const err = await error(res);
  match(err.message, /unknown parameter "tenent"/);
  match(err.message, /known parameters: tenant/);
});

Deno.test("the brief's GET /metrics/cpu?tenant=acme&host=host-a returns both seed points", async () => {
  const { app, store } = harness();
  const res = await app.request("/metrics/cpu?tenant=acme&host=host-a");
  equal(res.status, 200);
  equal(res.headers.get("content-type"), "application/json");
  const body = PointsResponseSchema.parse(await res.json());
  equal(body.metric, "cpu_load");
  equal(body.requested, "cpu");
  equal(body.tenant, "acme");
  equal(body.host, "host-a");
  equal(body.from, null);
  equal(body.to, null);
  equal(body.count, 2);
  equal(body.truncated, false);
  deepStrictEqual(body.points.map((p) => [p.ts, p.value]), [
    ["2025-10-21T10:00:00.000Z", 85],
    ["2025-10-21T10:05:00.000Z", 97],
  ]);
  deepStrictEqual(body.points[0].tags, { env: "prod" });
  equal(body.points[0].unit, "percent");
  const call = store.calls.find((c) => c.method === "points");
  deepStrictEqual(call?.query, {
    metric: "cpu_load",
    tenant: "acme",
    host: "host-a",
    fromMs: undefined,
    toMs: undefined,
    limit: 1001,
  });
});

Deno.test("unknown metric is 404 and lists the known metrics", async () => {
  const { app } = harness();
  const res = await app.request("/metrics/disk?tenant=acme");
  equal(res.status, 404);
  const err = await error(res);
  match(err.message, /unknown metric "disk"/);
  match(err.message, /known metrics: cpu_load/);
  deepStrictEqual(err.details, { known: ["cpu_load"] });
});

Deno.test("an alias that resolves to a metric with no data says what it resolved to", async () => {
  const { app } = harness();
  const err = await error(await app.request("/metrics/mem"));
  match(err.message, /unknown metric "mem" \(resolved to "mem_used"\)/);
});

Deno.test("with an empty store the 404 says how to get data in", async () => {
  const { app, store } = harness();
  store.points_ = [];
  const err = await error(await app.request("/metrics/cpu"));
  match(err.message, /no metrics are stored yet/);
});

Deno.test("wrong types are 400 with a message per parameter", async () => {
  const { app } = harness();
  const res = await app.request("/metrics/cpu?limit=abc&format=xml&from=yesterday-ish&agg=median&step=1m");
  equal(res.status, 400);
  const err = await error(res);
  match(err.message, /limit must be an integer between 1 and 100000, got "abc"/);
  match(err.message, /format/);
  match(err.message, /from: cannot read "yesterday-ish" as a time/);
  match(err.message, /agg/);
  const params = (err.details as { param: string }[]).map((d) => d.param).sort();
  deepStrictEqual(params, ["agg", "format", "from", "limit"]);
});

Deno.test("fractional, zero and negative limits are 400", async () => {
  const { app } = harness();
  for (const limit of ["1.5", "0", "-3", ""]) {
    const res = await app.request(`/metrics/cpu?limit=${limit}`);
    equal(res.status, 400, `limit=${limit}`);
  }
});

Deno.test("huge limits are 400 and state the maximum", async () => {
  const { app } = harness();
  const res = await app.request("/metrics/cpu?limit=100000000");
  equal(res.status, 400);
  match((await error(res)).message, /limit must be at most 100000/);
});

Deno.test("inverted and empty time ranges select nothing: 200 with no points and no store read (ST202)", async () => {
  const { app, store } = harness();
  for (
    const query of [
      "from=2025-10-21T11:00:00Z&to=2025-10-21T10:00:00Z",
      "from=now&to=now",
      "from=-1h&to=-1h",
      "from=-1h&to=-2h&step=1m",
      "from=now&to=-1h&agg=max",
    ]
  ) {
    store.calls.length = 0;
    const res = await app.request(`/metrics/cpu?${query}`);
    equal(res.status, 200, query);
    const body = PointsResponseSchema.parse(await res.json());
    equal(body.count, 0, query);
    deepStrictEqual(body.points, [], query);
    equal(store.calls.filter((c) => c.method === "points" || c.method === "buckets").length, 0, query);
  }
});

Deno.test("times outside the grammar's bounds are 400 saying the valid range (was a 500 from the store)", async () => {
  const { app, store } = harness();
  for (const from of ["-1000000d", "-99999999999999ms", "+1000000w", "12345678901234567"]) {
    store.calls.length = 0;
    const res = await app.request(`/metrics/cpu?from=${encodeURIComponent(from)}`);
    equal(res.status, 400, from);
    const err = await error(res);
    match(err.message, /is out of range: .*times must lie between 0001-01-01T00:00:00Z to 9999-12-31/, from);
    equal(store.calls.length, 0);
  }
  // The largest amounts of each unit and the extreme dates are fine.
  for (
    const from of ["-99999d", "-9999w", "0001-01-01", "9999-12-31T23:59:59.999-23:59", "9999999999999999"]
  ) {
    const res = await app.request(`/metrics/cpu?from=${encodeURIComponent(from)}`);
    equal(res.status, 200, from);
    await res.body?.cancel();
  }
});

Deno.test("from/to accept ISO, relative, now and epoch; the range is passed to the store", async () => {
  const { app, store } = harness(); // now = 2025-10-21T10:30:00Z
  let body = PointsResponseSchema.parse(
    await (await app.request("/metrics/cpu_load?from=-28m&to=now")).json(),
  );
  equal(body.from, "2025-10-21T10:02:00.000Z");
  equal(body.to, "2025-10-21T10:30:00.000Z");
  deepStrictEqual(body.points.map((p) => p.value), [97]);
  body = PointsResponseSchema.parse(
    await (await app.request(
      `/metrics/cpu_load?from=${Date.parse("2025-10-21T10:00:00Z") / 1000}&to=2025-10-21T10:01:00`,
    ))
      .json(),
  );
  deepStrictEqual(body.points.map((p) => p.value), [85]);
  equal(body.to, "2025-10-21T10:01:00.000Z", "no offset means UTC");
  body = PointsResponseSchema.parse(await (await app.request("/metrics/cpu_load?from=2025-10-21")).json());
  equal(body.from, "2025-10-21T00:00:00.000Z");
  const last = store.calls.filter((c) => c.method === "points").at(-1);
  equal((last?.query as { fromMs: number }).fromMs, Date.parse("2025-10-21T00:00:00Z"));
});

Deno.test("step returns aggregated buckets", async () => {
  const { app, store } = harness();
  const res = await app.request("/metrics/cpu?tenant=acme&step=10m&agg=max");
  equal(res.status, 200);
  const body = PointsResponseSchema.parse(await res.json());
  equal(body.step, "10m");
  equal(body.step_ms, 600_000);
  equal(body.agg, "max");
  deepStrictEqual(body.points.map((p) => [p.ts, p.value]), [["2025-10-21T10:00:00.000Z", 97]]);
  const q = store.calls.find((c) => c.method === "buckets")?.query as Record<string, unknown>;
  equal(q.fromMs, Date.parse("2025-10-21T10:00:00Z"));
  equal(q.toMs, Date.parse("2025-10-21T10:10:00Z"), "aligned up to the step");
  equal(q.agg, "max");
  // default aggregation is avg; a bare number is seconds
  const avg = PointsResponseSchema.parse(await (await app.request("/metrics/cpu?step=600")).json());
  equal(avg.agg, "avg");
  equal(avg.points[0].value, 91);
});

Deno.test("agg without step: one value per tenant/host over the whole range", async () => {
  const { app, store } = harness(); // cpu_load of acme/host-a: 85 at 10:00, 97 at 10:05
  const body = PointsResponseSchema.parse(await (await app.request("/metrics/cpu?agg=max")).json());
  equal(body.agg, "max");
  equal(body.step, undefined);
  deepStrictEqual(body.points.map((p) => [p.ts, p.value]), [["2025-10-21T10:00:00.000Z", 97]]);
  const q = store.calls.find((c) => c.method === "buckets")?.query as Record<string, unknown>;
  equal(q.fromMs, Date.parse("2025-10-21T10:00:00Z"));
  const ranged = PointsResponseSchema.parse(
    await (await app.request("/metrics/cpu?agg=avg&from=2025-10-21T09:00:00Z&to=2025-10-21T11:00:00Z"))
      .json(),
  );
  deepStrictEqual(ranged.points.map((p) => [p.ts, p.value]), [["2025-10-21T09:00:00.000Z", 91]]);
});

Deno.test("bad steps are 400; a step finer than the range is answered with the first `limit` buckets", async () => {
  const { app } = harness();
  let err = await error(await app.request("/metrics/cpu?step=fast"));
  match(
    err.message,
    /step must be a positive duration like 30s, 5m, 1h \(or a number of seconds, at most 10 digits\), got "fast"/,
  );
  for (const step of ["0s", "0", "0.5", "-1m", "1y", "99999999999s"]) {
    err = await error(await app.request(`/metrics/cpu?step=${encodeURIComponent(step)}`));
    match(err.message, /step must be a positive duration/, step);
  }
  const res = await app.request(
    "/metrics/cpu?step=1s&from=2025-10-01T00:00:00Z&to=2025-10-21T00:00:00Z&limit=5",
  );
  equal(res.status, 200);
  await res.body?.cancel();
});

Deno.test("truncation: limit+1 is asked for, limit returned, flagged", async () => {
  const { app } = harness();
  const res = await app.request("/metrics/cpu?limit=1");
  equal(res.headers.get("x-truncated"), "true");
  const body = PointsResponseSchema.parse(await res.json());
  equal(body.count, 1);
  equal(body.truncated, true);
  equal(body.points[0].value, 85);
});

Deno.test("format=csv quotes cells and neutralises formulas", async () => {
  const { app, store } = harness();
  const evil: PointRow = {
    ...SEED_POINTS[0],
    host: '=HYPERLINK("http://x")',
    tags: { note: 'a,"b"' },
    ts: SEED_POINTS[0].ts + 1,
  };
  store.points_.push(evil);
  const res = await app.request("/metrics/cpu?format=csv");
  equal(res.status, 200);
  equal(res.headers.get("content-type"), "text/csv; charset=utf-8");
  const lines = (await res.text()).trimEnd().split("\r\n");
  equal(lines[0], "ts,tenant,host,metric,value,unit,tags,ctx");
  equal(
    lines[1],
    '2025-10-21T10:00:00.000Z,acme,host-a,cpu_load,85,percent,"{""env"":""prod""}","{""site"":""lab""}"',
  );
  equal(lines[2].split(",")[2], `"'=HYPERLINK(""http://x"")"`);
  equal(lines.length, 4);
});

Deno.test("format=ndjson gives one point per line; buckets as csv", async () => {
  const { app } = harness();
  const res = await app.request("/metrics/cpu?format=ndjson");
  equal(res.headers.get("content-type"), "application/x-ndjson; charset=utf-8");
  const rows = (await res.text()).trim().split("\n").map((l) => JSON.parse(l));
  equal(rows.length, 2);
  equal(rows[1].value, 97);
  equal(rows[1].metric, "cpu_load");
  const csv = await (await app.request("/metrics/cpu?format=csv&step=1h&agg=count")).text();
  equal(csv, "ts,tenant,host,metric,agg,value\r\n2025-10-21T10:00:00.000Z,acme,host-a,cpu_load,count,2\r\n");
});

Deno.test("injection strings are just data", async () => {
  const { app, store } = harness();
  const tenant = "acme' OR '1'='1'; DROP TABLE metrics; --";
  let res = await app.request(`/metrics/cpu?tenant=${encodeURIComponent(tenant)}`);
  equal(res.status, 200);
  const body = PointsResponseSchema.parse(await res.json());
  equal(body.tenant, tenant);
  equal(body.count, 0);
  equal((store.calls.at(-1)?.query as { tenant: string }).tenant, tenant);
  res = await app.request(`/metrics/${encodeURIComponent("<script>alert(1)</script>")}`);
  equal(res.status, 404);
  equal(res.headers.get("content-type"), "application/json");
  const err = await error(res);
  ok(err.message.includes('"<script>alert(1)</script>"'));
  res = await app.request(`/metrics/${"x".repeat(200)}`);
  equal(res.status, 400);
});

Deno.test("repeated parameters are refused", async () => {
  const { app } = harness();
  const res = await app.request("/metrics/cpu?tenant=a&tenant=b");
  equal(res.status, 400);
  match((await error(res)).message, /"tenant" given more than once/);
});

Deno.test("empty filters are refused with a hint", async () => {
  const { app } = harness();
  const res = await app.request("/metrics/cpu?tenant=");
  equal(res.status, 400);
  match((await error(res)).message, /tenant must not be empty; omit it to match any tenant/);
});

Deno.test("store failures are 500 JSON errors and are logged", async () => {
  const { app, store, logs } = harness();
  store.failing = true;
  const res = await app.request("/metrics/cpu");
  equal(res.status, 500);
  const err = await error(res);
  match(err.message, /internal error/);
  ok(logs.some((l) => l.msg === "unhandled error" && String(l.error).includes("store is down")));
});
