/**
 * A real Telegraf for end-to-end tests: the trimmed build of `scripts/install-telegraf.sh` (built
 * once from the Go module proxy, cached under `.cache/telegraf`), run with `--once` on a config.
 *
 * @module
 */
import { installed } from "./install.ts";

/** The Telegraf binary (builds it when missing; the first build takes about a minute). */
export function telegrafBinary(): Promise<string> {
  return installed("install-telegraf.sh");
}

/** Runs `telegraf --once --config <file>` (gather once, write every output, exit); returns its log. */
export async function telegrafOnce(config: string, dir: string): Promise<string> {
  const binary = await telegrafBinary();
  const file = `${dir}/telegraf.conf`;
  await Deno.writeTextFile(file, config);
  const output = await new Deno.Command(binary, {
    args: ["--once", "--config", file],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const log = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (output.code !== 0) throw new Error(`telegraf --once exited with ${output.code}:\n${log}`);
  return log;
}
