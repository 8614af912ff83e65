/**
 * A real OpenTelemetry Collector for end-to-end tests: the trimmed build of
 * `scripts/install-otelcol.sh` (the OTLP receiver and the contrib Kafka exporter, built once from the
 * Go module proxy, cached under `.cache/otelcol`), run on a config until stopped.
 *
 * @module
 */
import { eventually } from "./eventually.ts";
import { installed } from "./install.ts";

/** The Collector binary (builds it when missing; the first build takes about two minutes). */
export function otelcolBinary(): Promise<string> {
  return installed("install-otelcol.sh");
}

/** A running Collector. */
export interface RunningCollector {
  /** Stops it with SIGTERM (it flushes its exporters) and returns its log. */
  stop(): Promise<string>;
}

/**
 * Starts the Collector on `config` (YAML text, written to `dir`) and resolves once each of `ports`
 * (its OTLP/HTTP receivers on 127.0.0.1) accepts connections.
 */
export async function startCollector(
  config: string,
  dir: string,
  ports: number[],
): Promise<RunningCollector> {
  const binary = await otelcolBinary();
  const file = `${dir}/otelcol.yaml`;
  await Deno.writeTextFile(file, config);
  const child = new Deno.Command(binary, {
    args: ["--config", `file:${file}`],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  let exited = false;
  const logOf = async () => {
    const { stdout, stderr } = await output;
    return new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  };
  const exit = child.status.then(async (status) => {
    exited = true;
    throw new Error(`the Collector exited with ${status.code}:\n${await logOf()}`);
  });
  const listening = async () => {
    for (const port of ports) {
      await eventually(
        async () => (await Deno.connect({ hostname: "127.0.0.1", port })).close() ?? true,
        30_000,
        `the Collector's OTLP receiver on port ${port}`,
      );
    }
  };
  try {
    await Promise.race([listening(), exit]);
  } catch (error) {
    if (!exited) child.kill("SIGKILL");
    throw error;
  }
  exit.catch(() => {}); // a later exit is seen by stop()
  return {
    stop: async () => {
      if (!exited) child.kill("SIGTERM");
      return await logOf();
    },
  };
}
