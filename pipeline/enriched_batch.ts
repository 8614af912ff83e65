/**
 * Writing and reading enriched batches (`model/enriched_batch.ts`): the stateless group packs its
 * envelopes per partition of their series with {@link EnrichedBatchPacker}; the stateful group
 * checks a batch with {@link readEnrichedBatch} and gets the envelopes back.
 *
 * @module
 */
import { MAX_REQUEST_BYTES, type OutgoingMessage } from "../kafka/clients.ts";
import { partitionOf } from "../kafka/partition.ts";
import { SeriesMap } from "../lib/series_map.ts";
import {
  BATCH_COLUMNS,
  type BatchSeries,
  ENRICHED_BATCH_FORMAT,
  type EnrichedBatch,
  EnrichedBatchSchema,
} from "../model/enriched_batch.ts";
import {
  type Envelope,
  ENVELOPE_VERSION,
  eventId,
  type NormalizedEvent,
  seriesKey,
  type Source,
  toEnvelope,
} from "../model/envelope.ts";
import { RowColumns } from "./row_columns.ts";
import {
  isNonEmptyString,
  isNonNegativeInt,
  isPlainObject,
  isStringMap,
  METRIC,
  OFFSET,
} from "./envelope_guard.ts";

type StringMap = Readonly<Record<string, string>>;

/** Most bytes per message (counted in UTF-8 bytes, unlike the JSON arrays' characters): one produce request. */
export const MAX_BATCH_BYTES = MAX_REQUEST_BYTES - 4096;
/** Bytes of the message around the dictionaries and columns. */
const FRAME_BYTES = 256;
/** Most characters of a double in JSON (`-1.2345678901234567e-308`). */
const MAX_DOUBLE_CHARS = 24;

/** Characters of a non-negative safe integer in JSON (an upper bound from 1e14 on). */
function integerChars(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 10_000) return n < 1_000 ? 3 : 4;
  if (n < 1e8) return n < 1e6 ? (n < 1e5 ? 5 : 6) : n < 1e7 ? 7 : 8;
  return n < 1e12
    ? (n < 1e10 ? (n < 1e9 ? 9 : 10) : n < 1e11 ? 11 : 12)
    : n < 1e14
    ? (n < 1e13 ? 13 : 14)
    : 16;
}

/** Characters of any number in JSON: exact for small integers, an upper bound otherwise. */
function numberChars(n: number): number {
  return Number.isInteger(n) && n > -1e15 && n < 1e15
    ? integerChars(Math.abs(n)) + (n < 0 ? 1 : 0)
    : MAX_DOUBLE_CHARS;
}

/** A series' dictionary entry for one unit, its size, and its index in the open batch `generation`. */
interface UnitSlot {
  readonly entry: BatchSeries;
  readonly bytes: number;
  generation: number;
  index: number;
}

/** Most units remembered per series (a series rarely arrives in more than one or two). */
const MAX_UNITS_PER_SERIES = 8;

/**
 * What the packer remembers of a series from one batch to the next: its partition, its dictionary
 * entries and their sizes; and, per open batch (`*Generation`), the entries' indices.
 */
interface SeriesSlot {
  readonly partition: number;
  /** The entry of the unit last seen; `units` holds every unit seen. */
  unit: UnitSlot;
  readonly units: UnitSlot[];
  tags: StringMap;
  tagsJson: string;
  tagsBytes: number;
  tagsGeneration: number;
  tagsIndex: number;
  ctx: StringMap;
  ctxBytes: number;
  ctxGeneration: number;
  ctxIndex: number;
}

/** The batch being filled for one partition. */
class OpenBatch {
  readonly generation: number;
  readonly series: BatchSeries[] = [];
  readonly tags: StringMap[] = [];
  /** Tags found again by their JSON text. */
  readonly tagsIndex = new Map<string, number>();
  readonly ctx: StringMap[] = [];
  /** Contexts are shared per host (the inventory's frozen objects): found again by identity. */
  readonly ctxIndex = new Map<StringMap, number>();
  readonly topics: string[] = [];
  /** The partition's columns, reused from batch to batch (empty when the batch opens). */
  readonly rows: RowColumns;
  bytes = FRAME_BYTES;

  constructor(generation: number, rows: RowColumns) {
    this.generation = generation;
    this.rows = rows;
  }

  /** Appends a dictionary entry of `bytes` UTF-8 bytes of JSON; returns its index. */
  add<T>(dictionary: T[], entry: T, bytes: number): number {
    this.bytes += bytes + 1;
    return dictionary.push(entry) - 1;
  }

  tagsIndexOf(tags: StringMap, json: string, bytes: number): number {
    let index = this.tagsIndex.get(json);
    if (index === undefined) {
      index = this.add(this.tags, tags, bytes);
      this.tagsIndex.set(json, index);
    }
    return index;
  }

  ctxIndexOf(ctx: StringMap, bytes: number): number {
    let index = this.ctxIndex.get(ctx);
    if (index === undefined) {
      index = this.add(this.ctx, ctx, bytes);
      this.ctxIndex.set(ctx, index);
    }
    return index;
  }

  topicIndex(topic: string): number {
    const index = this.topics.indexOf(topic);
    return index >= 0 ? index : this.add(this.topics, topic, Buffer.byteLength(JSON.stringify(topic)));
  }

  toJson(): string {
    const { series, tags, ctx, topics, rows } = this;
    return JSON.stringify({
      format: ENRICHED_BATCH_FORMAT,
      v: ENVELOPE_VERSION,
      series,
      tags,
      ctx,
      topics,
      rows: rows.rows(),
    });
  }
}

function sameStringMap(a: StringMap, b: StringMap): boolean {
  let keys = 0;
  for (const key in a) {
    if (a[key] !== b[key] || !Object.hasOwn(b, key)) return false;
    keys++;
  }
  for (const _ in b) keys--;
  return keys === 0;
}

function newUnitSlot(event: NormalizedEvent): UnitSlot {
  const { tenant, host, metric, unit, unit_original } = event;
  const entry = unit_original === undefined
    ? { tenant, host, metric, unit }
    : { tenant, host, metric, unit, unit_original };
  return { entry, bytes: Buffer.byteLength(JSON.stringify(entry)), generation: 0, index: 0 };
}

/** The series' entry for the event's unit, remembered if new. */
function unitSlotOf(slot: SeriesSlot, event: NormalizedEvent): UnitSlot {
  for (const unit of slot.units) {
    if (unit.entry.unit === event.unit && unit.entry.unit_original === event.unit_original) return unit;
  }
  const created = newUnitSlot(event);
  if (slot.units.length >= MAX_UNITS_PER_SERIES) slot.units.length = 0;
  slot.units.push(created);
  return created;
}

/**
 * Packs envelopes into enriched-batch messages, one per partition of their series key (or more,
 * each under `maxBytes`), each series in the order added. Remembers up to `maxSeries` series
 * (partition, dictionary entries and their sizes) from one batch to the next, so a series costs
 * a JSON serialization only when it is new or its unit, tags or context change.
 */
export class EnrichedBatchPacker {
  readonly #topic: string;
  readonly #partitions: number;
  readonly #maxBytes: number;
  readonly #maxSeries: number;
  readonly #slots = new SeriesMap<SeriesSlot>();
  readonly #open: (OpenBatch | undefined)[];
  /** Each partition's row columns, kept for its next batch. */
  readonly #rows: (RowColumns | undefined)[];
  #generation = 0;
  #done: OutgoingMessage[] = [];
  #records = 0;

  /** A packer for `topic`, which has `partitions` partitions. */
  constructor(topic: string, partitions: number, maxBytes = MAX_BATCH_BYTES, maxSeries = 200_000) {
    if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions: ${partitions}`);
    this.#topic = topic;
    this.#partitions = partitions;
    this.#maxBytes = maxBytes;
    this.#maxSeries = maxSeries;
    this.#open = new Array(partitions);
    this.#rows = new Array(partitions);
  }

  /** Number of envelopes added since the last {@link take}. */
  get records(): number {
    return this.#records;
  }

  /** Adds one envelope (its id must be `eventId(source)`: the batch derives ids from sources). */
  addEnvelope(envelope: Envelope): void {
    this.add(envelope, envelope.source, envelope.ctx);
  }

  /**
   * Adds the envelope `toEnvelope(event, source, ctx)` without making it: the stateless group passes
   * normalize's event, one source object it rewrites per event, and enrich's context. Nothing is
   * kept of `source`.
   */
  add(event: NormalizedEvent, source: Source, ctx: StringMap): void {
    const slot = this.#slot(event, ctx);
    // The series' entries for this event (new ones when its unit, tags or context changed).
    let unit = slot.unit;
    if (unit.entry.unit !== event.unit || unit.entry.unit_original !== event.unit_original) {
      unit = slot.unit = unitSlotOf(slot, event);
    }
    if (slot.tags !== event.tags && !sameStringMap(slot.tags, event.tags)) {
      slot.tags = event.tags;
      slot.tagsJson = JSON.stringify(event.tags);
      slot.tagsBytes = Buffer.byteLength(slot.tagsJson);
      slot.tagsGeneration = 0;
    }
    if (slot.ctx !== ctx) {
      slot.ctx = ctx;
      slot.ctxBytes = Buffer.byteLength(JSON.stringify(ctx));
      slot.ctxGeneration = 0;
    }
    const offset = Number(source.offset);
    const offsetChars = Number.isSafeInteger(offset) ? integerChars(offset) : source.offset.length + 2;
    // Every number of the row, four dictionary indices of at most 5 characters, ten commas.
    const rowBytes = numberChars(event.value) + numberChars(event.ts) + numberChars(event.ts_ingest) +
      offsetChars + integerChars(source.partition) + integerChars(source.index) + 30;
    // At most this many bytes join the message: the row, and the entries if not in it yet.
    const bytes = rowBytes + unit.bytes + slot.tagsBytes + slot.ctxBytes + source.topic.length * 3 + 8;
    let open = this.#open[slot.partition];
    if (open === undefined) {
      open = this.#open[slot.partition] = this.#openBatch(slot.partition);
    } else if (open.bytes + bytes > this.#maxBytes && open.rows.length > 0) {
      this.#finish(slot.partition, open);
      open = this.#open[slot.partition] = this.#openBatch(slot.partition);
    }
    const generation = open.generation;
    if (unit.generation !== generation) {
      unit.index = open.add(open.series, unit.entry, unit.bytes);
      unit.generation = generation;
    }
    if (slot.tagsGeneration !== generation) {
      slot.tagsIndex = open.tagsIndexOf(slot.tags, slot.tagsJson, slot.tagsBytes);
      slot.tagsGeneration = generation;
    }
    if (slot.ctxGeneration !== generation) {
      slot.ctxIndex = open.ctxIndexOf(slot.ctx, slot.ctxBytes);
      slot.ctxGeneration = generation;
    }
    open.rows.push(
      unit.index,
      slot.tagsIndex,
      slot.ctxIndex,
      event.value,
      event.ts,
      event.ts_ingest,
      open.topicIndex(source.topic),
      source.partition,
      Number.isSafeInteger(offset) ? offset : source.offset,
      source.index,
    );
    open.bytes += rowBytes;
    this.#records++;
  }

  /** The messages of every envelope added so far, and a fresh start. */
  take(): OutgoingMessage[] {
    for (let partition = 0; partition < this.#partitions; partition++) {
      const open = this.#open[partition];
      if (open !== undefined) this.#finish(partition, open);
      this.#open[partition] = undefined;
    }
    const done = this.#done;
    this.#done = [];
    this.#records = 0;
    return done;
  }

  #slot(event: NormalizedEvent, ctx: StringMap): SeriesSlot {
    const slot = this.#slots.get(event.tenant, event.host, event.metric);
    if (slot !== undefined) return slot;
    if (this.#slots.size >= this.#maxSeries) this.#slots.clear();
    const unit = newUnitSlot(event);
    const tagsJson = JSON.stringify(event.tags);
    const created: SeriesSlot = {
      partition: partitionOf(seriesKey(event), this.#partitions),
      unit,
      units: [unit],
      tags: event.tags,
      tagsJson,
      tagsBytes: Buffer.byteLength(tagsJson),
      tagsGeneration: 0,
      tagsIndex: 0,
      ctx,
      ctxBytes: Buffer.byteLength(JSON.stringify(ctx)),
      ctxGeneration: 0,
      ctxIndex: 0,
    };
    this.#slots.set(event.tenant, event.host, event.metric, created);
    return created;
  }

  #openBatch(partition: number): OpenBatch {
    return new OpenBatch(++this.#generation, this.#rows[partition] ??= new RowColumns());
  }

  #finish(partition: number, open: OpenBatch): void {
    if (open.rows.length > 0) {
      this.#done.push({ topic: this.#topic, partition, value: Buffer.from(open.toJson()) });
    }
    open.rows.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

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
