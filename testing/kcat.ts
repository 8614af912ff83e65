/**
 * The real Kafka CLI (`kcat`, librdkafka) for end-to-end tests: produce and consume like a user.
 *
 * @module
 */
import { BROKERS } from "./agent.ts";
import { eventually } from "./eventually.ts";

/** Produces each line of `lines` as one message (`kcat -P`), optionally with `key`. */
export async function kcatProduce(topic: string, lines: readonly string[], key?: string): Promise<void> {
  const args = ["-b", BROKERS, "-t", topic, "-P"];
  if (key !== undefined) args.push("-K", "\t");
  const process = new Deno.Command("kcat", { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = process.stdin.getWriter();
  const body = lines.map((line) => (key !== undefined ? `${key}\t${line}` : line)).join("\n") + "\n";
  await writer.write(new TextEncoder().encode(body));
  await writer.close();
  const output = await process.output();
  if (output.code !== 0) throw new Error(`kcat -P failed: ${new TextDecoder().decode(output.stderr)}`);
}

const ROOT = new URL("../", import.meta.url).pathname;

/**
 * Produces one message whose value is exactly `value` (any bytes, newlines too) from a file, keyed
 * by `key` when given.
 */
export async function kcatProduceRaw(topic: string, value: Uint8Array, key?: string): Promise<void> {
  const file = await Deno.makeTempFile({ dir: `${ROOT}data` });
  try {
    await Deno.writeFile(file, value);
    const args = ["-b", BROKERS, "-t", topic, "-P"];
    if (key !== undefined) args.push("-k", key);
    const output = await new Deno.Command("kcat", { args: [...args, file], stderr: "piped" }).output();
    if (output.code !== 0) throw new Error(`kcat -P failed: ${new TextDecoder().decode(output.stderr)}`);
  } finally {
    await Deno.remove(file);
  }
}

/** Consumes every message currently on `topic` (`kcat -C -e`), one string per message. */
export async function kcatConsumeAll(topic: string): Promise<string[]> {
  const output = await new Deno.Command("kcat", {
    args: [
      "-b",
      BROKERS,
      "-t",
      topic,
      "-C",
      "-o",
      "beginning",
      "-e",
      "-q",
      "-f",
      "%s\\n---eventops-separator---\\n",
    ],
  }).output();
  if (output.code !== 0) throw new Error(`kcat -C failed: ${new TextDecoder().decode(output.stderr)}`);
  return new TextDecoder().decode(output.stdout).split("\n---eventops-separator---\n").filter((part) =>
    part.length > 0
  );
}

/**
 * The messages of `topic` parsed as JSON once there are at least `count` of them (polled until
 * `timeoutMs`; a timeout names `what`).
 */
export function kcatJsonAtLeast<T>(
  topic: string,
  count: number,
  what: string,
  timeoutMs = 30_000,
): Promise<T[]> {
  return eventually(
    async () => {
      const records = (await kcatConsumeAll(topic)).map((text) => JSON.parse(text) as T);
      return records.length >= count ? records : undefined;
    },
    timeoutMs,
    what,
  );
}
