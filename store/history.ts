/**
 * The SQL that reads stored events back for the stateful stages' rebuild after a restart
 * (`stages/rebuild.ts`): the recent series with their newest event time, and the recent events of
 * some series in arrival order, column by column (one JSON value per read: cheap under Deno).
 * Every value is a bound parameter.
 *
 * @module
 */
import type { DuckDBValue } from "@duckdb/node-api";
import type { SeriesSince, StoredHistory, StoredSeries, StoredVariant } from "../model/history.ts";
import { utcDate } from "./paths.ts";

/** A statement and its parameters. */
export interface BoundSql {
  sql: string;
  params: DuckDBValue[];
}

/** The newest event time in the store (hot rows and the Parquet manifest), as epoch ms or NULL. */
export const STORE_NEWEST_SQL = `SELECT epoch_ms(greatest(
  (SELECT max(ts) FROM main.metric_rows), (SELECT max(max_ts) FROM main.parquet_parts)))`;

/**
 * Series with events at or after `fromMs`: `[tenant, host, metric, newest ms, rows]` as one JSON
 * array, `rows` counting the events within `horizonMs` of the series' newest (what a rebuild reads).
 */
export function recentSeriesSql(fromMs: number, horizonMs: number): BoundSql {
  return {
    sql: `WITH recent AS MATERIALIZED (
        SELECT tenant, host, metric, ts FROM metrics_all
        WHERE ts >= make_timestamptz($1::BIGINT * 1000) AND date >= $2::DATE
      ), newest AS (SELECT tenant, host, metric, max(ts) AS newest FROM recent GROUP BY ALL)
      SELECT coalesce(to_json(list(json_array(tenant, host, metric, epoch_ms(newest), n)))::VARCHAR, '[]')
      FROM (SELECT n.tenant, n.host, n.metric, n.newest, count(*) AS n
            FROM recent r JOIN newest n ON r.tenant = n.tenant AND r.host = n.host AND r.metric = n.metric
            WHERE r.ts > n.newest - to_milliseconds($3::BIGINT) GROUP BY ALL)`,
    params: [
      BigInt(Math.floor(fromMs)),
      utcDate(Math.max(0, fromMs)),
      BigInt(Math.max(0, Math.floor(horizonMs))),
    ],
  };
}

/** Parses {@link recentSeriesSql}'s value. */
export function parseRecentSeries(text: string): StoredSeries[] {
  const rows = JSON.parse(text) as [string, string, string, number, number][];
  return rows.map(([tenant, host, metric, newest, rows]) => ({ tenant, host, metric, newest, rows }));
}

/**
 * The events of `series` after each one's `since`, in arrival order (ingest time, then source
 * position), as rows `(part, k, t, v, unit, tags, ctx)`: first the variants (`part` 0: a series `k`
 * indexes, with its unit, tags and context; `t` holds the index of the series in `series`), then the
 * events (`part` 1: variant `k`, time `t` in epoch ms, value `v`). Read column by column
 * ({@link parseSeriesHistory}): the numbers cost no JSON.
 */
export function seriesHistorySql(series: readonly SeriesSince[]): BoundSql {
  let oldest = Number.POSITIVE_INFINITY;
  for (const entry of series) if (entry.since < oldest) oldest = entry.since;
  if (!Number.isFinite(oldest)) oldest = 0;
  return {
    sql: `WITH wanted AS (
        SELECT (generate_subscripts(w, 1) - 1)::INTEGER AS i, unnest(w, recursive := true)
        FROM (SELECT from_json($1::JSON, '[{"tenant":"VARCHAR","host":"VARCHAR","metric":"VARCHAR","since":"BIGINT"}]') AS w)
      ), picked AS MATERIALIZED (
        SELECT w.i AS s, hash(m.unit, m.tags, m.ctx) AS h, epoch_ms(m.ts)::DOUBLE AS t, m."value" AS v,
          m.unit, m.tags, m.ctx, m.ts_ingest, m.src_topic, m.src_partition, m.src_offset, m.src_index
        FROM metrics_all m JOIN wanted w ON m.tenant = w.tenant AND m.host = w.host AND m.metric = w.metric
        WHERE m.ts > make_timestamptz(w.since * 1000) AND m.ts > make_timestamptz($2::BIGINT * 1000)
          AND m.date >= $3::DATE
      ), variants AS MATERIALIZED (
        SELECT s, h, (row_number() OVER (ORDER BY s, h) - 1)::INTEGER AS k, any_value(unit) AS unit,
          coalesce(any_value(tags)::VARCHAR, '{}') AS tags, coalesce(any_value(ctx)::VARCHAR, '{}') AS ctx
        FROM picked GROUP BY s, h
      )
      SELECT part, k, t, v, unit, tags, ctx FROM (
        SELECT 0 AS part, k, s::DOUBLE AS t, NULL::DOUBLE AS v, unit, tags, ctx, NULL::TIMESTAMPTZ AS ts_ingest,
          NULL::VARCHAR AS src_topic, NULL::INTEGER AS src_partition, NULL::BIGINT AS src_offset,
          NULL::INTEGER AS src_index
        FROM variants
        UNION ALL
        SELECT 1, k, t, v, NULL, NULL, NULL, ts_ingest, src_topic, src_partition, src_offset, src_index
        FROM picked JOIN variants USING (s, h)
      ) ORDER BY part, ts_ingest, src_topic, src_partition, src_offset, src_index, k`,
    params: [
      JSON.stringify(series.map(({ tenant, host, metric, since }) => ({ tenant, host, metric, since }))),
      BigInt(Math.floor(oldest)),
      utcDate(Math.max(0, oldest)),
    ],
  };
}

/** Builds the history from {@link seriesHistorySql}'s first seven columns (`series`: the ones asked for). */
export function parseSeriesHistory(
  series: readonly SeriesSince[],
  columns: readonly unknown[][],
): StoredHistory {
  if (columns.length === 0 || columns[0].length === 0) {
    return { variants: [], variant: [], ts: [], value: [] };
  }
  const [part, k, t, v, unit, tags, ctx] = columns as [
    number[],
    number[],
    number[],
    number[],
    string[],
    string[],
    string[],
  ];
  const variants: StoredVariant[] = [];
  let i = 0;
  for (; i < part.length && part[i] === 0; i++) {
    const { tenant, host, metric } = series[t[i]];
    variants.push({
      tenant,
      host,
      metric,
      unit: unit[i],
      tags: JSON.parse(tags[i]) as Record<string, string>,
      ctx: JSON.parse(ctx[i]) as Record<string, string>,
    });
  }
  return { variants, variant: k.slice(i), ts: t.slice(i), value: v.slice(i) };
}
