/**
 * Rebuilding the stateful stages' memory from stored events, so a restart (or a partition that
 * comes back after a rebalance) takes the decisions the agent would have taken without one: the
 * lateness watermark and feature windows of each series, and the per (rule, series) state the
 * alerts table does not hold (the last evaluated event time, a `for` still pending).
 *
 * The plan ({@link planRebuild}) is bounded like the live engines: series idle longer than
 * `idle_eviction` before the store's newest event are left out (the live engine evicts them), at
 * most `max_series` series (the newest first), and per series only the events after
 * `newest - (largest window + longest rule for)`. The replay ({@link replayHistory}) feeds them in
 * arrival order through the same engines; rules decide only on the events of the last `longest for`
 * (their windows are complete there; earlier events only move the rules' event time), after their
 * alert state was restored from the store.
 *
 * What is approximate: `ewma` is seeded with the first replayed event (the weight of the seed after
 * n events is (1 - alpha)^n), and the arrival order of one series' events from several source
 * partitions within one ingest batch is taken as source order.
 *
 * @module
 */
import type { Alert } from "../model/alert.ts";
import type { Envelope } from "../model/envelope.ts";
import type { StoredHistory, StoredSeries } from "../model/history.ts";
import type { FeatureEngine, FeatureOptions } from "./features.ts";
import { FeatureCursor } from "./features.ts";
import type { RuleEngine } from "./rules.ts";

export type { StoredHistory, StoredSeries };

/** A series to rebuild and the events to replay. */
export interface SeriesReplay extends StoredSeries {
  /** Replay the events after this time (epoch ms, exclusive). */
  readonly since: number;
  /** Rules evaluate the replayed events at or after this time. */
  readonly decideFrom: number;
}

/** Which series to rebuild, from when. */
export interface RebuildPlan {
  readonly series: SeriesReplay[];
  /** Series left out: idle longer than `idle_eviction`, or beyond `max_series`. */
  readonly skipped: number;
}

/** How far back from a series' newest event a rebuild replays: the largest window plus the longest `for`. */
export function rebuildHorizon(options: Pick<FeatureOptions, "windows">, longestForMs: number): number {
  return Math.max(...options.windows) + longestForMs;
}

/**
 * The series among `stored` to rebuild (`owned` says which this process owns, e.g. by partition),
 * and from when: see the module doc. `longestForMs` is the longest `for` of the rules.
 */
export function planRebuild(
  stored: readonly StoredSeries[],
  options: Pick<FeatureOptions, "windows" | "idle_eviction" | "max_series">,
  longestForMs: number,
  owned: (series: StoredSeries) => boolean = () => true,
): RebuildPlan {
  let storeNewest = Number.NEGATIVE_INFINITY;
  for (const series of stored) if (series.newest > storeNewest) storeNewest = series.newest;
  const horizon = rebuildHorizon(options, longestForMs);
  const candidates = stored.filter((series) =>
    owned(series) && storeNewest - series.newest <= options.idle_eviction
  );
  candidates.sort((a, b) => b.newest - a.newest);
  const kept = candidates.slice(0, options.max_series);
  const skipped = stored.filter(owned).length - kept.length;
  return {
    series: kept.map((series) => ({
      ...series,
      since: series.newest - horizon,
      decideFrom: series.newest - longestForMs,
    })),
    skipped,
  };
}

/** Splits a plan into groups of series of at most about `maxRows` stored rows each (one read each). */
export function chunkPlan(series: readonly SeriesReplay[], maxRows: number): SeriesReplay[][] {
  const chunks: SeriesReplay[][] = [];
  let chunk: SeriesReplay[] = [];
  let rows = 0;
  for (const entry of series) {
    if (chunk.length > 0 && rows + entry.rows > maxRows) {
      chunks.push(chunk);
      chunk = [];
      rows = 0;
    }
    chunk.push(entry);
    rows += entry.rows;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** What a replay did. */
export interface ReplayStats {
  /** Events fed to the engines. */
  events: number;
  /** Transitions the rules made during the replay (0 unless the rules changed since the events were stored). */
  transitions: number;
}

/** Which engines a replay feeds (the stages this process runs). */
export interface ReplayEngines {
  features?: FeatureEngine;
  rules?: RuleEngine;
}

/**
 * Forgets the series of `plan` in the engines and restores their alert state from `alerts` (the
 * latest stored alert per fingerprint): the start of a rebuild, before {@link replayHistory}.
 */
export function resetSeries(
  plan: readonly SeriesReplay[],
  engines: ReplayEngines,
  alerts: readonly Alert[],
): void {
  const keys = new Set(plan.map((series) => `${series.tenant}\u0000${series.host}\u0000${series.metric}`));
  for (const series of plan) {
    engines.features?.forget(series.tenant, series.host, series.metric);
    engines.rules?.forgetSeries(series.tenant, series.host, series.metric);
  }
  engines.rules?.restore(
    alerts.filter((alert) => keys.has(`${alert.tenant}\u0000${alert.host}\u0000${alert.metric}`)),
  );
}

/**
 * Feeds stored events (in arrival order) through the engines: every event to the features, the
 * events at or after their series' `decideFrom` to the rules. Alerts the rules emit are not
 * published (they are stored already, or the rules changed since); they are counted.
 */
export function replayHistory(
  history: StoredHistory,
  plan: readonly SeriesReplay[],
  engines: ReplayEngines,
): ReplayStats {
  const decideFrom = new Map<string, number>();
  for (const series of plan) {
    decideFrom.set(`${series.tenant}\u0000${series.host}\u0000${series.metric}`, series.decideFrom);
  }
  const variantDecideFrom = history.variants.map((variant) =>
    decideFrom.get(`${variant.tenant}\u0000${variant.host}\u0000${variant.metric}`) ??
      Number.POSITIVE_INFINITY
  );
  const cursor = engines.features ? new FeatureCursor(engines.features) : undefined;
  const stats: ReplayStats = { events: 0, transitions: 0 };
  for (let i = 0; i < history.ts.length; i++) {
    const v = history.variant[i];
    const variant = history.variants[v];
    const event: Envelope = {
      v: 1,
      id: "",
      tenant: variant.tenant,
      host: variant.host,
      metric: variant.metric,
      value: history.value[i],
      unit: variant.unit,
      ts: history.ts[i],
      ts_ingest: history.ts[i],
      tags: variant.tags,
      ctx: variant.ctx,
      source: { topic: "", partition: 0, offset: "0", index: 0 },
    };
    stats.events++;
    const series = engines.features?.observe(event);
    if (engines.rules) {
      if (cursor) cursor.series = series;
      const lookup = series ? cursor : undefined;
      if (event.ts >= variantDecideFrom[v]) stats.transitions += engines.rules.evaluate(event, lookup).length;
      else engines.rules.advance(event, lookup);
    }
  }
  return stats;
}
