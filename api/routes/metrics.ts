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
import {
  alignBuckets,
  assertKnownMetric,
  catalogView,
  type MetricMeta,
  needsFreshCatalog,
  page,
  planMetricQuery,
  type PointsParams,
  takeLabelFilters,
} from "../metric_queries.ts";
import { codePoints, parseQuery, parseQueryObject, queryObject } from "../params.ts";
import { CatalogQuerySchema, MAX_METRIC_NAME, PointsQuerySchema } from "../schemas.ts";
import {
  type CatalogJson,
  MERGEABLE_AGGS,
  mergeBuckets,
  mergeCatalogs,
  mergePoints,
} from "../cluster_merge.ts";
import {
  type Coverage,
  coverageOf,
  fanOut,
  isForwarded,
  PARTIAL_HEADER,
  restoringCoverage,
} from "../forward.ts";
import type { ClusterApi } from "../deps.ts";
import type { LabelFilter } from "../../model/query.ts";

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

/** Registers the metrics routes. */
export function registerMetricRoutes(app: Hono, ctx: RouteContext, read: MiddlewareHandler): void {
  const { deps } = ctx;
  const catalogs = catalogCache(() => deps.store.catalog());

  app.get("/metrics", read, async (c) => {
    const q = parseQuery(c, CatalogQuerySchema);
    const view = catalogView(await deps.store.catalog(), q.tenant);
    const local: CatalogJson = { ...view, series: view.series.map(seriesJson) };
    const cluster = deps.cluster;
    if (cluster === undefined || isForwarded(c) || cluster.peers().length === 0) {
      const coverage = restoringCoverage(cluster);
      if (coverage === undefined) return c.json(local);
      return c.json({ ...local, ...coverage }, 200, { [PARTIAL_HEADER]: "true" });
    }
    // Scale-out: every agent's catalog, merged; an agent that did not answer is named.
    const answers = await fanOut<CatalogJson>(c, cluster);
    const merged = mergeCatalogs([
      local,
      ...answers.flatMap((answer) => answer.ok && answer.body ? [answer.body] : []),
    ]);
    const coverage = coverageOf(cluster.selfUrl, answers, cluster.restoring?.());
    return c.json(
      { ...merged, ...coverage },
      200,
      coverage.partial ? { [PARTIAL_HEADER]: "true" } : {},
    );
  });

  app.get("/metrics/:metric", read, async (c) => {
    const { filters, rest } = takeLabelFilters(queryObject(c));
    const q = parseQueryObject(rest, PointsQuerySchema);
    const requested = c.req.param("metric");
    if (codePoints(requested) > MAX_METRIC_NAME) {
      throw new ApiError(400, `metric name is longer than ${MAX_METRIC_NAME} characters`);
    }
    const metric = deps.resolveMetric(requested);
    const cluster = deps.cluster;
    if (cluster !== undefined && !isForwarded(c) && cluster.peers().length > 0) {
      // Scale-out: a series' rows are on the agent that owns its partition, and on the agents that owned
      // it before a live rebalance (an agent joined): every agent is asked, and the owner must answer.
      const owner = q.tenant !== undefined && q.host !== undefined
        ? cluster.ownerOf({ tenant: q.tenant, host: q.host, metric })
        : undefined;
      if (owner?.kind === "unknown") {
        void cluster.refresh();
        throw new ApiError(
          503,
          `no agent can answer for this series now: ${owner.reason}; retry in a few seconds`,
          { reason: owner.reason },
          { "Retry-After": "5", [PARTIAL_HEADER]: "true" },
        );
      }
      return await fanOutMetric(
        c,
        cluster,
        q,
        () => localRows(q, requested, metric, filters),
        owner?.kind === "peer" ? owner : undefined,
      );
    }
    const local = await localRows(q, requested, metric, filters);
    // Restoring a departed agent's rows: this answer may lack some of them yet.
    return respond(
      c,
      q.format,
      local.meta,
      local.rows,
      local.truncated,
      local.kind,
      restoringCoverage(cluster),
    );
  });

  /** This agent's answer: the metric checked against its catalog, the rows of the plan, paged. */
  async function localRows(
    q: PointsParams,
    requested: string,
    metric: string,
    filters: LabelFilter[],
  ): Promise<LocalAnswer> {
    // A recent catalog answers most name checks; a miss or a bucket range taken from the data
    // (from/to omitted) reads it again, so new metrics and the newest points are never missed.
    let catalog = await catalogs(false);
    if (needsFreshCatalog(q, metric, catalog)) catalog = await catalogs(true);
    assertKnownMetric(requested, metric, catalog);
    const plan = planMetricQuery(q, requested, metric, catalog, ctx.now(), filters);
    if (plan.kind === "bucket") {
      const rows = plan.query === undefined ? [] : alignBuckets(plan, await deps.store.buckets(plan.query));
      return { meta: plan.meta, ...page(rows, q.limit), kind: "bucket" };
    }
    const rows = plan.query === undefined ? [] : await deps.store.points(plan.query);
    return { meta: plan.meta, ...page(rows, q.limit), kind: "point" };
  }
}

/**
 * A read over many series with other agents in the groups: the same query on every agent (as JSON),
 * merged with this agent's rows (`cluster_merge.ts`). Buckets per host merge exactly (each series is
 * on one agent; a bucket two agents computed is combined for count/sum/min/max, else counted in
 * `inexact_buckets`); buckets of a tag/context group span agents, so only count/sum/min/max are
 * answered (an average or a percentile of a group is not a combination of the agents' ones). One
 * bucket over the whole range needs `from` and `to` (each agent's data has its own range).
 */
async function fanOutMetric(
  c: Context,
  cluster: ClusterApi,
  q: PointsParams,
  local: () => Promise<LocalAnswer>,
  owner?: { url: string; partition: number },
): Promise<Response> {
  const bucketed = q.step !== undefined || q.agg !== undefined || q.group_by !== undefined;
  const agg = q.agg ?? "avg";
  if (bucketed && q.step === undefined && (q.from === undefined || q.to === undefined)) {
    throw new ApiError(
      400,
      "with several agents, agg without step needs from and to (one bucket over the whole range: each agent's " +
        "data has its own range); give both, or a step",
    );
  }
  if (bucketed && q.group_by !== undefined && q.group_by !== "host" && !MERGEABLE_AGGS.has(agg)) {
    throw new ApiError(
      400,
      `agg=${agg} over group_by=${q.group_by} cannot be computed across agents: each agent holds a part of a ` +
        "group's series, and an average or percentile of a group is not a combination of the parts'. Use agg=sum " +
        "with agg=count (their ratio is the average), min or max, or group by host",
    );
  }
  const [answers, mine] = await Promise.all([
    fanOut<PeerPoints>(c, cluster, {
      query: (params) => params.set("format", "json"),
      notFoundIsEmpty: true,
    }),
    local().catch((error) => {
      if (error instanceof ApiError && error.status === 404) return error;
      throw error;
    }),
  ]);
  const coverage = coverageOf(cluster.selfUrl, answers, cluster.restoring?.());
  const ownerMissing = owner && coverage.unreachable.find((entry) => entry.url === owner.url);
  if (owner && ownerMissing) {
    throw new ApiError(
      503,
      `the agent that owns this series (${owner.url}, partition ${owner.partition}) did not answer: ` +
        `${ownerMissing.error}; retry in a few seconds (the group moves its partitions to the other agents ` +
        "once it is gone)",
      { unreachable: [owner.url], partition: owner.partition },
      { "Retry-After": "5", [PARTIAL_HEADER]: "true" },
    );
  }
  const peers = answers.flatMap((answer) => answer.ok && answer.body ? [answer.body] : []);
  if (mine instanceof ApiError) {
    if (peers.length === 0) {
      if (!coverage.partial) throw mine;
      throw new ApiError(503, `${mine.message}; and agents did not answer, which may store it`, coverage, {
        "Retry-After": "5",
        [PARTIAL_HEADER]: "true",
      });
    }
  }
  const meta = mine instanceof ApiError ? metaOf(peers[0]) : mine.meta;
  const kind = mine instanceof ApiError ? (bucketed ? "bucket" : "point") : mine.kind;
  const peerRows = peers.map((body) => body.points.map((point) => rowOf(point, meta.metric)));
  const localRows = mine instanceof ApiError ? [] : mine.rows;
  const peerTruncated = peers.some((body) => body.truncated);
  let rows: (PointRow | BucketRow)[];
  let inexact = 0;
  if (kind === "bucket") {
    const merged = mergeBuckets([localRows as BucketRow[], ...peerRows as BucketRow[][]], agg);
    rows = merged.rows;
    inexact = merged.inexact;
  } else {
    rows = mergePoints([localRows as PointRow[], ...peerRows as PointRow[][]]);
  }
  const paged = page(rows, q.limit);
  return respond(c, q.format, meta, paged.rows, paged.truncated || peerTruncated, kind, {
    ...coverage,
    ...(kind === "bucket" ? { inexact_buckets: inexact } : {}),
  });
}

/** This agent's own answer to `GET /metrics/{metric}`: its rows of the plan, paged. */
interface LocalAnswer {
  meta: MetricMeta;
  rows: (PointRow | BucketRow)[];
  truncated: boolean;
  kind: "point" | "bucket";
}

/** `GET /metrics/{metric}` as JSON, as another agent answers it. */
interface PeerPoints extends MetricMeta {
  count: number;
  truncated: boolean;
  points: PeerPoint[];
}

/** One point or bucket of another agent's JSON answer. */
interface PeerPoint {
  ts: string;
  value: number;
  tenant: string;
  host?: string;
  group?: string | null;
  unit?: string;
  tags?: Record<string, string>;
  ctx?: Record<string, string>;
}

/** The meta fields of another agent's answer. */
function metaOf(body: PeerPoints): MetricMeta {
  const { count: _count, truncated: _truncated, points: _points, ...meta } = body;
  return meta;
}

/** A row of another agent's JSON answer (points carry unit, tags and ctx; buckets host or group). */
function rowOf(point: PeerPoint, metric: string): PointRow | BucketRow {
  const ts = Date.parse(point.ts);
  if (point.unit !== undefined) {
    return {
      ts,
      tenant: point.tenant,
      host: point.host ?? "",
      metric,
      value: point.value,
      unit: point.unit,
      tags: point.tags ?? {},
      ctx: point.ctx ?? {},
    };
  }
  return point.host !== undefined
    ? { ts, tenant: point.tenant, host: point.host, value: point.value }
    : { ts, tenant: point.tenant, group: point.group ?? null, value: point.value };
}

function pointJson(row: PointRow | BucketRow, kind: "point" | "bucket") {
  if (kind === "bucket") {
    const b = row as BucketRow;
    return {
      ts: new Date(b.ts).toISOString(),
      value: b.value,
      tenant: b.tenant,
      ...(b.host !== undefined ? { host: b.host } : { group: b.group ?? null }),
    };
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
  meta: MetricMeta,
  rows: (PointRow | BucketRow)[],
  truncated: boolean,
  kind: "point" | "bucket",
  cluster?: Coverage & { inexact_buckets?: number },
): Response {
  const headers: Record<string, string> = { "Cache-Control": "no-store" };
  if (truncated) headers["X-Truncated"] = "true";
  if (cluster?.partial) headers[PARTIAL_HEADER] = "true";
  if (format === "json") {
    return c.json(
      { ...meta, count: rows.length, truncated, points: rows.map((r) => pointJson(r, kind)), ...cluster },
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
    lines.push(`ts,tenant,${meta.group_by === undefined ? "host" : csvCell(meta.group_by)},metric,agg,value`);
    for (const r of rows as BucketRow[]) {
      lines.push(
        [
          new Date(r.ts).toISOString(),
          csvCell(r.tenant),
          csvCell(r.host ?? r.group ?? ""),
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
