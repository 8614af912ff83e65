/**
 * When the stateful group rebuilds its memory from the store (`stages/rebuild.ts`): for the
 * partitions of `events.enriched` it starts to own, at start and after a rebalance, before it
 * handles their first batch. The group owns series by partition (each series on the partition of
 * its key), so a partition's series are rebuilt once while it stays assigned; one that leaves and
 * comes back is rebuilt again (another member may have moved its series on meanwhile).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import type { Alert } from "../model/alert.ts";
import type { SeriesSince, StoredHistory, StoredSeries } from "../model/history.ts";
import type { FeatureEngine } from "../stages/features.ts";
import {
  chunkPlan,
  planRebuild,
  rebuildHorizon,
  type ReplayEngines,
  replayHistory,
  resetSeries,
} from "../stages/rebuild.ts";
import type { RuleEngine } from "../stages/rules.ts";

/** Where the rebuild reads stored events and alerts (the store reader). */
export interface HistorySource {
  /** Series with events in the `idleMs` before the store's newest event, their events within `horizonMs` counted. */
  recentSeries(idleMs: number, horizonMs: number): Promise<StoredSeries[]>;
  /** Events of `series` after each one's `since`, in arrival order. */
  seriesHistory(series: readonly SeriesSince[]): Promise<StoredHistory>;
  /** The latest stored alert per fingerprint. */
  latestAlerts(): Promise<readonly Alert[]>;
}

/** What one rebuild did. */
export interface RebuildReport {
  partitions: number[];
  series: number;
  skipped: number;
  events: number;
  transitions: number;
  /** Milliseconds in all, and reading the store. */
  ms: number;
  readMs: number;
}

/** Most stored rows read at once (memory bound of a rebuild beyond the engines themselves). */
const ROWS_PER_READ = 200_000;

/** What a {@link StateRebuilder} works on. */
export interface RebuilderDeps {
  config: Pick<Config, "features">;
  source: HistorySource;
  /** The engines of the stages this process runs. */
  features?: FeatureEngine;
  rules?: RuleEngine;
  /** The `events.enriched` partition of a series. */
  partitionOf(series: StoredSeries): number;
  log?: Logger;
}

/** Rebuilds the series of the partitions the group starts to own, once each while it owns them. */
export class StateRebuilder {
  readonly #deps: RebuilderDeps;
  /** Partitions whose series are rebuilt (and owned since). */
  readonly #held = new Set<number>();
  /** The partitions of the latest assignment (undefined before the first). */
  #assigned: number[] | undefined;

  /** A rebuilder over `deps`. */
  constructor(deps: RebuilderDeps) {
    this.#deps = deps;
  }

  /**
   * The group's assignment changed: partitions no longer assigned are rebuilt when they come back.
   * An empty assignment is what a consumer reports while it reconnects (a broker outage), not a
   * revocation: it forgets nothing (else every series would be rebuilt after each outage).
   */
  assigned(partitions: readonly number[]): void {
    if (partitions.length === 0) return;
    const now = new Set(partitions);
    for (const partition of this.#held) if (!now.has(partition)) this.#held.delete(partition);
    this.#assigned = [...partitions];
  }

  /**
   * Forgets every rebuilt partition (the local topology when another agent shares the raw topic: it
   * may move the series on meanwhile): each is rebuilt before its next batch.
   */
  forget(): void {
    this.#held.clear();
  }

  /**
   * Rebuilds, before a batch of `partitions` is handled, the partitions not rebuilt yet (with every
   * other assigned one not rebuilt yet: one pass at start). Undefined when nothing was to do.
   */
  async ensure(partitions: Iterable<number>): Promise<RebuildReport | undefined> {
    const missing = new Set<number>();
    for (const partition of partitions) if (!this.#held.has(partition)) missing.add(partition);
    if (missing.size === 0) return undefined;
    for (const partition of this.#assigned ?? []) if (!this.#held.has(partition)) missing.add(partition);
    const report = await this.#rebuild(missing);
    for (const partition of missing) this.#held.add(partition);
    return report;
  }

  async #rebuild(partitions: Set<number>): Promise<RebuildReport> {
    const started = performance.now();
    const { config, source, features, rules, partitionOf, log } = this.#deps;
    const engines: ReplayEngines = { features, rules };
    const longestFor = rules?.longestForMs ?? 0;
    const stored = await source.recentSeries(
      config.features.idle_eviction,
      rebuildHorizon(config.features, longestFor),
    );
    const plan = planRebuild(
      stored,
      config.features,
      longestFor,
      (series) => partitions.has(partitionOf(series)),
    );
    resetSeries(plan.series, engines, plan.series.length > 0 ? await source.latestAlerts() : []);
    let events = 0;
    let transitions = 0;
    let readMs = performance.now() - started;
    for (const chunk of chunkPlan(plan.series, ROWS_PER_READ)) {
      const reading = performance.now();
      const history = await source.seriesHistory(chunk);
      readMs += performance.now() - reading;
      const stats = replayHistory(history, chunk, engines);
      events += stats.events;
      transitions += stats.transitions;
    }
    const report: RebuildReport = {
      partitions: [...partitions].sort((a, b) => a - b),
      series: plan.series.length,
      skipped: plan.skipped,
      events,
      transitions,
      ms: Math.round(performance.now() - started),
      readMs: Math.round(readMs),
    };
    if (report.series > 0 || report.skipped > 0) {
      log?.info("rebuilt series state from the store", { ...report });
    }
    if (transitions > 0) {
      log?.warn("the rebuild's replay changed alert states the store does not hold (rules changed?)", {
        transitions,
      });
    }
    return report;
  }
}
