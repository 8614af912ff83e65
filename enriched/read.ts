/**
 * Reading enriched batches (`schema.ts`): the stateful group checks a decoded message with
 * {@link readEnrichedBatch} (a hand-written check of the common valid shape, zod for the rest) and
 * gets the envelopes back as {@link BatchRow}s over the batch's columns.
 *
 * @module
 */
import { type Envelope, ENVELOPE_VERSION, eventId, type Source, toEnvelope } from "../model/envelope.ts";
import {
  isNonEmptyString,
  isNonNegativeInt,
  isPlainObject,
  isStringMap,
  METRIC,
  OFFSET,
} from "./envelope_guard.ts";
import {
  BATCH_COLUMNS,
  type BatchSeries,
  ENRICHED_BATCH_FORMAT,
  type EnrichedBatch,
  EnrichedBatchSchema,
} from "./schema.ts";

type StringMap = Readonly<Record<string, string>>;

/** Whether a decoded JSON value claims to be an enriched batch (then it is one, or invalid). */
export function isEnrichedBatchLike(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && value.format === ENRICHED_BATCH_FORMAT;
}

function hasExactKeys(value: Record<string, unknown>, keys: readonly string[]): boolean {
  let count = 0;
  for (const key in value) {
    if (!keys.includes(key)) return false;
    count++;
  }
  return count === keys.length;
}

const BATCH_KEYS = ["format", "v", "series", "tags", "ctx", "topics", "rows"];
const SERIES_KEYS = ["tenant", "host", "metric", "unit"];
const SERIES_KEYS_WITH_ORIGINAL = [...SERIES_KEYS, "unit_original"];

function isExactSeries(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const hasOriginal = "unit_original" in value;
  return hasExactKeys(value, hasOriginal ? SERIES_KEYS_WITH_ORIGINAL : SERIES_KEYS) &&
    isNonEmptyString(value.tenant) && isNonEmptyString(value.host) && typeof value.metric === "string" &&
    METRIC.test(value.metric) && typeof value.unit === "string" &&
    (!hasOriginal || typeof value.unit_original === "string");
}

function everyEntry(values: unknown, check: (value: unknown) => boolean): values is unknown[] {
  if (!Array.isArray(values)) return false;
  for (let i = 0; i < values.length; i++) if (!check(values[i])) return false;
  return true;
}

function areIndices(values: unknown, size: number, length: number): boolean {
  if (!Array.isArray(values) || values.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const v: unknown = values[i];
    if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) >= size) return false;
  }
  return true;
}

/**
 * A column of finite numbers (safe integers when `integers`), checked in the loop: handing a
 * double array's element to a check function boxes it (a heap number per row and column).
 */
function areNumbers(values: unknown, length: number, integers: boolean): boolean {
  if (!Array.isArray(values) || values.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const v: unknown = values[i];
    if (typeof v !== "number" || !(integers ? Number.isSafeInteger(v) : Number.isFinite(v))) return false;
  }
  return true;
}

function areColumn(values: unknown, length: number, check: (value: unknown) => boolean): boolean {
  if (!Array.isArray(values) || values.length !== length) return false;
  for (let i = 0; i < length; i++) if (!check(values[i])) return false;
  return true;
}

const isOffset = (v: unknown) => isNonNegativeInt(v) || typeof v === "string" && OFFSET.test(v);

/** Whether `value` is an enriched batch exactly as zod would return it (valid, and no extra keys). */
export function isExactEnrichedBatch(value: unknown): value is EnrichedBatch {
  if (!isEnrichedBatchLike(value) || !hasExactKeys(value, BATCH_KEYS) || value.v !== ENVELOPE_VERSION) {
    return false;
  }
  const { series, tags, ctx, topics, rows } = value;
  if (
    !everyEntry(series, isExactSeries) || !everyEntry(tags, isStringMap) || !everyEntry(ctx, isStringMap) ||
    !everyEntry(topics, isNonEmptyString) || !isPlainObject(rows) || !hasExactKeys(rows, BATCH_COLUMNS) ||
    !Array.isArray(rows.series)
  ) return false;
  const length = rows.series.length;
  return areIndices(rows.series, series.length, length) && areIndices(rows.tags, tags.length, length) &&
    areIndices(rows.ctx, ctx.length, length) && areIndices(rows.topic, topics.length, length) &&
    areNumbers(rows.value, length, false) && areNumbers(rows.ts, length, true) &&
    areNumbers(rows.ts_ingest, length, true) &&
    areColumn(rows.partition, length, isNonNegativeInt) && areColumn(rows.index, length, isNonNegativeInt) &&
    areColumn(rows.offset, length, isOffset);
}

/**
 * One row of a decoded enriched batch, read in place: an {@link Envelope} (and its own
 * {@link Source}) whose fields are getters over the batch's columns. A batch's envelopes live from
 * decoding until the store has them, long enough for V8 to move them to the old generation; as
 * plain objects (an envelope, its source, the id and offset strings: ~430 bytes a row) they were
 * 70% of what the stateful thread promoted. A row is one small object. `JSON.stringify` gives the
 * plain envelope ({@link BatchRow.toJSON}).
 */
export class BatchRow implements Envelope, Source {
  readonly #batch: EnrichedBatch;
  readonly #row: number;

  /** Row `row` of `batch` (a valid batch whose tags and contexts are frozen). */
  constructor(batch: EnrichedBatch, row: number) {
    this.#batch = batch;
    this.#row = row;
  }

  get #series(): BatchSeries {
    return this.#batch.series[this.#batch.rows.series[this.#row]];
  }

  get v(): typeof ENVELOPE_VERSION {
    return ENVELOPE_VERSION;
  }
  get id(): string {
    return eventId(this);
  }
  get tenant(): string {
    return this.#series.tenant;
  }
  get host(): string {
    return this.#series.host;
  }
  get metric(): string {
    return this.#series.metric;
  }
  get value(): number {
    return this.#batch.rows.value[this.#row];
  }
  get unit(): string {
    return this.#series.unit;
  }
  get unit_original(): string | undefined {
    return this.#series.unit_original;
  }
  get ts(): number {
    return this.#batch.rows.ts[this.#row];
  }
  get ts_ingest(): number {
    return this.#batch.rows.ts_ingest[this.#row];
  }
  get tags(): StringMap {
    return this.#batch.tags[this.#batch.rows.tags[this.#row]];
  }
  get ctx(): StringMap {
    return this.#batch.ctx[this.#batch.rows.ctx[this.#row]];
  }
  /** The row is its own source: no object per row (`JSON.stringify` of it gives the plain source). */
  get source(): Source {
    return this;
  }
  get topic(): string {
    return this.#batch.topics[this.#batch.rows.topic[this.#row]];
  }
  get partition(): number {
    return this.#batch.rows.partition[this.#row];
  }
  get offset(): string {
    return String(this.#batch.rows.offset[this.#row]);
  }
  get index(): number {
    return this.#batch.rows.index[this.#row];
  }

  /**
   * The plain envelope ({@link toEnvelope}); the plain source when serialized as a `source`
   * (JSON.stringify passes the key), since the row is its own source.
   */
  toJSON(key?: string): Envelope | Source {
    const source = { topic: this.topic, partition: this.partition, offset: this.offset, index: this.index };
    return key === "source" ? source : toEnvelope(this, source, this.ctx);
  }
}

/** The envelopes of a valid batch, in row order ({@link BatchRow}s). Tags and contexts are frozen and shared between rows. */
export function expandEnrichedBatch(batch: EnrichedBatch): Envelope[] {
  for (const map of batch.tags) Object.freeze(map);
  for (const map of batch.ctx) Object.freeze(map);
  const length = batch.rows.series.length;
  const events: Envelope[] = new Array(length);
  for (let i = 0; i < length; i++) events[i] = new BatchRow(batch, i);
  return events;
}

/** Result of {@link readEnrichedBatch}: the envelopes, or what is wrong with the batch. */
export type EnrichedBatchRead = { success: true; events: Envelope[] } | { success: false; reason: string };

/** Checks a decoded JSON value as an enriched batch (fast path first, zod otherwise) and expands it. */
export function readEnrichedBatch(value: unknown): EnrichedBatchRead {
  if (isExactEnrichedBatch(value)) return { success: true, events: expandEnrichedBatch(value) };
  const result = EnrichedBatchSchema.safeParse(value);
  if (result.success) return { success: true, events: expandEnrichedBatch(result.data) };
  const [issue] = result.error.issues;
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problems)` : "";
  return { success: false, reason: `${issue.path.join(".")}: ${issue.message}${more}` };
}
