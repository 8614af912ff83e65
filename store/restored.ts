/**
 * The rows a store restored from a departed agent (`pipeline/restore.ts`), as `restored_rows` keeps
 * them: per series and source partition, the range of source offsets. A series' events reach its
 * owner in source order, so the range holds exactly the restored rows of that lane (this store's own
 * rows of the series come before or after it).
 *
 * @module
 */
import type { Envelope } from "../model/envelope.ts";

/** The source offsets of one series restored from one source partition (`restored_rows`). */
export interface RestoredLane {
  tenant: string;
  host: string;
  metric: string;
  srcTopic: string;
  srcPartition: number;
  minOffset: bigint;
  maxOffset: bigint;
}

/** The source offsets of the restored events, per series and source partition. */
export class RestoredLanes {
  readonly #lanes = new Map<string, RestoredLane>();

  /** Counts `event` in its lane. */
  add(event: Envelope): void {
    const { topic, partition, offset } = event.source;
    const key = JSON.stringify([event.tenant, event.host, event.metric, topic, partition]);
    const at = BigInt(offset);
    const lane = this.#lanes.get(key);
    if (lane === undefined) {
      this.#lanes.set(key, {
        tenant: event.tenant,
        host: event.host,
        metric: event.metric,
        srcTopic: topic,
        srcPartition: partition,
        minOffset: at,
        maxOffset: at,
      });
    } else if (at < lane.minOffset) lane.minOffset = at;
    else if (at > lane.maxOffset) lane.maxOffset = at;
  }

  /** The lanes seen. */
  lanes(): RestoredLane[] {
    return [...this.#lanes.values()];
  }
}
