/**
 * Merging the answers of several agents (fan-out reads, pure functions). Each series is stored by
 * the agent that owned its partition when its events were handled, so a series can have rows on two
 * agents after a rebalance: the catalog merges it into one entry (rows summed, first/last widened).
 * Alerts are merged newest first by transition time (`ts`, then `id`), deduplicated by `id`; with a
 * `state` filter (the alerts in that state now) by fingerprint, keeping its newest transition.
 *
 * @module
 */
import type { z } from "zod";
import type { SeriesSchema } from "./schemas.ts";
import { compareActiveAlerts } from "../model/notification.ts";

/** One series of the catalog as `GET /metrics` shows it (`SeriesSchema`). */
export type CatalogSeriesJson = z.infer<typeof SeriesSchema>;

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

/** Aggregations whose buckets from several agents combine exactly (a count or sum adds, min/max compare). */
export const MERGEABLE_AGGS: ReadonlySet<string> = new Set(["count", "sum", "min", "max"]);

/** One bucket as the merge reads it. */
export interface MergeableBucket {
  ts: number;
  tenant: string;
  host?: string;
  group?: string | null;
  value: number;
}

/** One point as the merge reads it. */
export interface MergeablePoint {
  ts: number;
  tenant: string;
  host: string;
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Points of several agents in the store's order (ts, tenant, host), stable within an agent (pure). */
export function mergePoints<T extends MergeablePoint>(lists: readonly (readonly T[])[]): T[] {
  return lists.flat().sort((a, b) =>
    a.ts - b.ts || compareText(a.tenant, b.tenant) || compareText(a.host, b.host)
  );
}

/**
 * Buckets of several agents in the store's order (ts, tenant, group; null groups last), one row per
 * bucket and group (pure). A bucket two agents both computed (a series split between them by a
 * rebalance, or a tag/context group over hosts of both) is combined when `agg` allows it exactly
 * ({@link MERGEABLE_AGGS}); otherwise the first agent's value is kept and the bucket counted as
 * `inexact`.
 */
export function mergeBuckets<T extends MergeableBucket>(
  lists: readonly (readonly T[])[],
  agg: string,
): { rows: T[]; inexact: number } {
  const byKey = new Map<string, T>();
  let inexact = 0;
  for (const list of lists) {
    for (const row of list) {
      const key = JSON.stringify([row.ts, row.tenant, row.host ?? null, row.group ?? null]);
      const seen = byKey.get(key);
      if (seen === undefined) {
        byKey.set(key, { ...row });
        continue;
      }
      if (agg === "count" || agg === "sum") seen.value += row.value;
      else if (agg === "min") seen.value = Math.min(seen.value, row.value);
      else if (agg === "max") seen.value = Math.max(seen.value, row.value);
      else inexact++;
    }
  }
  const groupOf = (row: T) => row.host ?? row.group ?? null;
  const rows = [...byKey.values()].sort((a, b) => {
    const ga = groupOf(a);
    const gb = groupOf(b);
    return a.ts - b.ts || compareText(a.tenant, b.tenant) ||
      (ga === gb ? 0 : ga === null ? 1 : gb === null ? -1 : compareText(ga, gb));
  });
  return { rows, inexact };
}

/** The fields of a firing alert the merge reads. */
export interface MergeableActiveAlert {
  fingerprint: string;
  severity: "warning" | "critical";
  since: number;
  updated_at: number;
}

/**
 * The firing alerts of several agents as one list (pure): each fingerprint once (the newest
 * transition: a series moved by a rebalance may still be listed by its former owner), most severe
 * and oldest first, as one agent lists them.
 */
export function mergeActiveAlerts<T extends MergeableActiveAlert>(lists: readonly (readonly T[])[]): T[] {
  const byFingerprint = new Map<string, T>();
  for (const list of lists) {
    for (const alert of list) {
      const seen = byFingerprint.get(alert.fingerprint);
      if (seen === undefined || alert.updated_at > seen.updated_at) {
        byFingerprint.set(alert.fingerprint, alert);
      }
    }
  }
  return [...byFingerprint.values()].sort(compareActiveAlerts);
}
