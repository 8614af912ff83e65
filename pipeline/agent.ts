/**
 * The agent: wires the sources (Kafka consumers), the pure stages, the sinks (Kafka producer,
 * DuckDB store) and the HTTP API together, and takes them apart again on stop.
 *
 * @module
 */
import { createLiveFeeds, pipelineMetrics, Registry } from "../api/mod.ts";
import type { StoredAlert } from "../model/query.ts";
import type { Config, StageName } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import { BatchConsumer, messageBatches } from "../kafka/batch_consumer.ts";
import { createAdmin, createConsumer, createProducer } from "../kafka/clients.ts";
import { BrokerLink, waitForBroker } from "../kafka/connect.ts";
import { readGroupLag } from "../kafka/lag.ts";
import { readTopicLimits } from "../kafka/limits.ts";
import { SeriesPartitioner } from "../kafka/partition.ts";
import { partitionCount, topicNames } from "../kafka/topics.ts";
import { FeatureEngine } from "../stages/features.ts";
import { compileNormalizeOptions } from "../stages/normalize/mod.ts";
import {
  checkRuleWindows,
  type CompiledRule,
  defaultRules,
  parseRules,
  RuleEngine,
} from "../stages/rules.ts";
import type { Alert } from "../model/alert.ts";
import {
  checkParts,
  openStore,
  ParquetArchiver,
  type PartsReport,
  SCHEMA_VERSION,
  type Store,
  StoreReader,
  StoreWriter,
} from "../store/mod.ts";
import { MemoryCounters } from "./counters.ts";
import { ReloadableFile } from "./reload.ts";
import { createStatefulHandler } from "./stateful.ts";
import {
  startStatelessGroup,
  startStatelessWorker,
  type StatelessHooks,
  type StatelessTopology,
} from "./stateless/mod.ts";
import { createIngestor, startApi } from "./agent_api.ts";
import { batchConsumerOptions, type GroupHooks } from "./consumer_options.ts";
import { describeGroup, GroupHealth, groupMetrics } from "./group_health.ts";

/** Parquet bytes decoded per maintenance round by the rolling scrub (finds parts damaged at rest). */
const PARQUET_SCRUB_BYTES = 32 * 1024 * 1024;

/** A store write at least this long is logged: live data waits for it (e.g. a DuckDB checkpoint). */
const SLOW_STORE_WRITE_S = 0.25;
/** How often the groups' lag is read from the broker. */
const LAG_INTERVAL_MS = 5_000;

/** How to start the agent. */
export interface AgentOptions {
  /** Aborts the wait for the broker at start (a stop signal arrived meanwhile). */
  signal?: AbortSignal;
}

/** A running agent. */
export interface Agent {
  /** Stops consuming, finishes the batches in flight, commits, closes everything. */
  stop(): Promise<void>;
  /** The HTTP address, when the api stage runs. */
  readonly address?: Deno.NetAddr;
}

function runs(config: Config, ...stages: StageName[]): boolean {
  return stages.some((stage) => config.stages.includes(stage));
}

/** Turns a Deno permission error about the data dir into a message that says what to change. */
function explainPermission(error: unknown, config: Config): Error {
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
 * Starts the stateless group on its own thread (`stateless_thread`), or in-process. A worker that
 * cannot start (say, a build whose sandbox cannot load the worker's modules) falls back to
 * in-process with a warning; an error of the group itself (a bad inventory) then shows again.
 */
async function startStateless(
  config: Config,
  log: Logger,
  hooks: StatelessHooks,
  topology: StatelessTopology,
): Promise<{ stop(): Promise<void> }> {
  if (config.stateless_thread) {
    try {
      return await startStatelessWorker(config, log, hooks, topology);
    } catch (error) {
      log.warn("the stateless worker thread did not start; running the stateless group in-process", {
        error,
      });
    }
  }
  return await startStatelessGroup(config, log, hooks, topology);
}

/**
 * Reports the store's Parquet parts found missing or damaged (taken out of the queries): an error
 * log line per part, the gauges `eventops_store_parquet_damaged_parts` and
 * `eventops_store_parquet_unreadable_rows`; starting with what the open found.
 */
function watchParts(store: Store, registry: Registry, log: Logger): void {
  const parts = registry.gauge({
    name: "eventops_store_parquet_damaged_parts",
    help: "Parquet parts missing or damaged, left out of the queries (see /readyz).",
  });
  const rows = registry.gauge({
    name: "eventops_store_parquet_unreadable_rows",
    help: "Rows of the Parquet parts missing or damaged.",
  });
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
 * Starts every stage this process runs (config.stages). The store and the HTTP API start first;
 * then the agent waits for the broker (`kafka.connect_timeout`, `/readyz` says why it is not ready
 * meanwhile), reads the topics' limits and starts the consumer groups.
 */
export async function startAgent(config: Config, log: Logger, options: AgentOptions = {}): Promise<Agent> {
  const startedAt = Date.now();
  const registry = new Registry();
  const metrics = pipelineMetrics(registry);
  const counters = new MemoryCounters(registry);
  const feeds = createLiveFeeds();
  const closers: (() => Promise<void> | void)[] = [];
  let address: Deno.NetAddr | undefined;
  const stopAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        log.warn("error while stopping", { error });
      }
    }
  };

  try {
    const admin = createAdmin(config);
    closers.push(() => admin.close());
    const broker = new BrokerLink(config);
    const producer = createProducer(config, "agent");
    closers.push(() => producer.close());

    // Files reloaded on change (the inventory is the stateless group's).
    compileNormalizeOptions(config.normalize);
    // Alerts resolved because their rule disappeared on reload; emitted with the next batch.
    const pendingAlerts: Alert[] = [];
    let lastEventTs: number | undefined;
    const warnWindows = (rules: readonly CompiledRule[]) => {
      for (const problem of checkRuleWindows(rules, config.features.windows)) log.warn(problem);
    };
    const rulesFile = config.rules
      ? await ReloadableFile.open(config.rules, parseRules, log, (rules) => {
        warnWindows(rules);
        pendingAlerts.push(...ruleEngine.replaceRules(rules, lastEventTs));
      })
      : undefined;
    if (rulesFile) closers.push(() => rulesFile.close());
    const ruleEngine = new RuleEngine(rulesFile?.value ?? defaultRules());
    warnWindows(ruleEngine.rules);

    // Store.
    let store: Store | undefined;
    let writer: StoreWriter | undefined;
    let reader: StoreReader | undefined;
    if (runs(config, "store", "api", "rules")) {
      try {
        store = await openStore(config.data_dir, {
          memoryLimit: config.store.memory_limit,
          threads: config.store.threads,
        });
      } catch (error) {
        throw explainPermission(error, config);
      }
      const opened = store;
      closers.push(() => opened.close());
      if (store.migrationMs !== undefined) {
        log.info("store migrated to the current schema", {
          schema: SCHEMA_VERSION,
          ms: Math.round(store.migrationMs),
        });
      }
      watchParts(store, registry, log);
      writer = await StoreWriter.open(store);
      reader = await StoreReader.open(store);
      const restored = ruleEngine.restore(await reader.latestAlertPerFingerprint());
      if (restored > 0) log.info("restored alert state", { firing: restored });
    }

    // The consumer groups this process runs, and what readiness knows of them.
    const healthMetrics = groupMetrics(registry, metrics.consumerLag);
    const groupHealth: GroupHealth[] = [];
    const statelessHealth = runs(config, "normalize", "enrich")
      ? new GroupHealth(config.kafka.group_stateless, config.topics.raw, healthMetrics)
      : undefined;
    const statefulHealth = runs(config, "features", "rules", "store")
      ? new GroupHealth(config.kafka.group_stateful, config.topics.enriched, healthMetrics)
      : undefined;
    if (statelessHealth) groupHealth.push(statelessHealth);
    if (statefulHealth) groupHealth.push(statefulHealth);
    const consumerLag = (): number | undefined => {
      let total: number | undefined;
      for (const group of groupHealth) {
        const lag = describeGroup(group.snapshot(), Date.now(), config.kafka.progress_timeout).lag;
        if (lag !== null) total = (total ?? 0) + lag;
      }
      return total;
    };
    const consumers = () =>
      groupHealth.map((group) => describeGroup(group.snapshot(), Date.now(), config.kafka.progress_timeout));
    /** Batch metrics, progress, stream state and assignment of one group. */
    const groupHooks = (health: GroupHealth, stage: string): GroupHooks => ({
      onBatch: (size, handlerMs, ageMs) => {
        metrics.batchSize.labels(stage).observe(size);
        metrics.batchSeconds.labels(stage).observe(handlerMs / 1000);
        metrics.batchAge.labels(stage).observe(Math.max(0, ageMs) / 1000);
        health.batch();
      },
      onState: (state, error) => health.state(state, error),
      onAssignment: (assignment) => health.assignment(assignment),
      onFailure: (error) => health.failure(error),
    });

    // HTTP API: served while the agent waits for the broker (not ready, with the reason).
    if (runs(config, "api")) {
      if (!reader) throw new Error("the api stage needs the store");
      const server = startApi(config, log, {
        startedAt,
        registry,
        counters,
        feeds,
        reader,
        ruleEngine,
        ingestor: createIngestor(admin, producer, config.topics.raw),
        health: {
          brokerReachable: async () => {
            const waiting = broker.waitingReason();
            if (waiting !== undefined) throw new Error(waiting);
            await admin.metadata({ topics: [config.topics.raw] });
            return true;
          },
          storeWritable: () => reader!.writable(),
          storeReadable: () => reader!.readable(),
          consumerLag,
          consumers,
        },
      });
      closers.push(() => server.shutdown());
      address = server.addr;
    }

    await waitForBroker(admin, config, log, broker, options.signal);
    const limits = await readTopicLimits(
      admin,
      topicNames(config),
      config.kafka.max_message_bytes,
      (topic, reason) =>
        log.warn("could not read the topic's max.message.bytes; using kafka.max_message_bytes", {
          topic,
          reason,
          max_message_bytes: config.kafka.max_message_bytes,
        }),
    );

    // The groups' lag, from the broker's end offsets and the groups' committed offsets.
    let readingLag = false;
    const readLag = async () => {
      if (readingLag) return;
      readingLag = true;
      try {
        for (const group of groupHealth) {
          group.lag(await readGroupLag(admin, group.group, group.topic, config.kafka.from_beginning));
        }
      } catch (error) {
        log.debug("could not read the consumer lag", { error });
      } finally {
        readingLag = false;
      }
    };
    const lagTimer = setInterval(readLag, LAG_INTERVAL_MS);
    closers.push(() => clearInterval(lagTimer));
    await readLag();

    // Both groups stop together: each finishes its batch in flight and commits.
    const groups: { stop(): Promise<void> }[] = [];
    closers.push(async () => {
      await Promise.all(groups.map((group) => group.stop()));
    });

    // Stateless group: normalize + enrich, on its own thread by default.
    if (statelessHealth) {
      const hooks: StatelessHooks = { counters, ...groupHooks(statelessHealth, "stateless") };
      const enrichedPartitions = await partitionCount(admin, config.topics.enriched);
      groups.push(await startStateless(config, log, hooks, { enrichedPartitions, limits }));
    }

    // Stateful group: features + rules + store.
    if (statefulHealth) {
      const features = new FeatureEngine(config.features);
      const activeWriter = writer;
      const handler = createStatefulHandler<StoredAlert>({
        config,
        producer,
        features,
        rules: ruleEngine,
        counters,
        featuresPartitioner: new SeriesPartitioner(await partitionCount(admin, config.topics.features)),
        limits,
        takePendingAlerts: () => pendingAlerts.splice(0),
        onEventTime: (ts) => {
          lastEventTs = ts;
        },
        stages: {
          features: runs(config, "features"),
          rules: runs(config, "rules"),
          store: runs(config, "store"),
        },
        sink: {
          filterUnseen: (events) =>
            activeWriter ? activeWriter.filterUnseen(events) : Promise.resolve([...events]),
          write: async (events, alerts) => {
            if (!activeWriter) return { inserted: 0, alerts: [] };
            const started = performance.now();
            const before = activeWriter.stats;
            const result = await activeWriter.writeBatch(events, alerts);
            const seconds = (performance.now() - started) / 1000;
            metrics.storeFlush.labels().observe(seconds);
            if (seconds >= SLOW_STORE_WRITE_S) {
              const after = activeWriter.stats;
              log.warn("slow store write (live data waits for it)", {
                ms: Math.round(seconds * 1000),
                events: events.length,
                checkMs: Math.round(after.checkMs - before.checkMs),
                appendMs: Math.round(after.appendMs - before.appendMs),
                commitMs: Math.round(after.commitMs - before.commitMs),
              });
            }
            metrics.storeRows.labels("metrics").inc(result.inserted);
            metrics.storeRows.labels("alerts").inc(result.alertsInserted);
            metrics.storeDuplicates.labels().inc(result.duplicates);
            return { inserted: result.inserted, alerts: result.storedAlerts };
          },
        },
        published: (events, alerts) => {
          for (const event of events) feeds.events.publish(event);
          for (const alert of alerts) {
            feeds.alerts.publish(alert);
            metrics.alerts.labels(alert.severity, alert.state).inc();
          }
          metrics.featureSeries.labels().set(features.seriesCount);
        },
      });
      const group = config.kafka.group_stateful;
      const consumer = new BatchConsumer(
        () => createConsumer(config, group, "stateful"),
        batchConsumerOptions(
          config,
          config.topics.enriched,
          group,
          log,
          groupHooks(statefulHealth, "stateful"),
        ),
      );
      groups.push(consumer);
      await consumer.start(messageBatches(), handler);
    }

    // Parquet export, compaction and retention.
    if (store && runs(config, "store")) {
      const opened = store;
      const archiver = await ParquetArchiver.open(store);
      closers.push(() => archiver.close());
      const parquet = config.store.parquet;
      let running = false;
      const timer = setInterval(async () => {
        if (running) return;
        running = true;
        try {
          await checkParts(opened, { scrubBytes: PARQUET_SCRUB_BYTES });
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
      closers.push(() => clearInterval(timer));
    }

    return { address, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw explainPermission(error, config);
  }
}
