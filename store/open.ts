/**
 * Opens the local store: the DuckDB file `<data>/metrics.duckdb`, locked into the data directory
 * with DuckDB's own settings (DuckDB does file I/O natively, outside Deno's permission sandbox).
 *
 * Confinement, measured on DuckDB 1.5.6: `allowed_directories` alone confines nothing (with external
 * access on, every path is allowed); `enable_external_access=false` alone blocks everything, including
 * Parquet in the data dir. Together they allow exactly the data dir (plus the database's own
 * `.wal`/`.tmp` files); `..` escapes are refused. Then `lock_configuration=true` makes them final.
 * DuckDB follows symbolic links inside the allowed directory, so a data directory holding one is
 * refused (see `store/confine.ts`).
 *
 * @module
 */
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { assertNoSymlinks } from "./confine.ts";
import { Mutex, RwLock } from "./lock.ts";
import { checkParts, type PartsReport } from "./parts_check.ts";
import { DB_FILE, joinPath, PARQUET_DIR, sqlString } from "./paths.ts";
import { ensureSchema, readSchemaVersion, SCHEMA_VERSION } from "./schema.ts";
import { reconcileParquet } from "./reconcile.ts";

/** Resource settings (the `store` section of the config). */
export interface StoreResources {
  /** DuckDB memory limit, e.g. `256MB`. */
  memoryLimit: string;
  /** DuckDB worker threads. */
  threads: number;
}

/** How to open the store. */
export interface OpenStoreOptions {
  /** Open without writing anything (for `eventops query` while no agent holds the file). */
  readOnly?: boolean;
  /**
   * WAL size that triggers an automatic checkpoint (DuckDB `checkpoint_threshold`); default `16MB`.
   * The checkpoint runs inside the COMMIT that crosses it and appends wait for it: at 20k events/s,
   * 16MB is a checkpoint of ~80 ms every ~20 s (64MB: ~190 ms every ~75 s).
   */
  checkpointThreshold?: string;
  /** DuckDB `allocator_flush_threshold`; default DuckDB's (128 MiB). */
  allocatorFlushThreshold?: string;
}

/** An open store: one DuckDB instance plus the paths and locks shared by writer, archiver and readers. */
export class Store {
  /** Absolute, symlink-free data directory. */
  readonly dataDir: string;
  /** Absolute path of `metrics.duckdb`. */
  readonly dbPath: string;
  /** Absolute path of the Parquet tree. */
  readonly parquetDir: string;
  /** Whether the database was opened read-only. */
  readonly readOnly: boolean;
  /** DuckDB's memory limit as configured (`store.memory_limit`), e.g. `128MB`. */
  readonly memoryLimit: string;
  /** The DuckDB instance. */
  readonly instance: DuckDBInstance;
  /**
   * Held shared by queries and exclusively while the tables or the Parquet files change: by each
   * writer batch, and while Parquet files are renamed or removed and their manifest committed.
   * DuckDB 1.5.6 (through @duckdb/node-bindings under Deno) reads garbage string pointers, and
   * crashes the process with SIGSEGV, when a query scans strings of a table that an append changes at
   * the same moment: seen in 5 of 40 runs of tests/e2e/api_test.ts (a catalog query's json_object
   * over a 27-byte tenant just appended), none in 40 with this lock.
   */
  readonly access: RwLock = new RwLock();
  /** One change of the Parquet tree and its manifest at a time (export, compaction, retention, checks). */
  readonly maintenance: Mutex = new Mutex();
  /** Told about parts found missing or damaged (and taken out of queries), and about restored ones. */
  onPartsChecked?: (report: PartsReport) => void;
  /** The check of every Parquet part a writable open runs (undefined for a read-only open). */
  partsAtOpen?: PartsReport;
  /** Whether this open created the database. */
  readonly created: boolean;
  /** Milliseconds this open spent migrating an older schema; undefined when it did not. */
  readonly migrationMs: number | undefined;
  #viewGeneration = 0;
  #hiddenStores: readonly string[] = [];
  #connections = new Set<DuckDBConnection>();
  #closed = false;

  /** @internal Use {@link openStore}. */
  constructor(
    init: {
      dataDir: string;
      readOnly: boolean;
      instance: DuckDBInstance;
      created: boolean;
      migrationMs?: number;
      memoryLimit?: string;
    },
  ) {
    this.dataDir = init.dataDir;
    this.dbPath = joinPath(init.dataDir, DB_FILE);
    this.parquetDir = joinPath(init.dataDir, PARQUET_DIR);
    this.readOnly = init.readOnly;
    this.memoryLimit = init.memoryLimit ?? "";
    this.instance = init.instance;
    this.created = init.created;
    this.migrationMs = init.migrationMs;
  }

  /** Opens a new connection on the instance; closed with the store. */
  async connect(): Promise<DuckDBConnection> {
    if (this.#closed) throw new Error("store is closed");
    const conn = await this.instance.connect();
    this.#connections.add(conn);
    return conn;
  }

  /** Closes one connection opened with {@link connect}. */
  release(conn: DuckDBConnection): void {
    if (this.#connections.delete(conn)) conn.closeSync();
  }

  /** Changes whenever the set of Parquet files may have changed (views are rebuilt lazily). */
  get viewGeneration(): number {
    return this.#viewGeneration;
  }

  /** Marks the `metrics_all` views stale. */
  invalidateViews(): void {
    this.#viewGeneration++;
  }

  /** The stores whose rows restored here `metrics_all` leaves out (they are back in the group). */
  get hiddenStores(): readonly string[] {
    return this.#hiddenStores;
  }

  /**
   * Leaves out of every read the rows restored here from `stores` (`restored_rows`): those stores are
   * back in the group with the same rows. The views are rebuilt when the set changes.
   */
  hideRestoredFrom(stores: readonly string[]): void {
    const next = [...new Set(stores)].sort();
    if (next.length === this.#hiddenStores.length && next.every((id, i) => id === this.#hiddenStores[i])) {
      return;
    }
    this.#hiddenStores = next;
    this.invalidateViews();
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes every connection and the database (a final checkpoint when writable). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of this.#connections) conn.closeSync();
    this.#connections.clear();
    this.instance.closeSync();
  }
}

/**
 * Opens (creating when needed) the store in `dataDir`, confines DuckDB to it and locks the
 * configuration. A writable open also creates the schema, reconciles the Parquet tree with its
 * manifest (removes leftovers of an interrupted export or compaction) and checks every part
 * against it (see `store/parts_check.ts`; the result is {@link Store.partsAtOpen}).
 */
export async function openStore(
  dataDir: string,
  resources: StoreResources,
  options: OpenStoreOptions = {},
): Promise<Store> {
  const readOnly = options.readOnly ?? false;
  if (!readOnly) await Deno.mkdir(joinPath(dataDir, PARQUET_DIR), { recursive: true });
  const absDir = await Deno.realPath(dataDir);
  // DuckDB would read and write through links in the data directory, outside it.
  await assertNoSymlinks(absDir);
  const config: Record<string, string> = {
    memory_limit: resources.memoryLimit,
    threads: String(resources.threads),
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    checkpoint_threshold: options.checkpointThreshold ?? "16MB",
    // DuckDB's jemalloc returns freed pages to the system in the background (measured: after a
    // 200 MB query result the process went back from 490 to 93 MB within seconds; without it, never).
    allocator_background_threads: "true",
  };
  if (options.allocatorFlushThreshold) config.allocator_flush_threshold = options.allocatorFlushThreshold;
  if (readOnly) config.access_mode = "READ_ONLY";
  const instance = await DuckDBInstance.create(joinPath(absDir, DB_FILE), config);
  let setup: DuckDBConnection | undefined;
  try {
    setup = await instance.connect();
    await setup.run(`SET allowed_directories = [${sqlString(`${absDir}/`)}]`);
    await setup.run("SET enable_external_access = false");
    await setup.run("SET GLOBAL TimeZone = 'UTC'");
    await setup.run("SET lock_configuration = true");
    let created = false;
    let migrationMs: number | undefined;
    if (readOnly) {
      const version = await readSchemaVersion(setup);
      if (version === 0) throw new Error(`no store in ${absDir}`);
      if (version > SCHEMA_VERSION) {
        throw new Error(
          `store schema version ${version} is newer than this agent supports (${SCHEMA_VERSION})`,
        );
      }
    } else {
      const started = performance.now();
      const schema = await ensureSchema(setup);
      created = schema.created;
      if (schema.migrated) migrationMs = performance.now() - started;
    }
    setup.closeSync();
    setup = undefined;
    const store = new Store({
      dataDir: absDir,
      readOnly,
      instance,
      created,
      migrationMs,
      memoryLimit: resources.memoryLimit,
    });
    if (!readOnly) {
      try {
        await reconcileParquet(store);
        store.partsAtOpen = await checkParts(store, { deep: true });
      } catch (error) {
        store.close();
        throw error;
      }
    }
    return store;
  } catch (error) {
    setup?.closeSync();
    instance.closeSync();
    throw error;
  }
}
