/**
 * Deterministic workload for the end-to-end benchmark: raw telemetry events from a seeded PRNG
 * (tenants x hosts x metrics series, a share of malformed elements, an event-time spread), encoded
 * as Kafka message values (one JSON object per message, or NDJSON batches of several events).
 *
 * @module
 */
import { prng } from "../lib/prng.ts";

/** What to generate. */
export interface WorkloadOptions {
  /** PRNG seed. */
  seed: number;
  /** Number of events (elements, valid and malformed). */
  events: number;
  tenants: number;
  /** Hosts per tenant. */
  hosts: number;
  /** Metrics per host (taken from {@link METRICS}, at most its length). */
  metrics: number;
  /** Share of malformed elements, 0..1. */
  malformed: number;
  /** Event times run from `endMs - spreadMs` to `endMs` (in production order). */
  spreadMs: number;
  /** Newest event time, epoch ms. */
  endMs: number;
  /** Events per Kafka message (NDJSON lines when > 1). */
  perMessage: number;
}

/** The bench's workload (`deno task bench` without workload flags), but for its size and end time. */
export const DEFAULT_WORKLOAD: Omit<WorkloadOptions, "events" | "endMs"> = {
  seed: 1,
  tenants: 10,
  hosts: 100,
  metrics: 5,
  malformed: 0.001,
  spreadMs: 600_000,
  perMessage: 1,
};

/** Counts of what a workload holds. */
export interface WorkloadTotals {
  /** Kafka messages. */
  messages: number;
  /** Elements that normalize accepts. */
  valid: number;
  /** Elements that normalize rejects (one DLQ record each). */
  malformed: number;
  /** Distinct series (tenant|host|metric). */
  series: number;
}

/** Metrics of the generated series: raw name, unit, value range, random-walk step. */
export const METRICS: readonly { name: string; unit: string; max: number; step: number }[] = [
  { name: "cpu_load", unit: "percent", max: 100, step: 6 },
  { name: "memUsed", unit: "MiB", max: 4096, step: 64 },
  { name: "disk.io", unit: "MB/s", max: 500, step: 20 },
  { name: "temp", unit: "°F", max: 120, step: 2 },
  { name: "net_rx", unit: "KiB/s", max: 10_000, step: 200 },
  { name: "proc_count", unit: "", max: 400, step: 5 },
];

/** Malformed elements, cycled. With NDJSON batching only JSON-valid ones are used (see generator). */
const MALFORMED_JSON_VALID = [
  (ts: number) => `{"tenant_id":"t","metric":"cpu_load","value":1,"ts_event":${ts}}`, // no host
  (ts: number) => `{"tenant_id":"t","host":"h","metric":"cpu_load","value":"high","ts_event":${ts}}`,
  (_ts: number) => `{"tenant_id":"t","host":"h","metric":"cpu_load","value":1,"ts_event":"yesterday"}`,
];
const MALFORMED_NOT_JSON = [
  (ts: number) => `{"tenant_id":"t","host":"h","metric":"cpu_load","value":1,"ts_event":${ts}`,
  (_ts: number) => `cpu_load host=h value=1`,
];

/** Whether {@link generateWorkload} keys its messages (one event per message: by its host). */
export function workloadKeyed(options: WorkloadOptions): boolean {
  return options.perMessage <= 1;
}

/**
 * Generates the workload as message values (UTF-8 text, no trailing newline), calling `emit` per
 * message in order, with the message key: the host of its event with one event per message (as a
 * real producer keys by host, so each series stays on one partition, in order), none for NDJSON
 * batches of several hosts. Deterministic for the same options. Returns the totals.
 */
export function generateWorkload(
  options: WorkloadOptions,
  emit: (message: string, key: string | undefined) => void,
): WorkloadTotals {
  const random = prng(options.seed);
  const metrics = METRICS.slice(0, Math.max(1, Math.min(options.metrics, METRICS.length)));
  const seriesCount = options.tenants * options.hosts * metrics.length;
  const state = new Float64Array(seriesCount);
  for (let i = 0; i < seriesCount; i++) state[i] = random() * metrics[i % metrics.length].max * 0.6;
  const names: { tenant: string; host: string }[] = [];
  for (let t = 0; t < options.tenants; t++) {
    for (let h = 0; h < options.hosts; h++) names.push({ tenant: `tenant-${t}`, host: `host-${t}-${h}` });
  }
  const startMs = options.endMs - options.spreadMs;
  const perMessage = Math.max(1, options.perMessage);
  const keyed = workloadKeyed(options);
  const malformedPattern = perMessage > 1
    ? MALFORMED_JSON_VALID
    : [...MALFORMED_JSON_VALID, ...MALFORMED_NOT_JSON];
  let valid = 0;
  let malformed = 0;
  let messages = 0;
  let lines: string[] = [];
  let key: string | undefined;
  for (let i = 0; i < options.events; i++) {
    const ts = Math.round(startMs + (options.spreadMs * i) / Math.max(1, options.events - 1));
    // In an NDJSON batch the first line is always valid, so the message is read as NDJSON.
    const isBad = random() < options.malformed && (perMessage === 1 || lines.length > 0);
    if (isBad) {
      lines.push(malformedPattern[malformed % malformedPattern.length](ts));
      key = "malformed";
      malformed++;
    } else {
      const s = Math.floor(random() * seriesCount);
      const m = metrics[s % metrics.length];
      const name = names[Math.floor(s / metrics.length)];
      let v = state[s] + (random() - 0.5) * 2 * m.step;
      if (v < 0) v = -v;
      if (v > m.max) v = 2 * m.max - v;
      state[s] = v;
      const value = Math.round(v * 100) / 100;
      const unit = m.unit === "" ? "" : `,"unit":${JSON.stringify(m.unit)}`;
      const env = s % 5 === 0 ? "dev" : "prod";
      lines.push(
        `{"tenant_id":"${name.tenant}","host":"${name.host}","metric":"${m.name}","value":${value},` +
          `"ts_event":${ts}${unit},"tags":{"env":"${env}","region":"eu-west"}}`,
      );
      key = name.host;
      valid++;
    }
    if (lines.length >= perMessage) {
      emit(lines.join("\n"), keyed ? key : undefined);
      messages++;
      lines = [];
    }
  }
  if (lines.length > 0) {
    emit(lines.join("\n"), keyed ? key : undefined);
    messages++;
  }
  return { messages, valid, malformed, series: seriesCount };
}

/** A marker event for latency sampling: event time = produce time, on its own series. */
export function markerEvent(seq: number, nowMs: number, host: string): string {
  // Alternating above critical / below clear: every marker is a state change of the default cpu rule.
  const value = seq % 2 === 0 ? 99 : 10;
  return `{"tenant_id":"bench","host":"${host}","metric":"cpu_load","value":${value},"ts_event":${nowMs},` +
    `"unit":"percent","tags":{"seq":"${seq}"}}`;
}
