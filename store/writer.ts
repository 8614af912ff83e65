/**
 * The store writer: one DuckDB transaction per batch of enriched events (+ alerts), exactly once.
 *
 * Rows go to `metric_rows` (numbers only) with the id of their series; series seen for the first
 * time are appended to `series` in the same transaction (ids from `SeriesIds`). The `metrics` view
 * joins the two back.
 *
 * Exactly-once: an event's identity is its source position (topic, partition, offset, index). The
 * envelope `id` is exactly `eventId(source)` (`EnvelopeSchema` requires it, so the stateful group's
 * decoder sends any other to the DLQ); the view derives `id` from the source columns and the writer
 * does not look at `id`. Before appending, the writer asks DuckDB which of the batch's keys
 * already exist — in `metrics` (hot) or `exported_keys` (moved to Parquet) — restricted to the batch's
 * offset range per topic/partition, so zone maps skip almost everything, and gets them back as one
 * string. Duplicates (and repeats inside the batch) are dropped in JS; the rest is appended with
 * `DuckDBDataChunk` + `appendDataChunk` in chunks of 2048 rows, yielding to the event loop between
 * chunks. Check and append run in the same transaction, and the writer is the only one, so nothing can
 * slip in between. The transaction commits to the WAL before `writeBatch` returns; DuckDB
 * checkpoints automatically when the WAL passes `checkpoint_threshold`.
 *
 * Alerts are appended the same way, numbered by the writer from the highest stored `seq`. An alert
 * id that is stored already (a replay) makes the append fail on the primary key: the batch is then
 * rolled back and written again with {@link INSERT_ALERTS_SQL}, which skips stored ids.
 *
 * @module
 */
import { readAllBound, runBound, StatementCache } from "./bound.ts";
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import type { Envelope } from "../model/envelope.ts";
import type { Alert } from "../model/alert.ts";
import { rawChunksVerified } from "./chunk.ts";
import { stringifyReadable } from "./json_text.ts";
import { Mutex } from "./lock.ts";
import type { RestoredLane } from "./restored.ts";
import { type MarkBatch, SeriesMarks } from "./series_marks.ts";
import { SeriesIds } from "./series_ids.ts";
import type { Store } from "./open.ts";
import type { StoredAlert } from "../model/query.ts";
import {
  appendInChunks,
  createWriterChunks,
  fillAlertChunk,
  fillRowChunk,
  fillSeriesChunk,
  TableAppenders,
  type WriterChunks,
} from "./writer_chunks.ts";

export { yieldToEventLoop } from "./writer_chunks.ts";

/** Outcome of one {@link StoreWriter.writeBatch}. */
export interface WriteResult {
  /** Events stored by this call. */
  inserted: number;
  /** Events skipped because their source key was already stored (or repeated in the batch). */
  duplicates: number;
  /** Alerts stored by this call (alerts whose id was already stored are skipped). */
  alertsInserted: number;
  /** The alerts stored by this call with their assigned `seq`, ascending. */
  storedAlerts: StoredAlert[];
}

/** Cumulative counters of a writer (for the agent's own metrics). */
export interface WriterStats {
  batches: number;
  inserted: number;
  duplicates: number;
  alertsInserted: number;
  /** Batches whose alert append failed (a stored alert id again) and that were redone by the statement. */
  alertRetries: number;
  /** Time spent looking up existing keys. */
  checkMs: number;
  /** Batches that had to ask DuckDB which of their keys are stored (the rest were provably new). */
  lookups: number;
  /** Time spent filling and appending data chunks (including yields). */
  appendMs: number;
  /** Time spent in COMMIT (WAL write, fsync, automatic checkpoints). */
  commitMs: number;
}

/** Inserts the lanes of {@link StoreWriter.recordRestored} ($1: JSON array of them, $2: the store). */
const INSERT_RESTORED_ROWS_SQL = `INSERT INTO restored_rows
SELECT $2, l.tenant, l.host, l.metric, l.src_topic, l.src_partition, l.min_offset, l.max_offset, now()
FROM (SELECT unnest(from_json($1::JSON, '${
  JSON.stringify([{
    tenant: "VARCHAR",
    host: "VARCHAR",
    metric: "VARCHAR",
    src_topic: "VARCHAR",
    src_partition: "INTEGER",
    min_offset: "BIGINT",
    max_offset: "BIGINT",
  }])
}'), recursive := true)) l`;

/** Marks restored alerts ($1: JSON array of their ids, $2: the store). */
const INSERT_RESTORED_ALERTS_SQL =
  `INSERT INTO restored_alerts SELECT unnest(from_json($1::JSON, '["VARCHAR"]')), $2, now()`;

/** Writer tuning. */
export interface StoreWriterOptions {
  /** Rows per appended data chunk (DuckDB's vector size is 2048). */
  chunkRows?: number;
  /** Use the raw chunk path of `store/chunk.ts` when it verifies (default true). */
  rawChunks?: boolean;
}

const ALERT_STRUCT = JSON.stringify([{
  ord: "INTEGER",
  id: "VARCHAR",
  fingerprint: "VARCHAR",
  rule: "VARCHAR",
  tenant: "VARCHAR",
  host: "VARCHAR",
  metric: "VARCHAR",
  severity: "VARCHAR",
  state: "VARCHAR",
  value: "DOUBLE",
  threshold: "DOUBLE",
  starts_at: "BIGINT",
  ends_at: "BIGINT",
  ts: "BIGINT",
  labels: "JSON",
  annotations: "JSON",
}]);

/**
 * Inserts alerts whose id is not stored yet, numbered on from the highest stored seq: the restore of
 * a departed agent's alerts, and a batch whose alert append failed (see the module's description).
 */
const INSERT_ALERTS_SQL = `INSERT INTO alerts
SELECT (SELECT coalesce(max(seq), 0) FROM alerts) + row_number() OVER (ORDER BY a.ord) AS seq,
  a.id, a.fingerprint, a.rule, a.tenant, a.host, a.metric, a.severity, a.state, a."value", a.threshold,
  make_timestamptz(a.starts_at * 1000), make_timestamptz(a.ends_at * 1000), make_timestamptz(a.ts * 1000),
  a.labels, a.annotations, now()
FROM (SELECT unnest(from_json($1::JSON, ${`'${ALERT_STRUCT}'`}), recursive := true)) a
WHERE a.id NOT IN (
  -- An alert's id includes its time, so only the stored alerts in the batch's time range can repeat
  -- one: the range keeps the anti-join's hash table small (zone maps skip the older row groups).
  -- Uncorrelated, so DuckDB builds that one hash table and nothing else (a correlated NOT EXISTS
  -- first collected the batch's ids in one more: see ALERTS_AFTER_SQL in notify.ts for the cost).
  SELECT x.id FROM alerts x
  WHERE x.ts BETWEEN make_timestamptz($2::BIGINT * 1000) AND make_timestamptz($3::BIGINT * 1000)
)
RETURNING seq, id`;

interface Range {
  topic: string;
  partition: number;
  lo: number;
  hi: number;
}

/** The writer's connection and what it keeps per store. */
interface Session {
  conn: DuckDBConnection;
  /** The alert insert, prepared once (it runs on every batch with alerts). */
  statements: StatementCache;
  raw: boolean;
  /** Loaded on the first write and again after a failed one. */
  series: SeriesIds | undefined;
  /** The highest alert seq stored; read on the first alert append and again after a failure. */
  alertSeq: number | undefined;
}

/** The highest alert seq stored (0 when none). */
const MAX_ALERT_SEQ_SQL = "SELECT coalesce(max(seq), 0) FROM alerts";

/** A batch's alerts could not be appended (a stored id repeated, or the append failed otherwise). */
class AlertAppendFailed extends Error {
  constructor(cause: unknown) {
    super("alert append failed", { cause });
  }
}

function rangeKey(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

/** Appends events, deduplicated by source key, and alerts, deduplicated by id. */
export class StoreWriter {
  readonly #store: Store;
  readonly #chunkRows: number;
  readonly #mutex = new Mutex();
  #prefiltered: { events: readonly Envelope[]; ranges: Map<string, Range>; marks: MarkBatch } | undefined;
  readonly #seriesMarks = new SeriesMarks();
  readonly #stats: WriterStats = {
    batches: 0,
    inserted: 0,
    duplicates: 0,
    alertsInserted: 0,
    alertRetries: 0,
    checkMs: 0,
    lookups: 0,
    appendMs: 0,
    commitMs: 0,
  };
  readonly #options: StoreWriterOptions;
  #ready: Promise<Session> | undefined;
  #raw: boolean | undefined;
  #chunks: WriterChunks | undefined;
  readonly #appenders = new TableAppenders();
  #closed = false;
  #maxOffsets: Map<string, number> | undefined;

  /** A writer on its own connection, opened on first use. The store must be writable. */
  constructor(store: Store, options: StoreWriterOptions = {}) {
    if (store.readOnly) throw new Error("store is open read-only");
    this.#store = store;
    this.#options = options;
    this.#chunkRows = Math.max(1, Math.min(options.chunkRows ?? 2048, 2048));
  }

  /** Opens the writer now (connection + raw chunk check) instead of on first use. */
  static async open(store: Store, options: StoreWriterOptions = {}): Promise<StoreWriter> {
    const writer = new StoreWriter(store, options);
    await writer.#connection();
    return writer;
  }

  #connection(): Promise<Session> {
    this.#ready ??= (async () => {
      const conn = await this.#store.connect();
      const raw = this.#options.rawChunks !== false && await rawChunksVerified(conn);
      this.#raw = raw;
      return { conn, statements: new StatementCache(conn), raw, series: undefined, alertSeq: undefined };
    })();
    return this.#ready;
  }

  /**
   * Stores a batch, durable (committed to the WAL) when the promise resolves: its rows in one atomic
   * append (their new series committed just before), and everything in one transaction when the
   * batch has alerts.
   * Events whose source key is already stored — hot or exported to Parquet — are skipped, so a
   * replay after a crash, a rebalance or a restart inserts nothing twice. Calls are serialized.
   */
  writeBatch(events: readonly Envelope[], alerts: readonly Alert[] = []): Promise<WriteResult> {
    // Exclusive: no query may scan a table while the batch appends to it (Store.access says why).
    return this.#mutex.run(() => this.#store.access.write(() => this.#write(events, alerts)));
  }

  /** Whether the raw (fast) chunk path is in use; undefined until the writer is opened. */
  get rawChunks(): boolean | undefined {
    return this.#raw;
  }

  /**
   * The events whose source key is not stored yet (first occurrence of repeats), in order: lets the
   * pipeline skip features and rules for replayed events. A `writeBatch` of the returned array right
   * after skips the lookup; any other array is checked again.
   */
  filterUnseen(events: readonly Envelope[]): Promise<Envelope[]> {
    return this.#mutex.run(async () => {
      if (this.#closed) throw new Error("store writer is closed");
      if (events.length === 0) return [];
      const { conn } = await this.#connection();
      const ranges = new Map<string, Range>();
      const { fresh, marks } = await this.#freshEvents(conn, events, ranges);
      // The next writeBatch of exactly this array skips the second lookup (calls are serialized and
      // this writer is the store's only writer, so nothing can be stored in between).
      this.#prefiltered = { events: fresh, ranges, marks };
      return fresh;
    });
  }

  /** A copy of the cumulative counters. */
  get stats(): WriterStats {
    return { ...this.#stats };
  }

  /**
   * Records the rows restored from the departed store `store` (`restored_rows`), one transaction:
   * while that store is back in the group, reads leave these copies out (`Store.hideRestoredFrom`).
   */
  recordRestored(store: string, lanes: readonly RestoredLane[]): Promise<void> {
    return this.#mutex.run(async () => {
      if (this.#closed) throw new Error("store writer is closed");
      if (lanes.length === 0) return;
      const { conn } = await this.#connection();
      const rows = lanes.map((lane) => ({
        tenant: lane.tenant,
        host: lane.host,
        metric: lane.metric,
        src_topic: lane.srcTopic,
        src_partition: lane.srcPartition,
        // Kafka offsets stay far below 2^53: exact as JSON numbers.
        min_offset: Number(lane.minOffset),
        max_offset: Number(lane.maxOffset),
      }));
      await this.#store.access.write(() =>
        runBound(conn, INSERT_RESTORED_ROWS_SQL, [stringifyReadable(rows), store])
      );
    });
  }

  /**
   * Stores the alerts restored from the departed store `store` (those whose id is stored already are
   * skipped) and marks them restored (`restored_alerts`: never dispatched), one transaction; resolves
   * with the alerts stored.
   */
  restoreAlerts(store: string, alerts: readonly Alert[]): Promise<StoredAlert[]> {
    return this.#mutex.run(async () => {
      if (this.#closed) throw new Error("store writer is closed");
      if (alerts.length === 0) return [];
      const session = await this.#connection();
      const { conn, statements } = session;
      return await this.#store.access.write(async () => {
        await conn.run("BEGIN TRANSACTION");
        try {
          session.alertSeq = undefined; // numbered from the table: the writer's count is read again
          const stored = await this.#insertAlerts(statements, alerts);
          if (stored.length > 0) {
            await runBound(conn, INSERT_RESTORED_ALERTS_SQL, [
              JSON.stringify(stored.map((alert) => alert.id)),
              store,
            ]);
          }
          await conn.run("COMMIT");
          return stored;
        } catch (error) {
          await conn.run("ROLLBACK").catch(() => undefined);
          throw error;
        }
      });
    });
  }

  /** Forces a checkpoint (WAL folded into the database file). Not needed per batch. */
  checkpoint(): Promise<void> {
    return this.#mutex.run(async () => {
      const { conn } = await this.#connection();
      await this.#store.access.write(() => conn.run("CHECKPOINT"));
    });
  }

  /** Releases the writer's connection (waits for a running batch). */
  async close(): Promise<void> {
    await this.#mutex.run(async () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#appenders.discard();
      if (this.#ready === undefined || this.#store.closed) return;
      const { conn, statements } = await this.#ready;
      statements.destroy();
      this.#store.release(conn);
    });
  }

  /**
   * Stores one batch. Its alerts are appended like its rows (no statement, so no native handles per
   * batch: see `ReusableChunk`); when that fails (an alert id already stored: a replay), the whole
   * batch is rolled back and written again with the statement that skips stored ids.
   */
  async #write(
    events: readonly Envelope[],
    alerts: readonly Alert[],
    alertsBySql = false,
  ): Promise<WriteResult> {
    if (this.#closed) throw new Error("store writer is closed");
    if (events.length === 0 && alerts.length === 0) {
      return { inserted: 0, duplicates: 0, alertsInserted: 0, storedAlerts: [] };
    }
    const session = await this.#connection();
    const { conn, raw, statements } = session;
    const series = session.series ??= await SeriesIds.load(conn);
    const stats = this.#stats;
    // A batch with alerts is one transaction: its rows must never be stored without its alerts (a
    // replay skips the rules for stored events). Without alerts, each table's append is atomic on
    // its own (series before rows), which spares two statements, and their native handles, per batch.
    const transaction = alerts.length > 0;
    const prefiltered = this.#prefiltered?.events === events ? this.#prefiltered : undefined;
    this.#prefiltered = undefined;
    if (transaction) await conn.run("BEGIN TRANSACTION");
    try {
      let t = performance.now();
      const ranges = prefiltered?.ranges ?? new Map<string, Range>();
      const { fresh, marks } = prefiltered
        ? { fresh: events, marks: prefiltered.marks }
        : await this.#freshEvents(conn, events, ranges);
      stats.checkMs += performance.now() - t;
      t = performance.now();
      if (fresh.length > 0) await this.#append(conn, raw, series, fresh);
      stats.appendMs += performance.now() - t;
      let storedAlerts: StoredAlert[] = [];
      if (alerts.length > 0 && alertsBySql) {
        session.alertSeq = undefined; // numbered from the table: the writer's count is read again
        storedAlerts = await this.#insertAlerts(statements, alerts);
      } else if (alerts.length > 0) {
        storedAlerts = await this.#appendAlerts(session, alerts);
      }
      const alertsInserted = storedAlerts.length;
      t = performance.now();
      if (transaction) await conn.run("COMMIT");
      series.commit();
      stats.commitMs += performance.now() - t;
      this.#raiseWatermarks(ranges);
      this.#seriesMarks.commit(marks);
      stats.batches++;
      stats.inserted += fresh.length;
      stats.duplicates += events.length - fresh.length;
      stats.alertsInserted += alertsInserted;
      return {
        inserted: fresh.length,
        duplicates: events.length - fresh.length,
        alertsInserted,
        storedAlerts,
      };
    } catch (error) {
      this.#appenders.discard();
      if (transaction) await conn.run("ROLLBACK").catch(() => undefined);
      // A failed COMMIT may or may not have stored the batch's new series: ask the store next time.
      session.series = undefined;
      session.alertSeq = undefined;
      if (error instanceof AlertAppendFailed && !alertsBySql) {
        // The prefiltered events (if any) were checked against the store as it still is.
        if (prefiltered !== undefined) this.#prefiltered = prefiltered;
        stats.alertRetries++;
        return await this.#write(events, alerts, true);
      }
      throw error;
    }
  }

  /** Appends the batch's alerts (the first of each id), numbered on from the highest stored seq. */
  async #appendAlerts(session: Session, alerts: readonly Alert[]): Promise<StoredAlert[]> {
    const { conn, raw } = session;
    const ids = new Set<string>();
    const unique: Alert[] = [];
    for (const alert of alerts) {
      if (ids.has(alert.id)) continue;
      ids.add(alert.id);
      unique.push(alert);
    }
    const base = session.alertSeq ?? Number((await conn.runAndReadAll(MAX_ALERT_SEQ_SQL)).getRows()[0][0]);
    const chunks = this.#chunks ??= createWriterChunks();
    const insertedAt = Date.now();
    try {
      const appender = await this.#appenders.of(conn, "alerts");
      await appendInChunks(
        appender,
        unique.length,
        this.#chunkRows,
        (from, to) => fillAlertChunk(unique, from, to, raw, base + 1, insertedAt, chunks.alerts),
      );
      appender.flushSync();
    } catch (error) {
      throw new AlertAppendFailed(error);
    }
    session.alertSeq = base + unique.length;
    return unique.map((alert, index) => ({ ...alert, seq: base + 1 + index }));
  }

  /**
   * Highest stored offset per topic/partition (hot or exported), loaded once. A batch range entirely
   * above it cannot contain stored keys, so the common case (new data) skips the lookup. The value
   * only ever rises, and is raised after COMMIT, so it is always an upper bound: never unsafe.
   */
  async #watermarks(conn: DuckDBConnection): Promise<Map<string, number>> {
    if (this.#maxOffsets !== undefined) return this.#maxOffsets;
    const reader = await conn.runAndReadAll(
      `SELECT src_topic, src_partition, max(src_offset) FROM (
         SELECT s.src_topic, r.src_partition, max(r.src_offset) AS src_offset
         FROM (SELECT series_id, src_partition, max(src_offset) AS src_offset FROM metric_rows GROUP BY ALL) r
         JOIN series s ON s.id = r.series_id GROUP BY ALL
         UNION ALL
         SELECT src_topic, src_partition, max(src_offset) AS src_offset FROM exported_keys GROUP BY ALL
       ) GROUP BY ALL`,
    );
    const map = new Map<string, number>();
    for (const [topic, partition, max] of reader.getRows()) {
      map.set(rangeKey(String(topic), Number(partition)), Number(max));
    }
    this.#maxOffsets = map;
    return map;
  }

  /**
   * The batch's events whose source key is not stored yet, first occurrence only, and the series
   * marks the batch leaves. DuckDB is asked only when a series' events do not all lie above what
   * is known to be stored (a replay, a restart, a series seen for the first time below the store's
   * highest offset).
   */
  async #freshEvents(
    conn: DuckDBConnection,
    events: readonly Envelope[],
    ranges: Map<string, Range>,
  ): Promise<{ fresh: Envelope[]; marks: MarkBatch }> {
    const watermarks = await this.#watermarks(conn);
    const marks = this.#seriesMarks.begin((topic, partition) =>
      watermarks.get(rangeKey(topic, partition)) ?? -1
    );
    if (events.length === 0) return { fresh: [], marks };
    // Per-topic arrays indexed by partition: no string keys built per event.
    let lastTopic = "";
    let byPartition: Range[] = [];
    const topics = new Map<string, Range[]>();
    for (const event of events) {
      const { topic, partition } = event.source;
      // Offsets are compared as numbers: exact below 2^53 (centuries of offsets at 1M msg/s).
      const offset = Number(event.source.offset);
      if (!Number.isSafeInteger(offset)) throw new RangeError(`offset ${event.source.offset} is beyond 2^53`);
      if (topic !== lastTopic || topics.size === 0) {
        let found = topics.get(topic);
        if (found === undefined) topics.set(topic, found = []);
        byPartition = found;
        lastTopic = topic;
      }
      let range = byPartition[partition];
      if (range === undefined) {
        range = { topic, partition, lo: offset, hi: offset };
        byPartition[partition] = range;
        ranges.set(rangeKey(topic, partition), range);
      } else {
        if (offset < range.lo) range.lo = offset;
        if (offset > range.hi) range.hi = offset;
      }
      marks.observe(event, offset);
    }
    // Common case: every series continues above its mark -> nothing stored, no repeats.
    if (marks.strictlyNew) return { fresh: [...events], marks };
    const overlapping = [...ranges.entries()]
      .filter(([key, range]) => {
        const max = watermarks.get(key);
        return max !== undefined && range.lo <= max;
      })
      .map(([, range]) => range);
    if (overlapping.length > 0) this.#stats.lookups++;
    const seen = overlapping.length > 0
      ? await existingKeys(conn, overlapping)
      : new Map<string, Set<string>>();
    const batch = new Set<string>();
    const fresh: Envelope[] = [];
    for (const event of events) {
      const { topic, partition, offset, index } = event.source;
      const key = `${partition}:${offset}:${index}`; // offsets are canonical (checked above)
      const batchKey = `${key}:${topic}`;
      if (batch.has(batchKey)) continue;
      batch.add(batchKey);
      if (seen.get(topic)?.has(key)) continue;
      fresh.push(event);
    }
    return { fresh, marks };
  }

  /** Appends rows with data chunks, yielding between chunks, then the series they introduced. */
  async #append(
    conn: DuckDBConnection,
    raw: boolean,
    series: SeriesIds,
    events: readonly Envelope[],
  ): Promise<void> {
    const rows = this.#chunkRows;
    const chunks = this.#chunks ??= createWriterChunks();
    const rowAppender = await this.#appenders.of(conn, "metric_rows");
    await appendInChunks(
      rowAppender,
      events.length,
      rows,
      (from, to) => fillRowChunk(events, from, to, raw, series, chunks.rows),
    );
    // The series first: without a transaction each flush commits, and a row must never be
    // visible before its series.
    const added = series.pending;
    if (added.length > 0) {
      const seriesAppender = await this.#appenders.of(conn, "series");
      await appendInChunks(
        seriesAppender,
        added.length,
        rows,
        (from, to) => fillSeriesChunk(added, from, to, raw, chunks.series),
      );
      seriesAppender.flushSync();
    }
    rowAppender.flushSync();
  }

  #raiseWatermarks(ranges: Map<string, Range>): void {
    const watermarks = this.#maxOffsets;
    if (watermarks === undefined) return;
    for (const [key, range] of ranges) {
      const max = watermarks.get(key);
      if (max === undefined || range.hi > max) watermarks.set(key, range.hi);
    }
  }

  async #insertAlerts(statements: StatementCache, alerts: readonly Alert[]): Promise<StoredAlert[]> {
    const ids = new Set<string>();
    const rows = [];
    let fromTs = Number.POSITIVE_INFINITY;
    let toTs = Number.NEGATIVE_INFINITY;
    for (const alert of alerts) {
      if (ids.has(alert.id)) continue;
      ids.add(alert.id);
      fromTs = Math.min(fromTs, alert.ts);
      toTs = Math.max(toTs, alert.ts);
      rows.push({
        ord: rows.length,
        id: alert.id,
        fingerprint: alert.fingerprint,
        rule: alert.rule,
        tenant: alert.tenant,
        host: alert.host,
        metric: alert.metric,
        severity: alert.severity,
        state: alert.state,
        value: alert.value,
        threshold: alert.threshold,
        starts_at: alert.starts_at,
        ends_at: alert.ends_at,
        ts: alert.ts,
        labels: alert.labels,
        annotations: alert.annotations,
      });
    }
    const reader = await statements.readAll(INSERT_ALERTS_SQL, [
      stringifyReadable(rows),
      BigInt(Math.floor(fromTs)),
      BigInt(Math.ceil(toTs)),
    ]);
    const byId = new Map(alerts.map((alert) => [alert.id, alert]));
    return reader.getRows()
      .map(([seq, id]) => ({ ...byId.get(String(id))!, seq: Number(seq) }))
      .sort((a, b) => a.seq - b.seq);
  }
}

/** Stored keys within the ranges, per topic, as `partition:offset:index` strings. */
async function existingKeys(
  conn: DuckDBConnection,
  ranges: readonly Range[],
): Promise<Map<string, Set<string>>> {
  // One scan per table: the overall offset range prunes row groups through zone maps; the
  // per-partition ranges are applied as a residual filter.
  const params: DuckDBValue[] = [];
  let lo = ranges[0].lo;
  let hi = ranges[0].hi;
  const filters = ranges.map((range) => {
    if (range.lo < lo) lo = range.lo;
    if (range.hi > hi) hi = range.hi;
    params.push(range.topic, range.partition, BigInt(range.lo), BigInt(range.hi));
    const n = params.length;
    return `(src_topic = $${n - 3} AND src_partition = $${n - 2}::INTEGER AND src_offset BETWEEN $${
      n - 1
    }::BIGINT AND $${n}::BIGINT)`;
  });
  params.push(BigInt(lo), BigInt(hi));
  const where = `src_offset BETWEEN $${params.length - 1}::BIGINT AND $${params.length}::BIGINT AND (${
    filters.join(" OR ")
  })`;
  const reader = await readAllBound(
    conn,
    `SELECT src_topic, string_agg(src_partition || ':' || src_offset || ':' || src_index, ',') FROM (
       SELECT src_topic, src_partition, src_offset, src_index FROM metrics WHERE ${where}
       UNION ALL
       SELECT src_topic, src_partition, src_offset, src_index FROM exported_keys WHERE ${where}
     ) GROUP BY src_topic`,
    params,
  );
  const seen = new Map<string, Set<string>>();
  for (const [topic, keys] of reader.getRows()) {
    seen.set(String(topic), new Set(String(keys).split(",")));
  }
  return seen;
}
