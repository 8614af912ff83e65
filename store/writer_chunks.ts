/**
 * How the store writer appends: rows and new series filled column by column into DuckDB data
 * chunks (`chunk.ts`), appended a chunk at a time with a yield to the event loop in between, so
 * Kafka heartbeats keep flowing during a large batch.
 *
 * @module
 */
import {
  BIGINT,
  DOUBLE,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBDataChunk,
  type DuckDBType,
  INTEGER,
  TIMESTAMPTZ,
  VARCHAR,
} from "@duckdb/node-api";
import { setImmediate } from "node:timers";
import type { Alert } from "../model/alert.ts";
import type { Envelope } from "../model/envelope.ts";
import { ChunkFiller, ReusableChunk } from "./chunk.ts";
import { stringifyReadable } from "./json_text.ts";
import type { NewSeries, SeriesIds } from "./series_ids.ts";

/** `metric_rows` columns, in table order. */
const ROW_TYPES: DuckDBType[] = [
  INTEGER, // series_id
  DOUBLE, // value
  TIMESTAMPTZ, // ts
  TIMESTAMPTZ, // ts_ingest
  INTEGER, // src_partition
  BIGINT, // src_offset
  INTEGER, // src_index
];

/** `series` columns, in table order. */
const SERIES_TYPES: DuckDBType[] = [
  INTEGER, // id
  VARCHAR, // tenant
  VARCHAR, // host
  VARCHAR, // metric
  VARCHAR, // unit
  VARCHAR, // unit_original
  VARCHAR, // tags (JSON)
  VARCHAR, // ctx (JSON)
  VARCHAR, // src_topic
];

/** `alerts` columns, in table order (`ALERTS_DDL`; JSON columns take VARCHAR text). */
const ALERT_TYPES: DuckDBType[] = [
  BIGINT, // seq
  VARCHAR, // id
  VARCHAR, // fingerprint
  VARCHAR, // rule
  VARCHAR, // tenant
  VARCHAR, // host
  VARCHAR, // metric
  VARCHAR, // severity
  VARCHAR, // state
  DOUBLE, // value
  DOUBLE, // threshold
  TIMESTAMPTZ, // starts_at
  TIMESTAMPTZ, // ends_at (NULL while firing)
  TIMESTAMPTZ, // ts
  VARCHAR, // labels (JSON)
  VARCHAR, // annotations (JSON)
  TIMESTAMPTZ, // inserted_at
];

/** The chunks a writer refills for every batch (see {@link ReusableChunk}). */
export interface WriterChunks {
  rows: ReusableChunk;
  series: ReusableChunk;
  alerts: ReusableChunk;
}

/** A writer's reusable chunks, one per table it appends to. */
export function createWriterChunks(): WriterChunks {
  return {
    rows: new ReusableChunk(ROW_TYPES),
    series: new ReusableChunk(SERIES_TYPES),
    alerts: new ReusableChunk(ALERT_TYPES),
  };
}

/** Yields to the event loop (timers, sockets) without the 1-4 ms clamp of `setTimeout(0)`. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The writer's appenders, one per table, kept open across batches: creating one per batch costs a
 * native handle that Deno never frees (see {@link ReusableChunk}) and its buffers live until a GC.
 * An appender that failed may still hold rows, so after any failure they are all discarded.
 */
export class TableAppenders {
  readonly #open = new Map<string, DuckDBAppender>();

  /** The open appender of `table` on `conn` (the writer's only connection). */
  async of(conn: DuckDBConnection, table: string): Promise<DuckDBAppender> {
    let appender = this.#open.get(table);
    if (appender === undefined) {
      appender = await conn.createAppender(table);
      this.#open.set(table, appender);
    }
    return appender;
  }

  /** Drops every appender and what it holds (after a failure, or when the writer closes). */
  discard(): void {
    for (const appender of this.#open.values()) {
      try {
        appender.clear();
        appender.closeSync();
      } catch { /* a failed appender may refuse to close; it is dropped anyway */ }
    }
    this.#open.clear();
  }
}

/**
 * Appends `count` rows, `chunkRows` at a time from `fill`, yielding between chunks. The rows reach
 * the table when the caller flushes the appender (one atomic append).
 */
export async function appendInChunks(
  appender: DuckDBAppender,
  count: number,
  chunkRows: number,
  fill: (from: number, to: number) => DuckDBDataChunk,
): Promise<void> {
  for (let from = 0; from < count; from += chunkRows) {
    const to = Math.min(count, from + chunkRows);
    appender.appendDataChunk(fill(from, to));
    if (to < count) await yieldToEventLoop();
  }
}

/** Fills one data chunk with events `[from, to)` in `metric_rows` column order. */
export function fillRowChunk(
  events: readonly Envelope[],
  from: number,
  to: number,
  raw: boolean,
  series: SeriesIds,
  reuse?: ReusableChunk,
): DuckDBDataChunk {
  const filler = new ChunkFiller(ROW_TYPES, to - from, raw, reuse);
  const seriesId = filler.numbers(0, "integer");
  const value = filler.numbers(1, "double");
  const ts = filler.numbers(2, "timestamptz");
  const tsIngest = filler.numbers(3, "timestamptz");
  const partition = filler.numbers(4, "integer");
  const offset = filler.numbers(5, "bigint");
  const index = filler.numbers(6, "integer");
  for (let r = 0, i = from; i < to; r++, i++) {
    const e = events[i];
    const s = e.source;
    seriesId.set(r, series.idOf(e));
    value.set(r, e.value);
    ts.set(r, e.ts * 1000);
    tsIngest.set(r, e.ts_ingest * 1000);
    partition.set(r, s.partition);
    offset.set(r, Number(s.offset));
    index.set(r, s.index);
  }
  return filler.finish();
}

/** Fills one data chunk with new series `[from, to)` in `series` column order. */
export function fillSeriesChunk(
  added: readonly NewSeries[],
  from: number,
  to: number,
  raw: boolean,
  reuse?: ReusableChunk,
): DuckDBDataChunk {
  const filler = new ChunkFiller(SERIES_TYPES, to - from, raw, reuse);
  const id = filler.numbers(0, "integer");
  const tenant = filler.strings(1);
  const host = filler.strings(2);
  const metric = filler.strings(3);
  const unit = filler.strings(4);
  const unitOriginal = filler.vector(5);
  const tags = filler.strings(6);
  const ctx = filler.strings(7);
  const topic = filler.strings(8);
  for (let r = 0, i = from; i < to; r++, i++) {
    const { id: seriesId, event: e, tagsJson, ctxJson } = added[i];
    id.set(r, seriesId);
    tenant.set(r, e.tenant);
    host.set(r, e.host);
    metric.set(r, e.metric);
    unit.set(r, e.unit);
    unitOriginal.setItem(r, e.unit_original ?? null);
    tags.set(r, tagsJson);
    ctx.set(r, ctxJson);
    topic.set(r, e.source.topic);
  }
  return filler.finish();
}

/**
 * Fills one data chunk with alerts `[from, to)` in `alerts` column order, numbered `firstSeq` on
 * (the alert at `from` gets `firstSeq + from`), all inserted at `insertedAtMs`.
 */
export function fillAlertChunk(
  alerts: readonly Alert[],
  from: number,
  to: number,
  raw: boolean,
  firstSeq: number,
  insertedAtMs: number,
  reuse?: ReusableChunk,
): DuckDBDataChunk {
  const filler = new ChunkFiller(ALERT_TYPES, to - from, raw, reuse);
  const seq = filler.numbers(0, "bigint");
  const id = filler.strings(1, false);
  const fingerprint = filler.strings(2);
  const rule = filler.strings(3);
  const tenant = filler.strings(4);
  const host = filler.strings(5);
  const metric = filler.strings(6);
  const severity = filler.strings(7);
  const state = filler.strings(8);
  const value = filler.numbers(9, "double");
  const threshold = filler.numbers(10, "double");
  const startsAt = filler.numbers(11, "timestamptz");
  const endsAt = filler.nullableNumbers(12, "timestamptz");
  const ts = filler.numbers(13, "timestamptz");
  const labels = filler.strings(14);
  const annotations = filler.strings(15);
  const insertedAt = filler.numbers(16, "timestamptz");
  for (let r = 0, i = from; i < to; r++, i++) {
    const alert = alerts[i];
    seq.set(r, firstSeq + i);
    id.set(r, alert.id);
    fingerprint.set(r, alert.fingerprint);
    rule.set(r, alert.rule);
    tenant.set(r, alert.tenant);
    host.set(r, alert.host);
    metric.set(r, alert.metric);
    severity.set(r, alert.severity);
    state.set(r, alert.state);
    value.set(r, alert.value);
    threshold.set(r, alert.threshold);
    startsAt.set(r, alert.starts_at * 1000);
    endsAt.set(r, alert.ends_at === null ? null : alert.ends_at * 1000);
    ts.set(r, alert.ts * 1000);
    labels.set(r, stringifyReadable(alert.labels));
    annotations.set(r, stringifyReadable(alert.annotations));
    insertedAt.set(r, insertedAtMs * 1000);
  }
  return filler.finish();
}
