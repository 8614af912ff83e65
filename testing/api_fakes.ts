/**
 * In-memory implementations of the API's interfaces: for the HTTP layer's unit tests and the
 * dashboard's demo server (`ui/dev_server.ts`).
 *
 * @module
 */
import { ConfigSchema } from "../config/schema.ts";
import type { Envelope } from "../model/envelope.ts";
import type {
  AgentStatus,
  ApiDeps,
  Catalog,
  Health,
  HttpConfig,
  Ingestor,
  IngestOutcome,
  LogRecord,
  RuleSummary,
  StoreQueries,
  StoreReadable,
} from "../api/deps.ts";
import type {
  AlertsQuery,
  BucketRow,
  BucketsQuery,
  PointRow,
  PointsQuery,
  StoredAlert,
} from "../model/query.ts";
import { createApp } from "../api/app.ts";
import { createLiveFeeds } from "../api/feeds.ts";
import { Registry } from "../telemetry/registry.ts";
import type { Hono } from "hono";

/** The brief's two seed events as stored points. */
export const SEED_POINTS: PointRow[] = [
  {
    ts: Date.parse("2025-10-21T10:00:00Z"),
    tenant: "acme",
    host: "host-a",
    metric: "cpu_load",
    value: 85,
    unit: "percent",
    tags: { env: "prod" },
    ctx: { site: "lab" },
  },
  {
    ts: Date.parse("2025-10-21T10:05:00Z"),
    tenant: "acme",
    host: "host-a",
    metric: "cpu_load",
    value: 97,
    unit: "percent",
    tags: { env: "prod" },
    ctx: { site: "lab" },
  },
];

/** Builds a stored alert. */
export function makeAlert(seq: number, overrides: Partial<StoredAlert> = {}): StoredAlert {
  const ts = Date.parse("2025-10-21T10:00:00Z") + seq * 60_000;
  return {
    seq,
    id: `fp-${seq}:${ts}:${seq}`,
    fingerprint: "cpu_high|acme|host-a|cpu_load",
    rule: "cpu_high",
    tenant: "acme",
    host: "host-a",
    metric: "cpu_load",
    severity: "warning",
    state: "firing",
    value: 85,
    threshold: 80,
    starts_at: ts,
    ends_at: null,
    ts,
    labels: {},
    annotations: {},
    ...overrides,
  };
}

/** The seed's alerts: a warning (85) then a critical (97). */
export const SEED_ALERTS: StoredAlert[] = [
  makeAlert(1, {
    value: 85,
    threshold: 80,
    severity: "warning",
    ts: SEED_POINTS[0].ts,
    starts_at: SEED_POINTS[0].ts,
  }),
  makeAlert(2, {
    value: 97,
    threshold: 95,
    severity: "critical",
    ts: SEED_POINTS[1].ts,
    starts_at: SEED_POINTS[0].ts,
  }),
];

function aggregate(values: number[], agg: BucketsQuery["agg"]): number {
  switch (agg) {
    case "avg":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "min":
      return Math.min(...values);
    case "max":
      return Math.max(...values);
    case "last":
      return values[values.length - 1];
    case "count":
      return values.length;
    case "sum":
      return values.reduce((a, b) => a + b, 0);
    case "p50":
    case "p90":
    case "p95":
    case "p99": {
      const q = Number(agg.slice(1)) / 100;
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    }
  }
}

/** A store backed by arrays; records every query it receives. */
export class MemoryStore implements StoreQueries {
  points_: PointRow[];
  alerts_: StoredAlert[];
  readonly calls: { method: string; query: unknown }[] = [];
  failing = false;

  constructor(points: PointRow[] = SEED_POINTS, alerts: StoredAlert[] = SEED_ALERTS) {
    this.points_ = [...points];
    this.alerts_ = [...alerts];
  }

  #check(method: string, query: unknown): void {
    this.calls.push({ method, query });
    if (this.failing) throw new Error("store is down");
  }

  catalog(): Promise<Catalog> {
    this.#check("catalog", undefined);
    const series = new Map<string, Catalog["series"][number]>();
    for (const p of this.points_) {
      const key = `${p.tenant}|${p.host}|${p.metric}`;
      const s = series.get(key);
      if (!s) {
        series.set(key, {
          tenant: p.tenant,
          host: p.host,
          metric: p.metric,
          unit: p.unit,
          rows: 1,
          first_ts: p.ts,
          last_ts: p.ts,
        });
      } else {
        s.rows++;
        s.first_ts = Math.min(s.first_ts, p.ts);
        s.last_ts = Math.max(s.last_ts, p.ts);
      }
    }
    return Promise.resolve({
      tenants: [...new Set(this.points_.map((p) => p.tenant))],
      series: [...series.values()],
    });
  }

  #match(q: PointsQuery | BucketsQuery): PointRow[] {
    return this.points_
      .filter((p) =>
        p.metric === q.metric && (q.tenant === undefined || p.tenant === q.tenant) &&
        (q.host === undefined || p.host === q.host) && (q.fromMs === undefined || p.ts >= q.fromMs) &&
        (q.toMs === undefined || p.ts < q.toMs) &&
        (q.labels ?? []).every((f) => (f.map === "tags" ? p.tags : p.ctx)[f.key] === f.value)
      )
      .sort((a, b) => a.ts - b.ts);
  }

  points(q: PointsQuery): Promise<PointRow[]> {
    this.#check("points", q);
    return Promise.resolve(this.#match(q).slice(0, q.limit));
  }

  buckets(q: BucketsQuery): Promise<BucketRow[]> {
    this.#check("buckets", q);
    const group = q.group ?? { by: "host" };
    const groups = new Map<string, { ts: number; tenant: string; g: string | null; values: number[] }>();
    for (const p of this.#match(q)) {
      const ts = Math.floor(p.ts / q.stepMs) * q.stepMs;
      const g = group.by === "host" ? p.host : ((group.by === "tags" ? p.tags : p.ctx)[group.key] ?? null);
      const key = `${ts}|${p.tenant}|${g}`;
      let entry = groups.get(key);
      if (!entry) groups.set(key, entry = { ts, tenant: p.tenant, g, values: [] });
      entry.values.push(p.value);
    }
    const rows: BucketRow[] = [...groups.values()]
      .sort((a, b) => a.ts - b.ts || a.tenant.localeCompare(b.tenant) || (a.g ?? "").localeCompare(b.g ?? ""))
      .map((entry) => ({
        ts: entry.ts,
        tenant: entry.tenant,
        ...(group.by === "host" ? { host: entry.g ?? "" } : { group: entry.g }),
        value: aggregate(entry.values, q.agg),
      }));
    return Promise.resolve(rows.slice(0, q.limit));
  }

  alerts(q: AlertsQuery): Promise<StoredAlert[]> {
    this.#check("alerts", q);
    return Promise.resolve(
      this.alerts_
        .filter((a) =>
          (q.state === undefined || a.state === q.state) &&
          (q.severity === undefined || a.severity === q.severity) &&
          (q.tenant === undefined || a.tenant === q.tenant) && (q.host === undefined || a.host === q.host) &&
          (q.rule === undefined || a.rule === q.rule) && (q.fromMs === undefined || a.ts >= q.fromMs) &&
          (q.toMs === undefined || a.ts < q.toMs)
        )
        .sort((a, b) => b.seq - a.seq)
        .slice(0, q.limit),
    );
  }

  alertsAfter(seq: number, limit: number): Promise<StoredAlert[]> {
    this.#check("alertsAfter", { seq, limit });
    return Promise.resolve(
      this.alerts_.filter((a) => a.seq > seq).sort((a, b) => a.seq - b.seq).slice(0, limit),
    );
  }

  diskUsage(): Promise<{ bytes: number }> {
    this.#check("diskUsage", undefined);
    return Promise.resolve({ bytes: 123_456 });
  }
}

/** An ingestor that records messages and hands out offsets. */
export class MemoryIngestor implements Ingestor {
  readonly messages: Uint8Array[] = [];
  failing = false;
  /** The agent's validator (`rawValidator` of agent/api.ts) when a test sets it. */
  validate?: (message: Uint8Array, nowMs: number) => string | undefined;
  produce(messages: Uint8Array[]): Promise<IngestOutcome[]> {
    if (this.failing) return Promise.reject(new Error("broker 127.0.0.1:9092 unreachable"));
    return Promise.resolve(messages.map((m) => {
      this.messages.push(m);
      return { partition: 0, offset: String(this.messages.length - 1) };
    }));
  }
  /** Dead letters of the protocol receivers: route, reason, original. */
  readonly deadLetters: { route: string; reason: string; original: string }[] = [];
  deadLetter(route: string, letters: { reason: string; original: string }[]): Promise<void> {
    for (const letter of letters) this.deadLetters.push({ route, ...letter });
    return Promise.resolve();
  }
  /** The produced messages, parsed. */
  parsed(): unknown[] {
    return this.messages.map((m) => JSON.parse(new TextDecoder().decode(m)));
  }
}

/** Health with switches. */
export class FakeHealth implements Health {
  broker = true;
  store = true;
  lag: number | undefined = 0;
  hang = false;
  brokerReachable(): Promise<boolean> {
    return this.hang ? new Promise(() => {}) : Promise.resolve(this.broker);
  }
  storeWritable(): Promise<boolean> {
    return Promise.resolve(this.store);
  }
  consumerLag(): number | undefined {
    return this.lag;
  }
  /** What `storeReadable` answers. */
  readable: StoreReadable = { ok: true, damagedParts: 0, unreadableRows: 0, damaged: [], ms: 1 };
  storeReadable(): Promise<StoreReadable> {
    return Promise.resolve(this.readable);
  }
}

/** Default rules: the brief's cpu_load thresholds. */
export const RULES: RuleSummary[] = [
  { name: "cpu_high", metric: "cpu_load", warning: 80, critical: 95, direction: "above", source: "value" },
  { name: "mem_high", metric: "mem_used", warning: 0.8, critical: 0.95 },
];

/** A status snapshot. */
export const STATUS: AgentStatus = {
  version: "0.1.0-test",
  started_at: Date.parse("2025-10-21T09:00:00Z"),
  stages: ["normalize", "enrich", "features", "rules", "store", "api"],
  rates: { consumed: 120.5, stored: 118, alerts: 0.1 },
  consumer_lag: 3,
  dlq: { total: 2, by_stage: { normalize: 2 } },
  totals: { consumed: 1000 },
};

const ALIASES: Record<string, string> = { cpu: "cpu_load", load: "cpu_load", mem: "mem_used" };

/** The http config for tests: defaults from the real schema, a token, fast heartbeats. */
export function testHttpConfig(overrides: Partial<HttpConfig> = {}): HttpConfig {
  const base = ConfigSchema.parse({}).http;
  return { ...base, token: "s3cret-token", sse_heartbeat: 50, max_body_bytes: 2048, ...overrides };
}

/** Everything a test needs. */
export interface Harness {
  app: Hono;
  deps: ApiDeps;
  store: MemoryStore;
  ingestor: MemoryIngestor;
  health: FakeHealth;
  registry: Registry;
  logs: LogRecord[];
  http: HttpConfig;
}

/** Builds an app over fresh fakes. */
export function harness(
  httpOverrides: Partial<HttpConfig> = {},
  depOverrides: Partial<ApiDeps> = {},
): Harness {
  const store = new MemoryStore();
  const ingestor = new MemoryIngestor();
  const health = new FakeHealth();
  const registry = new Registry();
  const logs: LogRecord[] = [];
  const deps: ApiDeps = {
    store,
    ingestor,
    health,
    metrics: registry,
    feeds: createLiveFeeds({ alertReplay: 100 }),
    resolveMetric: (name) => ALIASES[name] ?? name,
    rules: () => RULES,
    status: () => STATUS,
    log: (r) => logs.push(r),
    version: "0.1.0-test",
    now: () => Date.parse("2025-10-21T10:30:00Z"),
    ...depOverrides,
  };
  const http = testHttpConfig(httpOverrides);
  return { app: createApp(deps, http), deps, store, ingestor, health, registry, logs, http };
}

/** An enriched event. */
export function makeEvent(overrides: Partial<Envelope> = {}): Envelope {
  return {
    v: 1,
    id: "ingest.raw.agent:0:1:0",
    tenant: "acme",
    host: "host-a",
    metric: "cpu_load",
    value: 50,
    unit: "percent",
    ts: Date.parse("2025-10-21T10:10:00Z"),
    ts_ingest: Date.parse("2025-10-21T10:10:01Z"),
    tags: {},
    ctx: {},
    source: { topic: "ingest.raw.agent", partition: 0, offset: "1", index: 0 },
    ...overrides,
  };
}
