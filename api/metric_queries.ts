/**
 * What `GET /metrics` and `GET /metrics/{metric}` ask of the store, as pure functions beside the
 * parameter parsing (`params.ts`): the catalog view, whether a catalog can answer the metric name,
 * the query to run (points, or buckets over a range taken from the data when `from`/`to` are
 * omitted) with the response's meta, and the page of rows. The route only reads, runs and writes.
 *
 * @module
 */
import type { z } from "zod";
import type {
  BucketGroup,
  BucketRow,
  BucketsQuery,
  Catalog,
  LabelFilter,
  PointsQuery,
  SeriesInfo,
} from "../model/query.ts";
import { ApiError } from "./errors.ts";
import { codePoints, isoOrNull, timeRange } from "./params.ts";
import {
  LABEL_PARAM_PATTERN,
  MAX_LABEL_FILTERS,
  MAX_LABEL_VALUE,
  type PointsQuerySchema,
} from "./schemas.ts";
import { parseStep } from "./times.ts";

/** The validated parameters of `GET /metrics/{metric}`. */
export type PointsParams = z.output<typeof PointsQuerySchema>;

/** The response's fields besides the rows. */
export interface MetricMeta {
  metric: string;
  requested: string;
  tenant: string | null;
  host: string | null;
  from: string | null;
  to: string | null;
  step?: string;
  step_ms?: number;
  agg?: string;
  group_by?: string;
  filters?: Record<string, string>;
}

/** The store query of one request (none when its range is empty) and the response's meta. */
export type MetricPlan =
  | {
    kind: "bucket";
    query: BucketsQuery | undefined;
    meta: MetricMeta;
    /** Without `step`, the one bucket starts where the range does (its `ts`). */
    wholeRangeFromMs?: number;
  }
  | { kind: "point"; query: PointsQuery | undefined; meta: MetricMeta };

/**
 * A step wider than any stored range (2^52 ms, ~142,000 years): with the epoch as the buckets'
 * origin, every point after 1970 falls into one bucket (`agg` without `step`).
 */
const WHOLE_RANGE_STEP_MS = 2 ** 52;

/** Unique sorted values. */
function uniq(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** `GET /metrics`: the series of `tenant` (every tenant's without), sorted, and their names rolled up. */
export function catalogView(
  catalog: Catalog,
  tenant: string | undefined,
): { tenants: string[]; hosts: string[]; metrics: string[]; series: SeriesInfo[] } {
  const series = catalog.series
    .filter((s) => tenant === undefined || s.tenant === tenant)
    .sort((a, b) =>
      a.tenant.localeCompare(b.tenant) || a.host.localeCompare(b.host) || a.metric.localeCompare(b.metric)
    );
  return {
    tenants: tenant === undefined ? uniq(catalog.tenants) : uniq(series.map((s) => s.tenant)),
    hosts: uniq(series.map((s) => s.host)),
    metrics: uniq(series.map((s) => s.metric)),
    series,
  };
}

/** Metric names in the catalog. */
export function knownMetrics(catalog: Catalog): string[] {
  return uniq(catalog.series.map((s) => s.metric));
}

/**
 * Takes the label filters (`tag.<key>=value`, `ctx.<key>=value`) out of a query object: the filters
 * (keys checked against {@link LABEL_PARAM_PATTERN}, values 1..256 characters, at most 8) and the
 * other parameters. Throws a 400 that says what to fix.
 */
export function takeLabelFilters(
  input: Record<string, string>,
): { filters: LabelFilter[]; rest: Record<string, string> } {
  const filters: LabelFilter[] = [];
  const rest: Record<string, string> = {};
  const problems: { param: string; message: string }[] = [];
  const pattern = new RegExp(LABEL_PARAM_PATTERN);
  for (const [param, value] of Object.entries(input)) {
    if (!param.startsWith("tag.") && !param.startsWith("ctx.")) {
      rest[param] = value;
      continue;
    }
    if (!pattern.test(param)) {
      problems.push({
        param,
        message: `"${param}" is not a filter: write tag.<key>=value or ctx.<key>=value, the key 1 to 64 ` +
          "letters, digits or _ . : / - (starting with a letter, digit or _)",
      });
    } else if (value === "" || codePoints(value) > MAX_LABEL_VALUE) {
      problems.push({
        param,
        message: `${param} must be 1 to ${MAX_LABEL_VALUE} characters; omit it to match any`,
      });
    } else {
      const dot = param.indexOf(".");
      filters.push({ map: param.slice(0, dot) === "tag" ? "tags" : "ctx", key: param.slice(dot + 1), value });
    }
  }
  if (filters.length > MAX_LABEL_FILTERS) {
    problems.push({ param: "tag.*", message: `at most ${MAX_LABEL_FILTERS} tag./ctx. filters per request` });
  }
  if (problems.length > 0) {
    throw new ApiError(400, `invalid query: ${problems.map((p) => p.message).join("; ")}`, problems);
  }
  return { filters, rest };
}

/** The group of `group_by` (validated): the host, or a tag or context key. */
export function bucketGroup(groupBy: string | undefined): BucketGroup {
  if (groupBy === undefined || groupBy === "host") return { by: "host" };
  const dot = groupBy.indexOf(".");
  return { by: groupBy.slice(0, dot) === "tag" ? "tags" : "ctx", key: groupBy.slice(dot + 1) };
}

/** The filters as the response's meta shows them (`tag.env`: `prod`). */
function filtersMeta(filters: readonly LabelFilter[]): { filters?: Record<string, string> } {
  if (filters.length === 0) return {};
  const out: Record<string, string> = {};
  for (const f of filters) out[`${f.map === "tags" ? "tag" : "ctx"}.${f.key}`] = f.value;
  return { filters: out };
}

/** Whether a bucketed request takes its range from the data (`from` or `to` omitted). */
function isBucketed(q: PointsParams): boolean {
  return q.step !== undefined || q.agg !== undefined || q.group_by !== undefined;
}

/**
 * Whether a recent catalog cannot answer the request: the metric is not in it (it may be new), or
 * a bucketed request takes its range from the data (the newest points must count).
 */
export function needsFreshCatalog(q: PointsParams, metric: string, catalog: Catalog): boolean {
  return !knownMetrics(catalog).includes(metric) ||
    (isBucketed(q) && (q.from === undefined || q.to === undefined));
}

/** Throws a 404 naming the known metrics when `metric` (`requested` as resolved) is not stored. */
export function assertKnownMetric(requested: string, metric: string, catalog: Catalog): void {
  const known = knownMetrics(catalog);
  if (known.includes(metric)) return;
  const alias = metric !== requested ? ` (resolved to "${metric}")` : "";
  const hint = known.length === 0
    ? "no metrics are stored yet; send events first (POST /ingest or the raw Kafka topic)"
    : `known metrics: ${known.join(", ")}`;
  throw new ApiError(404, `unknown metric "${requested}"${alias}; ${hint}`, { known });
}

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

/** The store query and meta of a request for `metric` (a stored one), at `nowMs`. */
export function planMetricQuery(
  q: PointsParams,
  requested: string,
  metric: string,
  catalog: Catalog,
  nowMs: number,
  labels: readonly LabelFilter[] = [],
): MetricPlan {
  const range = timeRange(q.from, q.to, nowMs);
  const base = { metric, requested, tenant: q.tenant ?? null, host: q.host ?? null };
  const withLabels = labels.length === 0 ? {} : { labels };
  if (!isBucketed(q)) {
    const query = range.empty ? undefined : {
      metric,
      tenant: q.tenant,
      host: q.host,
      ...withLabels,
      fromMs: range.fromMs,
      toMs: range.toMs,
      limit: q.limit + 1,
    };
    return {
      kind: "point",
      query,
      meta: { ...base, from: isoOrNull(range.fromMs), to: isoOrNull(range.toMs), ...filtersMeta(labels) },
    };
  }
  const agg = q.agg ?? "avg";
  const stepMs = q.step === undefined ? undefined : parseStep(q.step) as number;
  const matching = catalog.series.filter((s) =>
    s.metric === metric && (q.tenant === undefined || s.tenant === q.tenant) &&
    (q.host === undefined || s.host === q.host)
  );
  const { fromMs, toMs } = bucketRange(range, matching, stepMs, nowMs);
  const query = fromMs >= toMs ? undefined : {
    metric,
    tenant: q.tenant,
    host: q.host,
    ...withLabels,
    ...(q.group_by === undefined ? {} : { group: bucketGroup(q.group_by) }),
    fromMs,
    toMs,
    stepMs: stepMs ?? WHOLE_RANGE_STEP_MS,
    agg,
    limit: q.limit + 1,
  };
  const meta = {
    ...base,
    from: isoOrNull(fromMs),
    to: isoOrNull(toMs),
    ...(stepMs === undefined ? {} : { step: q.step, step_ms: stepMs }),
    agg,
    ...(q.group_by === undefined ? {} : { group_by: q.group_by }),
    ...filtersMeta(labels),
  };
  return { kind: "bucket", query, meta, ...(stepMs === undefined ? { wholeRangeFromMs: fromMs } : {}) };
}

/** A bucketed plan's rows as the response gives them (the one bucket without `step` starts at the range). */
export function alignBuckets(plan: MetricPlan & { kind: "bucket" }, rows: BucketRow[]): BucketRow[] {
  const fromMs = plan.wholeRangeFromMs;
  return fromMs === undefined ? rows : rows.map((row) => ({ ...row, ts: fromMs }));
}

/** The first `limit` rows, and whether there were more (the store is asked for `limit + 1`). */
export function page<T>(rows: T[], limit: number): { rows: T[]; truncated: boolean } {
  const truncated = rows.length > limit;
  return { rows: truncated ? rows.slice(0, limit) : rows, truncated };
}
