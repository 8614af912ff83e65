/**
 * `memory_budget`: one number (e.g. `256MB`, env `EVENTOPS_MEMORY_BUDGET`) from which the agent
 * derives the settings that bound its memory, so a small device sets one key instead of seven.
 * A key set in the file, the environment or a flag wins over its derived value.
 *
 * Derivation from the budget B (bytes; at least {@link MIN_MEMORY_BUDGET}):
 *
 * | setting | derived | 256 MB | 512 MB | 1 GB |
 * | --- | --- | --- | --- | --- |
 * | V8 old space (`--max-old-space-size`) | 40% of B, 64 MiB..1 GiB | 97 MiB | 195 MiB | 381 MiB |
 * | V8 semi-space (`--max-semi-space-size`) | 2 MiB below 160 MiB of old space, 4 below 320, else 8 | 2 MiB | 4 MiB | 8 MiB |
 * | `store.memory_limit` (DuckDB) | 12.5% of B, at least 32 MB | 32 MB | 64 MB | 125 MB |
 * | `store.threads` (DuckDB) | 1 below 1 GB, else 2 | 1 | 1 | 2 |
 * | `store.checkpoint_threshold` (DuckDB) | B/64, 4..16 MB | 4 MB | 8 MB | 15 MB |
 * | `store.allocator_flush_threshold` (DuckDB) | B/32, 4..64 MB | 8 MB | 16 MB | 31 MB |
 * | `store.query.max_memory` | 1/8 of B, at most 128 MiB | 32 MB | 64 MB | 125 MB |
 * | `kafka.fetch_max_bytes` (a fetch response) | B/256, 256 KiB..2 MiB | 1 MB | 2 MB | 2 MiB |
 * | `kafka.batch_max_bytes` | B/128, 256 KiB..4 MiB | 2 MB | 4 MB | 4 MiB |
 * | `kafka.batch_max_messages` | 2,000 per 256 MB, 500..5,000 | 2,000 | 4,000 | 5,000 |
 * | `features.max_series` | 25,000 per 256 MB, 1,000..100,000 | 25,000 | 50,000 | 97,656 |
 *
 * The rest of B is the runtime's own (the Deno binary and libduckdb mapped, ~80 MB of RSS, malloc
 * arenas, the Kafka client's buffers). The V8 heap limit is a start flag: it cannot be changed once
 * the isolate runs, so the packaged executable's stub and `./eventops` pass it from
 * `EVENTOPS_MEMORY_BUDGET` (the config file's `memory_budget` is read too late for it); a Worker
 * isolate (the stateless thread of the partitioned topology) takes `resourceLimits` only in Node's
 * `worker_threads`, not in Deno's Worker, so it is not limited by it either.
 *
 * @module
 */

/** The smallest budget the agent accepts (below it the runtime alone does not fit). */
export const MIN_MEMORY_BUDGET = 128 * 1024 * 1024;

/** The settings derived from a memory budget. */
export interface MemorySettings {
  /** V8 `--max-old-space-size`, MiB. */
  v8OldSpaceMiB: number;
  /** V8 `--max-semi-space-size`, MiB (the young generation is three of them). */
  v8SemiSpaceMiB: number;
  store: {
    memory_limit: string;
    threads: number;
    checkpoint_threshold: string;
    allocator_flush_threshold: string;
    query: { max_memory: string };
  };
  kafka: { fetch_max_bytes: number; batch_max_bytes: number; batch_max_messages: number };
  features: { max_series: number };
}

const MIB = 1024 * 1024;

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** The settings derived from a budget of `bytes` (see the module's table). */
export function deriveMemorySettings(bytes: number): MemorySettings {
  const quarterGigs = bytes / 256e6;
  return {
    v8OldSpaceMiB: v8OldSpaceMiB(bytes),
    v8SemiSpaceMiB: v8SemiSpaceMiB(v8OldSpaceMiB(bytes)),
    store: {
      memory_limit: `${Math.max(32, Math.floor(bytes * 0.125 / 1e6))}MB`,
      threads: bytes >= 1e9 ? 2 : 1,
      checkpoint_threshold: `${Math.floor(clamp(bytes / 64e6, 4, 16))}MB`,
      allocator_flush_threshold: `${Math.floor(clamp(bytes / 32e6, 4, 64))}MB`,
      query: { max_memory: `${Math.floor(Math.min(bytes / 8, 128 * MIB) / 1e6)}MB` },
    },
    kafka: {
      fetch_max_bytes: Math.floor(clamp(bytes / 256, 256 * 1024, 2 * MIB)),
      batch_max_bytes: Math.floor(clamp(bytes / 128, 256 * 1024, 4 * MIB)),
      batch_max_messages: Math.floor(clamp(2_000 * quarterGigs, 500, 5_000)),
    },
    features: { max_series: Math.floor(clamp(25_000 * quarterGigs, 1_000, 100_000)) },
  };
}

/**
 * V8's old space for a budget of `bytes`: 40% of it in MiB, 64..1024 (the same integer arithmetic
 * as `v8_heap_flag` in `./eventops` and the package stub).
 */
export function v8OldSpaceMiB(bytes: number): number {
  return clamp(Math.floor(Math.floor(bytes / MIB) * 2 / 5), 64, 1024);
}

/**
 * V8's semi-space for an old space of `oldSpaceMiB` (the same thresholds as the package stub): the
 * young generation takes three, 24 MiB at the task's 8, which a 256 MB device cannot spare (measured:
 * the Pi scenario under a 256 MB cap ran 537 s with 2 MiB, ~200 s with 8).
 */
export function v8SemiSpaceMiB(oldSpaceMiB: number): number {
  return oldSpaceMiB < 160 ? 2 : oldSpaceMiB < 320 ? 4 : 8;
}

/** The derived settings as config paths and values, to fill in where the configuration sets none. */
export function derivedPaths(settings: MemorySettings): [string[], unknown][] {
  return [
    [["store", "memory_limit"], settings.store.memory_limit],
    [["store", "threads"], settings.store.threads],
    [["store", "checkpoint_threshold"], settings.store.checkpoint_threshold],
    [["store", "allocator_flush_threshold"], settings.store.allocator_flush_threshold],
    [["store", "query", "max_memory"], settings.store.query.max_memory],
    [["kafka", "fetch_max_bytes"], settings.kafka.fetch_max_bytes],
    [["kafka", "batch_max_bytes"], settings.kafka.batch_max_bytes],
    [["kafka", "batch_max_messages"], settings.kafka.batch_max_messages],
    [["features", "max_series"], settings.features.max_series],
  ];
}

/** The memory settings in effect, as `/status` and the start-up log report them. */
export interface MemoryReport {
  /** `memory_budget` in bytes; 0 when unset. */
  budget_bytes: number;
  store_memory_limit: string;
  store_threads: number;
  store_allocator_flush_threshold: string;
  query_max_memory_bytes: number;
  fetch_max_bytes: number;
  batch_max_bytes: number;
  batch_max_messages: number;
  features_max_series: number;
  /** V8's old space derived from the budget, MiB (null without a budget). */
  v8_old_space_derived_mib: number | null;
  /** This isolate's heap limit as V8 reports it (old space plus young generation), MiB. */
  v8_heap_limit_mib: number;
}

/** The settings of `config` in effect, with this isolate's heap limit `heapLimitBytes`. */
export function memoryReport(
  config: {
    memory_budget: number;
    store: {
      memory_limit: string;
      threads: number;
      allocator_flush_threshold: string;
      query: { max_memory: number };
    };
    kafka: { fetch_max_bytes: number; batch_max_bytes: number; batch_max_messages: number };
    features: { max_series: number };
  },
  heapLimitBytes: number,
): MemoryReport {
  return {
    budget_bytes: config.memory_budget,
    store_memory_limit: config.store.memory_limit,
    store_threads: config.store.threads,
    store_allocator_flush_threshold: config.store.allocator_flush_threshold,
    query_max_memory_bytes: config.store.query.max_memory,
    fetch_max_bytes: config.kafka.fetch_max_bytes,
    batch_max_bytes: config.kafka.batch_max_bytes,
    batch_max_messages: config.kafka.batch_max_messages,
    features_max_series: config.features.max_series,
    v8_old_space_derived_mib: config.memory_budget > 0 ? v8OldSpaceMiB(config.memory_budget) : null,
    v8_heap_limit_mib: Math.round(heapLimitBytes / MIB),
  };
}

/**
 * Why the heap limit does not follow the budget (the isolate was started without the derived
 * `--max-old-space-size`), or undefined when it does or no budget is set. The young generation
 * (3 semi-spaces) comes on top of the old space: `slackMiB` allows for it.
 */
export function heapMismatch(report: MemoryReport, slackMiB = 48): string | undefined {
  const derived = report.v8_old_space_derived_mib;
  if (derived === null || report.v8_heap_limit_mib <= derived + slackMiB) return undefined;
  return `the V8 heap limit is ${report.v8_heap_limit_mib} MiB, not the ${derived} MiB memory_budget derives: ` +
    "the heap can only be limited at start (the packaged executable does it from EVENTOPS_MEMORY_BUDGET; " +
    `else run deno with --v8-flags=--max-old-space-size=${derived})`;
}
