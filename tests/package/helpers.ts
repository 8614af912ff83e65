/**
 * Shared by the package tests: the artifacts `deno task package` built, and a scenario that runs a
 * packaged executable the way a user would (config file in the working directory, `run`, `seed`,
 * HTTP, `query`), optionally through a wrapper (strace, bubblewrap, libseccomp, qemu).
 *
 * @module
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { freePort } from "../../testing/agent.ts";
import { eventually } from "../../testing/eventually.ts";

export { eventually, freePort };

/** The project directory. */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** The version in deno.json (the artifacts' names carry it). */
export const VERSION: string = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).version;

/** The executable for an architecture, as `deno task package` names it. */
export function executablePath(arch: "x86_64" | "aarch64"): string {
  return `${ROOT}dist/eventops-${VERSION}-linux-${arch}`;
}

/** The .deb for a Debian architecture. */
export function debPath(arch: "amd64" | "arm64"): string {
  return `${ROOT}dist/eventops_${VERSION}_${arch}.deb`;
}

/** The seccomp loader built by scripts/package/test.sh. */
export const SECCOMP_EXEC = Deno.env.get("EVENTOPS_SECCOMP_EXEC") ?? `${ROOT}.cache/package/seccomp_exec`;

/** Runs a command to completion. */
export async function sh(
  command: string,
  args: string[],
  options: Omit<Deno.CommandOptions, "args" | "stdout" | "stderr"> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped", ...options })
    .output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

/** The token the scenario's config sets (a test value, not a default anywhere). */
export const TEST_TOKEN = "package-test-token";

/** Writes `<dir>/eventops.yaml` with topics and groups of their own, the broker and the HTTP port. */
export async function writeScenarioConfig(
  dir: string,
  name: string,
  brokers: string,
  port: number,
): Promise<void> {
  const config = {
    data_dir: "./data",
    kafka: {
      brokers: [brokers],
      client_id: name,
      group_stateless: `${name}-stateless`,
      group_stateful: `${name}-stateful`,
      session_timeout: "10s",
    },
    topics: {
      raw: `${name}.raw`,
      enriched: `${name}.enriched`,
      features: `${name}.features`,
      alerts: `${name}.alerts`,
      dlq: `${name}.dlq`,
    },
    http: { host: "127.0.0.1", port, token: TEST_TOKEN },
    store: { parquet: { retention: "0s" } },
  };
  await Deno.writeTextFile(`${dir}/eventops.yaml`, stringify(config));
}

/**
 * The process a wrapper chain ends in (setpriv, seccomp_exec and the stub exec; bwrap and strace
 * fork): the first child, then its first child, ... (`ps`, since Deno reads /proc/<pid> only with -A).
 */
async function deepestChild(pid: number): Promise<number> {
  for (;;) {
    const { stdout } = await sh("ps", ["-o", "pid=", "--ppid", String(pid)]);
    const children = stdout.trim().split(/\s+/).filter(Boolean).map(Number);
    if (children.length === 0) return pid;
    pid = Math.min(...children);
  }
}

/** How a scenario runs the executable. */
export interface Scenario {
  /** The executable. */
  executable: string;
  /** Its working directory (holds eventops.yaml; ./data is the store). */
  cwd: string;
  /** Words before the executable (strace, setpriv + bwrap, seccomp_exec, ...). */
  wrapper?: string[];
  env?: Record<string, string>;
  /** How long `run` may take to answer /readyz (qemu: minutes). */
  readyTimeoutMs?: number;
  port: number;
}

/** What a scenario measured. */
export interface ScenarioResult {
  version: string;
  readyMs: number;
  points: { ts: string; value: number }[];
  query: string;
  logs: string;
  exitCode: number;
}

function command(scenario: Scenario, args: string[]): Deno.Command {
  const [program, ...rest] = [...(scenario.wrapper ?? []), scenario.executable, ...args];
  return new Deno.Command(program, {
    args: rest,
    cwd: scenario.cwd,
    env: { NO_COLOR: "1", ...scenario.env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  });
}

async function runToEnd(scenario: Scenario, args: string[]): Promise<string> {
  const output = await command(scenario, args).output();
  const decoder = new TextDecoder();
  const text = decoder.decode(output.stdout);
  assert.equal(
    output.code,
    0,
    `eventops ${args.join(" ")} exited ${output.code}:\n${text}${decoder.decode(output.stderr)}`,
  );
  return text;
}

/** Which commands besides `run` a scenario runs (each start under qemu takes ~20 s). */
export interface ScenarioSteps {
  /** `version` first (default true). */
  version?: boolean;
  /** `query` at the end (default true). */
  query?: boolean;
  /** Who runs `seed` (default: the scenario itself). */
  seeder?: Scenario;
}

/** `version`, then `run` until ready, `seed`, the seed points over HTTP, `query`, SIGTERM. */
export async function serveSeedEvents(
  scenario: Scenario,
  steps: ScenarioSteps = {},
): Promise<ScenarioResult> {
  const version = steps.version === false ? "" : await runToEnd(scenario, ["version"]);
  const started = Date.now();
  const agent = command(scenario, ["run"]).spawn();
  let logs = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) logs += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(agent.stdout), drain(agent.stderr)]);
  let exited = false;
  const status = agent.status.then((value) => {
    exited = true;
    return value;
  });
  const base = `http://127.0.0.1:${scenario.port}`;
  try {
    await eventually(
      async () => {
        if (exited) throw new Error(`the agent exited:\n${logs}`);
        const response = await fetch(`${base}/readyz`);
        await response.body?.cancel();
        return response.status === 200 ? true : undefined;
      },
      scenario.readyTimeoutMs ?? 60_000,
      "/readyz",
    ).catch((error) => {
      throw new Error(`${error.message}\nlogs:\n${logs}`);
    });
    const readyMs = Date.now() - started;
    await runToEnd(steps.seeder ?? scenario, ["seed"]);
    const points = await eventually(
      async () => {
        const response = await fetch(`${base}/metrics/cpu?tenant=acme&host=host-a`);
        const body = await response.json();
        return body.points?.length >= 2 ? body.points as { ts: string; value: number }[] : undefined;
      },
      scenario.readyTimeoutMs ?? 60_000,
      "both seed points",
    );
    const query = steps.query === false
      ? ""
      : await runToEnd(scenario, ["query", "SELECT count(*) AS n FROM metrics", "--format", "csv"]);
    const deno = await deepestChild(agent.pid);
    Deno.kill(deno, "SIGTERM");
    const { code } = await status;
    await drained;
    return { version, readyMs, points, query, logs, exitCode: code };
  } finally {
    if (!exited) {
      try {
        Deno.kill(await deepestChild(agent.pid), "SIGKILL");
      } catch { /* gone */ }
      await status;
      await drained;
    }
  }
}

/** Asserts what a scenario must show: the version, both seed points, the count from query. */
export function assertServed(result: ScenarioResult, steps: ScenarioSteps = {}): void {
  if (steps.version !== false) {
    assert.match(result.version, new RegExp(`^eventops ${VERSION.replaceAll(".", "\\.")} \\(deno `));
  }
  assert.deepEqual(result.points.map((point) => point.value), [85, 97]);
  if (steps.query !== false) assert.match(result.query, /^n\s*\n2\s*$/m, `query printed:\n${result.query}`);
  assert.equal(result.exitCode, 0, `the agent's exit code after SIGTERM; logs:\n${result.logs}`);
}
