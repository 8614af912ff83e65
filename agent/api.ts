/**
 * The agent's HTTP API: the dependencies the API layer needs (`api/deps.ts`), built from the
 * agent's parts (the health probes, the ingestor, `/status`), and the server. Started before the
 * agent reaches the broker, so `/readyz` can say why it is not ready yet.
 *
 * @module
 */
import type { Admin } from "@platformatic/kafka";
import { createApp, serveApi } from "../api/mod.ts";
import type { Registry } from "../telemetry/registry.ts";
import type { ApiDeps, ApiServer, Health, Ingestor, LiveFeeds, NotifyApi, RuleSummary } from "../api/mod.ts";
import type { Config } from "../config/schema.ts";
import type { ByteProducer } from "../kafka/clients.ts";
import type { Logger } from "../lib/log.ts";
import { normalizeMetricName } from "../stages/normalize/mod.ts";
import type { CompiledRule, RuleEngine } from "../stages/rules.ts";
import { formatDuration } from "../lib/duration.ts";
import { queryBudgetsFrom, type StoreReader } from "../store/mod.ts";
import { VERSION } from "../version.ts";
import type { MemoryCounters } from "../telemetry/counters.ts";
import type { BrokerLink } from "../kafka/connect.ts";
import type { ConsumerGroups } from "./consumer_groups.ts";
import { statusOf } from "./status.ts";

/** The agent's parts the API serves. */
export interface ApiParts {
  startedAt: number;
  registry: Registry;
  counters: MemoryCounters;
  feeds: LiveFeeds;
  reader: StoreReader;
  ruleEngine: RuleEngine;
  ingestor: Ingestor;
  health: Health;
  /** Alert delivery, when this process holds the store. */
  notify?: NotifyApi;
}

/** Every rule as loaded: thresholds, comparison, `for`, `clear`, `match`, labels, annotations. */
export function ruleSummaries(rules: readonly CompiledRule[]): RuleSummary[] {
  return rules.map((rule) => {
    const { definition } = rule;
    return {
      name: rule.name,
      metric: rule.metric,
      warning: rule.warning ?? null,
      critical: rule.critical ?? null,
      direction: rule.op === "<" || rule.op === "<=" ? "below" : "above",
      source: rule.feature ? `${rule.feature.stat}_${rule.feature.window}` : "value",
      op: rule.op,
      for: formatDuration(rule.forMs),
      clear: rule.clear,
      match: definition.match ?? {},
      unit: rule.unit?.written ?? null,
      labels: { ...definition.labels },
      annotations: { ...definition.annotations },
    };
  });
}

/**
 * The readiness probes: the broker answers (or why the agent still waits for it), the store is
 * writable and readable, the consumer groups' health and lag.
 */
export function agentHealth(
  config: Config,
  admin: Admin,
  broker: BrokerLink,
  reader: StoreReader,
  groups: ConsumerGroups,
): Health {
  return {
    brokerReachable: async () => {
      const waiting = broker.waitingReason();
      if (waiting !== undefined) throw new Error(waiting);
      await admin.metadata({ topics: [config.topics.raw] });
      return true;
    },
    storeWritable: () => reader.writable(),
    storeReadable: () => reader.readable(),
    consumerLag: () => groups.consumerLag(),
    consumers: () => groups.consumers(),
  };
}

/** A producer-backed ingestor: one request's messages go to one partition, so offsets are exact. */
export function createIngestor(admin: Admin, producer: ByteProducer, topic: string): Ingestor {
  let partitions = 0;
  let next = 0;
  return {
    async produce(messages) {
      if (partitions === 0) {
        const metadata = await admin.metadata({ topics: [topic] });
        partitions = metadata.topics.get(topic)?.partitionsCount ?? 1;
      }
      const partition = next++ % partitions;
      const result = await producer.send({
        messages: messages.map((value) => ({ topic, partition, value: Buffer.from(value) })),
      });
      const base = result.offsets?.find((entry) => entry.partition === partition)?.offset ?? 0n;
      return messages.map((_, index) => ({ partition, offset: (base + BigInt(index)).toString() }));
    },
  };
}

/** Starts the HTTP API (`http.*`) over the agent's parts. */
export function startApi(config: Config, log: Logger, parts: ApiParts): ApiServer {
  const { reader, ruleEngine } = parts;
  const deps: ApiDeps = {
    store: reader,
    ingestor: parts.ingestor,
    health: parts.health,
    metrics: parts.registry,
    feeds: parts.feeds,
    resolveMetric: (name) => {
      const result = normalizeMetricName(name, config.normalize);
      return result.reason === undefined ? result.name : name;
    },
    rules: () => ruleSummaries(ruleEngine.rules),
    notify: parts.notify,
    query: (sql, maxRows) => reader.readOnlyQuery(sql, { maxRows, ...queryBudgetsFrom(config.store.query) }),
    status: statusOf(config, parts.startedAt, parts.counters, parts.health),
    version: VERSION,
    log: (record) => log.info("http", record),
  };
  const server = serveApi(createApp(deps, config.http), config.http);
  log.info("listening", { url: `http://${server.addr.hostname}:${server.addr.port}/` });
  return server;
}
