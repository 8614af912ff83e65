/**
 * The per-event columns of an enriched batch being packed (`rows` of `schema.ts`),
 * reused by the packer from batch to batch: a row overwrites the previous batch's entries in
 * place, so a batch no longer grows (and copies) ten fresh arrays by push. `JSON.stringify` writes
 * them as before (numbers straight into its output; joining a typed array would make a string per
 * number).
 *
 * @module
 */
import type { BatchRows } from "./schema.ts";

/**
 * Most rows whose storage is kept for the next batch (~0.7 MB of columns): a batch of small
 * NDJSON events can hold tens of thousands of rows, and should not pin that memory.
 */
const MAX_KEPT_ROWS = 8_192;

/** The rows of one open batch, column by column. */
export class RowColumns {
  #length = 0;
  /** The columns; entries past `#length` are the previous batch's, cut off by {@link rows}. */
  readonly #rows: BatchRows = {
    series: [],
    tags: [],
    ctx: [],
    value: [],
    ts: [],
    ts_ingest: [],
    topic: [],
    partition: [],
    offset: [],
    index: [],
  };

  /** Rows added since the last {@link clear}. */
  get length(): number {
    return this.#length;
  }

  /** Appends a row; `offset` is a number when it is a safe integer, its decimal text otherwise. */
  push(
    series: number,
    tags: number,
    ctx: number,
    value: number,
    ts: number,
    tsIngest: number,
    topic: number,
    partition: number,
    offset: number | string,
    index: number,
  ): void {
    const row = this.#length++;
    const rows = this.#rows;
    rows.series[row] = series;
    rows.tags[row] = tags;
    rows.ctx[row] = ctx;
    rows.value[row] = value;
    rows.ts[row] = ts;
    rows.ts_ingest[row] = tsIngest;
    rows.topic[row] = topic;
    rows.partition[row] = partition;
    rows.offset[row] = offset;
    rows.index[row] = index;
  }

  /** The columns, each exactly {@link length} long (valid until the next push or clear). */
  rows(): BatchRows {
    const rows = this.#rows;
    if (rows.series.length !== this.#length) {
      for (const column of Object.values(rows)) column.length = this.#length;
    }
    return rows;
  }

  /** Starts the next batch: the columns' storage is kept, unless this batch was unusually large. */
  clear(): void {
    if (this.#length > MAX_KEPT_ROWS) {
      for (const column of Object.values(this.#rows)) column.length = 0;
    }
    this.#length = 0;
  }
}
