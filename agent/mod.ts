/**
 * The agent: the composition root. {@link startAgent} decides only the order in which the parts
 * start and stop; each part is built by a named function from the config, as Vector's topology
 * builder does:
 *
 * - `rules.ts` the rule engine (reloaded), `store.ts` the store (writer, reader, parts report),
 * - `consumer_groups.ts` the groups' health and lag, `api.ts` and `status.ts` the HTTP API,
 * - `broker.ts` reaching the broker, `stateless.ts` and `stateful.ts` the two consumer groups
 *   (`store_sink.ts`: where the stateful group's batches go), `parquet_maintenance.ts`,
 * - `lifecycle.ts` the shutdown order: every part stops in reverse order of its start.
 *
 * @module
 */
import { createLiveFeeds } from "../api/mod.ts";
import { pipelineMetrics } from "../telemetry/families.ts";
import { Registry } from "../telemetry/registry.ts";
import type { Config } from "../config/schema.ts";
import { createAdmin, createProducer } from "../kafka/clients.ts";
import { BrokerLink } from "../kafka/connect.ts";
import { partitionCount } from "../kafka/topics.ts";
import type { Logger } from "../lib/log.ts";
import { MemoryCounters } from "../telemetry/counters.ts";
import { compileNormalizeOptions } from "../stages/normalize/mod.ts";
import { agentHealth, createIngestor, startApi } from "./api.ts";
import { reachBroker } from "./broker.ts";
import { ConsumerGroups } from "./consumer_groups.ts";
import { Lifecycle } from "./lifecycle.ts";
import { startParquetMaintenance } from "./parquet_maintenance.ts";
import { loadAgentRules } from "./rules.ts";
import { runs } from "./stages.ts";
import { startStateful } from "./stateful.ts";
import { startStateless } from "./stateless.ts";
import { type AgentStore, explainPermission, openAgentStore } from "./store.ts";

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
  const life = new Lifecycle(log);
  let address: Deno.NetAddr | undefined;
  try {
    const admin = createAdmin(config);
    life.onStop(() => admin.close());
    const broker = new BrokerLink(config);
    const producer = createProducer(config, "agent");
    life.onStop(() => producer.close());
    compileNormalizeOptions(config.normalize);
    const rules = await loadAgentRules(config, log, life);

    let store: AgentStore | undefined;
    if (runs(config, "store", "api", "rules")) {
      store = await openAgentStore(config, log, registry, life);
      const restored = rules.engine.restore(await store.reader.latestAlertPerFingerprint());
      if (restored > 0) log.info("restored alert state", { firing: restored });
    }
    const groups = new ConsumerGroups(config, registry, metrics);

    // HTTP API: served while the agent waits for the broker (not ready, with the reason).
    if (runs(config, "api")) {
      if (!store) throw new Error("the api stage needs the store");
      const server = startApi(config, log, {
        startedAt,
        registry,
        counters,
        feeds,
        reader: store.reader,
        ruleEngine: rules.engine,
        ingestor: createIngestor(admin, producer, config.topics.raw, config.kafka.max_message_bytes),
        health: agentHealth(config, admin, broker, store.reader, groups),
      });
      life.onStop(() => server.shutdown());
      address = server.addr;
    }

    const limits = await reachBroker(admin, config, log, broker, options.signal);
    await groups.readLagEvery(admin, log, life);

    // Both groups stop together: each finishes its batch in flight and commits.
    const running: { stop(): Promise<void> }[] = [];
    life.onStop(async () => {
      await Promise.all(running.map((group) => group.stop()));
    });
    if (groups.stateless) {
      const hooks = { counters, ...groups.hooks(groups.stateless, "stateless") };
      const enrichedPartitions = await partitionCount(admin, config.topics.enriched);
      running.push(await startStateless(config, log, hooks, { enrichedPartitions, limits }));
    }
    if (groups.stateful) {
      const hooks = groups.hooks(groups.stateful, "stateful");
      const parts = {
        admin,
        producer,
        rules,
        writer: store?.writer,
        reader: store?.reader,
        counters,
        metrics,
        feeds,
        hooks,
        limits,
      };
      running.push(await startStateful(config, log, parts));
    }

    if (store && runs(config, "store")) {
      await startParquetMaintenance(config, store.store, metrics, log, life);
    }
    return { address, stop: () => life.stopAll() };
  } catch (error) {
    await life.stopAll();
    throw explainPermission(error, config);
  }
}
