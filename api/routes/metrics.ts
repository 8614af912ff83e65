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
import { isoOrNull, parseQuery, parseStep, timeRange } from "../params.ts";
import { CatalogQuerySchema, MAX_BUCKETS, PointsQuerySchema } from "../schemas.ts";

const MAX_METRIC_NAME = 128;
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

/** Formats ms as a compact duration (`90s` -> `1m30s`). */
export function formatDuration(ms: number): string {
  const units: [string, number][] = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1_000], [
    "ms",
    1,
  ]];
  let rest = Math.max(0, Math.round(ms));
  let out = "";
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out || "0ms";
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
    if (requested.length > MAX_METRIC_NAME) {
      throw new ApiError(400, `metric name is longer than ${MAX_METRIC_NAME} characters`);
    }
    const metric = deps.resolveMetric(requested);
    // A recent catalog answers most name checks; a miss or a bucket range taken from the data
    // (from/to omitted) reads it again, so new metrics and the newest points are never missed.
    let catalog = await catalogs(false);
    let known = knownMetrics(catalog);
    const needsBounds = q.step !== undefined && (q.from === undefined || q.to === undefined);
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
    if (q.agg !== undefined && q.step === undefined) {
      throw new ApiError(
        400,
        "agg needs step: add step (e.g. step=1m) to get aggregated buckets, or drop agg",
        [
          { param: "agg", message: "needs step" },
        ],
      );
    }
    const now = ctx.now();
    const range = timeRange(q.from, q.to, now);
    const base = {
      metric,
      requested,
      tenant: q.tenant ?? null,
      host: q.host ?? null,
    };

    if (q.step !== undefined) {
      const stepMs = parseStep(q.step) as number;
      const agg = q.agg ?? "avg";
      const matching = catalog.series.filter((s) =>
        s.metric === metric && (q.tenant === undefined || s.tenant === q.tenant) &&
        (q.host === undefined || s.host === q.host)
      );
      let fromMs = range.fromMs;
      let toMs = range.toMs;
      if (fromMs === undefined) {
        const first = matching.length > 0
          ? matching.reduce((m, s) => Math.min(m, s.first_ts), Number.POSITIVE_INFINITY)
          : (toMs ?? now) - stepMs;
        fromMs = Math.floor(first / stepMs) * stepMs;
      }
      if (toMs === undefined) {
        const last = matching.length > 0
          ? matching.reduce((m, s) => Math.max(m, s.last_ts), Number.NEGATIVE_INFINITY) + 1
          : now;
        toMs = Math.max(Math.ceil(last / stepMs) * stepMs, fromMs + stepMs);
      }
      // Only `to` given, before the data: keep the range the right way round (no buckets).
      if (fromMs >= toMs) fromMs = Math.ceil(toMs / stepMs) * stepMs - stepMs;
      const buckets = Math.ceil((toMs - fromMs) / stepMs);
      if (buckets > MAX_BUCKETS) {
        const exact = Math.ceil((toMs - fromMs) / MAX_BUCKETS);
        const minStep = formatDuration(exact >= 1_000 ? Math.ceil(exact / 1_000) * 1_000 : exact);
        throw new ApiError(
          400,
          `step ${q.step} over ${
            formatDuration(toMs - fromMs)
          } gives ${buckets} buckets (max ${MAX_BUCKETS}); ` +
            `use step >= ${minStep} or a shorter range (from/to)`,
          [{ param: "step", message: `too small for the range; at least ${minStep}` }],
        );
      }
      const rows = await deps.store.buckets({
        metric,
        tenant: q.tenant,
        host: q.host,
        fromMs,
        toMs,
        stepMs,
        agg,
        limit: q.limit + 1,
      });
      const truncated = rows.length > q.limit;
      const kept = truncated ? rows.slice(0, q.limit) : rows;
      const meta = {
        ...base,
        from: isoOrNull(fromMs),
        to: isoOrNull(toMs),
        step: q.step,
        step_ms: stepMs,
        agg,
      };
      return respond(c, q.format, meta, kept, truncated, "bucket");
    }

    const rows = await deps.store.points({
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
