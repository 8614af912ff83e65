/**
 * End-to-end benchmark of the agent (`deno task bench`), against a broker (default
 * 127.0.0.1:29092, `--brokers` or EVENTOPS_BENCH_BROKERS) on fresh, unique topics. (A tool, not the
 * agent: its command line, both modes and the report in one script, over 500 lines; the workload,
 * the agent harness, Kafka helpers and the profiler are beside it in bench/.)
 *
 * - `--mode backlog` (default): produce `--events` (1,000,000) first, then start the agent and time
 *   until every valid event is in the store, every alert is on the alerts topic and every malformed
 *   element is on the DLQ. Reports events/s, agent CPU seconds and peak RSS.
 * - `--mode live`: produce `--rate` events/s (20,000) for `--seconds` (30) while the agent runs;
 *   marker events every 100 ms give produce->stored (`/events/stream`, published after the store
 *   commit) and produce->alert (`/alerts/stream`) latencies; RSS over time.
 *
 * `--notify-down` routes every alert to a webhook whose receiver is down for the whole run (nothing
 * listens on its port): every alert transition becomes a notification that waits in the outbox and
 * is retried, to show that delivery does not slow ingestion (compare a run without it); the report
 * adds the notification counters (`notify`).
 *
 * Both also time the read limit (`kcat -C` over the raw topic) and the pure stages alone
 * (`bench/stages.ts`). `--profile` samples the agent's CPU through the inspector. Results are
 * printed and written to `bench/results/<timestamp>-<mode>.json`; `deno task bench:summary`
 * (`summarize.ts`) folds them into `bench/results/summary.md` and keeps the latest files.
 *
 * @module
 */
import { streamSse } from "../testing/sse.ts";
import { parseArgs } from "node:util";
import { v8OldSpaceMiB, v8SemiSpaceMiB } from "../config/memory.ts";
import { parseSize } from "../lib/size.ts";
import { createMemoryCap, type MemoryCap } from "./cgroup.ts";
import { uniqueName } from "../testing/agent.ts";
import {
  type BenchAgent,
  catalogRows,
  cpuSeconds,
  memory,
  startBenchAgent,
  statusTotals,
  writeBenchConfig,
} from "./agent.ts";
import {
  type BenchTopics,
  benchTopics,
  countMessages,
  createTopics,
  deleteTopics,
  kcatPipe,
  kcatProduceFile,
  kcatReadSeconds,
  markerProducer,
} from "./kafka.ts";
import { type CpuProfile, Profiler, summarize } from "./profile.ts";
import { LineBytes } from "./line_bytes.ts";
import {
  DEFAULT_WORKLOAD,
  generateWorkload,
  markerEvent,
  workloadKeyed,
  type WorkloadOptions,
  type WorkloadTotals,
} from "./workload.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MB = 1024 * 1024;
const MARKER_HOST = "bench-marker";
/** Between a message's key and its value in kcat's input (JSON text holds no raw tab). */
const KEY_DELIMITER = "\t";
/** Live mode also reports latency without the markers of the first seconds. */
const WARMUP_SECONDS = 5;

/**
 * The Pi scenario (`--pi`): the agent as the package runs it with `EVENTOPS_MEMORY_BUDGET=256MB`,
 * 5,000 events/s live over 1,000 series (2 tenants x 100 hosts x 5 metrics) for 10 minutes, in a
 * memory cgroup capped at 256 MB. Flags given after it override its values (`--seconds 120`).
 */
const PI_SCENARIO = [
  "--mode=live",
  "--rate=5000",
  "--seconds=600",
  "--tenants=2",
  "--hosts=100",
  "--metrics=5",
  "--memory-budget=256MB",
  "--memory-cap=256MB",
];

const { values: flags } = parseArgs({
  args: Deno.args.includes("--pi") ? [...PI_SCENARIO, ...Deno.args] : Deno.args,
  options: {
    mode: { type: "string", default: "backlog" },
    events: { type: "string", default: "1000000" },
    rate: { type: "string", default: "20000" },
    seconds: { type: "string", default: "30" },
    seed: { type: "string", default: String(DEFAULT_WORKLOAD.seed) },
    tenants: { type: "string", default: String(DEFAULT_WORKLOAD.tenants) },
    hosts: { type: "string", default: String(DEFAULT_WORKLOAD.hosts) },
    metrics: { type: "string", default: String(DEFAULT_WORKLOAD.metrics) },
    malformed: { type: "string", default: String(DEFAULT_WORKLOAD.malformed) },
    spread: { type: "string", default: String(DEFAULT_WORKLOAD.spreadMs / 1000) },
    "per-message": { type: "string", default: String(DEFAULT_WORKLOAD.perMessage) },
    partitions: { type: "string", default: "3" },
    brokers: { type: "string", default: Deno.env.get("EVENTOPS_BENCH_BROKERS") ?? "127.0.0.1:29092" },
    "batch-max-messages": { type: "string" },
    "batch-max-wait": { type: "string" },
    "enriched-encoding": { type: "string" },
    "batch-max-bytes": { type: "string" },
    "memory-limit": { type: "string" },
    "memory-budget": { type: "string" },
    "memory-cap": { type: "string" },
    pi: { type: "boolean", default: false },
    label: { type: "string", default: "" },
    "notify-down": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    "no-stages": { type: "boolean", default: false },
    "no-read-limit": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    "agent-logs": { type: "boolean", default: false },
    split: { type: "boolean", default: false },
    "single-thread": { type: "boolean", default: false },
    topology: { type: "string", default: "auto" },
    "agent-flag": { type: "string", multiple: true, default: [] },
    wrap: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (flags.help) {
  console.log(`deno task bench [--mode backlog|live] [--events N] [--rate N --seconds S]
  workload: --seed 1 --tenants 10 --hosts 100 (per tenant) --metrics 5 --malformed 0.001 --spread 600 (s)
            --per-message 1 (NDJSON lines per Kafka message) --partitions 3
  agent:    --batch-max-messages N --batch-max-bytes N --batch-max-wait 100ms --profile (inspector CPU profile)
            --enriched-encoding columns|envelopes (kafka.enriched_encoding) --memory-limit 128MB (DuckDB's)
            --split (two processes: --stages normalize,enrich and features,rules,store,api)
            --single-thread (stateless_thread: false: both consumer groups on one thread)
            --topology auto|partitioned|local (the agent's topology, auto by default as the agent's; docs/architecture.md)
            --agent-flag=--v8-flags=--max-old-space-size=160 (extra Deno flags of the agent, repeatable)
            --memory-budget 256MB (memory_budget, and the V8 heap flag the package stub derives from it)
            --memory-cap 256MB (the agent in a memory cgroup with this hard limit: peak, OOM kills reported)
            --wrap "heaptrack -o /tmp/agent" (a command the agent runs under, e.g. a malloc profiler)
  --pi:     the Pi scenario: --mode live --rate 5000 --seconds 600, 1,000 series (--tenants 2 --hosts 100
            --metrics 5), --memory-budget 256MB --memory-cap 256MB; later flags override (--seconds 120)
  notify:   --notify-down (every alert to a webhook whose receiver is down: notifications pile up, retried)
  other:    --brokers 127.0.0.1:29092 --label TEXT --no-stages --no-read-limit --keep --agent-logs`);
  Deno.exit(0);
}

function int(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number, got ${value}`);
  return n;
}

const mode = flags.mode;
if (mode !== "backlog" && mode !== "live") throw new Error(`--mode: backlog or live, got ${mode}`);
const brokers = flags.brokers;

// ------------------------------------------------------------------------------------ helpers

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

function latencyStats(samples: number[]): Record<string, number | null> {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50_ms: percentile(sorted, 50),
    p95_ms: percentile(sorted, 95),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads an SSE stream, calling `onEvent(name, data)` per event, until `signal` aborts. */
function readSse(
  url: string,
  signal: AbortSignal,
  onEvent: (name: string, data: string) => void,
): Promise<void> {
  return streamSse(url, signal, (event) => onEvent(event.event, event.data));
}

/** Reads a text file; /proc files through `cat` (Deno allows /proc only with --allow-all). */
async function readText(path: string): Promise<string> {
  try {
    if (!path.startsWith("/proc/")) return await Deno.readTextFile(path);
    const output = await new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(output.stdout);
  } catch {
    return "";
  }
}

async function environment(): Promise<Record<string, unknown>> {
  const meminfo = await readText("/proc/meminfo");
  const cpuinfo = await readText("/proc/cpuinfo");
  const port = brokers.split(":").pop();
  const brokerLog = await readText(`${ROOT}.cache/broker-${port}/broker.log`);
  const imports: Record<string, string> = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).imports;
  const kcat = new TextDecoder().decode((await new Deno.Command("kcat", { args: ["-V"] }).output()).stdout);
  return {
    machine: {
      cores: navigator.hardwareConcurrency,
      cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? Deno.build.arch,
      memory_mb: Math.round(Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0) / 1024),
      loadavg_at_start: (await readText("/proc/loadavg")).split(" ").slice(0, 3).map(Number),
      os: `${Deno.build.os}-${Deno.build.arch}`,
    },
    versions: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      kafka_broker: /Kafka version: (\S+)/.exec(brokerLog)?.[1] ?? "unknown",
      "@platformatic/kafka": imports["@platformatic/kafka"],
      "@duckdb/node-api": imports["@duckdb/node-api"],
      kcat: /Version (\S+)/.exec(kcat)?.[1] ?? "unknown",
      librdkafka: /librdkafka (\S+)/.exec(kcat)?.[1] ?? "unknown",
    },
  };
}

/** Pure stage throughput from `bench/stages.ts` (a subprocess: its own heap and JIT). */
async function stageBench(count: number): Promise<Record<string, number>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--ignore-env", "bench/stages.ts", String(count)],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const rates: Record<string, number> = {};
  for (const match of text.matchAll(/^(.+?)\s+\d+ ms\s+([\d,]+) events\/s$/gm)) {
    rates[match[1].trim()] = Number(match[2].replaceAll(",", ""));
  }
  return rates;
}

interface Sampler {
  rss: [number, number][];
  peakRss: number;
  /** Highest sampled anonymous RSS and PSS (bytes; sampled, so a lower bound of the true peak). */
  peakAnon: number;
  peakPss: number;
  stop(): Promise<void>;
}

/** Samples the agents' RSS every `everyMs` (seconds since start, MB), and the peaks of anon RSS and PSS. */
function sampleMemory(agents: Agents, startedAt: number, everyMs: number): Sampler {
  const sampler: Sampler = { rss: [], peakRss: 0, peakAnon: 0, peakPss: 0, stop: () => Promise.resolve() };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { rss, hwm, anon, pss } = await agentsMemory(agents);
        sampler.rss.push([Math.round((performance.now() - startedAt) / 100) / 10, Math.round(rss / MB)]);
        sampler.peakRss = Math.max(sampler.peakRss, hwm);
        sampler.peakAnon = Math.max(sampler.peakAnon, anon);
        sampler.peakPss = Math.max(sampler.peakPss, pss);
      } catch { /* process gone */ }
      await sleep(everyMs);
    }
  })();
  sampler.stop = async () => {
    running = false;
    await loop;
  };
  return sampler;
}

/** Polls `/status` until the store and DLQ counts reach their expected totals. */
async function waitForTotals(
  agents: Agents,
  expected: { stored: number; dlq: number },
  timeoutMs: number,
  everyMs = 100,
): Promise<{ totals: Record<string, number>; timedOut: boolean }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const totals = await statusTotals(agents.api.baseUrl);
    const stored = totals["store.in"] ?? 0;
    // Split: the normalize counters live in the other process; count the DLQ topic instead.
    const dlq = () =>
      agents.all.length > 1
        ? countMessages(brokers, agents.topics.dlq)
        : Promise.resolve((totals["normalize.dlq"] ?? 0) + (totals["stateful.dlq"] ?? 0));
    if (stored >= expected.stored && await dlq() >= expected.dlq) return { totals, timedOut: false };
    if (performance.now() > deadline) return { totals, timedOut: true };
    await sleep(everyMs);
  }
}

function startProfiler(): { flags: string[]; attach: () => Promise<Profiler> } {
  if (!flags.profile) return { flags: [], attach: () => Promise.reject(new Error("no profile")) };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return {
    flags: [`--inspect=127.0.0.1:${port}`],
    attach: async () => {
      const profiler = await Profiler.connect(port);
      await profiler.start(500);
      return profiler;
    },
  };
}

async function saveProfile(profile: CpuProfile, stamp: string): Promise<Record<string, unknown>> {
  await Deno.mkdir(`${ROOT}.tmp`, { recursive: true });
  const path = `.tmp/${stamp}-${mode}.cpuprofile`;
  await Deno.writeTextFile(`${ROOT}${path}`, JSON.stringify(profile));
  const summary = summarize(profile, 30);
  console.log(`\nCPU profile ${path} (self time, top functions):`);
  for (const spot of summary.functions.slice(0, 30)) {
    console.log(`  ${String(spot.share).padStart(5)}%  ${String(spot.selfMs).padStart(6)} ms  ${spot.name}`);
  }
  console.log("by file:");
  for (const spot of summary.files.slice(0, 15)) {
    console.log(`  ${String(spot.share).padStart(5)}%  ${String(spot.selfMs).padStart(6)} ms  ${spot.name}`);
  }
  return { path, ...summary };
}

function agentKafkaOverrides(): Record<string, unknown> {
  const kafka: Record<string, unknown> = {};
  if (flags["batch-max-messages"]) {
    kafka.batch_max_messages = int("batch-max-messages", flags["batch-max-messages"]);
  }
  if (flags["batch-max-wait"]) kafka.batch_max_wait = flags["batch-max-wait"];
  if (flags["enriched-encoding"]) kafka.enriched_encoding = flags["enriched-encoding"];
  if (flags["batch-max-bytes"]) kafka.batch_max_bytes = int("batch-max-bytes", flags["batch-max-bytes"]);
  return kafka;
}

/** The agent process(es) of a run: one, or two with `--split`; `api` serves HTTP and stores. */
interface Agents {
  api: BenchAgent;
  all: BenchAgent[];
  topics: BenchTopics;
}

/** The V8 heap flag the package stub passes for `--memory-budget` (config/memory.ts). */
function budgetFlags(): string[] {
  const budget = flags["memory-budget"];
  if (!budget) return [];
  const bytes = parseSize(budget);
  if (bytes === undefined) throw new Error(`--memory-budget: expected a size like 256MB, got ${budget}`);
  const oldSpace = v8OldSpaceMiB(bytes);
  return [`--v8-flags=--max-old-space-size=${oldSpace},--max-semi-space-size=${v8SemiSpaceMiB(oldSpace)}`];
}

/** The memory cgroup of `--memory-cap`, created once per run. */
let memoryCap: MemoryCap | undefined;

async function startAgents(name: string, topics: BenchTopics, profileFlags: string[]): Promise<Agents> {
  const kafka = agentKafkaOverrides();
  const extra = flags["agent-flag"] ?? [];
  const denoFlags = [...budgetFlags(), ...extra, ...profileFlags];
  if (!flags.split) {
    const config = await writeBenchConfig(name, brokers, topics, {
      kafka,
      topology: flags.topology,
      statelessThread: !flags["single-thread"],
      store: flags["memory-limit"] ? { memory_limit: flags["memory-limit"] } : undefined,
      notify: flags["notify-down"] ? downReceiver() : undefined,
      memoryBudget: flags["memory-budget"],
    });
    const cap = flags["memory-cap"];
    if (cap) {
      const limit = parseSize(cap);
      if (limit === undefined) throw new Error(`--memory-cap: expected a size like 256MB, got ${cap}`);
      memoryCap = await createMemoryCap(`eventops-${name}`, limit);
    }
    const api = await startBenchAgent(
      config.file,
      config.dir,
      config.port,
      denoFlags,
      true,
      [...(memoryCap?.wrapper ?? []), ...(flags.wrap?.split(" ").filter((word) => word !== "") ?? [])],
    );
    return { api, all: [api], topics };
  }
  const a = await writeBenchConfig(name, brokers, topics, {
    kafka,
    stages: ["normalize", "enrich"],
    suffix: "-stateless",
    statelessThread: false,
  });
  const b = await writeBenchConfig(name, brokers, topics, {
    kafka,
    stages: ["features", "rules", "store", "api"],
    suffix: "-stateful",
    notify: flags["notify-down"] ? downReceiver() : undefined,
  });
  const stateless = await startBenchAgent(a.file, a.dir, a.port, extra, false);
  const api = await startBenchAgent(b.file, b.dir, b.port, denoFlags);
  return { api, all: [api, stateless], topics };
}

/**
 * A notification file sending every alert, each its own group, to a webhook on a loopback port
 * nothing listens on (connection refused on every attempt).
 */
function downReceiver(): Record<string, unknown> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return {
    route: { receiver: "down", group_by: ["..."], group_wait: "0s", group_interval: "1s" },
    receivers: [{ name: "down", webhook_configs: [{ url: `http://127.0.0.1:${port}/hook` }] }],
    delivery: { initial_backoff: "1s", max_backoff: "30s" },
  };
}

/** The agent's notification counters from `/prometheus` (undefined without `--notify-down`). */
async function notifyCounters(baseUrl: string): Promise<Record<string, number> | undefined> {
  if (!flags["notify-down"]) return undefined;
  const text = await (await fetch(`${baseUrl}/prometheus`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const match = /^eventops_notifications_([a-z_]+?)(?:_total)?(?:\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (match) out[match[1]] = (out[match[1]] ?? 0) + Number(match[2]);
  }
  return out;
}

/** The broker's pid when `scripts/broker/broker.sh` started it on this machine (else undefined). */
async function brokerPid(): Promise<number | undefined> {
  const port = brokers.split(":").pop();
  try {
    const pid = Number((await Deno.readTextFile(`${ROOT}.cache/broker-${port}/broker.pid`)).trim());
    await cpuSeconds(pid);
    return pid;
  } catch {
    return undefined;
  }
}

async function agentsCpu(agents: Agents): Promise<number> {
  let sum = 0;
  for (const agent of agents.all) sum += await cpuSeconds(agent.pid);
  return sum;
}

/** Resident memory summed over the agent processes (peak: sum of each process' peak). */
async function agentsMemory(
  agents: Agents,
): Promise<{ rss: number; hwm: number; anon: number; pss: number; each: number[] }> {
  let rss = 0;
  let hwm = 0;
  let anon = 0;
  let pss = 0;
  const each: number[] = [];
  for (const agent of agents.all) {
    const m = await memory(agent.pid);
    rss += m.rss;
    hwm += m.hwm;
    anon += m.anon;
    pss += m.pss;
    each.push(Math.round(m.hwm / MB));
  }
  return { rss, hwm, anon, pss, each };
}

/** The agents' memory now in MB: RSS, anonymous RSS, PSS. */
async function memoryNowMb(agents: Agents): Promise<{ rss_mb: number; anon_mb: number; pss_mb: number }> {
  const m = await agentsMemory(agents);
  return { rss_mb: Math.round(m.rss / MB), anon_mb: Math.round(m.anon / MB), pss_mb: Math.round(m.pss / MB) };
}

/** The sampled peaks in MB: RSS (the kernel's high-water mark), anonymous RSS and PSS (sampled). */
function peaksMb(sampler: Sampler, hwm: number): { rss_mb: number; anon_mb: number; pss_mb: number } {
  return {
    rss_mb: Math.round(hwm / MB),
    anon_mb: Math.round(sampler.peakAnon / MB),
    pss_mb: Math.round(sampler.peakPss / MB),
  };
}

async function stopAgents(agents: Agents, showLogs: boolean): Promise<void> {
  for (const agent of agents.all) {
    const code = await agent.stop();
    if (flags["agent-logs"]) console.error(agent.logs());
    else if (code !== 0 || showLogs) {
      console.error(`agent exited with ${code}; logs:\n${agent.logs().slice(-4000)}`);
    }
  }
}

// ------------------------------------------------------------------------------------ modes

async function backlog(name: string, topics: BenchTopics, workload: WorkloadOptions) {
  const file = `${ROOT}.tmp/${name}.raw`;
  await Deno.mkdir(`${ROOT}.tmp`, { recursive: true });
  // Messages separated by \x1e (NDJSON messages contain newlines).
  let t = performance.now();
  const parts: string[] = [];
  let size = 0;
  const out = await Deno.open(file, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  const flush = () => {
    const bytes = encoder.encode(parts.join(""));
    let written = 0;
    while (written < bytes.length) written += out.writeSync(bytes.subarray(written));
    parts.length = 0;
    size = 0;
  };
  const totals: WorkloadTotals = generateWorkload(workload, (message, key) => {
    if (key !== undefined) parts.push(key, KEY_DELIMITER);
    parts.push(message, "\x1e");
    size += message.length + 1;
    if (size > 4 * MB) flush();
  });
  flush();
  out.close();
  const generateSeconds = (performance.now() - t) / 1000;
  const fileBytes = (await Deno.stat(file)).size;

  t = performance.now();
  const keyDelimiter = workloadKeyed(workload) ? KEY_DELIMITER : undefined;
  await kcatProduceFile(brokers, topics.raw, file, "\\x1e", keyDelimiter);
  const produceSeconds = (performance.now() - t) / 1000;
  await Deno.remove(file);
  console.log(
    `produced ${totals.messages.toLocaleString("en-US")} messages (${
      workload.events.toLocaleString("en-US")
    } events, ` +
      `${(fileBytes / MB).toFixed(0)} MB) in ${produceSeconds.toFixed(1)} s (generated in ${
        generateSeconds.toFixed(1)
      } s)`,
  );

  const profiler = startProfiler();
  const spawnedAt = performance.now();
  const agents = await startAgents(name, topics, profiler.flags);
  const agent = agents.api;
  const readyAt = performance.now();
  const cpuAtReady = await agentsCpu(agents);
  const broker = await brokerPid();
  const brokerCpuAtReady = broker ? await cpuSeconds(broker) : 0;
  const session = flags.profile ? await profiler.attach() : undefined;
  const sampler = sampleMemory(agents, readyAt, 250);
  let result: Record<string, unknown>;
  let timedOutRun = false;
  try {
    const timeoutMs = Math.min(300_000, Math.max(60_000, workload.events / 2));
    const progress = setInterval(async () => {
      try {
        const now = await statusTotals(agent.baseUrl);
        console.log(
          `  t=${((performance.now() - readyAt) / 1000).toFixed(0)}s normalized ${
            now["normalize.in"] ?? 0
          } stored ${now["store.in"] ?? 0} rss ${Math.round((await agentsMemory(agents)).rss / MB)} MB`,
        );
      } catch { /* ignore */ }
    }, 5_000);
    const { totals: counters, timedOut } = await waitForTotals(
      agents,
      { stored: totals.valid, dlq: totals.malformed },
      timeoutMs,
    );
    clearInterval(progress);
    timedOutRun = timedOut;
    const doneAt = performance.now();
    const cpuAtDone = await agentsCpu(agents);
    const brokerCpu = broker ? await cpuSeconds(broker) - brokerCpuAtReady : undefined;
    const peakMemory = await agentsMemory(agents);
    const peak = peakMemory.hwm;
    const profile = session ? await session.stop() : undefined;
    session?.close();
    await sampler.stop();
    // After the drain: idle again, with what the drain left (heaps grown, feature windows filled).
    await sleep(3_000);
    const afterDrain = await memoryNowMb(agents);
    const seconds = (doneAt - readyAt) / 1000;
    const [storedRows, alertsOnTopic, dlqOnTopic] = await Promise.all([
      catalogRows(agent.baseUrl),
      countMessages(brokers, topics.alerts),
      countMessages(brokers, topics.dlq),
    ]);
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    result = {
      produce: {
        messages: totals.messages,
        events: workload.events,
        seconds: round(produceSeconds, 2),
        events_per_s: Math.round(workload.events / produceSeconds),
        generate_seconds: round(generateSeconds, 2),
        bytes: fileBytes,
      },
      agent: {
        timed_out: timedOut,
        startup_seconds: round((readyAt - spawnedAt) / 1000, 2),
        seconds: round(seconds, 2),
        events_per_s: Math.round(workload.events / seconds),
        events_per_s_from_spawn: Math.round(workload.events / ((doneAt - spawnedAt) / 1000)),
        cpu_seconds: round(cpuAtDone - cpuAtReady, 2),
        cpu_cores_used: round((cpuAtDone - cpuAtReady) / seconds, 2),
        cpu_us_per_event: round(((cpuAtDone - cpuAtReady) / workload.events) * 1e6, 2),
        memory: { peak: peaksMb(sampler, peak), after_drain: afterDrain },
        peak_rss_mb: Math.round(peak / MB),
        peak_rss_mb_per_process: peakMemory.each,
        broker_cpu_cores_used: brokerCpu === undefined ? undefined : round(brokerCpu / seconds, 2),
        processes: agents.all.length,
        rss_mb: sampler.rss.filter((_, i) => i % 4 === 0),
      },
      check: {
        valid_expected: totals.valid,
        stored_catalog: storedRows,
        malformed_expected: totals.malformed,
        dlq_on_topic: dlqOnTopic,
        alerts_counted: counters["rules.alerts"] ?? 0,
        alerts_on_topic: alertsOnTopic,
        ok: storedRows === totals.valid && dlqOnTopic === totals.malformed &&
          alertsOnTopic === (counters["rules.alerts"] ?? 0),
        totals: counters,
      },
      notify: await notifyCounters(agent.baseUrl),
      profile: profile ? await saveProfile(profile, stamp) : undefined,
    };
  } finally {
    await sampler.stop();
    await stopAgents(agents, timedOutRun);
  }
  return { result, totals };
}

async function live(
  name: string,
  topics: BenchTopics,
  workload: WorkloadOptions,
  rate: number,
  seconds: number,
) {
  const profiler = startProfiler();
  const agents = await startAgents(name, topics, profiler.flags);
  const agent = agents.api;
  const session = flags.profile ? await profiler.attach() : undefined;

  // Pre-generated, so producing costs the bench almost nothing; as bytes (see LineBytes).
  const lines = new LineBytes();
  const totals = generateWorkload(workload, (message, key) => {
    lines.push(key === undefined ? message : `${key}${KEY_DELIMITER}${message}`);
  });

  const stored: number[] = [];
  /** The same, without the markers of the first seconds (JIT, connections, first fetches). */
  const storedSteady: number[] = [];
  const alerted: number[] = [];
  /** The markers' latencies so far (the report's, also when the agent died mid-run). */
  const markerLatencies = () => ({
    produce_to_stored: latencyStats(stored),
    produce_to_stored_after_warmup: latencyStats(storedSteady),
    warmup_seconds: WARMUP_SECONDS,
    produce_to_alert: latencyStats(alerted),
  });
  /** Worst produce->stored latency per second of the run (when a stall happened, and how long). */
  const worstBySecond: number[] = [];
  const startedAtEpoch = Date.now() + 300;
  /** When and why the live streams broke: the agent died (its OOM kills are in the cap's report). */
  let lostAgent: { after_s: number; error: string } | undefined;
  let startedAt = performance.now();
  const sse = new AbortController();
  const readers = [
    readSse(`${agent.baseUrl}/events/stream?host=${MARKER_HOST}`, sse.signal, (event, data) => {
      if (event !== "event") return;
      const envelope: { host: string; ts: number } = JSON.parse(data);
      if (envelope.host !== MARKER_HOST) return;
      const latency = Date.now() - envelope.ts;
      stored.push(latency);
      const second = Math.max(0, Math.floor((envelope.ts - startedAtEpoch) / 1000));
      if (second >= WARMUP_SECONDS) storedSteady.push(latency);
      worstBySecond[second] = Math.max(worstBySecond[second] ?? 0, latency);
    }),
    readSse(`${agent.baseUrl}/alerts/stream`, sse.signal, (event, data) => {
      if (event !== "alert") return;
      const alert: { host: string; ts: number } = JSON.parse(data);
      if (alert.host === MARKER_HOST) alerted.push(Date.now() - alert.ts);
    }),
  ].map((reader) =>
    reader.catch((error) => {
      // The agent went away mid-run (killed by the OOM killer under --memory-cap, or crashed).
      lostAgent ??= { after_s: round((performance.now() - startedAt) / 1000, 1), error: String(error) };
    })
  );
  await sleep(300);
  // Idle: started, connected, nothing to do yet (the workload was generated meanwhile).
  await sleep(2_000);
  const idle = await memoryNowMb(agents);

  const markers = await markerProducer(brokers, topics.raw);
  const load = kcatPipe(brokers, topics.raw, workloadKeyed(workload) ? KEY_DELIMITER : undefined);
  startedAt = performance.now();
  const cpuAtStart = await agentsCpu(agents);
  const sampler = sampleMemory(agents, startedAt, 1000);
  // The bench's own event-loop stalls (its GC, its writes) delay what it measures: recorded per second.
  const benchLag: number[] = [];
  let lagTick = performance.now();
  const lagTimer = setInterval(() => {
    const now = performance.now();
    const second = Math.floor((now - startedAt) / 1000);
    benchLag[second] = Math.max(benchLag[second] ?? 0, Math.round(now - lagTick - 50));
    lagTick = now;
  }, 50);
  let sent = 0;
  let markerSeq = 0;
  let nextMarker = startedAt;
  let lagAtEnd: Record<string, number> = {};
  let result: Record<string, unknown>;
  try {
    while (performance.now() - startedAt < seconds * 1000 && !lostAgent) {
      const now = performance.now();
      const due = Math.min(lines.length, Math.floor(((now - startedAt) / 1000) * rate / workload.perMessage));
      if (due > sent) {
        for (const bytes of lines.ranges(sent, due)) await load.write(bytes);
        sent = due;
      }
      if (now >= nextMarker) {
        await markers.write(markerEvent(markerSeq++, Date.now(), MARKER_HOST) + "\n");
        nextMarker += 100;
      }
      await sleep(5);
    }
    if (lostAgent) {
      await Promise.all([load.close(), markers.close()]);
      await sampler.stop();
      console.error(`live: the agent is gone after ${lostAgent.after_s} s (${lostAgent.error})`);
      result = {
        produce: { rate_target: rate, events: sent * workload.perMessage },
        agent: {
          died: lostAgent,
          memory: { idle, peak_sampled: peaksMb(sampler, sampler.peakRss) },
          rss_mb: sampler.rss,
        },
        latency: markerLatencies(),
        memory_cap: await capReport(),
      };
      return { result, totals };
    }
    // The last few ms of the schedule, so that exactly the generated workload is sent.
    for (const bytes of lines.ranges(sent, lines.length)) await load.write(bytes);
    sent = lines.length;
    const producedFor = (performance.now() - startedAt) / 1000;
    console.error("live: produced, closing kcat");
    await Promise.all([load.close(), markers.close()]);
    console.error("live: kcat closed, waiting for the store");
    const before = await statusTotals(agent.baseUrl);
    lagAtEnd = { produced: sent, normalized: before["normalize.in"] ?? 0, stored: before["store.in"] ?? 0 };
    const drainStarted = performance.now();
    const { totals: counters, timedOut } = await waitForTotals(
      agents,
      { stored: totals.valid + markerSeq, dlq: totals.malformed },
      120_000,
    );
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const cpu = await agentsCpu(agents) - cpuAtStart;
    const busy = (performance.now() - startedAt) / 1000;
    // Let the last markers and their alerts arrive on the streams (every marker changes the alert state).
    console.error(`live: stored (timed out: ${timedOut}), waiting for markers`);
    const markerDeadline = performance.now() + 5_000;
    while (
      (stored.length < markerSeq || alerted.length < markerSeq) && performance.now() < markerDeadline
    ) await sleep(100);
    const peakMemory = await agentsMemory(agents);
    const peak = peakMemory.hwm;
    const profile = session ? await session.stop() : undefined;
    session?.close();
    await sampler.stop();
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    result = {
      produce: {
        rate_target: rate,
        seconds: round(producedFor, 2),
        events: sent * workload.perMessage,
        events_per_s: Math.round((sent * workload.perMessage) / producedFor),
        markers: markerSeq,
      },
      agent: {
        timed_out: timedOut,
        behind_at_end: lagAtEnd,
        drain_seconds: round(drainSeconds, 2),
        cpu_seconds: round(cpu, 2),
        cpu_cores_used: round(cpu / busy, 2),
        memory: { idle, peak: peaksMb(sampler, peak) },
        peak_rss_mb: Math.round(peak / MB),
        peak_rss_mb_per_process: peakMemory.each,
        processes: agents.all.length,
        rss_mb: sampler.rss,
      },
      latency: {
        ...markerLatencies(),
        markers_missing_on_stream: markerSeq - stored.length,
        marker_alerts_missing: markerSeq - alerted.length,
        worst_stored_ms_by_second: Array.from(worstBySecond, (ms) => ms ?? 0),
        bench_loop_lag_ms_by_second: Array.from(benchLag, (ms) => ms ?? 0),
      },
      check: { totals: counters },
      memory_cap: await capReport(),
      notify: await notifyCounters(agents.api.baseUrl),
      profile: profile ? await saveProfile(profile, stamp) : undefined,
    };
  } finally {
    clearInterval(lagTimer);
    await sampler.stop();
    sse.abort();
    await Promise.allSettled(readers);
    await stopAgents(agents, false);
  }
  return { result, totals };
}

/** What the memory cgroup of `--memory-cap` recorded (MB), or undefined without a cap. */
async function capReport(): Promise<Record<string, unknown> | undefined> {
  if (!memoryCap) return undefined;
  const stats = await memoryCap.stats();
  return {
    cgroup_version: memoryCap.version,
    limit_mb: Math.round(memoryCap.limitBytes / MB),
    peak_charged_mb: Math.round(stats.peakBytes / MB),
    oom_kills: stats.oomKills,
    limit_hits: stats.limitHits,
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

// ------------------------------------------------------------------------------------ main

const name = uniqueName(`bench-${mode}`);
const topics = benchTopics(name);
const partitions = int("partitions", flags.partitions);
const rate = int("rate", flags.rate);
const seconds = int("seconds", flags.seconds);
const perMessage = Math.max(1, int("per-message", flags["per-message"]));
const events = mode === "backlog" ? int("events", flags.events) : rate * seconds;
const nowMs = Date.now();
const workload: WorkloadOptions = {
  seed: int("seed", flags.seed),
  events,
  tenants: int("tenants", flags.tenants),
  hosts: int("hosts", flags.hosts),
  metrics: int("metrics", flags.metrics),
  malformed: Number(flags.malformed),
  spreadMs: mode === "backlog" ? int("spread", flags.spread) * 1000 : seconds * 1000,
  endMs: mode === "backlog" ? nowMs : nowMs + seconds * 1000 + 2_000,
  perMessage,
};
const env = await environment();
console.log(
  `bench ${mode}: ${events.toLocaleString("en-US")} events, ${partitions} partitions, broker ${brokers}, ` +
    `${(env.machine as { cores: number }).cores} cores, load ${
      (env.machine as { loadavg_at_start: number[] }).loadavg_at_start.join(" ")
    }`,
);
try {
  await createTopics(brokers, topics, partitions);
} catch (error) {
  console.error(
    `cannot create topics on ${brokers} (${error}); start a broker for the bench with ` +
      `EVENTOPS_BROKER_PORT=${brokers.split(":").pop()} bash scripts/broker/broker.sh start`,
  );
  Deno.exit(1);
}
let outcome: { result: Record<string, unknown>; totals: WorkloadTotals };
try {
  outcome = mode === "backlog"
    ? await backlog(name, topics, workload)
    : await live(name, topics, workload, rate, seconds);
  if (!flags["no-read-limit"]) {
    const readSeconds = await kcatReadSeconds(brokers, topics.raw);
    const agentSeconds = (outcome.result.agent as { seconds?: number }).seconds;
    outcome.result.read_limit = {
      kcat_seconds: round(readSeconds, 2),
      kcat_messages_per_s: Math.round(outcome.totals.messages / readSeconds),
      agent_over_kcat: agentSeconds ? round(agentSeconds / readSeconds, 1) : null,
    };
  }
  if (!flags["no-stages"]) outcome.result.stages_alone = await stageBench(200_000);
} finally {
  await memoryCap?.remove();
  if (!flags.keep) {
    await deleteTopics(brokers, topics);
    await Deno.remove(`${ROOT}data/bench/${name}`, { recursive: true }).catch(() => undefined);
  }
}

const report = {
  mode,
  label: flags.label,
  at: new Date().toISOString(),
  ...env,
  config: {
    workload: { ...workload, series: outcome.totals.series },
    partitions,
    brokers,
    split: flags.split,
    single_thread: flags["single-thread"],
    topology: flags.topology,
    agent_flags: flags["agent-flag"],
    agent_kafka: agentKafkaOverrides(),
    store_memory_limit: flags["memory-limit"],
    memory_budget: flags["memory-budget"],
    memory_cap: flags["memory-cap"],
    pi: flags.pi,
    notify_down: flags["notify-down"],
  },
  workload: outcome.totals,
  ...outcome.result,
};

/** `idle a/b/c, peak a/b/c` of a run's memory (MB: RSS / anonymous RSS / PSS). */
function memoryRow(value: unknown): string {
  const parts = value as Record<string, { rss_mb: number; anon_mb: number; pss_mb: number }>;
  return Object.entries(parts).map(([when, m]) => `${when} ${m.rss_mb}/${m.anon_mb}/${m.pss_mb}`).join(", ");
}

// Table.
const rows: [string, string][] = [];
const r = outcome.result as Record<string, Record<string, unknown>>;
const add = (label: string, value: unknown) => value !== undefined && rows.push([label, String(value)]);
if (mode === "backlog") {
  add("produce (kcat) events/s", r.produce.events_per_s);
  add("agent end-to-end events/s", r.agent.events_per_s);
  add("agent seconds (startup excluded)", r.agent.seconds);
  add("agent CPU seconds / cores used", `${r.agent.cpu_seconds} / ${r.agent.cpu_cores_used}`);
  add("agent CPU µs per event", r.agent.cpu_us_per_event);
  add("broker CPU cores used (same box)", r.agent.broker_cpu_cores_used);
  add("agent peak RSS MB", r.agent.peak_rss_mb);
  add("agent memory MB rss/anon/pss", memoryRow(r.agent.memory));
  add("check ok (catalog, DLQ, alerts)", r.check.ok);
  add("alerts", r.check.alerts_on_topic);
} else {
  if (r.agent.died) {
    const died = r.agent.died as { after_s: number; error: string };
    add("AGENT DIED (OOM kill under the cap?) after s", `${died.after_s}: ${died.error}`);
  }
  add("produced events/s (target)", `${r.produce.events_per_s} (${r.produce.rate_target})`);
  const l = r.latency as Record<string, Record<string, number | null>>;
  const fmt = (s: Record<string, number | null>) =>
    `${s.p50_ms} / ${s.p95_ms} / ${s.p99_ms} / ${s.max_ms} (n=${s.n})`;
  add("produce->stored ms p50/p95/p99/max", fmt(l.produce_to_stored));
  add(`  the same after the first ${r.latency.warmup_seconds} s`, fmt(l.produce_to_stored_after_warmup));
  add("produce->alert ms p50/p95/p99/max", fmt(l.produce_to_alert));
  add("agent CPU cores used", r.agent.cpu_cores_used);
  add("agent peak RSS MB", r.agent.peak_rss_mb);
  add("agent memory MB rss/anon/pss", memoryRow(r.agent.memory));
  add("drain after produce stopped s", r.agent.drain_seconds);
  if (r.memory_cap) {
    const c = r.memory_cap as Record<string, number>;
    add(
      `memory cgroup v${c.cgroup_version}: limit / peak charged MB, OOM kills, limit hits`,
      `${c.limit_mb} / ${c.peak_charged_mb}, ${c.oom_kills}, ${c.limit_hits}`,
    );
  }
}
if (r.notify) {
  const n = r.notify as Record<string, number>;
  add(
    "notifications (receiver down): queued / retries / sent",
    `${n.queue_depth ?? 0} / ${n.retries ?? 0} / ${n.sent ?? 0}`,
  );
}
if (r.read_limit) {
  add(
    "kcat read of raw topic s (msg/s)",
    `${r.read_limit.kcat_seconds} (${r.read_limit.kcat_messages_per_s})`,
  );
  add("agent / kcat time ratio", r.read_limit.agent_over_kcat ?? "-");
}
if (r.stages_alone) {
  for (const [stage, value] of Object.entries(r.stages_alone)) add(`stage alone: ${stage} events/s`, value);
}
const width = Math.max(...rows.map(([label]) => label.length));
console.log("");
for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);

await Deno.mkdir(`${ROOT}bench/results`, { recursive: true });
const stamp = report.at.replace(/[:.]/g, "-");
const path = `bench/results/${stamp}-${mode}.json`;
await Deno.writeTextFile(`${ROOT}${path}`, JSON.stringify(report, null, 2) + "\n");
console.log(`\nresults: ${path}`);
