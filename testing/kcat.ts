/**
 * The real Kafka CLI (`kcat`, librdkafka) for end-to-end tests: produce and consume like a user.
 *
 * @module
 */
import { BROKERS } from "./agent.ts";

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

/** Produces one message whose value is exactly `value` (may contain newlines) from a file. */
export async function kcatProduceRaw(topic: string, value: Uint8Array): Promise<void> {
  const file = await Deno.makeTempFile({ dir: "data" });
  try {
    await Deno.writeFile(file, value);
    const output = await new Deno.Command("kcat", { args: ["-b", BROKERS, "-t", topic, "-P", file] })
      .output();
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
