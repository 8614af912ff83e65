/**
 * Writing enriched batches (`schema.ts`): the stateless group packs its envelopes per partition of
 * their series with {@link EnrichedBatchPacker}; `read.ts` is the other direction.
 *
 * @module
 */
import { MAX_REQUEST_BYTES, type OutgoingMessage } from "../kafka/clients.ts";
import { partitionOf } from "../kafka/partition.ts";
import { SeriesMap } from "../lib/series_map.ts";
import { type BatchRows, type BatchSeries, ENRICHED_BATCH_FORMAT, type EnrichedBatch } from "./schema.ts";
import {
  type Envelope,
  ENVELOPE_VERSION,
  type NormalizedEvent,
  seriesKey,
  type Source,
} from "../model/envelope.ts";
import { RowColumns } from "./row_columns.ts";

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
    return JSON.stringify(this.toBatch(false));
  }

  /** The batch as an object; with `copyRows` its columns are copies (the packer reuses its own). */
  toBatch(copyRows: boolean): EnrichedBatch {
    const { series, tags, ctx, topics } = this;
    const rows = this.rows.rows();
    return {
      format: ENRICHED_BATCH_FORMAT,
      v: ENVELOPE_VERSION,
      series,
      tags,
      ctx,
      topics,
      rows: copyRows ? copyColumns(rows) : rows,
    };
  }
}

function copyColumns(rows: BatchRows): BatchRows {
  return {
    series: rows.series.slice(),
    tags: rows.tags.slice(),
    ctx: rows.ctx.slice(),
    value: rows.value.slice(),
    ts: rows.ts.slice(),
    ts_ingest: rows.ts_ingest.slice(),
    topic: rows.topic.slice(),
    partition: rows.partition.slice(),
    offset: rows.offset.slice(),
    index: rows.index.slice(),
  };
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
  /** Finished batches as objects, when {@link takeBatches} is used instead of {@link take}. */
  #doneBatches: EnrichedBatch[] | undefined;
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

  /**
   * A packer whose batches stay objects ({@link takeBatches}): one partition, no size limit, for
   * the local topology, which never writes them to Kafka.
   */
  static inMemory(maxSeries = 200_000): EnrichedBatchPacker {
    const packer = new EnrichedBatchPacker("", 1, Number.POSITIVE_INFINITY, maxSeries);
    packer.#doneBatches = [];
    return packer;
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

  /**
   * The batches of every envelope added so far as objects, not messages, and a fresh start: the
   * local topology keeps them in memory and reads them as `BatchRow`s, as the stateful group reads
   * what it decoded (no envelope object, no id string per event). Use either this or {@link take}.
   */
  takeBatches(): EnrichedBatch[] {
    const batches = this.#doneBatches;
    if (batches === undefined) throw new Error("takeBatches: this packer writes messages (use inMemory())");
    for (let partition = 0; partition < this.#partitions; partition++) {
      const open = this.#open[partition];
      if (open !== undefined) this.#finish(partition, open);
      this.#open[partition] = undefined;
    }
    this.#doneBatches = [];
    this.#records = 0;
    return batches;
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
      if (this.#doneBatches) this.#doneBatches.push(open.toBatch(true));
      else this.#done.push({ topic: this.#topic, partition, value: Buffer.from(open.toJson()) });
    }
    open.rows.clear();
  }
}
