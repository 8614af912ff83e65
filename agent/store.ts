/**
 * The agent's store: DuckDB and its Parquet tree opened under the sandbox, the writer and the
 * reader, the Parquet parts found missing or damaged reported (log lines and gauges).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import { registerFamily } from "../telemetry/families.ts";
import type { Registry } from "../telemetry/registry.ts";
import type { Lifecycle } from "./lifecycle.ts";
import { advertiseStore } from "../kafka/membership.ts";
import { storeIdentity } from "../store/identity.ts";
import {
  openStore,
  type PartsReport,
  SCHEMA_VERSION,
  type Store,
  StoreReader,
  StoreWriter,
} from "../store/mod.ts";

/** The store, open for writing (the stateful group) and reading (the API, the rules' state). */
export interface AgentStore {
  store: Store;
  writer: StoreWriter;
  reader: StoreReader;
}

/** Turns a Deno permission error about the data dir into a message that says what to change. */
export function explainPermission(error: unknown, config: Config): Error {
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return new Error(
      `${error.message}. The agent's sandbox (deno.json "permissions.agent") allows reading and writing only ` +
        `./data, /var/lib/eventops and the config paths; data_dir is "${config.data_dir}". Use an allowed ` +
        `directory or add it to the permission set.`,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Reports the store's Parquet parts found missing or damaged (taken out of the queries): an error
 * log line per part, the gauges `eventops_store_parquet_damaged_parts` and
 * `eventops_store_parquet_unreadable_rows`; starting with what the open found.
 */
function watchParts(store: Store, registry: Registry, log: Logger): void {
  const parts = registerFamily(registry, "damagedParts");
  const rows = registerFamily(registry, "unreadableRows");
  const report = (checked: PartsReport) => {
    for (const part of checked.found) {
      log.error("Parquet part missing or damaged; left out of the queries", {
        path: part.path,
        problem: part.problem,
        rows: part.rows,
        quarantine: part.quarantine,
      });
    }
    for (const path of checked.restored) log.info("Parquet part restored", { path });
    parts.labels().set(checked.damagedParts);
    rows.labels().set(checked.unreadableRows);
  };
  store.onPartsChecked = report;
  const atOpen = store.partsAtOpen;
  if (atOpen === undefined) return;
  report(atOpen);
  const known = atOpen.damagedParts - atOpen.found.length;
  if (known > 0) {
    log.error("Parquet parts recorded missing or damaged earlier are still unreadable", {
      parts: known,
      rows: atOpen.unreadableRows,
      paths: atOpen.damaged.map((part) => part.path).join(", "),
    });
  }
}

/**
 * Opens the store of `config.data_dir` (`store.*`), its writer and reader, and registers its close
 * with `life`. A data directory the sandbox does not allow fails with what to change.
 */
export async function openAgentStore(
  config: Config,
  log: Logger,
  registry: Registry,
  life: Lifecycle,
): Promise<AgentStore> {
  let store: Store;
  try {
    store = await openStore(config.data_dir, {
      memoryLimit: config.store.memory_limit,
      threads: config.store.threads,
    }, {
      checkpointThreshold: config.store.checkpoint_threshold,
      allocatorFlushThreshold: config.store.allocator_flush_threshold,
    });
  } catch (error) {
    throw explainPermission(error, config);
  }
  life.onStop(() => store.close());
  if (store.migrationMs !== undefined) {
    log.info("store migrated to the current schema", {
      schema: SCHEMA_VERSION,
      ms: Math.round(store.migrationMs),
    });
  }
  watchParts(store, registry, log);
  const writer = await StoreWriter.open(store);
  const reader = await StoreReader.open(store);
  // Scale-out: the groups know this store again after a restart (no restore of rows it holds).
  advertiseStore(await storeIdentity(store.dataDir));
  return { store, writer, reader };
}
