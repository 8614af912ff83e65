/**
 * The agent under test: a subprocess with the same sandbox flags as `deno task eventops` (read
 * from deno.json via the test helper), plus optional Deno flags (e.g. `--inspect` for profiling),
 * and its resource usage read from /proc.
 *
 * @module
 */
import { stringify } from "yaml";
import { freePort, startAgent } from "../testing/agent.ts";
import type { BenchTopics } from "./kafka.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** A running agent subprocess. */
export interface BenchAgent {
  pid: number;
  baseUrl: string;
  dir: string;
  /** Everything the agent wrote so far (stdout + stderr). */
  logs(): string;
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number>;
}

/** Writes the agent config under data/bench/<name>/ (inside the agent's sandbox) and returns it. */
export async function writeBenchConfig(
  name: string,
  brokers: string,
  topics: BenchTopics,
  options: {
    kafka?: Record<string, unknown>;
    stages?: string[];
    suffix?: string;
    statelessThread?: boolean;
    /** The `store` section, when the run needs other than the defaults. */
    store?: Record<string, unknown>;
    /** A notification file (written beside the config), when the run delivers alerts. */
    notify?: Record<string, unknown>;
    /** `topology` (the agent's default, auto, when absent). */
    topology?: string;
    /** `memory_budget` (none by default). */
    memoryBudget?: string;
    /** More top-level sections (`inputs`); `http` is merged into the bench's. */
    extra?: Record<string, unknown>;
  } = {},
): Promise<{ dir: string; file: string; port: number }> {
  const {
    kafka = {},
    stages,
    suffix = "",
    statelessThread = true,
    store,
    notify,
    topology,
    memoryBudget,
    extra = {},
  } = options;
  const dir = `data/bench/${name}`;
  await Deno.mkdir(`${ROOT}${dir}`, { recursive: true });
  if (notify) await Deno.writeTextFile(`${ROOT}${dir}/notify.yaml`, stringify(notify));
  const port = await freePort();
  const config = {
    data_dir: `${dir}/store`,
    log_level: "warn",
    kafka: {
      brokers: [brokers],
      client_id: name,
      group_stateless: `${name}-stateless`,
      group_stateful: `${name}-stateful`,
      ...kafka,
    },
    topics,
    ...extra,
    http: {
      host: "127.0.0.1",
      port,
      token: "bench-token",
      events_stream_max_rate: 1000,
      ...(extra.http as Record<string, unknown> | undefined),
    },
    ...(stages ? { stages } : {}),
    ...(store ? { store } : {}),
    ...(notify ? { notify: `${dir}/notify.yaml` } : {}),
    stateless_thread: statelessThread,
    ...(topology ? { topology } : {}),
    ...(memoryBudget ? { memory_budget: memoryBudget } : {}),
  };
  const file = `${dir}/eventops${suffix}.yaml`;
  await Deno.writeTextFile(`${ROOT}${file}`, stringify(config));
  return { dir, file, port };
}

/**
 * Starts `eventops run --config <file>` under the agent's sandbox (the test helper's
 * {@link startAgent}); resolves when /readyz is 200 (or at once without `waitReady`).
 */
export async function startBenchAgent(
  configFile: string,
  dir: string,
  port: number,
  denoFlags: string[] = [],
  waitReady = true,
  wrapper: string[] = [],
): Promise<BenchAgent> {
  const agent = await startAgent(configFile, port, [], {}, { denoFlags, waitReady, wrapper });
  return { pid: agent.process.pid, baseUrl: agent.baseUrl, dir, logs: agent.logs, stop: agent.stop };
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux x86 and arm). */
const CLOCK_TICKS = 100;

/**
 * Reads a /proc file of another process. Deno allows /proc/<pid> only with --allow-all, so the
 * bench (permission set `bench`: run allowed) reads it with `cat`.
 */
async function readProc(path: string): Promise<string> {
  const output = await new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" }).output();
  if (output.code !== 0) throw new Error(`cannot read ${path}`);
  return new TextDecoder().decode(output.stdout);
}

/** CPU seconds (user + system, all threads) of a process so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readProc(`/proc/${pid}/stat`);
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** A process' memory in bytes, as an edge user reads it. */
export interface ProcessMemory {
  /** Resident set (VmRSS), and its peak since the start (VmHWM). */
  rss: number;
  hwm: number;
  /** Anonymous resident memory (RssAnon: heaps, malloc; not the mapped binary and libraries). */
  anon: number;
  /** Proportional set size (`smaps_rollup` Pss: shared pages divided among their users). */
  pss: number;
}

/** Current and peak resident memory, anonymous RSS and PSS (bytes) of a process. */
export async function memory(pid: number): Promise<ProcessMemory> {
  const status = await readProc(`/proc/${pid}/status`);
  const rollup = await readProc(`/proc/${pid}/smaps_rollup`).catch(() => "");
  const kb = (text: string, key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
  return {
    rss: kb(status, "VmRSS"),
    hwm: kb(status, "VmHWM"),
    anon: kb(status, "RssAnon"),
    pss: kb(rollup, "Pss"),
  };
}

/** The agent's `/status` totals (counters `stage.kind`). */
export async function statusTotals(baseUrl: string): Promise<Record<string, number>> {
  const response = await fetch(`${baseUrl}/status`);
  if (!response.ok) throw new Error(`/status: HTTP ${response.status}`);
  const body: { totals?: Record<string, number> } = await response.json();
  return body.totals ?? {};
}

/** Sum of the catalog's row counts (`GET /metrics`, exact: counted in the store). */
export async function catalogRows(baseUrl: string, tenantPrefix = ""): Promise<number> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) throw new Error(`/metrics: HTTP ${response.status}`);
  const body: { series: { tenant: string; rows: number }[] } = await response.json();
  return body.series.filter((s) => s.tenant.startsWith(tenantPrefix)).reduce((sum, s) => sum + s.rows, 0);
}
