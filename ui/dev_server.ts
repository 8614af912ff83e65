/**
 * A demo server for the dashboard with fake data (no Kafka, no DuckDB): two hours of history for a
 * few series, some alerts, and live events every second.
 *
 * ```sh
 * deno run -A ui/dev_server.ts [--port 8099] [--static]
 * ```
 *
 * `--static` stops the live feed (for reproducible screenshots). Reuses the in-memory fakes of the
 * HTTP tests.
 *
 * @module
 */
import { createApp, serveApi } from "../api/app.ts";
import type { AgentStatus, RuleSummary } from "../api/deps.ts";
import type { PointRow, StoredAlert } from "../model/query.ts";
import { createLiveFeeds } from "../api/feeds.ts";
import { Registry } from "../telemetry/registry.ts";
import { FakeHealth, makeAlert, MemoryIngestor, MemoryStore, testHttpConfig } from "../testing/api_fakes.ts";

const RULES: RuleSummary[] = [
  { name: "cpu_high", metric: "cpu_load", warning: 80, critical: 95, direction: "above" },
  { name: "mem_high", metric: "mem_used", warning: 85, critical: 95, direction: "above" },
  { name: "temp_high", metric: "temp_c", warning: 70, critical: 85, direction: "above" },
];

const SERIES = [
  { tenant: "acme", host: "host-a", metric: "cpu_load", unit: "percent", base: 55, amp: 18 },
  { tenant: "acme", host: "host-b", metric: "cpu_load", unit: "percent", base: 35, amp: 10 },
  { tenant: "acme", host: "host-a", metric: "mem_used", unit: "percent", base: 62, amp: 6 },
  { tenant: "globex", host: "gw-01", metric: "temp_c", unit: "celsius", base: 48, amp: 9 },
];

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A running demo server. */
export interface DevServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the demo server. */
export function startDevServer(options: { port?: number; live?: boolean; now?: number } = {}): DevServer {
  const now = options.now ?? Date.now();
  const random = rng(42);
  const step = 30_000;
  const points: PointRow[] = [];
  for (const s of SERIES) {
    for (let t = now - 2 * 3_600_000; t <= now; t += step) {
      const phase = (t - now) / 900_000;
      let value = s.base + s.amp * Math.sin(phase) + (random() - 0.5) * s.amp * 0.6;
      // the brief's story: a warning then a critical spike on acme/host-a cpu
      if (s.host === "host-a" && s.metric === "cpu_load") {
        const minutesAgo = (now - t) / 60_000;
        if (minutesAgo > 38 && minutesAgo < 44) value = 85 + random() * 4;
        if (minutesAgo > 30 && minutesAgo <= 34) value = 96 + random() * 2;
      }
      points.push({
        ts: t,
        tenant: s.tenant,
        host: s.host,
        metric: s.metric,
        value: Math.round(value * 10) / 10,
        unit: s.unit,
        tags: { env: "prod" },
        ctx: { site: "lab-1" },
      });
    }
  }
  const minute = 60_000;
  const fp = "cpu_high|acme|host-a|cpu_load";
  const alerts: StoredAlert[] = [
    makeAlert(1, { fingerprint: fp, severity: "warning", value: 86.2, threshold: 80, ts: now - 43 * minute }),
    makeAlert(2, {
      fingerprint: fp,
      severity: "critical",
      value: 97.1,
      threshold: 95,
      ts: now - 33 * minute,
    }),
    makeAlert(3, {
      fingerprint: fp,
      severity: "critical",
      state: "resolved",
      value: 61.4,
      threshold: 95,
      ts: now - 29 * minute,
      ends_at: now - 29 * minute,
    }),
    makeAlert(4, {
      fingerprint: "temp_high|globex|gw-01|temp_c",
      rule: "temp_high",
      tenant: "globex",
      host: "gw-01",
      metric: "temp_c",
      severity: "warning",
      value: 71.5,
      threshold: 70,
      ts: now - 6 * minute,
    }),
  ];
  const store = new MemoryStore(points, alerts);
  const feeds = createLiveFeeds();
  const registry = new Registry();
  const startedAt = now - 26 * 3_600_000;
  const status = (): AgentStatus => ({
    version: "0.1.0-dev",
    started_at: startedAt,
    stages: ["normalize", "enrich", "features", "rules", "store", "api"],
    rates: { consumed: 412.3, stored: 409.8, alerts: 0.02 },
    consumer_lag: 17,
    dlq: { total: 3, by_stage: { normalize: 3 } },
  });
  const http = testHttpConfig({ host: "127.0.0.1", port: options.port ?? 8099, sse_heartbeat: 15_000 });
  const app = createApp({
    store,
    ingestor: new MemoryIngestor(),
    health: new FakeHealth(),
    metrics: registry,
    feeds,
    resolveMetric: (name) => ({ cpu: "cpu_load", mem: "mem_used" } as Record<string, string>)[name] ?? name,
    rules: () => RULES,
    status,
    version: "0.1.0-dev",
    log: () => {},
  }, http);
  const server = serveApi(app, http);

  let timer: ReturnType<typeof setInterval> | undefined;
  if (options.live ?? true) {
    let seq = alerts.length;
    let offset = 0;
    const level = new Map<string, number>();
    timer = setInterval(() => {
      const t = Date.now();
      for (const s of SERIES) {
        const prev = level.get(s.host + s.metric) ?? s.base;
        const value =
          Math.round(Math.max(0, prev + (Math.random() - 0.5) * s.amp * 0.3 + (s.base - prev) * 0.05) * 10) /
          10;
        level.set(s.host + s.metric, value);
        const row: PointRow = {
          ts: t,
          tenant: s.tenant,
          host: s.host,
          metric: s.metric,
          value,
          unit: s.unit,
          tags: {},
          ctx: {},
        };
        store.points_.push(row);
        offset++;
        feeds.events.publish({
          v: 1,
          id: `ingest.raw.agent:0:${offset}:0`,
          ...row,
          ts_ingest: t,
          source: { topic: "ingest.raw.agent", partition: 0, offset: String(offset), index: 0 },
        });
      }
      if (Math.random() < 0.05) {
        const a = makeAlert(++seq, {
          severity: Math.random() < 0.5 ? "warning" : "critical",
          state: Math.random() < 0.5 ? "firing" : "resolved",
          value: 80 + Math.random() * 20,
          ts: t,
        });
        store.alerts_.push(a);
        feeds.alerts.publish(a);
      }
    }, 1_000);
  }
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    close: async () => {
      clearInterval(timer);
      await server.shutdown();
    },
  };
}

if (import.meta.main) {
  const portArg = Deno.args.indexOf("--port");
  const port = portArg >= 0 ? Number(Deno.args[portArg + 1]) : 8099;
  const dev = startDevServer({ port, live: !Deno.args.includes("--static") });
  console.error(`dashboard demo at ${dev.url}`);
}
