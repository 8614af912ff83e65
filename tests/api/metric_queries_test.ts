/** The pure half of the metrics routes (`api/metric_queries.ts`): catalog view, name check, the store query and its page. */
import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import {
  alignBuckets,
  assertKnownMetric,
  bucketGroup,
  bucketRange,
  catalogView,
  needsFreshCatalog,
  page,
  planMetricQuery,
  type PointsParams,
  takeLabelFilters,
} from "../../api/metric_queries.ts";
import { PointsQuerySchema } from "../../api/schemas.ts";
import { ApiError } from "../../api/errors.ts";
import type { Catalog, SeriesInfo } from "../../model/query.ts";

const T0 = Date.parse("2025-10-21T10:00:00Z");
const series = (
  tenant: string,
  host: string,
  metric: string,
  first = T0,
  last = T0 + 600_000,
): SeriesInfo => ({
  tenant,
  host,
  metric,
  rows: 10,
  first_ts: first,
  last_ts: last,
});
const CATALOG: Catalog = {
  tenants: ["globex", "acme"],
  series: [
    series("globex", "gw", "temp_c"),
    series("acme", "b", "cpu_load"),
    series("acme", "a", "cpu_load"),
  ],
};
const params = (extra: Partial<PointsParams> = {}): PointsParams => ({
  limit: 100,
  format: "json",
  ...extra,
});

Deno.test("catalog view: sorted series of one tenant or all, names rolled up", () => {
  const all = catalogView(CATALOG, undefined);
  deepStrictEqual(all.tenants, ["acme", "globex"]);
  deepStrictEqual(all.series.map((s) => `${s.tenant}/${s.host}`), ["acme/a", "acme/b", "globex/gw"]);
  deepStrictEqual(all.metrics, ["cpu_load", "temp_c"]);
  const acme = catalogView(CATALOG, "acme");
  deepStrictEqual([acme.tenants, acme.hosts, acme.metrics], [["acme"], ["a", "b"], ["cpu_load"]]);
});

Deno.test("metric name: a recent catalog answers a known name; a miss or bounds from the data read it again", () => {
  equal(needsFreshCatalog(params(), "cpu_load", CATALOG), false);
  equal(needsFreshCatalog(params(), "mem_used", CATALOG), true);
  equal(needsFreshCatalog(params({ step: "1m", from: "-1h" }), "cpu_load", CATALOG), true);
  equal(needsFreshCatalog(params({ step: "1m", from: "-1h", to: "now" }), "cpu_load", CATALOG), false);
  assertKnownMetric("cpu", "cpu_load", CATALOG);
  throws(() => assertKnownMetric("mem", "mem_used", CATALOG), (error: unknown) => {
    ok(error instanceof ApiError);
    equal(error.status, 404);
    equal(error.message, 'unknown metric "mem" (resolved to "mem_used"); known metrics: cpu_load, temp_c');
    return true;
  });
});

Deno.test("plan: points over the given range (none when empty), limit + 1 asked of the store", () => {
  const plan = planMetricQuery(
    params({ tenant: "acme", from: "2025-10-21T10:00:00Z" }),
    "cpu",
    "cpu_load",
    CATALOG,
    T0,
  );
  equal(plan.kind, "point");
  deepStrictEqual(plan.query, {
    metric: "cpu_load",
    tenant: "acme",
    host: undefined,
    fromMs: T0,
    toMs: undefined,
    limit: 101,
  });
  deepStrictEqual(plan.meta, {
    metric: "cpu_load",
    requested: "cpu",
    tenant: "acme",
    host: null,
    from: "2025-10-21T10:00:00.000Z",
    to: null,
  });
  const empty = planMetricQuery(params({ from: "now", to: "-1h" }), "cpu_load", "cpu_load", CATALOG, T0);
  equal(empty.query, undefined);
});

Deno.test("plan: buckets over the data's range aligned to the step; without step one bucket at the range's start", () => {
  const plan = planMetricQuery(
    params({ step: "5m", agg: "max" }),
    "cpu_load",
    "cpu_load",
    CATALOG,
    T0 + 3_600_000,
  );
  if (plan.kind !== "bucket") throw new Error("expected buckets");
  deepStrictEqual([plan.query?.fromMs, plan.query?.toMs, plan.query?.stepMs, plan.query?.agg], [
    T0,
    T0 + 900_000,
    300_000,
    "max",
  ]);
  deepStrictEqual([plan.meta.step, plan.meta.step_ms, plan.meta.agg], ["5m", 300_000, "max"]);
  equal(plan.wholeRangeFromMs, undefined);
  const whole = planMetricQuery(params({ agg: "avg" }), "cpu_load", "cpu_load", CATALOG, T0 + 3_600_000);
  if (whole.kind !== "bucket") throw new Error("expected buckets");
  equal(whole.wholeRangeFromMs, T0);
  const aligned = alignBuckets(whole, [{ ts: 0, tenant: "acme", host: "a", value: 1 }]);
  equal(aligned[0].ts, T0);
  deepStrictEqual(bucketRange({ toMs: T0 - 60_000 }, [series("acme", "a", "cpu_load")], 60_000, T0), {
    fromMs: T0 - 120_000,
    toMs: T0 - 60_000,
  });
});

Deno.test("page: the first limit rows and whether there were more", () => {
  deepStrictEqual(page([1, 2, 3], 2), { rows: [1, 2], truncated: true });
  deepStrictEqual(page([1, 2], 2), { rows: [1, 2], truncated: false });
});

Deno.test("label filters: tag.<key> and ctx.<key> taken out of the query, bad ones refused with what to fix", () => {
  deepStrictEqual(takeLabelFilters({ "tag.env": "prod", "ctx.site": "plant-1", host: "a" }), {
    filters: [{ map: "tags", key: "env", value: "prod" }, { map: "ctx", key: "site", value: "plant-1" }],
    rest: { host: "a" },
  });
  deepStrictEqual(takeLabelFilters({ "tag.k8s.io/app": "x' OR 1=1 --" }).filters, [
    { map: "tags", key: "k8s.io/app", value: "x' OR 1=1 --" },
  ]);
  const refused = (input: Record<string, string>, pattern: RegExp) =>
    throws(() => takeLabelFilters(input), (error: unknown) => {
      ok(error instanceof ApiError);
      equal(error.status, 400);
      ok(pattern.test(error.message), error.message);
      return true;
    });
  refused({ "tag.": "x" }, /"tag\." is not a filter: write tag\.<key>=value/);
  refused({ 'tag.a"b': "x" }, /is not a filter/);
  refused({ "ctx.site": "" }, /ctx\.site must be 1 to 256 characters/);
  refused(Object.fromEntries([...Array(9).keys()].map((i) => [`tag.k${i}`, "v"])), /at most 8/);
});

Deno.test("plan: filters and group_by reach the store query and the meta; group_by alone buckets the whole range", () => {
  const labels = [{ map: "ctx" as const, key: "site", value: "plant-1" }];
  const points = planMetricQuery(params(), "cpu_load", "cpu_load", CATALOG, T0, labels);
  equal(points.kind, "point");
  deepStrictEqual(points.query?.labels, labels);
  deepStrictEqual(points.meta.filters, { "ctx.site": "plant-1" });
  const grouped = planMetricQuery(
    params({ step: "5m", agg: "p99", group_by: "tag.env" }),
    "cpu_load",
    "cpu_load",
    CATALOG,
    T0,
    labels,
  );
  ok(grouped.kind === "bucket" && grouped.query !== undefined);
  deepStrictEqual(grouped.query.group, { by: "tags", key: "env" });
  equal(grouped.query.agg, "p99");
  deepStrictEqual(grouped.query.labels, labels);
  equal(grouped.meta.group_by, "tag.env");
  const whole = planMetricQuery(params({ group_by: "host" }), "cpu_load", "cpu_load", CATALOG, T0);
  ok(whole.kind === "bucket");
  equal(whole.meta.agg, "avg");
  deepStrictEqual(bucketGroup(undefined), { by: "host" });
  deepStrictEqual(bucketGroup("ctx.site"), { by: "ctx", key: "site" });
});

Deno.test("query schema: p50/p90/p99 and group_by by pattern", () => {
  for (const agg of ["p50", "p90", "p95", "p99"]) ok(PointsQuerySchema.safeParse({ agg }).success, agg);
  for (const group_by of ["host", "tag.env", "ctx.site", "tag.k8s.io/app"]) {
    ok(PointsQuerySchema.safeParse({ group_by }).success, group_by);
  }
  for (const group_by of ["tenant", "tag.", "tags.env", "ctx.a b", "tag.a'b"]) {
    const result = PointsQuerySchema.safeParse({ group_by });
    ok(!result.success, group_by);
    ok(/group_by must be host, tag\.<key> or ctx\.<key>/.test(result.error.issues[0].message));
  }
});
