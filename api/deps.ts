/**
 * The HTTP layer's view of the rest of the agent: small interfaces the pipeline, the store and the
 * Kafka client implement. The API never imports `store/`, `stages/` or a Kafka client directly,
 * so its tests run against in-memory fakes.
 *
 * @module
 */
import type { MemoryReport } from "../config/memory.ts";
import type {
  AlertsQuery,
  BucketRow,
  BucketsQuery,
  Catalog,
  PointRow,
  PointsQuery,
  QueryResult,
  StoredAlert,
} from "../model/query.ts";
import type { PeerAlert } from "../model/alert.ts";

export type { PeerAlert };
import type { Envelope } from "../model/envelope.ts";
import type { ConsumerHealth } from "../model/health.ts";
import type {
  AckRecord,
  ActiveAlert,
  GettableSilence,
  NotificationRecord,
  NotificationStatus,
  PostableSilence,
} from "../model/notification.ts";
import type { Config } from "../config/schema.ts";
import type { Hub } from "./hub.ts";
import type { ClusterView, PeerAlertsState, RestoreReport, SeriesOwner } from "../model/cluster.ts";

export type { PeerAlertsState };

/** The `http` section of the configuration (durations in milliseconds). */
export type HttpConfig = Config["http"];

export type { Catalog };

/** The queries the API runs against the store (implemented by `StoreReader` of `store/query.ts`). */
export interface StoreQueries {
  catalog(): Promise<Catalog>;
  points(q: PointsQuery): Promise<PointRow[]>;
  buckets(q: BucketsQuery): Promise<BucketRow[]>;
  alerts(q: AlertsQuery): Promise<StoredAlert[]>;
  /** Alerts with `seq > afterSeq`, ascending by seq, at most `limit` (SSE replay). */
  alertsAfter(afterSeq: number, limit: number): Promise<StoredAlert[]>;
  diskUsage(): Promise<{ bytes: number }>;
}

/** Where the broker put a raw message, or why it was not written (the message is not on the topic). */
export type IngestOutcome = { partition: number; offset: string } | { error: string };

/** An item a receiver could not convert, for the dead-letter topic. */
export interface CollectDeadLetter {
  reason: string;
  /** The item's original text. */
  original: string;
}

/**
 * Produces raw messages to the raw Kafka topic; one outcome per message, same order. Rejects when
 * the broker took none of them for a reason a retry may change (the broker away).
 */
export interface Ingestor {
  produce(messages: Uint8Array[]): Promise<IngestOutcome[]>;
  /**
   * The normalize stage's verdict on one raw message at `nowMs`: undefined when every element of it
   * becomes an event, else the reason its dead letter will carry (the same normalizer runs in the
   * stateless group). Without it, every JSON object is accepted.
   */
  validate?(message: Uint8Array, nowMs: number): string | undefined;
  /** Writes items a receiver (`route`, e.g. `POST /write`) could not convert to the dead-letter topic. */
  deadLetter?(route: string, letters: CollectDeadLetter[]): Promise<void>;
}

export type { ConsumerHealth };

/** What the store-readable probe found (implemented by `store/query.ts`, `StoreReader.readable`). */
export interface StoreReadable {
  /** The hot table and the Parquet view answer. */
  ok: boolean;
  error?: string;
  /** Parquet parts missing or damaged, taken out of the queries. */
  damagedParts: number;
  /** Rows those parts hold. */
  unreadableRows: number;
  /** Up to 10 of them: path (relative to `data_dir/parquet`), what is wrong, where the file went. */
  damaged: { path: string; problem: string; rows: number; quarantine: string | null }[];
  /** How long the probe took. */
  ms: number;
}

/** Readiness probes. */
export interface Health {
  /** Resolves true when the broker answers; rejects with the reason otherwise (e.g. still waiting at start). */
  brokerReachable(): Promise<boolean>;
  storeWritable(): Promise<boolean>;
  /** The store is readable, and which Parquet parts are not; omitted when the agent has no store. */
  storeReadable?(): Promise<StoreReadable>;
  /** Total lag of the agent's consumer groups (messages); undefined while unknown. */
  consumerLag(): number | undefined;
  /** The consumer groups this process runs; none when omitted. */
  consumers?(): ConsumerHealth[];
  /** The topology running now (`auto` runs local, then partitioned once another agent joined). */
  topology?(): "local" | "partitioned";
}

/** Anything that renders Prometheus text exposition (see `telemetry/registry.ts`). */
export interface MetricsRegistry {
  render(): string;
}

/** In-process live feeds the pipeline publishes to. */
export interface LiveFeeds {
  /** Published by the store stage after the alert is committed (so it has its `seq`), in seq order. */
  alerts: Hub<StoredAlert>;
  /** Enriched events, published by the store stage after their batch is committed (as stored). */
  events: Hub<Envelope>;
  /**
   * Scale-out: the alerts of the other agents, read from the alerts topic (`agent/peer_alerts.ts`);
   * nothing is published here while the agent is alone.
   */
  peerAlerts: Hub<PeerAlert>;
}

/** One active rule: every field as loaded, and the thresholds for the dashboard's threshold lines. */
export interface RuleSummary {
  name: string;
  /** Canonical metric name. */
  metric: string;
  warning: number | null;
  critical: number | null;
  /** Which side of the threshold fires; `above` when omitted. */
  direction?: "above" | "below";
  /** The value tested: `value` or a feature such as `avg_5m`. */
  source?: string;
  /** The comparison (`>`, `>=`, `<`, `<=`). */
  op?: string;
  /** How long the condition must hold before firing (`0s`: at once). */
  for?: string;
  /** The level the value must pass back over to resolve (hysteresis). */
  clear?: number;
  /** Tenant, host, tag and context patterns an event must match. */
  match?: { tenant?: string; host?: string; tags?: Record<string, string>; ctx?: Record<string, string> };
  /** The unit the thresholds are written in (the metric's canonical unit when null). */
  unit?: string | null;
  labels?: Record<string, string>;
  /** Annotation templates. */
  annotations?: Record<string, string>;
}

/** A silence that could not be set (`name` `"SilenceError"`): 400 invalid, 404 unknown id. */
export interface SilenceFailure extends Error {
  status: 400 | 404;
}

/** Alert delivery: active alerts, silences, acknowledgements and notifications (`notify/`). */
export interface NotifyApi {
  /** One row per firing alert, with whether it is silenced, inhibited or acknowledged. */
  activeAlerts(): ActiveAlert[];
  /** The silences; with `filter` (matcher texts) those having each matcher; throws on a bad filter. */
  silences(filter?: readonly string[]): GettableSilence[];
  silence(id: string): GettableSilence | undefined;
  /**
   * Creates or updates a silence; resolves with its id; rejects with a {@link SilenceFailure}. `id`: the
   * id a new silence gets (scale-out: the copy of a silence another agent created), else a random one.
   */
  setSilence(posted: PostableSilence, id?: string): Promise<string>;
  /** Expires a silence; rejects with a {@link SilenceFailure} (404) when unknown. */
  expireSilence(id: string): Promise<void>;
  /** Acknowledges the current firing episode of an alert; undefined when it is not firing. */
  ack(fingerprint: string, by: string, comment: string): Promise<AckRecord | undefined>;
  notifications(
    q: { limit: number; status?: NotificationStatus; receiver?: string },
  ): Promise<NotificationRecord[]>;
}

/** The agent's own numbers for the dashboard's status strip. */
export interface AgentStatus {
  version: string;
  /** Epoch ms when the process started. */
  started_at: number;
  /** Stages this process runs. */
  stages: string[];
  /** The configured topology and the one running now (null when this process runs none). */
  topology?: { configured: "auto" | "local" | "partitioned"; running: "local" | "partitioned" | null };
  /** Recent throughput per second, e.g. `{ consumed: 120.5, stored: 118.0, alerts: 0.1 }`. */
  rates: Record<string, number>;
  /** Total consumer lag in messages; null while unknown. */
  consumer_lag: number | null;
  /** Each consumer group this process runs (see {@link ConsumerHealth}). */
  consumers?: ConsumerHealth[];
  /** Dead-letter counts since start. */
  dlq: { total: number; by_stage: Record<string, number> };
  /** Other totals since start, e.g. `{ consumed: 1000, stored: 990 }`. */
  totals?: Record<string, number>;
  /** The memory settings in effect (`memory_budget` and what it derived, `config/memory.ts`). */
  memory?: MemoryReport;
}

/** One structured log record (the API logs one per request). */
export type LogRecord = Record<string, string | number | boolean | null | undefined>;

/**
 * Scale-out reads (`agent/cluster.ts`): the partition -> agent map of the consumer group that stores
 * the series; reads of a series another agent owns are forwarded to it, reads over many series fan
 * out to every agent.
 */
export interface ClusterApi {
  /** The map as last read; undefined before the first read. */
  view(): ClusterView | undefined;
  /** Where the reads of one series go. */
  ownerOf(series: { tenant: string; host: string; metric: string }): SeriesOwner;
  /** The other agents' base URLs. */
  peers(): string[];
  /** Reads the map again (after a peer did not answer); never rejects. */
  refresh(): Promise<void>;
  /** This agent's advertised base URL. */
  selfUrl: string;
  /** How long a forwarded or fanned-out read waits for each agent (ms). */
  forwardTimeoutMs: number;
  /**
   * The feed of the other agents' alerts into this agent's SSE alert stream (`agent/peer_alerts.ts`):
   * `off` while alone, `consuming` once it reads the alerts topic.
   */
  peerAlerts?(): PeerAlertsState;
  /**
   * The partitions of `events.enriched` this agent is restoring from a departed agent
   * (`pipeline/restore.ts`): the answers it gives are partial meanwhile.
   */
  restoring?(): number[];
  /** The last restore of a departed agent's rows by this agent (`GET /cluster`). */
  lastRestore?(): RestoreReport | undefined;
}

/** Everything the HTTP layer needs. */
export interface ApiDeps {
  store: StoreQueries;
  ingestor: Ingestor;
  health: Health;
  /** Registry rendered at `/prometheus`; the API registers its own HTTP metrics in it when it is a `telemetry/registry.ts` Registry. */
  metrics: MetricsRegistry;
  feeds: LiveFeeds;
  /** Canonical metric name for a name as users type it (`cpu` -> `cpu_load`); identity when unknown. */
  resolveMetric(name: string): string;
  rules(): RuleSummary[];
  status(): AgentStatus | Promise<AgentStatus>;
  /** Alert delivery; its routes answer 503 when omitted (no store in this process). */
  notify?: NotifyApi;
  /** The agent's local credential (`lib/local_credential.ts`): accepted for `POST /query` from loopback only. */
  localCredential?: string;
  /** Structured logger; default: one JSON line per record to stderr. */
  log?: (record: LogRecord) => void;
  /** Readiness tuning. */
  readiness?: {
    /** Not ready when the consumer lag is above this; no limit when omitted. */
    maxConsumerLag?: number;
    /** Timeout of each async probe (default 2000 ms). */
    probeTimeoutMs?: number;
  };
  /**
   * Runs one read-only SQL statement against the store (`POST /query`, `eventops query`). Rejects
   * with an error whose `name` is `"QueryError"` (message user-facing, e.g. the DuckDB parser's) for SQL
   * that is refused or fails; any other rejection is an internal error. `POST /query` answers 503 when
   * omitted.
   */
  query?(sql: string, maxRows: number): Promise<QueryResult>;
  /** Scale-out reads; without it every read is answered from this agent's store alone. */
  cluster?: ClusterApi;
  /** Version reported by `/healthz` and the OpenAPI document. */
  version?: string;
  /** Clock (epoch ms), for tests; default `Date.now`. */
  now?: () => number;
}
