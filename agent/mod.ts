/**
 * The agent: the composition root. {@link startAgent} decides only the order in which the parts
 * start and stop; each part is built by a named function from the config, as Vector's topology
 * builder does:
 *
 * - `rules.ts` the rule engine (reloaded), `store.ts` the store (writer, reader, parts report),
 * - `consumer_groups.ts` the groups' health and lag, `api.ts` and `status.ts` the HTTP API,
 * - `broker.ts` reaching the broker, `topology.ts` the topology (`topology`): `stateless.ts` and
 *   `stateful.ts` the two consumer groups of `partitioned` (`store_sink.ts`: where the stateful
 *   stages' batches go), `local.ts` the one pass of `local`; `parquet_maintenance.ts`,
 * - `notify.ts` alert delivery (the store is its outbox),
 * - `lifecycle.ts` the shutdown order: every part stops in reverse order of its start.
 *
 * @module
 */
import v8 from "node:v8";
import { heapMismatch, memoryReport } from "../config/memory.ts";
import { createLiveFeeds } from "../api/mod.ts";
import { pipelineMetrics } from "../telemetry/families.ts";
import { Registry } from "../telemetry/registry.ts";
import type { Config } from "../config/schema.ts";
import { createAdmin, createProducer } from "../kafka/clients.ts";
import { BrokerLink } from "../kafka/connect.ts";
import type { Logger } from "../lib/log.ts";
import { MemoryCounters } from "../telemetry/counters.ts";
import { compileNormalizeOptions } from "../stages/normalize/mod.ts";
import { agentHealth, createIngestor, startApi } from "./api.ts";
import { startDeviceSource } from "./device.ts";
import { reachBroker } from "./broker.ts";
import type { TopicLimits } from "../kafka/limits.ts";
import { ConsumerGroups } from "./consumer_groups.ts";
import { Lifecycle } from "./lifecycle.ts";
import { startParquetMaintenance } from "./parquet_maintenance.ts";
import { loadAgentRules } from "./rules.ts";
import { runs } from "./stages.ts";
import { startingTopology, TopologyRun } from "./topology.ts";
import { type AgentNotify, startNotify } from "./notify.ts";
import { syncSilencesFromPeers } from "./silence_sync.ts";
import { type AgentStore, explainPermission, openAgentStore } from "./store.ts";
import { framerOf, framingSender } from "../registry/framing.ts";
import { ClusterMembership } from "./cluster.ts";
import { followPeerAlerts } from "./peer_alerts.ts";
import { type InterfaceAddress, reachableBaseUrl } from "../lib/net_address.ts";

/**
 * `config` with `http.advertise` set: as configured, else the address other machines reach the bound
 * API at (`lib/net_address.ts`).
 */
function withAdvertisedAddress(config: Config, address: Deno.NetAddr): Config {
  if (config.http.advertise !== "") return config;
  let interfaces: InterfaceAddress[] = [];
  try {
    interfaces = Deno.networkInterfaces();
  } catch {
    // without the permission: loopback
  }
  const advertise = reachableBaseUrl(config.http.host, address.port, interfaces);
  return { ...config, http: { ...config.http, advertise } };
}

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
export async function startAgent(
  configured: Config,
  log: Logger,
  options: AgentOptions = {},
): Promise<Agent> {
  let config = configured;
  const startedAt = Date.now();
  const registry = new Registry();
  const metrics = pipelineMetrics(registry);
  const counters = new MemoryCounters(registry);
  const feeds = createLiveFeeds();
  const life = new Lifecycle(log);
  let address: Deno.NetAddr | undefined;
  /** The topics' limits, read when the broker is reached (the ingestor writes nothing before). */
  let limits: TopicLimits | undefined;
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
      // Rules that cannot be compared in their metric's stored unit are refused (at reload too).
      await rules.checkUnits(store.reader.readOnlyQuery.bind(store.reader));
      const restored = rules.engine.restore(await store.reader.latestAlertPerFingerprint());
      if (restored > 0) log.info("restored alert state", { firing: restored });
    }
    // Alert delivery: wherever the store is (it is the outbox).
    let notify: AgentNotify | undefined;
    if (store) {
      const started = await startNotify(config, log, { store: store.store, registry, producer, admin });
      life.onStop(() => started.stop());
      notify = started;
    }
    const topology = startingTopology(config);
    log.info("topology", { configured: config.topology, running: topology });
    const memory = memoryReport(config, v8.getHeapStatistics().heap_size_limit);
    log.info("memory", { ...memory });
    const heap = heapMismatch(memory);
    if (heap) log.warn("memory_budget: V8 heap not limited", { reason: heap });
    const groups = new ConsumerGroups(config, registry, metrics, topology);
    const cluster = new ClusterMembership(config, admin, log);
    groups.onAssignment(() => void cluster.refresh());

    const ingestor = createIngestor(admin, producer, config.topics, () => limits, config.normalize);
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
        notify: notify?.notifier,
        ingestor,
        health: agentHealth(config, admin, broker, store.reader, groups),
        cluster,
      });
      life.onStop(() => server.shutdown());
      address = server.addr;
      // Scale-out reads: the consumers advertise this address in their groups (kafka/membership.ts).
      config = withAdvertisedAddress(config, address);
      cluster.selfUrl = config.http.advertise;
    }

    const reached = await reachBroker(admin, config, log, broker, options.signal);
    limits = reached;
    await groups.readLagEvery(admin, log, life);

    // The topology's groups stop together: each finishes its batch in flight and commits.
    const pipeline = new TopologyRun(config, log, groups, {
      admin,
      producer: framingSender(producer, framerOf(config)),
      rules,
      writer: store?.writer,
      reader: store?.reader,
      store: store?.store,
      counters,
      metrics,
      feeds,
      limits: reached,
      notify,
      cluster,
    });
    life.onStop(() => pipeline.stop());
    await pipeline.start();
    if (runs(config, "api")) followPeerAlerts(config, feeds, log, cluster, life, admin);
    if (notify) syncSilencesFromPeers(config, notify.notifier, cluster, log);
    if (config.http.advertise !== "") await cluster.start(life);

    if (store && runs(config, "store")) {
      await startParquetMaintenance(config, store.store, metrics, log, life);
    }
    const device = startDeviceSource(config, log, ingestor, counters);
    life.onStop(() => device.stop());
    return { address, stop: () => life.stopAll() };
  } catch (error) {
    await life.stopAll();
    throw explainPermission(error, config);
  }
}
