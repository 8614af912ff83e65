/**
 * When a series' feature records go to the features topic.
 *
 * Publishing every changed series per batch costs more than the events themselves at live rates
 * (small batches touch most series: measured 1.7 records per event at 20,000 events/s with 5,000
 * series and two windows). The schedule publishes a changed series at most once per `every` of
 * event time, and its last state at the latest once the newest event time of the stream is `every`
 * past its previous publication, so a series that goes quiet still ends with its final records. Time
 * comes only from event timestamps, like the feature windows themselves.
 *
 * @module
 */
import type { FeatureSeries } from "../stages/features.ts";

/** Which changed series to publish, batch by batch. */
export class FeatureSchedule {
  readonly #every: number;
  /** Changed since their last publication, in the order they changed. */
  readonly #changed = new Set<FeatureSeries>();
  /** The `newest` of each series when it was last published. */
  readonly #published = new WeakMap<FeatureSeries, number>();
  #clock = Number.NEGATIVE_INFINITY;

  /** `everyMs <= 0` publishes every changed series per batch. */
  constructor(everyMs: number) {
    this.#every = everyMs;
  }

  /** Series changed but not published yet. */
  get pending(): number {
    return this.#changed.size;
  }

  /** Marks a series changed by the current batch. */
  changed(series: FeatureSeries): void {
    this.#changed.add(series);
  }

  /**
   * The series to publish after a batch whose newest event time is `newestTs` (the stream's clock
   * only moves forward); they count as published from here on.
   */
  due(newestTs: number): FeatureSeries[] {
    if (newestTs > this.#clock) this.#clock = newestTs;
    const due: FeatureSeries[] = [];
    for (const series of this.#changed) {
      const last = this.#published.get(series);
      if (
        this.#every <= 0 || last === undefined || series.newest - last >= this.#every ||
        this.#clock - last >= this.#every
      ) {
        due.push(series);
        this.#published.set(series, series.newest);
        this.#changed.delete(series);
      }
    }
    return due;
  }
}
