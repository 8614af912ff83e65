/**
 * The local store: DuckDB hot tables (`<data>/metrics.duckdb`) plus hive-partitioned Parquet
 * (`<data>/parquet/tenant=<t>/metric=<m>/date=<YYYY-MM-DD>/part-<NNNN>.parquet`).
 *
 * ```ts
 * const store = await openStore(config.data_dir, { memoryLimit: config.store.memory_limit, threads: config.store.threads });
 * const writer = await StoreWriter.open(store);      // exactly-once writeBatch(events, alerts)
 * const archiver = await ParquetArchiver.open(store); // exportCold / compact / applyRetention
 * const reader = await StoreReader.open(store);       // API queries + readOnlyQuery
 * ```
 *
 * @module
 */
export { openStore, type OpenStoreOptions, Store, type StoreResources } from "./open.ts";
export { type RestoredLane, RestoredLanes } from "./restored.ts";
export { StoreWriter, type StoreWriterOptions, type WriteResult, type WriterStats } from "./writer.ts";
export { type CompactStats, type ExportStats, ParquetArchiver, type RetentionStats } from "./parquet.ts";
export { reconcileParquet, type ReconcileStats } from "./reconcile.ts";
export {
  type DiskUsage,
  QueryError,
  type ReadOnlyQueryOptions,
  type StoreReadability,
  StoreReader,
} from "./query.ts";
export { SCHEMA_VERSION } from "./schema.ts";
export { type CheckOptions, checkParts, type DamagedPart, type PartsReport } from "./parts_check.ts";
export { SymlinkError } from "./confine.ts";
export { DEFAULT_QUERY_BUDGETS, type QueryBudgets, queryBudgetsFrom } from "./user_query.ts";
