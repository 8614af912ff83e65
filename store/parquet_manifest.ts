/**
 * The Parquet manifest (`parquet_parts`: a part file is committed exactly when its row is) and the
 * part numbers of a partition (never reusing one recorded missing or damaged).
 *
 * @module
 */
import { readAllBound, runBound } from "./bound.ts";
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { type PartitionKey, partNumber, sqlString } from "./paths.ts";

/** A manifest row to insert. */
export interface ManifestRow {
  path: string;
  key: PartitionKey;
  part: number;
  rows: number;
  bytes: number;
  minTs: number | null;
  maxTs: number | null;
}

/** One manifest row. */
export interface PartRow {
  path: string;
  tenant: string;
  metric: string;
  date: string;
  rows: number;
  bytes: number;
}

/** Manifest rows matching `where` (SQL over `table`, with `params`), by path. */
export async function manifestParts(
  conn: DuckDBConnection,
  where: string,
  params: DuckDBValue[],
  table: "parquet_parts" | "parquet_damaged" = "parquet_parts",
): Promise<PartRow[]> {
  const reader = await readAllBound(
    conn,
    `SELECT path, tenant, metric, date::VARCHAR, rows::DOUBLE, bytes::DOUBLE FROM ${table} WHERE ${where}
     ORDER BY path`,
    params,
  );
  return reader.getRows().map(([path, tenant, metric, date, rows, bytes]) => ({
    path: String(path),
    tenant: String(tenant),
    metric: String(metric),
    date: String(date),
    rows: Number(rows),
    bytes: Number(bytes),
  }));
}

/** Adds manifest rows (in the caller's transaction). */
export async function insertManifest(conn: DuckDBConnection, rows: readonly ManifestRow[]): Promise<void> {
  for (const row of rows) {
    await runBound(
      conn,
      `INSERT INTO parquet_parts VALUES ($1, $2, $3, $4::DATE, $5::INTEGER, $6::BIGINT, $7::BIGINT,
         make_timestamptz($8::BIGINT * 1000), make_timestamptz($9::BIGINT * 1000), now())`,
      [
        row.path,
        row.key.tenant,
        row.key.metric,
        row.key.date,
        row.part,
        BigInt(row.rows),
        BigInt(row.bytes),
        row.minTs === null ? null : BigInt(row.minTs),
        row.maxTs === null ? null : BigInt(row.maxTs),
      ],
    );
  }
}

/** Row counts of Parquet files from their metadata (throws when one cannot be read). */
export async function parquetRowCounts(
  conn: DuckDBConnection,
  files: readonly string[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (files.length === 0) return counts;
  const list = files.map(sqlString).join(", ");
  const reader = await conn.runAndReadAll(
    `SELECT file_name, sum(row_group_num_rows)::DOUBLE
     FROM (SELECT DISTINCT file_name, row_group_id, row_group_num_rows FROM parquet_metadata([${list}]))
     GROUP BY ALL`,
  );
  for (const [file, rows] of reader.getRows()) counts.set(String(file), Number(rows));
  return counts;
}

/**
 * Part numbers of a partition's parts recorded missing or damaged: never reused, so a part put back
 * from a backup cannot meet a newer part at its path.
 */
export async function damagedPartNumbers(
  conn: DuckDBConnection,
  key: PartitionKey,
): Promise<{ part: number }[]> {
  const reader = await readAllBound(
    conn,
    "SELECT part FROM parquet_damaged WHERE tenant = $1 AND metric = $2 AND date = $3::DATE",
    [key.tenant, key.metric, key.date],
  );
  return reader.getRows().map(([part]) => ({ part: Number(part) }));
}

/** Next free part number in a partition directory (also above `pending` ones not yet on disk). */
export async function nextPartNumber(dir: string, pending: readonly { part: number }[]): Promise<number> {
  let max = 0;
  for (const p of pending) max = Math.max(max, p.part);
  try {
    for await (const entry of Deno.readDir(dir)) {
      const n = partNumber(entry.name);
      if (n !== undefined) max = Math.max(max, n);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return max + 1;
}
