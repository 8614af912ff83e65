/**
 * Runs the real agent as a subprocess under the same sandbox flags as `deno task eventops` (read
 * from deno.json, the single source of truth), against the test broker: for the tests and the bench.
 *
 * @module
 */
import { stringify } from "yaml";

export { eventually } from "./eventually.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The test broker (started by scripts/test.sh). */
export const BROKERS = Deno.env.get("EVENTOPS_TEST_BROKERS") ?? "127.0.0.1:19092";

/** The `eventops` task of deno.json: its leading `NAME=value` words and the rest. */
async function eventopsTask(): Promise<{ env: Record<string, string>; words: string[] }> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const task: string = config.tasks.eventops;
  const words = task.split(/\s+/).filter(Boolean);
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [name, ...value] = words.shift()!.split("=");
    env[name] = value.join("=");
  }
  if (words[0] !== "deno" || words[1] !== "run") throw new Error(`unexpected eventops task: ${task}`);
  return { env, words };
}

/** The flags `deno task eventops` runs main.ts with, parsed from deno.json. */
export async function agentDenoArgs(): Promise<string[]> {
  return (await eventopsTask()).words.slice(1);
}

/**
 * The environment `deno task eventops` sets for the agent (`MALLOC_ARENA_MAX`, as the systemd unit
 * does), parsed from deno.json.
 */
export async function agentEnv(): Promise<Record<string, string>> {
  return (await eventopsTask()).env;
}

/** A unique name for a test's topics, groups and data dir. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Writes a config file for a test under data/test/<name>/ and returns its path and settings. `extra`
 * replaces top-level sections, except `kafka`, whose keys are merged into the test's, and
 * `store.parquet.retention`, which is 0s unless `extra` sets it.
 */
export async function writeTestConfig(
  name: string,
  extra: Record<string, unknown> = {},
): Promise<{ file: string; dataDir: string; topics: Record<string, string>; port: number }> {
  const dir = `data/test/${name}`;
  await Deno.mkdir(`${ROOT}${dir}`, { recursive: true });
  const port = await freePort();
  const topics = {
    raw: `${name}.raw`,
    enriched: `${name}.enriched`,
    features: `${name}.features`,
    alerts: `${name}.alerts`,
    dlq: `${name}.dlq`,
  };
  // The tests send the brief's 2025 events: the store keeps everything (retention 0s, as the demo
  // does) unless a test sets store.parquet.retention.
  const store = (extra.store ?? {}) as { parquet?: Record<string, unknown> };
  const config = {
    data_dir: `${dir}/store`,
    topics,
    http: { host: "127.0.0.1", port, token: "test-token" },
    ...extra,
    store: { ...store, parquet: { retention: "0s", ...store.parquet } },
    kafka: {
      brokers: [BROKERS],
      client_id: name,
      group_stateless: `${name}-stateless`,
      group_stateful: `${name}-stateful`,
      batch_max_wait: "50ms",
      session_timeout: "10s",
      ...(extra.kafka as Record<string, unknown> | undefined),
    },
  };
  const file = `${dir}/eventops.yaml`;
  await Deno.writeTextFile(`${ROOT}${file}`, stringify(config));
  return { file, dataDir: `${dir}/store`, topics, port };
}

/** A free TCP port on loopback. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A running agent subprocess. */
export interface RunningAgent {
  process: Deno.ChildProcess;
  baseUrl: string;
  /** Everything the agent wrote to stderr so far. */
  logs(): string;
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** How to start the agent. */
export interface StartOptions {
  /** Extra Deno flags before main.ts (e.g. `--inspect`, `--v8-flags=...`). */
  denoFlags?: string[];
  /** Wait until /readyz answers 200 (default); false for a process without the api stage. */
  waitReady?: boolean;
  /**
   * A command the Deno command line is appended to: one that execs it (the bench's memory cgroup), or
   * one that runs it as its only child (`heaptrack`; `stop` then signals that child).
   */
  wrapper?: string[];
}

/** Signals of a native crash (not the SIGTERM/SIGKILL tests send). */
const CRASH_SIGNALS: ReadonlySet<Deno.Signal> = new Set(["SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE"]);

/** Starts `eventops <command>` with the agent's sandbox flags; returns when /readyz answers 200 (for run). */
export async function startAgent(
  configFile: string,
  port: number,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<RunningAgent> {
  const task = await eventopsTask();
  const base = task.words.slice(1); // ["run", "-P=agent", "--ignore-env", ..., "main.ts"]
  const script = base.findIndex((word, index) => index > 0 && !word.startsWith("-"));
  const args = [
    ...base.slice(0, script),
    ...(options.denoFlags ?? []),
    ...base.slice(script),
    "run",
    "--config",
    configFile,
    ...extraArgs,
  ];
  const wrapper = options.wrapper ?? [];
  const process = new Deno.Command(wrapper.length > 0 ? wrapper[0] : Deno.execPath(), {
    args: wrapper.length > 0 ? [...wrapper.slice(1), Deno.execPath(), ...args] : args,
    cwd: ROOT,
    env: { NO_COLOR: "1", ...task.env, ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let logText = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) logText += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(process.stdout), drain(process.stderr)]);
  const baseUrl = `http://127.0.0.1:${port}`;
  const agent: RunningAgent = {
    process,
    baseUrl,
    logs: () => logText,
    stop: async () => {
      // A wrapper that does not exec (heaptrack runs the agent as its child and exits on SIGTERM,
      // leaving it running): the agent is signalled, and the wrapper ends when it does.
      const signalledChild = wrapper.length > 0 &&
        (await new Deno.Command("pkill", { args: ["-TERM", "-P", String(process.pid)] }).output()).success;
      if (!signalledChild) {
        try {
          process.kill("SIGTERM");
        } catch { /* already gone */ }
      }
      const status = await process.status;
      await drained;
      return status.code;
    },
    kill: async () => {
      try {
        process.kill("SIGKILL");
      } catch { /* already gone */ }
      await process.status;
      await drained;
    },
  };
  let exitCode: number | undefined;
  process.status.then((status) => {
    exitCode = status.code;
    if (status.signal !== null && CRASH_SIGNALS.has(status.signal)) {
      // A native crash is never what a test asked for: say so where CI logs keep it.
      void drained.then(() =>
        console.error(`agent on :${port} crashed with ${status.signal}; last logs:\n${logText.slice(-4000)}`)
      );
    }
  });
  const deadline = Date.now() + 60_000;
  while (options.waitReady ?? true) {
    if (exitCode !== undefined) {
      await drained;
      throw new Error(`agent exited with code ${exitCode} before it was ready; logs:\n${logText}`);
    }
    try {
      const response = await fetch(`${baseUrl}/readyz`);
      await response.body?.cancel();
      if (response.status === 200) return agent;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await agent.kill();
      throw new Error(`agent did not become ready in 60 s; logs:\n${logText}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return agent;
}

/** Runs an `eventops` command to completion with the agent's flags. */
export async function runEventops(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const task = await eventopsTask();
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...task.words.slice(1), ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...task.env, ...env },
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}
