/**
 * Kafka's default key partitioner (Java client: `toPositive(murmur2(key)) % partitions`), in 32-bit
 * integer arithmetic, and a cached partitioner of series: the agent assigns partitions itself when it
 * packs the records of several series into one message (see `json_batches.ts`).
 *
 * @module
 */

import { SeriesMap } from "../lib/series_map.ts";
import { type Envelope, seriesKey } from "../model/envelope.ts";

/** The names that make a series. */
export type SeriesName = Pick<Envelope, "tenant" | "host" | "metric">;

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const encoder = new TextEncoder();

/** Kafka's murmur2 of `bytes` (a signed 32-bit integer, as the Java client computes it). */
export function murmur2(bytes: Uint8Array): number {
  const length = bytes.length;
  let h = (SEED ^ length) | 0;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  switch (length % 4) {
    case 3:
      h ^= bytes[whole + 2] << 16;
    // falls through
    case 2:
      h ^= bytes[whole + 1] << 8;
    // falls through
    case 1:
      h ^= bytes[whole];
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for `key` among `partitions`. */
export function partitionOf(key: string, partitions: number): number {
  return (murmur2(encoder.encode(key)) & 0x7fffffff) % partitions;
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
