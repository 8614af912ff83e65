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
import type {
  ApiDeps,
  ApiServer,
  ClusterApi,
  Health,
  Ingestor,
  IngestOutcome,
  LiveFeeds,
  LogRecord,
  NotifyApi,
  RuleSummary,
} from "../api/mod.ts";
import type { Config } from "../config/schema.ts";
import { type ByteProducer, MAX_REQUEST_BYTES, planChunks, sendInChunks } from "../kafka/clients.ts";
import { deadLetter, encodeDeadLetter } from "../kafka/dlq.ts";
import { recordBudget, type TopicLimits } from "../kafka/limits.ts";
import { shortError } from "../api/routes/ingest.ts";
import type { Logger } from "../lib/log.ts";
import { normalizeMessage, normalizeMetricName } from "../stages/normalize/mod.ts";
import type { CompiledRule, RuleEngine } from "../stages/rules.ts";
import { formatDuration } from "../lib/duration.ts";
import { queryBudgetsFrom, type StoreReader } from "../store/mod.ts";
import { VERSION } from "../version.ts";
import { ensureLocalCredential } from "../lib/local_credential.ts";
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
  /** Scale-out reads: the cluster map. */
  cluster?: ClusterApi;
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
    topology: () => groups.topology,
  };
}

/**
 * `Ingestor.validate`: the normalize stage the stateless group runs, on one raw message; undefined when
 * it yields events only, else the reasons of its dead letters.
 */
export function rawValidator(
  topic: string,
  normalize: Config["normalize"],
): (message: Uint8Array, nowMs: number) => string | undefined {
  const source = { topic, partition: 0, offset: "0" };
  return (message, nowMs) => {
    const { rejects } = normalizeMessage(message, source, normalize, nowMs);
    return rejects.length === 0 ? undefined : rejects.map((reject) => reject.reason).join("; ");
  };
}

/**
 * A producer-backed ingestor: one request's messages go to one partition, in order, in produce
 * requests that fit the raw topic's `max.message.bytes` (the limits the agent read when it reached
 * the broker, `limits`; until then requests are refused, retry later), so offsets are exact. A message larger than a record may be is not
 * sent (the broker would refuse it however often) and comes back with the reason; when a later
 * request fails, the messages written before it keep their offsets and the rest say why. Items a
 * receiver could not convert go to the DLQ topic (stage `collect`), with the request's route as
 * their source topic and their place in the request as the index.
 */
export function createIngestor(
  admin: Admin,
  producer: ByteProducer,
  topics: { raw: string; dlq: string },
  limits: () => TopicLimits | undefined,
  normalize: Config["normalize"],
): Ingestor {
  const { raw: topic, dlq: dlqTopic } = topics;
  // The raw topic's partition count, read once; concurrent first requests share the read (and a
  // failed read is tried again by the next request).
  let partitionsRead: Promise<number> | undefined;
  const rawPartitions = () => {
    if (partitionsRead === undefined) {
      partitionsRead = admin.metadata({ topics: [topic] }).then((metadata) =>
        metadata.topics.get(topic)?.partitionsCount ?? 1
      );
      partitionsRead.catch(() => partitionsRead = undefined);
    }
    return partitionsRead;
  };
  /** The topics' limits the agent read when it reached the broker; before that, nothing is written. */
  const knownLimits = () => {
    const known = limits();
    if (known === undefined) throw new Error("the agent has not reached the broker yet");
    return known;
  };
  let next = 0;
  return {
    validate: rawValidator(topic, normalize),
    async produce(messages) {
      const recordBytes = recordBudget(knownLimits(), topic);
      const partitions = await rawPartitions();
      const partition = next++ % partitions;
      const plan = planChunks(
        messages.map((m) => m.length),
        recordBytes,
        Math.min(MAX_REQUEST_BYTES, recordBytes),
      );
      const outcomes: IngestOutcome[] = new Array(messages.length);
      for (const index of plan.oversized) {
        outcomes[index] = {
          error:
            `the item is ${messages[index].length} bytes as a Kafka message, more than the ${topic} topic ` +
            `takes (${recordBytes} bytes, its max.message.bytes less framing); split it or send fewer tags`,
        };
      }
      // One request after the other: the messages of a request keep their order on one partition.
      for (let sent = 0; sent < plan.chunks.length; sent++) {
        const chunk = plan.chunks[sent];
        let result;
        try {
          result = await producer.send({
            messages: chunk.map((index) => ({ topic, partition, value: Buffer.from(messages[index]) })),
          });
        } catch (error) {
          if (sent === 0) throw error;
          const reason = `could not write to the broker (${shortError(error)}); retry this item`;
          for (const rest of plan.chunks.slice(sent).flat()) outcomes[rest] = { error: reason };
          break;
        }
        const base = result.offsets?.find((entry) => entry.partition === partition)?.offset ?? 0n;
        chunk.forEach((index, k) => outcomes[index] = { partition, offset: (base + BigInt(k)).toString() });
      }
      return outcomes;
    },
    async deadLetter(route, letters) {
      if (letters.length === 0) return;
      const dlqBudget = recordBudget(knownLimits(), dlqTopic);
      const now = Date.now();
      const records = letters.map((letter, index) => ({
        topic: dlqTopic,
        value: encodeDeadLetter(
          deadLetter(
            "collect",
            letter.reason,
            { topic: route, partition: -1, offset: "-1", index },
            letter.original,
            now,
          ),
          dlqBudget,
        ),
      }));
      await sendInChunks(producer, records, Math.min(MAX_REQUEST_BYTES, dlqBudget));
    },
  };
}

/** The local credential of the data directory, or none (logged) when it cannot be made. */
function localCredential(config: Config, log: Logger): string | undefined {
  try {
    return ensureLocalCredential(config.data_dir);
  } catch (error) {
    log.warn("no local credential: eventops query on this machine needs the API token", { error });
    return undefined;
  }
}

/** Writes an API log record at its own level (access lines are `debug` by default: `http.access_log`). */
function logAt(log: Logger, record: LogRecord): void {
  const { level, msg, ts: _ts, ...fields } = record;
  const message = typeof msg === "string" ? msg : "http";
  if (level === "debug" || level === "warn" || level === "error") log[level](message, fields);
  else log.info(message, fields);
}

/**
 * Starts the HTTP API (`http.*`) over the agent's parts, with the agent's local credential (created in
 * the data directory at the first start) for `eventops query` on this machine.
 */
export function startApi(config: Config, log: Logger, parts: ApiParts): ApiServer {
  const { reader, ruleEngine } = parts;
  const deps: ApiDeps = {
    localCredential: localCredential(config, log),
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
    cluster: parts.cluster,
    query: (sql, maxRows) => reader.readOnlyQuery(sql, { maxRows, ...queryBudgetsFrom(config.store.query) }),
    status: statusOf(config, parts.startedAt, parts.counters, parts.health),
    version: VERSION,
    log: (record) => logAt(log, record),
  };
  const server = serveApi(createApp(deps, config.http), config.http);
  log.info("listening", { url: `http://${server.addr.hostname}:${server.addr.port}/` });
  return server;
}
