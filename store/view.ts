/**
 * The `metrics_all` view every read goes through: the hot rows plus the Parquet tree, with
 * `tenant`, `metric` and `date` (UTC day) as columns, so filters on them prune Parquet files. It is a
 * TEMP view per connection, rebuilt when the set of Parquet files changes (and hot-only while there
 * are none: `read_parquet` on an empty glob fails).
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Store } from "./open.ts";
import { joinPath, sqlString } from "./paths.ts";

/**
 * The SQL of the `metrics_all` view; hot-only when there are no Parquet files. `hidden`: stores whose
 * rows restored here are left out (`restored_rows`: they are back in the group with the same rows).
 */
export function metricsAllSql(
  parquetDir: string,
  withParquet: boolean,
  hidden: readonly string[] = [],
): string {
  const hot = `SELECT id, tenant, host, metric, "value", unit, unit_original, ts, ts_ingest, tags, ctx,
      src_topic, src_partition, src_offset, src_index, (ts AT TIME ZONE 'UTC')::DATE AS date, 'hot' AS tier
    FROM main.metrics`;
  const rows = withParquet ? `${hot}\n    UNION ALL${coldRows(parquetDir)}` : hot;
  if (hidden.length === 0) return `CREATE OR REPLACE TEMP VIEW metrics_all AS ${rows}`;
  return `CREATE OR REPLACE TEMP VIEW metrics_all AS SELECT * FROM (${rows}) m
    WHERE NOT EXISTS (SELECT 1 FROM main.restored_rows h
      WHERE h.store IN (${hidden.map(sqlString).join(", ")}) AND h.tenant = m.tenant AND h.host = m.host
        AND h.metric = m.metric AND h.src_topic = m.src_topic AND h.src_partition = m.src_partition
        AND m.src_offset BETWEEN h.min_offset AND h.max_offset)`;
}

/** The Parquet tree's rows, as `metrics_all` lists them. */
function coldRows(parquetDir: string): string {
  const glob = sqlString(joinPath(parquetDir, "tenant=*/metric=*/date=*/*.parquet"));
  return `
    SELECT src_topic || ':' || src_partition || ':' || src_offset || ':' || src_index AS id, tenant, host, metric,
      "value", unit, unit_original, ts, ts_ingest, tags, ctx, src_topic, src_partition, src_offset, src_index,
      date, 'cold' AS tier
    FROM read_parquet(${glob}, hive_partitioning = true,
      hive_types = {'tenant': VARCHAR, 'metric': VARCHAR, 'date': DATE}, hive_types_autocast = false)`;
}

/** (Re)creates the `metrics_all` TEMP view on a connection. */
export async function createMetricsView(store: Store, conn: DuckDBConnection): Promise<void> {
  const glob = sqlString(joinPath(store.parquetDir, "tenant=*/metric=*/date=*/*.parquet"));
  const found = await conn.runAndReadAll(`SELECT count(*)::INTEGER FROM glob(${glob})`);
  await conn.run(metricsAllSql(store.parquetDir, Number(found.getRows()[0][0]) > 0, store.hiddenStores));
}
