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
  type BatchRows,
  type BatchSeries,
  ENRICHED_BATCH_FORMAT,
  type EnrichedBatch,
  EnrichedBatchSchema,
} from "../model/enriched_batch.ts";
import { type Envelope, ENVELOPE_VERSION, seriesKey } from "../model/envelope.ts";
import {
  isNonEmptyString,
  isNonNegativeInt,
  isPlainObject,
  isStringMap,
  METRIC,
  OFFSET,
} from "./envelope_guard.ts";

type StringMap = Readonly<Record<string, string>>;

/** Most bytes per message (counted in bytes, unlike the JSON arrays' characters): one produce request. */
export const MAX_BATCH_BYTES = MAX_REQUEST_BYTES - 4096;
/**
 * Upper bound of one row's bytes in the columns: value 24 characters (`-1.2345678901234567e+308`),
 * ts and ts_ingest 17 each (safe integers), offset 22 (a quoted decimal string beyond 2^53), partition
 * 10 (int32), index 16, four dictionary indices of 5 (a message has fewer than 100,000 entries), and
 * ten commas.
 */
const ROW_BYTES = 24 + 17 + 17 + 22 + 10 + 16 + 4 * 5 + 10;
/** Bytes of the message around the dictionaries and columns. */
const FRAME_BYTES = 256;

/** What the packer remembers of a series: its partition, and its entries in the partition's open batch. */
interface SeriesSlot {
  readonly partition: number;
  /** The open batch the fields below refer to. */
  generation: number;
  seriesIndex: number;
  unit: string;
  unitOriginal: string | undefined;
  tags: StringMap | undefined;
  tagsIndex: number;
  ctx: StringMap | undefined;
  ctxIndex: number;
}

function emptyRows(): BatchRows {
  return {
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
}

/** The batch being filled for one partition. */
class OpenBatch {
  readonly generation: number;
  readonly series: BatchSeries[] = [];
  readonly tags: StringMap[] = [];
  readonly ctx: StringMap[] = [];
  /** Contexts are shared per host (the inventory's frozen objects): found again by identity. */
  readonly ctxIndex = new Map<StringMap, number>();
  readonly topics: string[] = [];
  readonly rows: BatchRows = emptyRows();
  bytes = FRAME_BYTES;

  constructor(generation: number) {
    this.generation = generation;
  }

  /** Tags found again by their JSON text. */
  readonly tagsIndex = new Map<string, number>();

  /** Appends a dictionary entry; returns its index. */
  add<T>(dictionary: T[], entry: T, json = JSON.stringify(entry)): number {
    // At most 3 UTF-8 bytes per UTF-16 unit of the JSON text.
    this.bytes += json.length * 3 + 1;
    return dictionary.push(entry) - 1;
  }

  /** The index of tags equal to `tags`, added if new. */
  tagsIndexOf(tags: StringMap): number {
    const json = JSON.stringify(tags);
    let index = this.tagsIndex.get(json);
    if (index === undefined) {
      index = this.add(this.tags, tags, json);
      this.tagsIndex.set(json, index);
    }
    return index;
  }

  topicIndex(topic: string): number {
    const index = this.topics.indexOf(topic);
    return index >= 0 ? index : this.add(this.topics, topic);
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
      rows,
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

/**
 * Packs envelopes into enriched-batch messages, one per partition of their series key (or more,
 * each under `maxBytes`), each series in the order added. Remembers up to `maxSeries` series
 * (partition and dictionary entries) from one batch to the next.
 */
export class EnrichedBatchPacker {
  readonly #topic: string;
  readonly #partitions: number;
  readonly #maxBytes: number;
  readonly #maxSeries: number;
  readonly #slots = new SeriesMap<SeriesSlot>();
  readonly #open: (OpenBatch | undefined)[];
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
  }

  /** Number of envelopes added since the last {@link take}. */
  get records(): number {
    return this.#records;
  }

  /** Adds one envelope (its id must be `eventId(source)`: the batch derives ids from sources). */
  add(event: Envelope): void {
    const slot = this.#slot(event);
    let open = this.#open[slot.partition];
    if (open === undefined) {
      open = this.#open[slot.partition] = new OpenBatch(++this.#generation);
    } else if (open.bytes + ROW_BYTES > this.#maxBytes && open.rows.series.length > 0) {
      this.#finish(slot.partition, open);
      open = this.#open[slot.partition] = new OpenBatch(++this.#generation);
    }
    if (slot.generation !== open.generation) {
      slot.generation = open.generation;
      slot.tags = slot.ctx = undefined;
      this.#addSeries(open, slot, event);
    } else if (slot.unit !== event.unit || slot.unitOriginal !== event.unit_original) {
      this.#addSeries(open, slot, event);
    }
    if (slot.tags !== event.tags && (slot.tags === undefined || !sameStringMap(slot.tags, event.tags))) {
      slot.tags = event.tags;
      slot.tagsIndex = open.tagsIndexOf(event.tags);
    }
    if (slot.ctx !== event.ctx) {
      let index = open.ctxIndex.get(event.ctx);
      if (index === undefined) {
        index = open.add(open.ctx, event.ctx);
        open.ctxIndex.set(event.ctx, index);
      }
      slot.ctx = event.ctx;
      slot.ctxIndex = index;
    }
    const { source } = event;
    const offset = Number(source.offset);
    const rows = open.rows;
    rows.series.push(slot.seriesIndex);
    rows.tags.push(slot.tagsIndex);
    rows.ctx.push(slot.ctxIndex);
    rows.value.push(event.value);
    rows.ts.push(event.ts);
    rows.ts_ingest.push(event.ts_ingest);
    rows.topic.push(open.topicIndex(source.topic));
    rows.partition.push(source.partition);
    rows.offset.push(Number.isSafeInteger(offset) ? offset : source.offset);
    rows.index.push(source.index);
    open.bytes += ROW_BYTES;
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

  /** Drops what was added since the last {@link take} (a batch that failed half-way). */
  clear(): void {
    this.#open.fill(undefined);
    this.#done = [];
    this.#records = 0;
  }

  #slot(event: Envelope): SeriesSlot {
    const slot = this.#slots.get(event.tenant, event.host, event.metric);
    if (slot !== undefined) return slot;
    if (this.#slots.size >= this.#maxSeries) this.#slots.clear();
    const created: SeriesSlot = {
      partition: partitionOf(seriesKey(event), this.#partitions),
      generation: 0,
      seriesIndex: 0,
      unit: "",
      unitOriginal: undefined,
      tags: undefined,
      tagsIndex: 0,
      ctx: undefined,
      ctxIndex: 0,
    };
    this.#slots.set(event.tenant, event.host, event.metric, created);
    return created;
  }

  #addSeries(open: OpenBatch, slot: SeriesSlot, event: Envelope): void {
    const { tenant, host, metric, unit, unit_original } = event;
    slot.unit = unit;
    slot.unitOriginal = unit_original;
    slot.seriesIndex = open.add(
      open.series,
      unit_original === undefined
        ? { tenant, host, metric, unit }
        : { tenant, host, metric, unit, unit_original },
    );
  }

  #finish(partition: number, open: OpenBatch): void {
    if (open.rows.series.length === 0) return;
    this.#done.push({ topic: this.#topic, partition, value: Buffer.from(open.toJson()) });
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

function isExactSeries(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const hasOriginal = "unit_original" in value;
  return hasExactKeys(value, hasOriginal ? [...SERIES_KEYS, "unit_original"] : SERIES_KEYS) &&
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

function areColumn(values: unknown, length: number, check: (value: unknown) => boolean): boolean {
  if (!Array.isArray(values) || values.length !== length) return false;
  for (let i = 0; i < length; i++) if (!check(values[i])) return false;
  return true;
}

const isFiniteNumber = (v: unknown) => typeof v === "number" && Number.isFinite(v);
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
    areColumn(rows.value, length, isFiniteNumber) && areColumn(rows.ts, length, Number.isSafeInteger) &&
    areColumn(rows.ts_ingest, length, Number.isSafeInteger) &&
    areColumn(rows.partition, length, isNonNegativeInt) && areColumn(rows.index, length, isNonNegativeInt) &&
    areColumn(rows.offset, length, isOffset);
}

/** The envelopes of a valid batch, in row order. Tags and contexts are frozen and shared between rows. */
export function expandEnrichedBatch(batch: EnrichedBatch): Envelope[] {
  const { series, topics, rows } = batch;
  const tags = batch.tags.map((map) => Object.freeze(map));
  const ctx = batch.ctx.map((map) => Object.freeze(map));
  const length = rows.series.length;
  const events: Envelope[] = new Array(length);
  for (let i = 0; i < length; i++) {
    const s = series[rows.series[i]];
    const topic = topics[rows.topic[i]];
    const partition = rows.partition[i];
    const offset = String(rows.offset[i]);
    const index = rows.index[i];
    const id = `${topic}:${partition}:${offset}:${index}`;
    const source = { topic, partition, offset, index };
    events[i] = s.unit_original === undefined
      ? {
        v: ENVELOPE_VERSION,
        id,
        tenant: s.tenant,
        host: s.host,
        metric: s.metric,
        value: rows.value[i],
        unit: s.unit,
        ts: rows.ts[i],
        ts_ingest: rows.ts_ingest[i],
        tags: tags[rows.tags[i]],
        ctx: ctx[rows.ctx[i]],
        source,
      }
      : {
        v: ENVELOPE_VERSION,
        id,
        tenant: s.tenant,
        host: s.host,
        metric: s.metric,
        value: rows.value[i],
        unit: s.unit,
        unit_original: s.unit_original,
        ts: rows.ts[i],
        ts_ingest: rows.ts_ingest[i],
        tags: tags[rows.tags[i]],
        ctx: ctx[rows.ctx[i]],
        source,
      };
  }
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
