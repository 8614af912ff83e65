/**
 * Kafka's default key partitioner (Java client: `toPositive(murmur2(key)) % partitions`) and a cached
 * partitioner of series: the agent assigns partitions itself when it packs the records of several
 * series into one message (see `json_batches.ts`).
 *
 * @module
 */

import { murmur2 } from "@platformatic/kafka";
import { SeriesMap } from "../lib/series_map.ts";
import { type Envelope, seriesKey } from "../model/envelope.ts";

/** The names that make a series. */
export type SeriesName = Pick<Envelope, "tenant" | "host" | "metric">;

/** The partition Kafka's default partitioner picks for `key` among `partitions`. */
export function partitionOf(key: string, partitions: number): number {
  // @platformatic/kafka's murmur2 is the Java client's (BigInt arithmetic: slow, but it runs once
  // per series, see SeriesPartitioner); the Java mask, not its `>>> 0`, gives Kafka's partition.
  return (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions;
}

/** {@link partitionOf} of series keys (`tenant|host|metric`) for one partition count, remembering up to `maxSeries` series. */
export class SeriesPartitioner {
  readonly partitions: number;
  readonly #maxSeries: number;
  readonly #cache = new SeriesMap<number>();

  /** A partitioner over `partitions` partitions. */
  constructor(partitions: number, maxSeries = 200_000) {
    if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions: ${partitions}`);
    this.partitions = partitions;
    this.#maxSeries = maxSeries;
  }

  /** The partition of the series' key. */
  partition(series: SeriesName): number {
    let partition = this.#cache.get(series.tenant, series.host, series.metric);
    if (partition === undefined) {
      partition = partitionOf(seriesKey(series), this.partitions);
      if (this.#cache.size >= this.#maxSeries) this.#cache.clear();
      this.#cache.set(series.tenant, series.host, series.metric, partition);
    }
    return partition;
  }
}
