/**
 * Stored events as the stateful stages' rebuild reads them back from the store after a restart
 * (`store/history.ts` reads them, `stages/rebuild.ts` replays them).
 *
 * @module
 */

/** A stored series and the event time of its newest stored event. */
export interface StoredSeries {
  readonly tenant: string;
  readonly host: string;
  readonly metric: string;
  /** Newest event time stored, epoch ms. */
  readonly newest: number;
  /** Stored events of the series within the rebuild's horizon of `newest` (to size the reads). */
  readonly rows: number;
}

/** A series whose events after `since` (epoch ms, exclusive) are wanted. */
export interface SeriesSince {
  readonly tenant: string;
  readonly host: string;
  readonly metric: string;
  readonly since: number;
}

/** A series with one unit, tags and context (a series' events may change them over time). */
export interface StoredVariant {
  readonly tenant: string;
  readonly host: string;
  readonly metric: string;
  readonly unit: string;
  readonly tags: Record<string, string>;
  readonly ctx: Record<string, string>;
}

/**
 * Stored events in arrival order, column by column: event `i` belongs to `variants[variant[i]]`,
 * with event time `ts[i]` (epoch ms) and value `value[i]`.
 */
export interface StoredHistory {
  readonly variants: readonly StoredVariant[];
  readonly variant: readonly number[];
  readonly ts: readonly number[];
  readonly value: readonly number[];
}
