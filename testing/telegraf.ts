/**
 * A real Telegraf for end-to-end tests: the trimmed build of `scripts/install-telegraf.sh` (built
 * once from the Go module proxy, cached under `.cache/telegraf`), run with `--once` on a config.
 *
 * @module
 */
const ROOT = new URL("../", import.meta.url).pathname;

/** The Telegraf binary (builds it when missing; the first build takes about a minute). */
export async function telegrafBinary(): Promise<string> {
  const output = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/install-telegraf.sh`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (output.code !== 0) {
    throw new Error(`install-telegraf.sh failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return text.split("\n").at(-1)!;
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
