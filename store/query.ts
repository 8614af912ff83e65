/**
 * The read side of the store, for the HTTP API and `eventops query`.
 *
 * Everything reads ONE view, `metrics_all`: the hot table plus
 * `read_parquet('<data>/parquet/tenant=*\/metric=*\/date=*\/*.parquet', hive_partitioning = true)`,
 * with `tenant`, `metric` and `date` (UTC day) as columns, so filters on them prune Parquet files
 * (filters on `ts` also add a `date` filter). The view is a TEMP view per connection, rebuilt when
 * the set of Parquet files changes (and hot-only while there are none: `read_parquet` on an empty glob
 * fails). Queries hold the store's file lock shared, so an export/compaction swap is never half seen.
 *
 * All request values are bound parameters; results come back from DuckDB as one JSON string
 * (`json_group_array`), which is far cheaper under Deno than converting values one by one.
 *
 * @module
 */
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { readAllBound } from "./bound.ts";
import {
  type Aggregation,
  type AlertsQuery,
  type BucketRow,
  type BucketsQuery,
  type Catalog,
  DEFAULT_QUERY_ROWS,
  type LabelFilter,
  type PointRow,
  type PointsQuery,
  type QueryResult,
  type SeriesInfo,
  type StoredAlert,
} from "../model/query.ts";
import type { SeriesSince, StoredHistory, StoredSeries } from "../model/history.ts";
import {
  parseRecentSeries,
  parseSeriesHistory,
  recentSeriesSql,
  seriesHistorySql,
  STORE_NEWEST_SQL,
} from "./history.ts";
import { readableJson } from "./json_text.ts";
import { Mutex } from "./lock.ts";
import {
  checkParts,
  type DamagedPart,
  looksDamaged,
  partsInMessage,
  partsReport,
  suspectParts,
} from "./parts_check.ts";
import type { Store } from "./open.ts";
import { DB_FILE, joinPath, utcDate } from "./paths.ts";
import { DEFAULT_QUERY_BUDGETS, type QueryBudgets, QueryError, runUserQuery } from "./user_query.ts";
import { createMetricsView } from "./view.ts";

export { QueryError } from "./user_query.ts";
export { createMetricsView, metricsAllSql } from "./view.ts";

/** Limits of {@link StoreReader.readOnlyQuery}; budgets not given take their defaults. */
export interface ReadOnlyQueryOptions extends Partial<QueryBudgets> {
  /** Most rows returned (default 10,000). */
  maxRows?: number;
}

/** Least time between two scans of every Parquet part triggered by queries failing on an unnamed part. */
const FULL_SCAN_EVERY_MS = 600_000;

/** Statements that may wait while one runs; more are refused (429). */
export const MAX_WAITING_QUERIES = 4;

/** What {@link StoreReader.readable} found. */
export interface StoreReadability {
  /** The hot table and the Parquet view answer. */
  ok: boolean;
  /** Why not, when not. */
  error?: string;
  /** Parquet parts missing or damaged (out of the queries). */
  damagedParts: number;
  /** Rows those parts hold. */
  unreadableRows: number;
  /** Up to 10 of them. */
  damaged: DamagedPart[];
  /** How long the probe took. */
  ms: number;
}

/** Bytes on disk. */
export interface DiskUsage {
  /** Everything below. */
  bytes: number;
  duckdb: number;
  wal: number;
  parquet: number;
  parquetFiles: number;
}

const AGGREGATES: Record<Aggregation, string> = {
  avg: `avg("value")`,
  min: `min("value")`,
  max: `max("value")`,
  last: `arg_max("value", ts)`,
  count: `count(*)::DOUBLE`,
  sum: `sum("value")`,
  p50: `quantile_disc("value", 0.5)`,
  p90: `quantile_disc("value", 0.9)`,
  p95: `quantile_disc("value", 0.95)`,
  p99: `quantile_disc("value", 0.99)`,
};

/** SQL of an `alerts` row as a StoredAlert JSON object. */
export const ALERT_JSON =
  `json_object('seq', seq, 'id', id, 'fingerprint', fingerprint, 'rule', rule, 'tenant', tenant,
  'host', host, 'metric', metric, 'severity', severity, 'state', state, 'value', "value", 'threshold', threshold,
  'starts_at', epoch_ms(starts_at), 'ends_at', epoch_ms(ends_at), 'ts', epoch_ms(ts), 'labels', ${
    readableJson("labels")
  }, 'annotations', ${readableJson("annotations")})`;

/** The latest transition of each alert fingerprint. */
const LATEST_ALERTS =
  "(SELECT * FROM alerts QUALIFY row_number() OVER (PARTITION BY fingerprint ORDER BY seq DESC) = 1)";

/** Collects WHERE conditions with numbered parameters. */
class Conditions {
  readonly parts: string[] = [];
  readonly params: DuckDBValue[] = [];

  /** Adds a parameter, returning its placeholder. */
  param(value: DuckDBValue): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  add(sql: string): void {
    this.parts.push(sql);
  }

  /** `ts`/`date` range: `fromMs` inclusive, `toMs` exclusive; the date bounds prune Parquet files. */
  timeRange(fromMs: number | undefined, toMs: number | undefined, withDate: boolean): void {
    if (fromMs !== undefined) {
      this.add(`ts >= make_timestamptz(${this.param(BigInt(Math.floor(fromMs)))}::BIGINT * 1000)`);
      if (withDate && inDateRange(fromMs)) this.add(`date >= ${this.param(utcDate(fromMs))}::DATE`);
    }
    if (toMs !== undefined) {
      this.add(`ts < make_timestamptz(${this.param(BigInt(Math.ceil(toMs)))}::BIGINT * 1000)`);
      if (withDate && inDateRange(Math.ceil(toMs) - 1)) {
        this.add(`date <= ${this.param(utcDate(Math.ceil(toMs) - 1))}::DATE`);
      }
    }
  }

  /** Exact matches on tags/context keys: the key as a bound JSON path, the value bound. */
  labels(filters: readonly LabelFilter[] | undefined): void {
    for (const filter of filters ?? []) {
      this.add(
        `json_extract_string(${labelColumn(filter.map)}, ${this.param(jsonPath(filter.key))}) = ${
          this.param(filter.value)
        }`,
      );
    }
  }

  get where(): string {
    return this.parts.length === 0 ? "" : `WHERE ${this.parts.join(" AND ")}`;
  }
}

/** The column of a label map (a fixed name, never request text). */
function labelColumn(map: LabelFilter["map"]): string {
  return map === "ctx" ? "ctx" : "tags";
}

/** The JSON path of a key (`$."key"`), bound as a parameter; keys holding `"` or `\` are refused. */
function jsonPath(key: string): string {
  if (/["\\]/.test(key)) throw new RangeError(`invalid label key ${JSON.stringify(key)}`);
  return `$."${key}"`;
}

/**
 * Whether the UTC day of `ms` is a year 1 to 9999 (what `YYYY-MM-DD` and a DuckDB DATE literal hold).
 * Outside, the `date` bound (pruning only) is left out; the `ts` bound still applies (a `from` of
 * `-1000000d` answered 500: "invalid date field format: -000711-01").
 */
function inDateRange(ms: number): boolean {
  const year = new Date(ms).getUTCFullYear();
  return year >= 1 && year <= 9999;
}

function limitOf(limit: number): bigint {
  if (!Number.isFinite(limit) || limit < 0) throw new RangeError(`invalid limit ${limit}`);
  return BigInt(Math.floor(limit));
}

interface Slot {
  conn: DuckDBConnection;
  generation: number;
}

function isNoFilesError(error: unknown): boolean {
  return error instanceof Error && /No files found that match the pattern/.test(error.message);
}

/** Reads the store through a small pool of connections (opened on demand). */
export class StoreReader {
  readonly #store: Store;
  readonly #size: number;
  readonly #slots: Slot[] = [];
  readonly #idle: Slot[] = [];
  readonly #waiting: ((slot: Slot) => void)[] = [];
  readonly #queries = new Mutex();
  /** Statements running or waiting. */
  #queriesPending = 0;
  /** When every part was last decoded after a query failed on an unnamed one. */
  #lastFullScan = -Infinity;
  #closed = false;

  /** A reader with up to `connections` (default 2) connections, opened on first use. */
  constructor(store: Store, options: { connections?: number } = {}) {
    this.#store = store;
    this.#size = Math.max(1, options.connections ?? 2);
  }

  /** Opens a reader and its first connection now. */
  static async open(store: Store, options: { connections?: number } = {}): Promise<StoreReader> {
    const reader = new StoreReader(store, options);
    reader.#releaseSlot(await reader.#acquire());
    return reader;
  }

  /** Releases the reader's connections. */
  close(): void {
    this.#closed = true;
    if (this.#store.closed) return;
    for (const slot of this.#slots) this.#store.release(slot.conn);
  }

  /** Tenants and series (tenant/host/metric) with row counts, first/last ts. */
  async catalog(): Promise<Catalog> {
    const series = await this.#json<SeriesInfo[]>(
      `SELECT coalesce(to_json(list(json_object('tenant', tenant, 'host', host, 'metric', metric, 'rows', n,
         'first_ts', first_ts, 'last_ts', last_ts, 'unit', unit) ORDER BY tenant, host, metric))::VARCHAR, '[]')
       FROM (SELECT tenant, host, metric, count(*) AS n, epoch_ms(min(ts)) AS first_ts, epoch_ms(max(ts)) AS last_ts,
               arg_max(unit, ts) AS unit
             FROM metrics_all GROUP BY ALL)`,
      [],
    );
    return { tenants: [...new Set(series.map((s) => s.tenant))], series };
  }

  /** Raw points of one metric, ascending by ts (ties: tenant, host), at most `limit`. */
  points(q: PointsQuery): Promise<PointRow[]> {
    const c = new Conditions();
    c.add(`metric = ${c.param(q.metric)}`);
    if (q.tenant !== undefined) c.add(`tenant = ${c.param(q.tenant)}`);
    if (q.host !== undefined) c.add(`host = ${c.param(q.host)}`);
    c.labels(q.labels);
    c.timeRange(q.fromMs, q.toMs, true);
    const limit = c.param(limitOf(q.limit));
    return this.#json<PointRow[]>(
      `SELECT coalesce(to_json(list(json_object('ts', epoch_ms(ts), 'tenant', tenant, 'host', host,
         'metric', metric, 'value', "value", 'unit', unit, 'tags', ${readableJson("tags")}, 'ctx', ${
        readableJson("ctx")
      })
         ORDER BY ts, tenant, host, src_topic, src_partition, src_offset, src_index))::VARCHAR, '[]')
       FROM (SELECT * FROM metrics_all ${c.where}
             ORDER BY ts, tenant, host, src_topic, src_partition, src_offset, src_index LIMIT ${limit}::BIGINT)`,
      c.params,
    );
  }

  /** Aggregated buckets (time_bucket with the epoch as origin), ascending by bucket, tenant, host. */
  buckets(q: BucketsQuery): Promise<BucketRow[]> {
    if (!(q.stepMs >= 1) || !Number.isFinite(q.stepMs)) throw new RangeError(`invalid stepMs ${q.stepMs}`);
    const agg = AGGREGATES[q.agg];
    if (agg === undefined) throw new RangeError(`unknown aggregation ${String(q.agg)}`);
    const c = new Conditions();
    const step = c.param(BigInt(Math.floor(q.stepMs)));
    c.add(`metric = ${c.param(q.metric)}`);
    if (q.tenant !== undefined) c.add(`tenant = ${c.param(q.tenant)}`);
    if (q.host !== undefined) c.add(`host = ${c.param(q.host)}`);
    c.labels(q.labels);
    c.timeRange(q.fromMs, q.toMs, true);
    const group = q.group ?? { by: "host" };
    // The group's column: the host, or a tag/context value by a bound JSON path.
    const groupSql = group.by === "host"
      ? "host"
      : `json_extract_string(${labelColumn(group.by)}, ${c.param(jsonPath(group.key))})`;
    const groupField = group.by === "host" ? "host" : "group";
    const limit = c.param(limitOf(q.limit));
    return this.#json<BucketRow[]>(
      `SELECT coalesce(to_json(list(json_object('ts', b, 'tenant', tenant, '${groupField}', g, 'value', v)
         ORDER BY b, tenant, g NULLS LAST))::VARCHAR, '[]')
       FROM (SELECT epoch_ms(time_bucket(to_milliseconds(${step}::BIGINT), ts, TIMESTAMPTZ '1970-01-01 00:00:00+00')) AS b,
               tenant, ${groupSql} AS g, ${agg} AS v
             FROM metrics_all ${c.where} GROUP BY ALL ORDER BY b, tenant, g NULLS LAST LIMIT ${limit}::BIGINT)`,
      c.params,
    );
  }

  /**
   * Alert transitions, newest first. With `state`, the alerts in that state now: the latest
   * transition of each fingerprint, when it is in `state` (the other filters apply to it too).
   */
  alerts(q: AlertsQuery): Promise<StoredAlert[]> {
    const c = new Conditions();
    if (q.state !== undefined) c.add(`state = ${c.param(q.state)}`);
    if (q.severity !== undefined) c.add(`severity = ${c.param(q.severity)}`);
    if (q.tenant !== undefined) c.add(`tenant = ${c.param(q.tenant)}`);
    if (q.host !== undefined) c.add(`host = ${c.param(q.host)}`);
    if (q.rule !== undefined) c.add(`rule = ${c.param(q.rule)}`);
    c.timeRange(q.fromMs, q.toMs, false);
    const limit = c.param(limitOf(q.limit));
    return this.#json<StoredAlert[]>(
      `SELECT coalesce(to_json(list(${ALERT_JSON} ORDER BY seq DESC))::VARCHAR, '[]')
       FROM (SELECT * FROM ${q.state === undefined ? "alerts" : LATEST_ALERTS} ${c.where}
             ORDER BY seq DESC LIMIT ${limit}::BIGINT)`,
      c.params,
    );
  }

  /**
   * Alerts after a position, ascending by seq (SSE replay). The position is a `seq`, or an alert id
   * (an unknown id gives no alerts).
   */
  alertsAfter(after: number | string, limit: number): Promise<StoredAlert[]> {
    const c = new Conditions();
    const position = typeof after === "number"
      ? `${c.param(BigInt(Math.floor(after)))}::BIGINT`
      : `(SELECT seq FROM alerts WHERE id = ${c.param(after)})`;
    const limitParam = c.param(limitOf(limit));
    return this.#json<StoredAlert[]>(
      `SELECT coalesce(to_json(list(${ALERT_JSON} ORDER BY seq))::VARCHAR, '[]')
       FROM (SELECT * FROM alerts WHERE seq > ${position} ORDER BY seq LIMIT ${limitParam}::BIGINT)`,
      c.params,
    );
  }

  /** The departed stores this store restored rows from (`restored_rows`), sorted. */
  restoredStores(): Promise<string[]> {
    return this.#json<string[]>(
      "SELECT coalesce(to_json(list(DISTINCT store ORDER BY store))::VARCHAR, '[]') FROM restored_rows",
      [],
    );
  }

  /** The newest transition of every alert fingerprint (to rebuild rule state on restart), by seq. */
  latestAlertPerFingerprint(): Promise<StoredAlert[]> {
    return this.#json<StoredAlert[]>(
      `SELECT coalesce(to_json(list(${ALERT_JSON} ORDER BY seq))::VARCHAR, '[]')
       FROM (SELECT * FROM alerts QUALIFY row_number() OVER (PARTITION BY fingerprint ORDER BY seq DESC) = 1)`,
      [],
    );
  }

  /**
   * Readiness probe: the store is readable. The hot table and the Parquet view answer (`FROM
   * metrics_all LIMIT 1`, which also opens a Parquet part's footer; a part that fails it is checked
   * and taken out of the queries), and every part of the manifest is there with its size (a stat
   * each; a suspect part is then checked deeply in the background, see `store/parts_check.ts`).
   * `ok` is false only when the store cannot be read at all; missing or damaged parts are listed
   * (`damaged`, with the rows they hold) for the probe to report. Never throws.
   */
  async readable(): Promise<StoreReadability> {
    const started = performance.now();
    const result = (fields: Omit<StoreReadability, "ms">): StoreReadability => ({
      ...fields,
      ms: Math.round(performance.now() - started),
    });
    if (this.#store.closed || this.#closed) {
      return result({
        ok: false,
        error: "the store is closed",
        damagedParts: 0,
        unreadableRows: 0,
        damaged: [],
      });
    }
    try {
      const { report, suspects } = await this.#withSlot(async (conn) => {
        await conn.run("SELECT count(*) FROM (FROM metrics_all LIMIT 1)");
        const report = this.#store.readOnly ? undefined : await partsReport(conn);
        const suspects = this.#store.readOnly ? [] : await suspectParts(conn, this.#store);
        return { report, suspects };
      });
      if (suspects.length > 0) {
        // Recorded (and quarantined) by the check; reported now.
        checkParts(this.#store, { paths: suspects.map((p) => p.path), deep: true }).catch(() => undefined);
      }
      const damaged = [...suspects, ...(report?.damaged ?? [])].slice(0, 10);
      return result({
        ok: true,
        damagedParts: suspects.length + (report?.damagedParts ?? 0),
        unreadableRows: suspects.reduce((sum, p) => sum + p.rows, 0) + (report?.unreadableRows ?? 0),
        damaged,
      });
    } catch (error) {
      return result({
        ok: false,
        error: error instanceof Error ? error.message.split("\n")[0] : String(error),
        damagedParts: 0,
        unreadableRows: 0,
        damaged: [],
      });
    }
  }

  /**
   * Readiness probe: the store is open read-write, DuckDB answers, and the data directory accepts a
   * file (catches a full or read-only disk). Never throws.
   */
  async writable(): Promise<boolean> {
    if (this.#store.closed || this.#store.readOnly || this.#closed) return false;
    try {
      await this.#withSlot((conn) => conn.run("SELECT 1"));
      const probe = joinPath(this.#store.dataDir, `.probe-${crypto.randomUUID()}`);
      try {
        await Deno.writeFile(probe, new Uint8Array(1));
      } finally {
        // On a full disk the file is created but the write fails: remove it either way.
        await Deno.remove(probe).catch(() => undefined);
      }
      return true;
    } catch {
      return false;
    }
  }

  /** Bytes of the DuckDB file, its WAL and the Parquet tree. */
  async diskUsage(): Promise<DiskUsage> {
    const size = async (path: string) => {
      try {
        return (await Deno.stat(path)).size;
      } catch {
        return 0;
      }
    };
    const dbPath = joinPath(this.#store.dataDir, DB_FILE);
    const duckdb = await size(dbPath);
    const wal = await size(`${dbPath}.wal`);
    let parquet = 0;
    let parquetFiles = 0;
    const walk = async (dir: string): Promise<void> => {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch {
        return;
      }
      for (const entry of entries) {
        const path = joinPath(dir, entry.name);
        if (entry.isDirectory) await walk(path);
        else if (entry.isFile) {
          parquet += await size(path);
          if (entry.name.endsWith(".parquet")) parquetFiles++;
        }
      }
    };
    await walk(this.#store.parquetDir);
    return { bytes: duckdb + wal + parquet, duckdb, wal, parquet, parquetFiles };
  }

  /**
   * Runs one user SQL statement read-only (`POST /query`, `eventops query`) under the budgets of
   * `options` (see `store/user_query.ts`): exactly one SELECT-like statement or EXPLAIN, refused
   * before it runs when it would build huge values, interrupted on timeout or memory growth, rows
   * cut at `maxRows` or `maxResultBytes`. One statement runs at a time; up to
   * {@link MAX_WAITING_QUERIES} wait, more are refused. `metrics_all` is available; values are JSON-safe.
   */
  readOnlyQuery(sql: string, options: ReadOnlyQueryOptions = {}): Promise<QueryResult> {
    const maxRows = Math.max(0, Math.floor(options.maxRows ?? DEFAULT_QUERY_ROWS));
    const budgets: QueryBudgets = {
      timeoutMs: options.timeoutMs ?? DEFAULT_QUERY_BUDGETS.timeoutMs,
      maxMemoryBytes: options.maxMemoryBytes ?? DEFAULT_QUERY_BUDGETS.maxMemoryBytes,
      maxResultBytes: options.maxResultBytes ?? DEFAULT_QUERY_BUDGETS.maxResultBytes,
      maxValueBytes: options.maxValueBytes ?? DEFAULT_QUERY_BUDGETS.maxValueBytes,
    };
    if (this.#queriesPending > MAX_WAITING_QUERIES) {
      return Promise.reject(
        new QueryError(
          `another query is running and ${this.#queriesPending - 1} are waiting (the agent runs one at a ` +
            "time); retry when they are done",
          { budget: "concurrency", setting: "store.query", limit: 1 + MAX_WAITING_QUERIES },
        ),
      );
    }
    this.#queriesPending++;
    return this.#queries.run(async () => {
      if (this.#closed || this.#store.closed) throw new Error("store reader is closed");
      try {
        return await runUserQuery(this.#store, sql, maxRows, budgets);
      } catch (error) {
        if (await this.#checkPartsNamed(error)) return await runUserQuery(this.#store, sql, maxRows, budgets);
        throw error;
      }
    }).finally(() => this.#queriesPending--);
  }

  /**
   * The series with events in the `idleMs` before the store's newest event, with their newest event
   * time and how many events they have within `horizonMs` of it (the stateful stages' rebuild after
   * a restart, `stages/rebuild.ts`).
   */
  async recentSeries(idleMs: number, horizonMs: number): Promise<StoredSeries[]> {
    const newest = await this.#text(STORE_NEWEST_SQL, []);
    if (newest === "null") return [];
    const { sql, params } = recentSeriesSql(Number(newest) - idleMs, horizonMs);
    return parseRecentSeries(await this.#text(sql, params));
  }

  /** The events of `series` after each one's `since`, in arrival order, column by column. */
  async seriesHistory(series: readonly SeriesSince[]): Promise<StoredHistory> {
    const { sql, params } = seriesHistorySql(series);
    const columns = await this.#withSlot(async (conn) =>
      (await readAllBound(conn, sql, params)).getColumnsJS()
    );
    return parseSeriesHistory(series, columns);
  }

  /** Runs a query returning one JSON text value and parses it. */
  async #json<T>(sql: string, params: DuckDBValue[]): Promise<T> {
    return JSON.parse(await this.#text(sql, params)) as T;
  }

  /** Runs a query returning one value, as text (`null` for NULL). */
  #text(sql: string, params: DuckDBValue[]): Promise<string> {
    return this.#withSlot(async (conn) => {
      const reader = await readAllBound(conn, sql, params);
      return String(reader.getRows()[0][0]);
    });
  }

  /** Runs `fn` on a pooled connection; a failure on a damaged part checks it, then runs `fn` once more. */
  async #withSlot<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    try {
      return await this.#withSlotOnce(fn);
    } catch (error) {
      if (await this.#checkPartsNamed(error)) return await this.#withSlotOnce(fn);
      throw error;
    }
  }

  /**
   * When `error` names Parquet parts, checks them deeply (see `store/parts_check.ts`): true when one
   * was damaged and is now out of the queries (the query can run again).
   */
  async #checkPartsNamed(error: unknown): Promise<boolean> {
    if (this.#store.readOnly || this.#store.closed) return false;
    const message = error instanceof Error ? error.message : String(error);
    const paths = partsInMessage(this.#store, message);
    if (paths.length > 0) return (await checkParts(this.#store, { paths, scan: true })).found.length > 0;
    // Some of DuckDB's messages name no file: then every part is decoded, at most every 10 minutes.
    if (!looksDamaged(message) || performance.now() - this.#lastFullScan < FULL_SCAN_EVERY_MS) return false;
    this.#lastFullScan = performance.now();
    return (await checkParts(this.#store, { scan: true })).found.length > 0;
  }

  async #withSlotOnce<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const slot = await this.#acquire();
    try {
      return await this.#store.access.read(async () => {
        for (let attempt = 0;; attempt++) {
          if (slot.generation !== this.#store.viewGeneration) {
            const generation = this.#store.viewGeneration;
            await createMetricsView(this.#store, slot.conn);
            slot.generation = generation;
          }
          try {
            return await fn(slot.conn);
          } catch (error) {
            // Parquet files removed behind our back: rebuild the view once.
            if (attempt === 0 && isNoFilesError(error)) {
              slot.generation = -1;
              continue;
            }
            throw error;
          }
        }
      });
    } finally {
      this.#releaseSlot(slot);
    }
  }

  async #acquire(): Promise<Slot> {
    if (this.#store.closed || this.#closed) throw new Error("store reader is closed");
    const slot = this.#idle.pop();
    if (slot !== undefined) return slot;
    if (this.#slots.length < this.#size) {
      const created: Slot = { conn: await this.#store.connect(), generation: -1 };
      this.#slots.push(created);
      return created;
    }
    return await new Promise((resolve) => this.#waiting.push(resolve));
  }

  #releaseSlot(slot: Slot): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(slot);
    else this.#idle.push(slot);
  }
}
