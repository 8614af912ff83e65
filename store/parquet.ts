/**
 * Cold storage: hot rows move to hive-partitioned Parquet files, small parts are compacted, old
 * partitions are deleted.
 *
 * ```
 * <data>/parquet/tenant=<t>/metric=<m>/date=<YYYY-MM-DD>/part-<NNNN>.parquet
 * ```
 *
 * Files hold every column except `tenant`, `metric` (from the path) and `id` (derived from the source
 * columns). The table `parquet_parts` is the manifest: a part file is committed exactly when its
 * manifest row is. Every change follows the same protocol, so a crash at any point neither loses nor
 * duplicates a row:
 *
 * 1. DuckDB writes new files under a temporary name (`<data>/.staging/<uuid>/…`, or `.…parquet.tmp`
 *    inside the partition) that the `*.parquet` glob of the view never matches;
 * 2. in ONE DuckDB transaction: the manifest rows change, and for an export the moved rows are
 *    deleted from `metrics` and their source keys added to `exported_keys` (so replays stay
 *    exactly-once);
 * 3. holding the store's file lock exclusively (queries wait): Deno links the temporary files to
 *    their final names (`link` never overwrites), the transaction commits, old files are removed.
 *
 * A crash before the commit leaves final-named files that the manifest does not list: the rows are
 * still hot (or still in the old parts), so `reconcileParquet` (`reconcile.ts`, run by every
 * writable open) deletes them. A crash after the commit leaves superseded files the manifest no longer lists:
 * deleted the same way. Temporary files and the staging directory are always deleted.
 *
 * @module
 */
import { readAllBound, runBound } from "./bound.ts";
import { type DuckDBConnection, listValue } from "@duckdb/node-api";
import { assertRealPath, mkdirInside } from "./confine.ts";
import { readableJson } from "./json_text.ts";
import type { Store } from "./open.ts";
import {
  damagedPartNumbers,
  insertManifest,
  manifestParts,
  type ManifestRow,
  nextPartNumber,
  parquetRowCounts,
} from "./parquet_manifest.ts";
import { listParquetFiles, removeEmptyDirs, removeIfEmpty, STAGING_DIR } from "./parquet_files.ts";
import {
  joinPath,
  parsePartitionDir,
  partFileName,
  partitionDir,
  type PartitionKey,
  QUARANTINE_DIR,
  sqlString,
  TMP_SUFFIX,
  utcDate,
} from "./paths.ts";

/** Outcome of {@link ParquetArchiver.exportCold}. */
export interface ExportStats {
  /** Rows moved from the hot table to Parquet. */
  rows: number;
  /** Part files written. */
  files: number;
  /** Bytes written. */
  bytes: number;
  /** Partitions touched. */
  partitions: number;
  /** Old rows left hot because their tenant name is too long for a directory name (> 77 bytes). */
  skipped: number;
  ms: number;
}

/** Outcome of {@link ParquetArchiver.compact}. */
export interface CompactStats {
  /** Partitions compacted. */
  partitions: number;
  /** Part files merged (and removed). */
  filesIn: number;
  /** Part files written. */
  files: number;
  rows: number;
  /** Bytes of the new files. */
  bytes: number;
  ms: number;
}

/** Outcome of {@link ParquetArchiver.applyRetention}. */
export interface RetentionStats {
  /** Partitions (days) deleted. */
  partitions: number;
  /** Part files deleted. */
  files: number;
  /** Bytes freed by deleted files. */
  bytes: number;
  /** Rows of the deleted files. */
  rows: number;
  /** Hot rows older than the cutoff deleted as well. */
  hotRows: number;
  ms: number;
}

/** Tenant/metric values longer than this (UTF-8 bytes) stay hot: 3 x 77 + 7 fits a 240-byte name. */
const MAX_PATH_VALUE_BYTES = 77;

/** Columns stored in Parquet files, in file order. */
const FILE_COLUMNS = `host, "value", unit, unit_original, ts, ts_ingest, ${readableJson("tags")} AS tags,
  ${readableJson("ctx")} AS ctx, src_topic, src_partition, src_offset, src_index`;

/** Runs export, compaction and retention on its own connection, one job at a time. */
export class ParquetArchiver {
  readonly #store: Store;
  #connection: Promise<DuckDBConnection> | undefined;
  #closed = false;

  /** An archiver on its own connection, opened on first use. The store must be writable. */
  constructor(store: Store) {
    if (store.readOnly) throw new Error("store is open read-only");
    this.#store = store;
  }

  /** Opens the archiver (and its connection) now. */
  static async open(store: Store): Promise<ParquetArchiver> {
    const archiver = new ParquetArchiver(store);
    await archiver.#conn();
    return archiver;
  }

  #conn(): Promise<DuckDBConnection> {
    if (this.#closed) return Promise.reject(new Error("archiver is closed"));
    this.#connection ??= this.#store.connect();
    return this.#connection;
  }

  /** Releases the archiver's connection (waits for a running job). */
  close(): Promise<void> {
    return this.#store.maintenance.run(async () => {
      if (this.#closed) return;
      this.#closed = true;
      if (this.#connection !== undefined && !this.#store.closed) this.#store.release(await this.#connection);
    });
  }

  /**
   * Moves hot rows with `ts < nowMs - olderThanMs` to Parquet, one new part per tenant/metric/UTC day,
   * and deletes them from the hot table in the same transaction.
   */
  exportCold(olderThanMs: number, nowMs: number): Promise<ExportStats> {
    return this.#store.maintenance.run(() => this.#exportCold(nowMs - olderThanMs));
  }

  /** Merges the parts of every partition that has at least `minParts` parts into one part. */
  compact(minParts: number): Promise<CompactStats> {
    return this.#store.maintenance.run(() => this.#compact(Math.max(2, minParts)));
  }

  /**
   * Deletes partitions whose day is entirely older than `nowMs - retentionMs` (and hot rows older
   * than that instant). `retentionMs <= 0` keeps everything.
   */
  applyRetention(retentionMs: number, nowMs: number): Promise<RetentionStats> {
    return this.#store.maintenance.run(() => this.#applyRetention(retentionMs, nowMs));
  }

  async #exportCold(cutoffMs: number): Promise<ExportStats> {
    const started = performance.now();
    const store = this.#store;
    const conn = await this.#conn();
    const cutoff = BigInt(Math.floor(cutoffMs));
    const stats: ExportStats = { rows: 0, files: 0, bytes: 0, partitions: 0, skipped: 0, ms: 0 };
    const stagingRoot = joinPath(store.dataDir, STAGING_DIR);
    const staging = joinPath(stagingRoot, crypto.randomUUID());
    const linked: string[] = [];
    let committed = false;
    let stagingMade = false;
    await conn.run("BEGIN TRANSACTION");
    try {
      const fits = `strlen(tenant) <= ${MAX_PATH_VALUE_BYTES} AND strlen(metric) <= ${MAX_PATH_VALUE_BYTES}`;
      const old = `ts < make_timestamptz($1::BIGINT * 1000)`;
      // Each scan holds the store's access shared: no writer batch appends meanwhile (Store.access).
      const groups = await store.access.read(() =>
        readAllBound(
          conn,
          `SELECT tenant, metric, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d') AS date, count(*)::DOUBLE,
                epoch_ms(min(ts))::DOUBLE, epoch_ms(max(ts))::DOUBLE, bool_and(${fits})
         FROM metrics WHERE ${old} GROUP BY ALL`,
          [cutoff],
        )
      );
      const partitions = new Map<string, { key: PartitionKey; rows: number; minTs: number; maxTs: number }>();
      for (const [tenant, metric, date, rows, minTs, maxTs, ok] of groups.getRows()) {
        if (ok !== true) {
          stats.skipped += Number(rows);
          continue;
        }
        const key = { tenant: String(tenant), metric: String(metric), date: String(date) };
        partitions.set(partitionDir(key), {
          key,
          rows: Number(rows),
          minTs: Number(minTs),
          maxTs: Number(maxTs),
        });
      }
      if (partitions.size === 0) {
        await conn.run("ROLLBACK");
        stats.ms = performance.now() - started;
        return stats;
      }
      await mkdirInside(store.dataDir, staging);
      stagingMade = true;
      const copied = await store.access.read(() =>
        readAllBound(
          conn,
          `COPY (SELECT tenant, metric, (ts AT TIME ZONE 'UTC')::DATE AS date, ${FILE_COLUMNS}
               FROM metrics WHERE ${old} AND ${fits} ORDER BY tenant, metric, ts, host)
         TO ${sqlString(staging)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (tenant, metric, date))`,
          [cutoff],
        )
      );
      const copiedRows = Number(copied.getRows()[0]?.[0] ?? 0);
      const expected = [...partitions.values()].reduce((sum, p) => sum + p.rows, 0);
      if (copiedRows !== expected) throw new Error(`export wrote ${copiedRows} rows, expected ${expected}`);

      // Staged files, keyed by the partition DuckDB's own directory names decode to.
      const staged = await listParquetFiles(staging);
      const fileRows = await parquetRowCounts(conn, staged.map((f) => f.abs));
      const manifest: ManifestRow[] = [];
      const moves: { from: string; to: string }[] = [];
      for (const file of staged) {
        const key = parsePartitionDir(file.dir);
        const partition = key && partitions.get(partitionDir(key));
        if (!key || !partition) throw new Error(`unexpected staged file ${file.rel}`);
        const dir = joinPath(store.parquetDir, partitionDir(key));
        await mkdirInside(store.dataDir, dir);
        const part = await nextPartNumber(dir, [
          ...manifest.filter((m) => partitionDir(m.key) === partitionDir(key)),
          ...await damagedPartNumbers(conn, key),
        ]);
        const rel = joinPath(partitionDir(key), partFileName(part));
        const bytes = (await Deno.stat(file.abs)).size;
        manifest.push({
          path: rel,
          key,
          part,
          rows: fileRows.get(file.abs) ?? 0,
          bytes,
          minTs: partition.minTs,
          maxTs: partition.maxTs,
        });
        moves.push({ from: file.abs, to: joinPath(store.parquetDir, rel) });
        stats.bytes += bytes;
      }
      if (manifest.reduce((sum, m) => sum + m.rows, 0) !== expected) {
        throw new Error("staged row counts differ");
      }
      await store.access.read(() =>
        runBound(
          conn,
          `INSERT INTO exported_keys
         SELECT src_topic, src_partition, src_offset, src_index, (ts AT TIME ZONE 'UTC')::DATE
         FROM metrics WHERE ${old} AND ${fits} ORDER BY src_topic, src_partition, src_offset, src_index`,
          [cutoff],
        )
      );
      // The rows go; their series stay (the writer keeps their ids, and they are a few bytes each).
      const deleted = await store.access.read(() =>
        runBound(
          conn,
          `DELETE FROM metric_rows WHERE ${old} AND series_id IN (SELECT id FROM series WHERE ${fits})`,
          [cutoff],
        )
      );
      if (Number(deleted.rowsChanged) !== expected) throw new Error("deleted row count differs");
      await insertManifest(conn, manifest);

      await store.access.write(async () => {
        for (const move of moves) {
          await Deno.link(move.from, move.to); // fails instead of overwriting
          linked.push(move.to);
        }
        await conn.run("COMMIT");
        committed = true;
        store.invalidateViews();
      });
      stats.rows = expected;
      stats.files = manifest.length;
      stats.partitions = partitions.size;
    } catch (error) {
      if (!committed) {
        await conn.run("ROLLBACK").catch(() => undefined);
        await store.access.write(async () => {
          for (const path of linked) await Deno.remove(path).catch(() => undefined);
        });
      }
      throw error;
    } finally {
      if (stagingMade) await Deno.remove(staging, { recursive: true }).catch(() => undefined);
      await removeIfEmpty(stagingRoot);
    }
    stats.ms = performance.now() - started;
    return stats;
  }

  async #compact(minParts: number): Promise<CompactStats> {
    const started = performance.now();
    const stats: CompactStats = { partitions: 0, filesIn: 0, files: 0, rows: 0, bytes: 0, ms: 0 };
    const candidates = await (await this.#conn()).runAndReadAll(
      `SELECT tenant, metric, date::VARCHAR FROM parquet_parts GROUP BY ALL HAVING count(*) >= $1::INTEGER
       ORDER BY ALL`,
      [minParts],
    );
    for (const [tenant, metric, date] of candidates.getRows()) {
      const key = { tenant: String(tenant), metric: String(metric), date: String(date) };
      const merged = await this.#compactPartition(key);
      if (merged === undefined) continue;
      stats.partitions++;
      stats.filesIn += merged.filesIn;
      stats.files++;
      stats.rows += merged.rows;
      stats.bytes += merged.bytes;
    }
    stats.ms = performance.now() - started;
    return stats;
  }

  async #compactPartition(
    key: PartitionKey,
  ): Promise<{ filesIn: number; rows: number; bytes: number } | undefined> {
    const store = this.#store;
    const conn = await this.#conn();
    const parts = await manifestParts(conn, "tenant = $1 AND metric = $2 AND date = $3::DATE", [
      key.tenant,
      key.metric,
      key.date,
    ]);
    if (parts.length < 2) return undefined;
    const dir = joinPath(store.parquetDir, partitionDir(key));
    const tmp = joinPath(dir, `.compact-${crypto.randomUUID()}${TMP_SUFFIX}`);
    const expected = parts.reduce((sum, p) => sum + p.rows, 0);
    let linkedTo: string | undefined;
    let committed = false;
    try {
      await assertRealPath(dir);
      const files = parts.map((p) => sqlString(joinPath(store.parquetDir, p.path))).join(", ");
      const copied = await conn.runAndReadAll(
        `COPY (SELECT ${FILE_COLUMNS} FROM read_parquet([${files}], hive_partitioning = false) ORDER BY ts, host)
         TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      const rows = Number(copied.getRows()[0]?.[0] ?? 0);
      if (rows !== expected) {
        throw new Error(`compaction of ${partitionDir(key)} wrote ${rows} rows, expected ${expected}`);
      }
      const part = await nextPartNumber(dir, await damagedPartNumbers(conn, key));
      const rel = joinPath(partitionDir(key), partFileName(part));
      const bytes = (await Deno.stat(tmp)).size;
      const bounds = await readAllBound(
        conn,
        `SELECT epoch_ms(min(min_ts))::DOUBLE, epoch_ms(max(max_ts))::DOUBLE FROM parquet_parts
         WHERE path IN (SELECT unnest($1::VARCHAR[]))`,
        [listValue(parts.map((p) => p.path))],
      );
      const [minTs, maxTs] = bounds.getRows()[0];
      await conn.run("BEGIN TRANSACTION");
      try {
        await runBound(conn, "DELETE FROM parquet_parts WHERE path IN (SELECT unnest($1::VARCHAR[]))", [
          listValue(parts.map((p) => p.path)),
        ]);
        await insertManifest(conn, [{
          path: rel,
          key,
          part,
          rows,
          bytes,
          minTs: minTs === null ? null : Number(minTs),
          maxTs: maxTs === null ? null : Number(maxTs),
        }]);
        await store.access.write(async () => {
          const target = joinPath(store.parquetDir, rel);
          await Deno.link(tmp, target);
          linkedTo = target;
          await conn.run("COMMIT");
          committed = true;
          store.invalidateViews();
          for (const p of parts) await Deno.remove(joinPath(store.parquetDir, p.path)).catch(() => undefined);
        });
      } catch (error) {
        if (!committed) {
          await conn.run("ROLLBACK").catch(() => undefined);
          if (linkedTo !== undefined) {
            const path = linkedTo;
            await store.access.write(() => Deno.remove(path).catch(() => undefined));
          }
        }
        throw error;
      }
      return { filesIn: parts.length, rows, bytes };
    } finally {
      await Deno.remove(tmp).catch(() => undefined);
    }
  }

  async #applyRetention(retentionMs: number, nowMs: number): Promise<RetentionStats> {
    const started = performance.now();
    const stats: RetentionStats = { partitions: 0, files: 0, bytes: 0, rows: 0, hotRows: 0, ms: 0 };
    if (!(retentionMs > 0)) return stats;
    const store = this.#store;
    const conn = await this.#conn();
    const cutoffMs = nowMs - retentionMs;
    // A day is deleted when all of it is older than the cutoff: date < the cutoff's day.
    const cutoffDate = utcDate(cutoffMs);
    const parts = await manifestParts(conn, "date < $1::DATE", [cutoffDate]);
    const quarantined = (await readAllBound(
      conn,
      "SELECT quarantine FROM parquet_damaged WHERE date < $1::DATE AND quarantine IS NOT NULL",
      [cutoffDate],
    )).getRows().map(([path]) => joinPath(store.dataDir, String(path)));
    // Deletes only inside the data directory: no partition directory may be (or pass through) a link.
    for (
      const dir of new Set(
        parts.map((p) => joinPath(store.parquetDir, p.path.slice(0, p.path.lastIndexOf("/")))),
      )
    ) {
      await assertRealPath(dir).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
    let committed = false;
    await conn.run("BEGIN TRANSACTION");
    try {
      await runBound(conn, "DELETE FROM parquet_parts WHERE date < $1::DATE", [cutoffDate]);
      await runBound(conn, "DELETE FROM exported_keys WHERE date < $1::DATE", [cutoffDate]);
      await runBound(conn, "DELETE FROM parquet_damaged WHERE date < $1::DATE", [cutoffDate]);
      const hot = await runBound(
        conn,
        "DELETE FROM metric_rows WHERE ts < make_timestamptz($1::BIGINT * 1000)",
        [
          BigInt(Math.floor(cutoffMs)),
        ],
      );
      stats.hotRows = Number(hot.rowsChanged);
      // Old alert transitions go too, except the latest one per fingerprint (rule state on restart).
      await runBound(
        conn,
        `DELETE FROM alerts WHERE ts < make_timestamptz($1::BIGINT * 1000)
           AND seq NOT IN (SELECT max(seq) FROM alerts GROUP BY fingerprint)`,
        [BigInt(Math.floor(cutoffMs))],
      );
      await store.access.write(async () => {
        await conn.run("COMMIT");
        committed = true;
        store.invalidateViews();
        for (const part of parts) {
          await Deno.remove(joinPath(store.parquetDir, part.path)).catch(() => undefined);
        }
        for (const path of quarantined) {
          await assertRealPath(path.slice(0, path.lastIndexOf("/"))).then(() => Deno.remove(path)).catch(() =>
            undefined
          );
        }
      });
    } catch (error) {
      if (!committed) await conn.run("ROLLBACK").catch(() => undefined);
      throw error;
    }
    const days = new Set(parts.map((p) => `${p.tenant}\u0000${p.metric}\u0000${p.date}`));
    stats.partitions = days.size;
    stats.files = parts.length;
    stats.bytes = parts.reduce((sum, p) => sum + p.bytes, 0);
    stats.rows = parts.reduce((sum, p) => sum + p.rows, 0);
    await removeEmptyDirs(store.parquetDir);
    if (quarantined.length > 0) await removeEmptyDirs(joinPath(store.dataDir, QUARANTINE_DIR));
    stats.ms = performance.now() - started;
    return stats;
  }
}

/** Alias of {@link ParquetArchiver}. */
export { ParquetArchiver as Archiver };
