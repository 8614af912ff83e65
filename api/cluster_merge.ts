/**
 * Merging the answers of several agents (fan-out reads, pure functions). Each series is stored by
 * the agent that owned its partition when its events were handled, so a series can have rows on two
 * agents after a rebalance: the catalog merges it into one entry (rows summed, first/last widened).
 * Alerts are merged newest first by transition time (`ts`, then `id`), deduplicated by `id`; with a
 * `state` filter (the alerts in that state now) by fingerprint, keeping its newest transition.
 *
 * @module
 */

/** One series of the catalog as `GET /metrics` shows it. */
export interface CatalogSeriesJson {
  tenant: string;
  host: string;
  metric: string;
  unit?: string;
  rows: number;
  first_ts: string;
  last_ts: string;
}

/** `GET /metrics` as JSON. */
export interface CatalogJson {
  tenants: string[];
  hosts: string[];
  metrics: string[];
  series: CatalogSeriesJson[];
}

const uniqSorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** The catalogs of several agents as one (pure): series sorted by tenant, host, metric. */
export function mergeCatalogs(catalogs: readonly CatalogJson[]): CatalogJson {
  const bySeries = new Map<string, CatalogSeriesJson>();
  for (const catalog of catalogs) {
    for (const series of catalog.series) {
      const key = JSON.stringify([series.tenant, series.host, series.metric]);
      const seen = bySeries.get(key);
      if (seen === undefined) {
        bySeries.set(key, { ...series });
        continue;
      }
      seen.rows += series.rows;
      if (series.first_ts < seen.first_ts) seen.first_ts = series.first_ts;
      if (series.last_ts > seen.last_ts) seen.last_ts = series.last_ts;
      if (seen.unit === undefined && series.unit !== undefined) seen.unit = series.unit;
    }
  }
  const series = [...bySeries.values()].sort((a, b) =>
    a.tenant.localeCompare(b.tenant) || a.host.localeCompare(b.host) || a.metric.localeCompare(b.metric)
  );
  return {
    tenants: uniqSorted(catalogs.flatMap((catalog) => catalog.tenants)),
    hosts: uniqSorted(series.map((s) => s.host)),
    metrics: uniqSorted(series.map((s) => s.metric)),
    series,
  };
}

/** The fields of an alert transition the merge reads. */
export interface MergeableAlert {
  id: string;
  fingerprint: string;
  ts: number;
}

/**
 * The alert lists of several agents as one (pure): newest transition first (`ts`, then `id`),
 * each `id` once (with `latestPerFingerprint`, each fingerprint once: its newest), at most `limit`.
 */
export function mergeAlerts<T extends MergeableAlert>(
  lists: readonly (readonly T[])[],
  limit: number,
  latestPerFingerprint: boolean,
): T[] {
  const byKey = new Map<string, T>();
  for (const list of lists) {
    for (const alert of list) {
      const key = latestPerFingerprint ? alert.fingerprint : alert.id;
      const seen = byKey.get(key);
      if (seen === undefined || alert.ts > seen.ts || (alert.ts === seen.ts && alert.id > seen.id)) {
        byKey.set(key, alert);
      }
    }
  }
  return [...byKey.values()]
    .sort((a, b) => b.ts - a.ts || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, limit);
}
