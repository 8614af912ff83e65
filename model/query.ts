/**
 * The query contract between the store (`store/query.ts`) and the HTTP API (`api/deps.ts`): what
 * can be asked of stored metrics and alerts, and the rows that come back. Times are epoch ms UTC.
 *
 * @module
 */
import type { Alert, AlertState, Severity } from "./alert.ts";

/** An alert as stored: the contract plus its insertion sequence number (the SSE event id). */
export type StoredAlert = Alert & { seq: number };

/** One stored series (tenant + host + metric) in the catalog. */
export interface SeriesInfo {
  tenant: string;
  host: string;
  /** Canonical metric name. */
  metric: string;
  /** Number of stored points. */
  rows: number;
  /** Oldest point, epoch ms UTC. */
  first_ts: number;
  /** Newest point, epoch ms UTC. */
  last_ts: number;
  /** Unit of the newest point, when known. */
  unit?: string;
}

/** What the store holds: its tenants and every series, with row counts and time spans. */
export interface Catalog {
  tenants: string[];
  series: SeriesInfo[];
}

/** One stored point. */
export interface PointRow {
  ts: number;
  tenant: string;
  host: string;
  metric: string;
  value: number;
  unit: string;
  tags: Record<string, string>;
  ctx: Record<string, string>;
}

/** Raw points: ascending by ts, the oldest `limit` that match; `fromMs` inclusive, `toMs` exclusive. */
export interface PointsQuery {
  metric: string;
  tenant?: string;
  host?: string;
  /** Exact matches on tags and context, all required. */
  labels?: readonly LabelFilter[];
  fromMs?: number;
  toMs?: number;
  limit: number;
}

/** Aggregations of {@link BucketsQuery}; the percentiles are nearest-rank (`quantile_disc`). */
export type Aggregation = "avg" | "min" | "max" | "last" | "count" | "sum" | "p50" | "p90" | "p95" | "p99";

/** An exact match on one tag or inventory context key (`tag.env=prod`, `ctx.site=plant-1`). */
export interface LabelFilter {
  map: "tags" | "ctx";
  /** The key: validated against `LABEL_KEY_PATTERN` (`api/metric_queries.ts`) before it gets here. */
  key: string;
  value: string;
}

/** What buckets are grouped by besides the tenant: the host (default), or one tag or context key. */
export type BucketGroup = { by: "host" } | { by: "tags" | "ctx"; key: string };

/** Buckets aligned to multiples of `stepMs` since the epoch; one row per bucket/tenant/host. */
export interface BucketsQuery {
  metric: string;
  tenant?: string;
  host?: string;
  /** Exact matches on tags and context, all required. */
  labels?: readonly LabelFilter[];
  /** Default: by host. */
  group?: BucketGroup;
  fromMs: number;
  toMs: number;
  stepMs: number;
  agg: Aggregation;
  limit: number;
}

/** One aggregated bucket (`ts` = bucket start, epoch ms). */
export interface BucketRow {
  ts: number;
  tenant: string;
  /** The host (grouped by host), else absent. */
  host?: string;
  /** The tag or context value (grouped by one), null for series without it. */
  group?: string | null;
  value: number;
}

/** Alert listing: newest first (seq descending); `fromMs` inclusive, `toMs` exclusive on `ts`. */
export interface AlertsQuery {
  state?: AlertState;
  severity?: Severity;
  tenant?: string;
  host?: string;
  rule?: string;
  fromMs?: number;
  toMs?: number;
  limit: number;
}

/** Rows a read-only SQL query returns when not told otherwise (`POST /query`, `eventops query`). */
export const DEFAULT_QUERY_ROWS = 10_000;

/** JSON value of one result cell. */
export type QueryValue = string | number | boolean | null | QueryValue[] | { [key: string]: QueryValue };

/** One result column: its name and DuckDB type. */
export interface QueryColumn {
  name: string;
  type: string;
}

/** Result of a read-only SQL query (`POST /query`, `eventops query`). */
export interface QueryResult {
  columns: QueryColumn[];
  /** Rows as arrays of JSON-safe values, in column order. */
  rows: QueryValue[][];
  /** True when more rows existed than `max_rows`, or than `store.query.max_result_bytes` allows. */
  truncated: boolean;
  /** Which limit cut the rows, when `truncated`. */
  truncated_by?: "max_rows" | "max_result_bytes";
}

/** Budgets of one read-only SQL statement (see `store.query` in the configuration). */
export type QueryBudgetName = "value_bytes" | "memory" | "timeout" | "result_bytes" | "concurrency";

/**
 * A budget a statement went over: the `details` of its 413/422/429 answer, so a client can tell
 * which limit it hit and which setting raises it.
 */
export interface QueryBudgetExceeded {
  budget: QueryBudgetName;
  /** The setting that sets the limit, e.g. `store.query.max_value_bytes`. */
  setting: string;
  /** The limit: bytes, milliseconds (timeout) or statements (concurrency). */
  limit: number;
  /** The function whose value would be too large (`value_bytes`). */
  function?: string;
  /** 1-based character position in the SQL (`value_bytes`). */
  position?: number;
}
