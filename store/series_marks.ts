/**
 * Per series and source partition, the highest source position (offset, index) stored: lets the
 * writer prove a batch holds only new events without asking DuckDB. The enriched topic keeps each
 * series on one partition and in source order, so a series' events arrive strictly increasing,
 * even though a batch interleaves the partitions (and so the raw offsets) of many series. A series
 * seen for the first time starts at the store's highest offset of that source partition: anything
 * at or below it may be stored already, so it is checked.
 *
 * @module
 */
import { SeriesMap } from "../lib/series_map.ts";
import type { Envelope } from "../model/envelope.ts";

interface Mark {
  topic: string;
  offset: number;
  index: number;
}

/** The marks a batch would leave, and whether every event in it is above its series' mark. */
export class MarkBatch {
  readonly #committed: SeriesMap<(Mark | undefined)[]>;
  readonly #floor: (topic: string, partition: number) => number;
  /** Touched series -> marks per source partition (copies: committed marks change only on commit). */
  readonly #marks = new SeriesMap<(Mark | undefined)[]>();
  /** The touched series (an event of each) and their marks, to commit. */
  readonly touched: { series: Envelope; lanes: (Mark | undefined)[] }[] = [];
  #strictlyNew = true;

  /** @internal Created by {@link SeriesMarks.begin}. */
  constructor(
    committed: SeriesMap<(Mark | undefined)[]>,
    floor: (topic: string, partition: number) => number,
  ) {
    this.#committed = committed;
    this.#floor = floor;
  }

  /** Whether every event observed is above its series' mark and the series' earlier events. */
  get strictlyNew(): boolean {
    return this.#strictlyNew;
  }

  /** Observes one event (`offset`: its source offset as a number). */
  observe(event: Envelope, offset: number): void {
    let lanes = this.#marks.get(event.tenant, event.host, event.metric);
    if (lanes === undefined) {
      const committed = this.#committed.get(event.tenant, event.host, event.metric);
      lanes = committed === undefined ? [] : committed.map((mark) => mark && { ...mark });
      this.#marks.set(event.tenant, event.host, event.metric, lanes);
      this.touched.push({ series: event, lanes });
    }
    const { topic, partition, index } = event.source;
    let mark = lanes[partition];
    if (mark === undefined) {
      mark = { topic, offset: this.#floor(topic, partition), index: Number.POSITIVE_INFINITY };
      lanes[partition] = mark;
    } else if (mark.topic !== topic) {
      this.#strictlyNew = false; // two source topics on one partition number: not tracked, checked
      return;
    }
    if (offset > mark.offset || (offset === mark.offset && index > mark.index)) {
      mark.offset = offset;
      mark.index = index;
    } else {
      this.#strictlyNew = false;
    }
  }
}

/** Committed marks of the series seen (bounded: forgetting a series is safe, it starts at the floor again). */
export class SeriesMarks {
  #committed = new SeriesMap<(Mark | undefined)[]>();
  readonly #maxSeries: number;

  /** Remembers up to `maxSeries` series. */
  constructor(maxSeries = 1_000_000) {
    this.#maxSeries = maxSeries;
  }

  /** Number of series remembered. */
  get size(): number {
    return this.#committed.size;
  }

  /**
   * Starts a batch. `floor(topic, partition)`: the highest offset stored from that source partition
   * (-1 when none): a series not remembered may have anything up to it stored.
   */
  begin(floor: (topic: string, partition: number) => number): MarkBatch {
    return new MarkBatch(this.#committed, floor);
  }

  /** Keeps a batch's marks, once its events are durably stored. */
  commit(batch: MarkBatch): void {
    if (this.#committed.size + batch.touched.length > this.#maxSeries) this.#committed.clear();
    for (const { series, lanes } of batch.touched) {
      this.#committed.set(series.tenant, series.host, series.metric, lanes);
    }
  }
}
