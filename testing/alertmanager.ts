/**
 * A real Prometheus Alertmanager v0.28.1 for tests: the binary `scripts/install-alertmanager.sh`
 * builds into `.cache/alertmanager/` (scripts/test.sh runs it first), started on a free loopback port
 * with clustering off and its data in the test's directory.
 *
 * @module
 */
import { stringify } from "yaml";
import { freePort } from "./agent.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Where the install script puts the binary. */
export const ALERTMANAGER_BIN = `${ROOT}.cache/alertmanager/v0.28.1/alertmanager`;

/** Where the install script puts amtool, Alertmanager's CLI. */
export const AMTOOL_BIN = `${ROOT}.cache/alertmanager/v0.28.1/amtool`;

/** Runs amtool against `url` (with the bearer `token` when given); resolves with its exit code and output. */
export async function amtool(
  url: string,
  args: string[],
  token?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const extra: string[] = [];
  const file = token === undefined
    ? undefined
    : await Deno.makeTempFile({ dir: `${ROOT}data`, suffix: ".yml" });
  try {
    if (file !== undefined) {
      await Deno.writeTextFile(file, `authorization:\n  type: Bearer\n  credentials: ${token}\n`);
      extra.push(`--http.config.file=${file}`);
    }
    const output = await new Deno.Command(AMTOOL_BIN, {
      args: [`--alertmanager.url=${url}`, ...extra, ...args],
    })
      .output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    if (file !== undefined) await Deno.remove(file);
  }
}

/** A running Alertmanager. */
export interface RunningAlertmanager {
  readonly url: string;
  /** Everything it logged so far. */
  logs(): string;
  stop(): Promise<void>;
}

/** Starts Alertmanager with `config` (its YAML as an object), data under `dir`. */
export async function startAlertmanager(
  dir: string,
  config: Record<string, unknown>,
): Promise<RunningAlertmanager> {
  try {
    await Deno.stat(ALERTMANAGER_BIN);
  } catch {
    throw new Error(
      `${ALERTMANAGER_BIN} is missing: run scripts/install-alertmanager.sh (scripts/test.sh does)`,
    );
  }
  await Deno.mkdir(`${dir}/alertmanager`, { recursive: true });
  const configFile = `${dir}/alertmanager.yml`;
  await Deno.writeTextFile(configFile, stringify(config));
  const port = await freePort();
  const process = new Deno.Command(ALERTMANAGER_BIN, {
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${dir}/alertmanager`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      "--log.level=info",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(process.stdout), drain(process.stderr)]);
  const url = `http://127.0.0.1:${port}`;
  const running: RunningAlertmanager = {
    url,
    logs: () => text,
    async stop() {
      try {
        process.kill("SIGTERM");
      } catch { /* gone */ }
      await process.status;
      await drained;
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/-/ready`);
      await response.body?.cancel();
      if (response.status === 200) return running;
    } catch { /* not yet */ }
    if (Date.now() > deadline) {
      await running.stop();
      throw new Error(`Alertmanager did not become ready; logs:\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
