/**
 * Reconciling the Parquet tree with its manifest when the store opens (see the protocol in
 * `parquet.ts`): leftovers of an interrupted change are removed; part files found next to a
 * brand-new database are adopted.
 *
 * @module
 */
import { runBound } from "./bound.ts";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Store } from "./open.ts";
import { type FoundFile, listPartitionFiles, removeEmptyDirs, STAGING_DIR } from "./parquet_files.ts";
import { insertManifest, manifestParts, type ManifestRow, parquetRowCounts } from "./parquet_manifest.ts";
import { joinPath, parsePartitionDir, partNumber, sqlString, TMP_SUFFIX } from "./paths.ts";

/** Outcome of {@link reconcileParquet}. */
export interface ReconcileStats {
  /** Final-named part files not in the manifest, removed (leftovers of an interrupted change). */
  orphansRemoved: number;
  /** Temporary files and staging directories removed. */
  tempRemoved: number;
  /** Manifest rows whose file is missing (left for `checkParts` to record and report). */
  missing: number;
  /** Part files found next to a brand-new database and adopted into it. */
  adopted: number;
}

/**
 * Brings the Parquet tree in line with the manifest after a crash: removes the staging directory,
 * temporary files and unlisted part files (not those of parts recorded damaged: see
 * `store/parts_check.ts`, which also records listed parts whose file is gone). When the database
 * was just created next to an existing tree (the `.duckdb` file was deleted), part files are adopted
 * instead: listed in the manifest and their source keys added to `exported_keys`.
 */
export async function reconcileParquet(store: Store): Promise<ReconcileStats> {
  const stats: ReconcileStats = { orphansRemoved: 0, tempRemoved: 0, missing: 0, adopted: 0 };
  const stagingRoot = joinPath(store.dataDir, STAGING_DIR);
  try {
    await Deno.remove(stagingRoot, { recursive: true });
    stats.tempRemoved++;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const conn = await store.connect();
  try {
    const listed = new Set((await manifestParts(conn, "true", [])).map((p) => p.path));
    // Parts recorded missing or damaged: a file back at such a path is for `checkParts` to verify.
    const recorded = new Set((await manifestParts(conn, "true", [], "parquet_damaged")).map((p) => p.path));
    const found = await listPartitionFiles(store.parquetDir);
    const present = new Set<string>();
    const adopt: FoundFile[] = [];
    for (const file of found) {
      if (file.name.endsWith(TMP_SUFFIX)) {
        await Deno.remove(file.abs);
        stats.tempRemoved++;
        continue;
      }
      if (partNumber(file.name) === undefined || parsePartitionDir(file.dir) === undefined) continue;
      if (listed.has(file.rel)) present.add(file.rel);
      else if (recorded.has(file.rel)) continue;
      else if (store.created) adopt.push(file);
      else {
        await Deno.remove(file.abs);
        stats.orphansRemoved++;
      }
    }
    // A listed part whose file is gone is not dropped here: `checkParts` (run next by the open)
    // records it as missing and reports it.
    stats.missing = [...listed].filter((path) => !present.has(path)).length;
    if (adopt.length > 0) stats.adopted = await adoptParts(conn, adopt);
    await removeEmptyDirs(store.parquetDir);
  } finally {
    store.release(conn);
  }
  if (stats.orphansRemoved + stats.adopted > 0) store.invalidateViews();
  return stats;
}

async function adoptParts(conn: DuckDBConnection, files: readonly FoundFile[]): Promise<number> {
  const counts = await parquetRowCounts(conn, files.map((f) => f.abs));
  await conn.run("BEGIN TRANSACTION");
  try {
    const manifest: ManifestRow[] = [];
    for (const file of files) {
      const key = parsePartitionDir(file.dir)!;
      const bounds = await conn.runAndReadAll(
        `SELECT epoch_ms(min(ts))::DOUBLE, epoch_ms(max(ts))::DOUBLE FROM read_parquet(${
          sqlString(file.abs)
        })`,
      );
      const [minTs, maxTs] = bounds.getRows()[0];
      manifest.push({
        path: file.rel,
        key,
        part: partNumber(file.name)!,
        rows: counts.get(file.abs) ?? 0,
        bytes: (await Deno.stat(file.abs)).size,
        minTs: minTs === null ? null : Number(minTs),
        maxTs: maxTs === null ? null : Number(maxTs),
      });
      await runBound(
        conn,
        `INSERT INTO exported_keys SELECT src_topic, src_partition, src_offset, src_index, $1::DATE
         FROM read_parquet(${sqlString(file.abs)}) ORDER BY ALL`,
        [key.date],
      );
    }
    await insertManifest(conn, manifest);
    await conn.run("COMMIT");
  } catch (error) {
    await conn.run("ROLLBACK").catch(() => undefined);
    throw error;
  }
  return files.length;
}
