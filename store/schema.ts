/**
 * DDL of the hot store (`metrics.duckdb`) and its schema version.
 *
 * - `metrics`: hot rows; tags/ctx as JSON text (a MAP per row is slow to append from Deno).
 * - `alerts`: every alert transition, deduplicated by `id`, numbered by a monotonic `seq` for SSE replay.
 * - `exported_keys`: source keys of rows moved to Parquet, so replays stay exactly-once after export.
 * - `parquet_parts`: manifest of committed Parquet files (files not listed are crash leftovers).
 * - `meta`: key/value, holds `schema_version`.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";

/** Version of the schema this code writes. */
export const SCHEMA_VERSION = 1;

/** Columns of `metrics`, in table (and appender) order. */
export const METRIC_COLUMNS = [
  "id",
  "tenant",
  "host",
  "metric",
  "value",
  "unit",
  "unit_original",
  "ts",
  "ts_ingest",
  "tags",
  "ctx",
  "src_topic",
  "src_partition",
  "src_offset",
  "src_index",
] as const;

/** DDL of the hot metrics table. */
export const METRICS_DDL = `CREATE TABLE IF NOT EXISTS metrics (
  tenant VARCHAR NOT NULL,
  host VARCHAR NOT NULL,
  metric VARCHAR NOT NULL,
  "value" DOUBLE,
  unit VARCHAR NOT NULL,
  unit_original VARCHAR,
  ts TIMESTAMPTZ NOT NULL,
  ts_ingest TIMESTAMPTZ NOT NULL,
  tags JSON,
  ctx JSON,
  src_topic VARCHAR NOT NULL,
  src_partition INTEGER NOT NULL,
  src_offset BIGINT NOT NULL,
  src_index INTEGER NOT NULL,
  id VARCHAR GENERATED ALWAYS AS (src_topic || ':' || src_partition || ':' || src_offset || ':' || src_index) VIRTUAL
)`;

/** DDL of the alerts table. */
export const ALERTS_DDL = `CREATE TABLE IF NOT EXISTS alerts (
  seq BIGINT NOT NULL,
  id VARCHAR PRIMARY KEY,
  fingerprint VARCHAR NOT NULL,
  rule VARCHAR NOT NULL,
  tenant VARCHAR NOT NULL,
  host VARCHAR NOT NULL,
  metric VARCHAR NOT NULL,
  severity VARCHAR NOT NULL,
  state VARCHAR NOT NULL,
  "value" DOUBLE,
  threshold DOUBLE,
  starts_at TIMESTAMPTZ NOT NULL,
  ends_at TIMESTAMPTZ,
  ts TIMESTAMPTZ NOT NULL,
  labels JSON,
  annotations JSON,
  inserted_at TIMESTAMPTZ NOT NULL
)`;

/** DDL of the source keys of exported rows. */
export const EXPORTED_KEYS_DDL = `CREATE TABLE IF NOT EXISTS exported_keys (
  src_topic VARCHAR NOT NULL,
  src_partition INTEGER NOT NULL,
  src_offset BIGINT NOT NULL,
  src_index INTEGER NOT NULL,
  date DATE NOT NULL
)`;

/** DDL of the Parquet manifest. `path` is relative to `<data>/parquet`. */
export const PARQUET_PARTS_DDL = `CREATE TABLE IF NOT EXISTS parquet_parts (
  path VARCHAR PRIMARY KEY,
  tenant VARCHAR NOT NULL,
  metric VARCHAR NOT NULL,
  date DATE NOT NULL,
  part INTEGER NOT NULL,
  rows BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  min_ts TIMESTAMPTZ,
  max_ts TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL
)`;

/** DDL of the meta table. */
export const META_DDL = `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, "value" VARCHAR NOT NULL)`;

/** Creates missing tables; returns whether the database was new. Throws on a newer schema. */
export async function ensureSchema(conn: DuckDBConnection): Promise<{ created: boolean; version: number }> {
  await conn.run("BEGIN");
  try {
    const existing = await conn.runAndReadAll(
      "SELECT count(*)::INTEGER FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'meta'",
    );
    const created = existing.getRows()[0][0] === 0;
    let version = SCHEMA_VERSION;
    if (!created) {
      const row = await conn.runAndReadAll("SELECT \"value\" FROM meta WHERE key = 'schema_version'");
      version = Number(row.getRows()[0]?.[0] ?? 0);
      if (version > SCHEMA_VERSION) {
        throw new Error(
          `store schema version ${version} is newer than this agent supports (${SCHEMA_VERSION})`,
        );
      }
    }
    for (const ddl of [META_DDL, METRICS_DDL, ALERTS_DDL, EXPORTED_KEYS_DDL, PARQUET_PARTS_DDL]) {
      await conn.run(ddl);
    }
    await conn.run(
      'INSERT INTO meta VALUES (\'schema_version\', $1) ON CONFLICT (key) DO UPDATE SET "value" = excluded."value"',
      [String(SCHEMA_VERSION)],
    );
    await conn.run("COMMIT");
    return { created, version: SCHEMA_VERSION };
  } catch (error) {
    await conn.run("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** Reads the schema version of an existing store (read-only opens); 0 when there is none. */
export async function readSchemaVersion(conn: DuckDBConnection): Promise<number> {
  const existing = await conn.runAndReadAll(
    "SELECT count(*)::INTEGER FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'meta'",
  );
  if (existing.getRows()[0][0] === 0) return 0;
  const row = await conn.runAndReadAll("SELECT \"value\" FROM meta WHERE key = 'schema_version'");
  return Number(row.getRows()[0]?.[0] ?? 0);
}
