/**
 * The SQL that reads stored events back for the stateful stages' rebuild after a restart
 * (`stages/rebuild.ts`): the recent series with their newest event time, and the recent events of
 * some series in arrival order, column by column (one JSON value per read: cheap under Deno).
 * Every value is a bound parameter.
 *
 * @module
 */
import type { DuckDBValue } from "@duckdb/node-api";
import type { SeriesSince, StoredHistory, StoredSeries } from "../model/history.ts";
import { utcDate } from "./paths.ts";

/** A statement and its parameters. */
export interface BoundSql {
  sql: string;
  params: DuckDBValue[];
}

/** The newest event time in the store (hot rows and the Parquet manifest), as epoch ms or NULL. */
export const STORE_NEWEST_SQL = `SELECT epoch_ms(greatest(
  (SELECT max(ts) FROM main.metric_rows), (SELECT max(max_ts) FROM main.parquet_parts)))`;

/** Series with events at or after `fromMs`: `[tenant, host, metric, newest ms, rows]` as one JSON array. */
export function recentSeriesSql(fromMs: number): BoundSql {
  return {
    sql: `SELECT coalesce(to_json(list(json_array(tenant, host, metric, newest, n)))::VARCHAR, '[]')
      FROM (SELECT tenant, host, metric, epoch_ms(max(ts)) AS newest, count(*) AS n
            FROM metrics_all WHERE ts >= make_timestamptz($1::BIGINT * 1000) AND date >= $2::DATE GROUP BY ALL)`,
    params: [BigInt(Math.floor(fromMs)), utcDate(Math.max(0, fromMs))],
  };
}

/** Parses {@link recentSeriesSql}'s value. */
export function parseRecentSeries(text: string): StoredSeries[] {
  const rows = JSON.parse(text) as [string, string, string, number, number][];
  return rows.map(([tenant, host, metric, newest, rows]) => ({ tenant, host, metric, newest, rows }));
}

/**
 * The events of `series` after each one's `since`, in arrival order (ingest time, then source
 * position): `{variants: [[tenant, host, metric, unit, tags, ctx]], variant: [], ts: [], value: []}`.
 */
export function seriesHistorySql(series: readonly SeriesSince[]): BoundSql {
  let oldest = Number.POSITIVE_INFINITY;
  for (const entry of series) if (entry.since < oldest) oldest = entry.since;
  if (!Number.isFinite(oldest)) oldest = 0;
  const order = "ts_ingest, src_topic, src_partition, src_offset, src_index";
  return {
    sql: `WITH wanted AS (
        SELECT unnest(from_json($1::JSON, '[{"tenant":"VARCHAR","host":"VARCHAR","metric":"VARCHAR","since":"BIGINT"}]'),
          recursive := true)
      ), picked AS MATERIALIZED (
        SELECT m.tenant, m.host, m.metric, m.unit, coalesce(m.tags::VARCHAR, '{}') AS tags,
          coalesce(m.ctx::VARCHAR, '{}') AS ctx, epoch_ms(m.ts) AS t, m."value" AS v,
          m.ts_ingest, m.src_topic, m.src_partition, m.src_offset, m.src_index
        FROM metrics_all m JOIN wanted w ON m.tenant = w.tenant AND m.host = w.host AND m.metric = w.metric
        WHERE m.ts > make_timestamptz(w.since * 1000) AND m.ts > make_timestamptz($2::BIGINT * 1000)
          AND m.date >= $3::DATE
      ), numbered AS MATERIALIZED (
        SELECT *, (dense_rank() OVER (ORDER BY tenant, host, metric, unit, tags, ctx) - 1)::INTEGER AS k FROM picked
      )
      SELECT json_object(
        'variants', (SELECT coalesce(to_json(list(json_array(tenant, host, metric, unit, tags, ctx) ORDER BY k)), '[]')
                     FROM (SELECT DISTINCT k, tenant, host, metric, unit, tags, ctx FROM numbered)),
        'variant', (SELECT coalesce(list(k ORDER BY ${order}), []) FROM numbered),
        'ts', (SELECT coalesce(list(t ORDER BY ${order}), []) FROM numbered),
        'value', (SELECT coalesce(list(v ORDER BY ${order}), []) FROM numbered))::VARCHAR`,
    params: [
      JSON.stringify(series.map(({ tenant, host, metric, since }) => ({ tenant, host, metric, since }))),
      BigInt(Math.floor(oldest)),
      utcDate(Math.max(0, oldest)),
    ],
  };
}

/** Parses {@link seriesHistorySql}'s value. */
export function parseSeriesHistory(text: string): StoredHistory {
  const raw = JSON.parse(text) as {
    variants: [string, string, string, string, string, string][];
    variant: number[];
    ts: number[];
    value: number[];
  };
  return {
    variants: raw.variants.map(([tenant, host, metric, unit, tags, ctx]) => ({
      tenant,
      host,
      metric,
      unit,
      tags: JSON.parse(tags) as Record<string, string>,
      ctx: JSON.parse(ctx) as Record<string, string>,
    })),
    variant: raw.variant,
    ts: raw.ts,
    value: raw.value,
  };
}
