/**
 * Parquet maintenance, every `store.parquet.interval`: check the parts (with a rolling scrub that
 * finds parts damaged at rest), export cold hot rows, compact small parts, apply the retention.
 * A round that fails is logged and tried again at the next interval; rounds never overlap.
 *
 * @module
 */
import type { PipelineMetrics } from "../telemetry/families.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import { checkParts, ParquetArchiver, type Store } from "../store/mod.ts";
import type { Lifecycle } from "./lifecycle.ts";

/** Parquet bytes decoded per maintenance round by the rolling scrub (finds parts damaged at rest). */
const PARQUET_SCRUB_BYTES = 32 * 1024 * 1024;

/** Starts the maintenance of `store`'s Parquet tree; `life` stops it (the timer, then the archiver). */
export async function startParquetMaintenance(
  config: Config,
  store: Store,
  metrics: PipelineMetrics,
  log: Logger,
  life: Lifecycle,
): Promise<void> {
  const archiver = await ParquetArchiver.open(store);
  life.onStop(() => archiver.close());
  const parquet = config.store.parquet;
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      await checkParts(store, { scrubBytes: PARQUET_SCRUB_BYTES });
      const now = Date.now();
      const exported = await archiver.exportCold(parquet.export_after, now);
      const compacted = await archiver.compact(parquet.compact_min_parts);
      const removed = parquet.retention > 0
        ? await archiver.applyRetention(parquet.retention, now)
        : undefined;
      metrics.parquetFiles.labels().inc(exported.files + compacted.files);
      if (exported.rows > 0 || compacted.files > 0 || (removed?.partitions ?? 0) > 0) {
        log.info("parquet maintenance", { exported, compacted, removed });
      }
    } catch (error) {
      log.error("parquet maintenance failed; will retry", { error });
    } finally {
      running = false;
    }
  }, parquet.interval);
  life.onStop(() => clearInterval(timer));
}
