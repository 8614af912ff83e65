/**
 * `GET /metrics` (catalog) and `GET /metrics/{metric}` (points or buckets as JSON, CSV or NDJSON).
 *
 * @module
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { Catalog } from "../deps.ts";
import type { BucketRow, PointRow, SeriesInfo } from "../../model/query.ts";
import type { RouteContext } from "../context.ts";
import { ApiError } from "../errors.ts";
import { codePoints, isoOrNull, parseQuery, timeRange } from "../params.ts";
import { CatalogQuerySchema, MAX_METRIC_NAME, PointsQuerySchema } from "../schemas.ts";
import { parseStep } from "../times.ts";
/** How long `GET /metrics/{metric}` reuses a catalog to check the metric name (ms). */
const CATALOG_REUSE_MS = 2_000;

/**
 * The catalog for `GET /metrics/{metric}`: reading it scans every stored row (~80 ms over 1M rows),
 * so a recent one (and one in flight) is shared; `fresh` forces a new read.
 */
function catalogCache(load: () => Promise<Catalog>): (fresh: boolean) => Promise<Catalog> {
  let cached: { at: number; value: Promise<Catalog> } | undefined;
  return (fresh) => {
    const now = performance.now();
    if (!fresh && cached !== undefined && now - cached.at < CATALOG_REUSE_MS) return cached.value;
    const value = load();
    const entry = { at: now, value };
    cached = entry;
    value.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return value;
  };
}

/** Unique sorted values. */
function uniq(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** Quotes a CSV cell (RFC 4180); text cells starting with = + - @ are prefixed with ' (formula injection). */
export function csvCell(value: string | number): string {
  if (typeof value === "number") return String(value);
  let text = value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== value ? `"${text.replace(/"/g, '""')}"` : text;
}

function seriesJson(s: SeriesInfo) {
  return {
    tenant: s.tenant,
    host: s.host,
    metric: s.metric,
    ...(s.unit !== undefined ? { unit: s.unit } : {}),
    rows: s.rows,
    first_ts: new Date(s.first_ts).toISOString(),
    last_ts: new Date(s.last_ts).toISOString(),
  };
}

/** Metric names in the catalog. */
export function knownMetrics(catalog: Catalog): string[] {
  return uniq(catalog.series.map((s) => s.metric));
}

/** Registers the metrics routes. */
export function registerMetricRoutes(app: Hono, ctx: RouteContext, read: MiddlewareHandler): void {
  const { deps } = ctx;
  const catalogs = catalogCache(() => deps.store.catalog());

  app.get("/metrics", read, async (c) => {
    const q = parseQuery(c, CatalogQuerySchema);
    const catalog = await deps.store.catalog();
    const series = catalog.series
      .filter((s) => q.tenant === undefined || s.tenant === q.tenant)
      .sort((a, b) =>
        a.tenant.localeCompare(b.tenant) || a.host.localeCompare(b.host) || a.metric.localeCompare(b.metric)
      );
    return c.json({
      tenants: q.tenant === undefined ? uniq(catalog.tenants) : uniq(series.map((s) => s.tenant)),
      hosts: uniq(series.map((s) => s.host)),
      metrics: uniq(series.map((s) => s.metric)),
      series: series.map(seriesJson),
    });
  });

  app.get("/metrics/:metric", read, async (c) => {
    const q = parseQuery(c, PointsQuerySchema);
    const requested = c.req.param("metric");
    if (codePoints(requested) > MAX_METRIC_NAME) {
      throw new ApiError(400, `metric name is longer than ${MAX_METRIC_NAME} characters`);
    }
    const metric = deps.resolveMetric(requested);
    const bucketed = q.step !== undefined || q.agg !== undefined;
    // A recent catalog answers most name checks; a miss or a bucket range taken from the data
    // (from/to omitted) reads it again, so new metrics and the newest points are never missed.
    let catalog = await catalogs(false);
    let known = knownMetrics(catalog);
    const needsBounds = bucketed && (q.from === undefined || q.to === undefined);
    if (!known.includes(metric) || needsBounds) {
      catalog = await catalogs(true);
      known = knownMetrics(catalog);
    }
    if (!known.includes(metric)) {
      const alias = metric !== requested ? ` (resolved to "${metric}")` : "";
      const hint = known.length === 0
        ? "no metrics are stored yet; send events first (POST /ingest or the raw Kafka topic)"
        : `known metrics: ${known.join(", ")}`;
      throw new ApiError(404, `unknown metric "${requested}"${alias}; ${hint}`, { known });
    }
    const now = ctx.now();
    const range = timeRange(q.from, q.to, now);
    const base = {
      metric,
      requested,
      tenant: q.tenant ?? null,
      host: q.host ?? null,
    };

    if (bucketed) {
      const agg = q.agg ?? "avg";
      const stepMs = q.step === undefined ? undefined : parseStep(q.step) as number;
      const matching = catalog.series.filter((s) =>
        s.metric === metric && (q.tenant === undefined || s.tenant === q.tenant) &&
        (q.host === undefined || s.host === q.host)
      );
      const { fromMs, toMs } = bucketRange(range, matching, stepMs, now);
      let rows = fromMs >= toMs ? [] : await deps.store.buckets({
        metric,
        tenant: q.tenant,
        host: q.host,
        fromMs,
        toMs,
        stepMs: stepMs ?? WHOLE_RANGE_STEP_MS,
        agg,
        limit: q.limit + 1,
      });
      // One bucket over the whole range: it starts where the range does.
      if (stepMs === undefined) rows = rows.map((row) => ({ ...row, ts: fromMs }));
      const truncated = rows.length > q.limit;
      const kept = truncated ? rows.slice(0, q.limit) : rows;
      const meta = {
        ...base,
        from: isoOrNull(fromMs),
        to: isoOrNull(toMs),
        ...(stepMs === undefined ? {} : { step: q.step, step_ms: stepMs }),
        agg,
      };
      return respond(c, q.format, meta, kept, truncated, "bucket");
    }

    const rows = range.empty ? [] : await deps.store.points({
      metric,
      tenant: q.tenant,
      host: q.host,
      fromMs: range.fromMs,
      toMs: range.toMs,
      limit: q.limit + 1,
    });
    const truncated = rows.length > q.limit;
    const kept = truncated ? rows.slice(0, q.limit) : rows;
    const meta = { ...base, from: isoOrNull(range.fromMs), to: isoOrNull(range.toMs) };
    return respond(c, q.format, meta, kept, truncated, "point");
  });
}

/**
 * A step wider than any stored range (2^52 ms, ~142,000 years): with the epoch as the buckets'
 * origin, every point after 1970 falls into one bucket (`agg` without `step`).
 */
const WHOLE_RANGE_STEP_MS = 2 ** 52;

/**
 * The range of a bucketed query: `from`/`to` as given, or the data's bounds, aligned to the step
 * (when there is one). Only `to` given, before the data: an empty range the right way round.
 */
export function bucketRange(
  range: { fromMs?: number; toMs?: number },
  matching: readonly SeriesInfo[],
  stepMs: number | undefined,
  nowMs: number,
): { fromMs: number; toMs: number } {
  const step = stepMs ?? 1;
  let fromMs = range.fromMs;
  let toMs = range.toMs;
  if (fromMs === undefined) {
    const first = matching.length > 0
      ? matching.reduce((m, s) => Math.min(m, s.first_ts), Number.POSITIVE_INFINITY)
      : (toMs ?? nowMs) - step;
    fromMs = Math.floor(first / step) * step;
  }
  if (toMs === undefined) {
    const last = matching.length > 0
      ? matching.reduce((m, s) => Math.max(m, s.last_ts), Number.NEGATIVE_INFINITY) + 1
      : nowMs;
    toMs = Math.max(Math.ceil(last / step) * step, fromMs + step);
  }
  if (range.fromMs === undefined && fromMs >= toMs) fromMs = Math.ceil(toMs / step) * step - step;
  return { fromMs, toMs };
}

type Meta = {
  metric: string;
  requested: string;
  tenant: string | null;
  host: string | null;
  from: string | null;
  to: string | null;
  step?: string;
  step_ms?: number;
  agg?: string;
};

function pointJson(row: PointRow | BucketRow, kind: "point" | "bucket") {
  if (kind === "bucket") {
    return { ts: new Date(row.ts).toISOString(), value: row.value, tenant: row.tenant, host: row.host };
  }
  const p = row as PointRow;
  return {
    ts: new Date(p.ts).toISOString(),
    value: p.value,
    tenant: p.tenant,
    host: p.host,
    unit: p.unit,
    tags: p.tags,
    ctx: p.ctx,
  };
}

function respond(
  c: Context,
  format: "json" | "csv" | "ndjson",
  meta: Meta,
  rows: (PointRow | BucketRow)[],
  truncated: boolean,
  kind: "point" | "bucket",
): Response {
  const headers: Record<string, string> = { "Cache-Control": "no-store" };
  if (truncated) headers["X-Truncated"] = "true";
  if (format === "json") {
    return c.json(
      { ...meta, count: rows.length, truncated, points: rows.map((r) => pointJson(r, kind)) },
      200,
      headers,
    );
  }
  if (format === "ndjson") {
    let body = "";
    for (const r of rows) body += JSON.stringify({ metric: meta.metric, ...pointJson(r, kind) }) + "\n";
    return c.body(body, 200, { ...headers, "Content-Type": "application/x-ndjson; charset=utf-8" });
  }
  const lines: string[] = [];
  if (kind === "bucket") {
    lines.push("ts,tenant,host,metric,agg,value");
    for (const r of rows) {
      lines.push(
        [
          new Date(r.ts).toISOString(),
          csvCell(r.tenant),
          csvCell(r.host),
          csvCell(meta.metric),
          meta.agg ?? "",
          r.value,
        ]
          .join(","),
      );
    }
  } else {
    lines.push("ts,tenant,host,metric,value,unit,tags,ctx");
    for (const r of rows as PointRow[]) {
      lines.push([
        new Date(r.ts).toISOString(),
        csvCell(r.tenant),
        csvCell(r.host),
        csvCell(meta.metric),
        r.value,
        csvCell(r.unit),
        csvCell(JSON.stringify(r.tags)),
        csvCell(JSON.stringify(r.ctx)),
      ].join(","));
    }
  }
  const safeName = meta.metric.replace(/[^a-z0-9_]/gi, "_");
  return c.body(lines.join("\r\n") + "\r\n", 200, {
    ...headers,
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `inline; filename="${safeName}.csv"`,
  });
}
