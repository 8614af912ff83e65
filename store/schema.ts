/**
 * DDL of the hot store (`metrics.duckdb`) and its schema version.
 *
 * - `series`: one row per distinct combination of an event's descriptive columns (tenant, host,
 *   metric, unit, original unit, tags, context, source topic): in practice one per series, plus
 *   a row whenever its unit, tags or context change. Ids are assigned by the writer (the only
 *   writer); there is no index, so inserting never waits for a checkpoint of the table.
 * - `metric_rows`: hot rows, numbers only (series id, value, times, source position). Keeping the
 *   strings out of the rows makes appends and, above all, checkpoints cheap: DuckDB's automatic
 *   checkpoint runs inside a COMMIT and writes the table while appends to it wait. Measured on
 *   360k rows: 374 ms with the strings in every row (schema 1), 46 ms without.
 * - `metrics`: a view joining the two, with the columns of schema 1 (what SQL users query).
 * - `alerts`: every alert transition, deduplicated by `id`, numbered by a monotonic `seq` for SSE replay.
 * - `exported_keys`: source keys of rows moved to Parquet, so replays stay exactly-once after export.
 * - `parquet_parts`: manifest of committed Parquet files (files not listed are crash leftovers).
 * - `parquet_damaged`: parts found missing or damaged (size, footer or row count not the manifest's),
 *   taken out of `parquet_parts` (so queries skip them) and kept here, with the problem, until they
 *   are restored or retention removes their day (`store/parts_check.ts`).
 * - `notifications`: the outbox of alert notifications (pending, delivered, failed), numbered by `seq`;
 *   `notify_log`: what each integration was last told per group; `notify_state`: the dispatcher's
 *   cursor (the last alert `seq` it took); `silences` and `alert_acks` (see `store/notify.ts`).
 * - `meta`: key/value, holds `schema_version`.
 *
 * A schema 1 store is migrated on the first writable open (one transaction).
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";

/** Version of the schema this code writes. */
export const SCHEMA_VERSION = 2;

/** DDL of the series dimension. */
export const SERIES_DDL = `CREATE TABLE IF NOT EXISTS series (
  id INTEGER NOT NULL,
  tenant VARCHAR NOT NULL,
  host VARCHAR NOT NULL,
  metric VARCHAR NOT NULL,
  unit VARCHAR NOT NULL,
  unit_original VARCHAR,
  tags JSON,
  ctx JSON,
  src_topic VARCHAR NOT NULL
)`;

/** DDL of the hot rows. */
export const METRIC_ROWS_DDL = `CREATE TABLE IF NOT EXISTS metric_rows (
  series_id INTEGER NOT NULL,
  "value" DOUBLE,
  ts TIMESTAMPTZ NOT NULL,
  ts_ingest TIMESTAMPTZ NOT NULL,
  src_partition INTEGER NOT NULL,
  src_offset BIGINT NOT NULL,
  src_index INTEGER NOT NULL
)`;

/** DDL of the `metrics` view: the hot rows with their series columns (the columns of schema 1). */
export const METRICS_VIEW_DDL = `CREATE OR REPLACE VIEW metrics AS
SELECT s.src_topic || ':' || r.src_partition || ':' || r.src_offset || ':' || r.src_index AS id,
  s.tenant, s.host, s.metric, r."value", s.unit, s.unit_original, r.ts, r.ts_ingest, s.tags, s.ctx,
  s.src_topic, r.src_partition, r.src_offset, r.src_index
FROM metric_rows r JOIN series s ON s.id = r.series_id`;

/** DDL of the schema 1 metrics table (kept for the migration and its test). */
export const METRICS_V1_DDL = `CREATE TABLE IF NOT EXISTS metrics (
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

/** Moves a schema 1 `metrics` table into `series` + `metric_rows` (inside the caller's transaction). */
const MIGRATE_V1 = [
  "ALTER TABLE metrics RENAME TO metrics_v1",
  SERIES_DDL,
  METRIC_ROWS_DDL,
  `INSERT INTO series
   SELECT (row_number() OVER (ORDER BY tenant, host, metric, unit, unit_original, tags, ctx, src_topic) - 1)::INTEGER, *
   FROM (SELECT DISTINCT tenant, host, metric, unit, unit_original, tags, ctx, src_topic FROM metrics_v1)`,
  `INSERT INTO metric_rows
   SELECT s.id, m."value", m.ts, m.ts_ingest, m.src_partition, m.src_offset, m.src_index
   FROM metrics_v1 m JOIN series s ON s.tenant = m.tenant AND s.host = m.host AND s.metric = m.metric
     AND s.unit = m.unit AND s.unit_original IS NOT DISTINCT FROM m.unit_original
     AND s.tags IS NOT DISTINCT FROM m.tags AND s.ctx IS NOT DISTINCT FROM m.ctx AND s.src_topic = m.src_topic
   ORDER BY m.src_topic, m.src_partition, m.src_offset, m.src_index`,
  "DROP TABLE metrics_v1",
];

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

/**
 * DDL of the rows restored from a departed agent's tenure (`pipeline/restore.ts`): per series and
 * source partition, the range of source offsets restored, and the store they came from. While that
 * store is back in the group it holds the same rows: `metrics_all` leaves these copies out
 * (`view.ts`), so no read counts a row twice.
 */
export const RESTORED_ROWS_DDL = `CREATE TABLE IF NOT EXISTS restored_rows (
  store VARCHAR NOT NULL,
  tenant VARCHAR NOT NULL,
  host VARCHAR NOT NULL,
  metric VARCHAR NOT NULL,
  src_topic VARCHAR NOT NULL,
  src_partition INTEGER NOT NULL,
  min_offset BIGINT NOT NULL,
  max_offset BIGINT NOT NULL,
  restored_at TIMESTAMPTZ NOT NULL
)`;

/**
 * DDL of the alerts restored from a departed agent (`pipeline/restore.ts`): history and rule state
 * here, never dispatched again (the departed agent delivered them, or they are lost with it).
 */
export const RESTORED_ALERTS_DDL = `CREATE TABLE IF NOT EXISTS restored_alerts (
  id VARCHAR PRIMARY KEY,
  store VARCHAR NOT NULL,
  restored_at TIMESTAMPTZ NOT NULL
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

/** DDL of the parts found missing or damaged. `quarantine` is where a damaged file was moved. */
export const PARQUET_DAMAGED_DDL = `CREATE TABLE IF NOT EXISTS parquet_damaged (
  path VARCHAR PRIMARY KEY,
  tenant VARCHAR NOT NULL,
  metric VARCHAR NOT NULL,
  date DATE NOT NULL,
  part INTEGER NOT NULL,
  rows BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  min_ts TIMESTAMPTZ,
  max_ts TIMESTAMPTZ,
  problem VARCHAR NOT NULL,
  quarantine VARCHAR,
  detected_at TIMESTAMPTZ NOT NULL
)`;

/** DDL of the notification outbox (`data`: what is sent, JSON). */
export const NOTIFICATIONS_DDL = `CREATE TABLE IF NOT EXISTS notifications (
  seq BIGINT NOT NULL,
  id VARCHAR PRIMARY KEY,
  receiver VARCHAR NOT NULL,
  integration VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  group_key VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  firing INTEGER NOT NULL,
  resolved INTEGER NOT NULL,
  data JSON NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at TIMESTAMPTZ,
  last_attempt_at TIMESTAMPTZ,
  last_error VARCHAR,
  finished_at TIMESTAMPTZ
)`;

/** DDL of the notification log (dedup keys of the alerts last notified, per integration and group). */
export const NOTIFY_LOG_DDL = `CREATE TABLE IF NOT EXISTS notify_log (
  integration VARCHAR NOT NULL,
  group_key VARCHAR NOT NULL,
  firing JSON NOT NULL,
  resolved JSON NOT NULL,
  notified_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (integration, group_key)
)`;

/** DDL of the dispatcher's state (`cursor`: the last alert seq taken). */
export const NOTIFY_STATE_DDL =
  `CREATE TABLE IF NOT EXISTS notify_state (key VARCHAR PRIMARY KEY, "value" VARCHAR NOT NULL)`;

/** DDL of the silences (matchers in Alertmanager's v2 shape, JSON). */
export const SILENCES_DDL = `CREATE TABLE IF NOT EXISTS silences (
  id VARCHAR PRIMARY KEY,
  matchers JSON NOT NULL,
  starts_at TIMESTAMPTZ NOT NULL,
  ends_at TIMESTAMPTZ NOT NULL,
  created_by VARCHAR NOT NULL,
  comment VARCHAR NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
)`;

/** DDL of the acknowledgements (one per alert fingerprint: the firing episode acknowledged). */
export const ALERT_ACKS_DDL = `CREATE TABLE IF NOT EXISTS alert_acks (
  fingerprint VARCHAR PRIMARY KEY,
  starts_at TIMESTAMPTZ NOT NULL,
  acked_by VARCHAR NOT NULL,
  comment VARCHAR NOT NULL,
  acked_at TIMESTAMPTZ NOT NULL
)`;

/** DDL of the meta table. */
export const META_DDL = `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, "value" VARCHAR NOT NULL)`;

/**
 * Creates missing tables and migrates an older schema; returns whether the database was new or
 * migrated. Throws on a newer schema.
 */
export async function ensureSchema(
  conn: DuckDBConnection,
): Promise<{ created: boolean; migrated: boolean; version: number }> {
  await conn.run("BEGIN");
  try {
    const created = !await hasBaseTable(conn, "meta");
    let version = SCHEMA_VERSION;
    let migrated = false;
    if (!created) {
      const row = await conn.runAndReadAll("SELECT \"value\" FROM meta WHERE key = 'schema_version'");
      version = Number(row.getRows()[0]?.[0] ?? 0);
      if (version > SCHEMA_VERSION) {
        throw new Error(
          `store schema version ${version} is newer than this agent supports (${SCHEMA_VERSION})`,
        );
      }
    }
    if (!created && version < 2 && await hasBaseTable(conn, "metrics")) {
      for (const sql of MIGRATE_V1) await conn.run(sql);
      migrated = true;
    }
    for (
      const ddl of [
        META_DDL,
        SERIES_DDL,
        METRIC_ROWS_DDL,
        METRICS_VIEW_DDL,
        ALERTS_DDL,
        EXPORTED_KEYS_DDL,
        PARQUET_PARTS_DDL,
        PARQUET_DAMAGED_DDL,
        NOTIFICATIONS_DDL,
        NOTIFY_LOG_DDL,
        NOTIFY_STATE_DDL,
        SILENCES_DDL,
        ALERT_ACKS_DDL,
        RESTORED_ROWS_DDL,
        RESTORED_ALERTS_DDL,
      ]
    ) {
      await conn.run(ddl);
    }
    await conn.run(
      'INSERT INTO meta VALUES (\'schema_version\', $1) ON CONFLICT (key) DO UPDATE SET "value" = excluded."value"',
      [String(SCHEMA_VERSION)],
    );
    await conn.run("COMMIT");
    return { created, migrated, version: SCHEMA_VERSION };
  } catch (error) {
    await conn.run("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** Whether the store has a table (not a view) `name`. */
async function hasBaseTable(conn: DuckDBConnection, name: string): Promise<boolean> {
  const found = await conn.runAndReadAll(
    "SELECT count(*)::INTEGER FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = $1",
    [name],
  );
  return found.getRows()[0][0] !== 0;
}

/** Reads the schema version of an existing store (read-only opens); 0 when there is none. */
export async function readSchemaVersion(conn: DuckDBConnection): Promise<number> {
  if (!await hasBaseTable(conn, "meta")) return 0;
  const row = await conn.runAndReadAll("SELECT \"value\" FROM meta WHERE key = 'schema_version'");
  return Number(row.getRows()[0]?.[0] ?? 0);
}
