/**
 * File layout of the store and the Hive-style escaping of partition values.
 *
 * ```
 * <data>/metrics.duckdb
 * <data>/parquet/tenant=<t>/metric=<m>/date=<YYYY-MM-DD>/part-<NNNN>.parquet
 * ```
 *
 * Partition values are percent-encoded (UTF-8 bytes, every byte outside `[A-Za-z0-9_-]`), the way
 * DuckDB itself writes `PARTITION_BY` directories; DuckDB's `hive_partitioning` reader decodes them
 * again, so `tenant` read back from a path equals the original value (`a/b`, `..`, `x=y`, `é`).
 *
 * @module
 */

/** Name of the DuckDB database file inside the data directory. */
export const DB_FILE = "metrics.duckdb";
/** Name of the Parquet tree inside the data directory. */
export const PARQUET_DIR = "parquet";
/** Directory (in the data directory) damaged Parquet parts are moved to, by their path. */
export const QUARANTINE_DIR = "quarantine";
/** Suffix of files being written; never matched by the `*.parquet` glob of the view. */
export const TMP_SUFFIX = ".parquet.tmp";

const SAFE_BYTE = /^[A-Za-z0-9_-]$/;
const HEX = "0123456789ABCDEF";
const encoder = new TextEncoder();

/** Percent-encodes one partition value so it is a single, inert path segment. */
export function encodeSegment(value: string): string {
  let out = "";
  for (const byte of encoder.encode(value)) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && SAFE_BYTE.test(ch) ? ch : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/** Decodes a percent-encoded partition value (inverse of {@link encodeSegment}). */
export function decodeSegment(segment: string): string {
  return decodeURIComponent(segment);
}

/** One Parquet partition: tenant, metric and UTC day. */
export interface PartitionKey {
  tenant: string;
  metric: string;
  /** `YYYY-MM-DD` (UTC). */
  date: string;
}

/** Relative directory of a partition, e.g. `tenant=acme/metric=cpu_load/date=2025-10-21`. */
export function partitionDir(key: PartitionKey): string {
  return `tenant=${encodeSegment(key.tenant)}/metric=${encodeSegment(key.metric)}/date=${key.date}`;
}

/** File name of part number `n`: `part-0001.parquet`. */
export function partFileName(n: number): string {
  return `part-${String(n).padStart(4, "0")}.parquet`;
}

/** Part number of a file name, or undefined when it is not a part file. */
export function partNumber(name: string): number | undefined {
  const match = /^part-(\d{4,})\.parquet$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Parses a relative partition directory back into its key; undefined when it is not one. */
export function parsePartitionDir(rel: string): PartitionKey | undefined {
  const match = /^tenant=([^/]+)\/metric=([^/]+)\/date=(\d{4}-\d{2}-\d{2})$/.exec(rel);
  if (!match) return undefined;
  try {
    return { tenant: decodeSegment(match[1]), metric: decodeSegment(match[2]), date: match[3] };
  } catch {
    return undefined;
  }
}

/** UTC day `YYYY-MM-DD` of an epoch-millisecond instant. */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Quotes a string as an SQL literal (for paths we generate; never for request input). */
export function sqlString(value: string): string {
  if (value.includes("\u0000")) throw new Error("NUL byte in SQL literal");
  return `'${value.replaceAll("'", "''")}'`;
}

/** Joins path pieces with `/` (the store runs on Linux only). */
export function joinPath(...parts: string[]): string {
  return parts.join("/").replace(/\/{2,}/g, "/");
}
