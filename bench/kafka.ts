/**
 * Kafka side of the benchmark: topics (create/delete), producing with kcat (librdkafka, batched),
 * counting and reading topics with kcat.
 *
 * @module
 */
import { Admin, Producer } from "@platformatic/kafka";

/** The agent's topic names for one bench run. */
export interface BenchTopics {
  raw: string;
  enriched: string;
  features: string;
  alerts: string;
  dlq: string;
}

/** Topic names prefixed with `name`. */
export function benchTopics(name: string): BenchTopics {
  return {
    raw: `${name}.raw`,
    enriched: `${name}.enriched`,
    features: `${name}.features`,
    alerts: `${name}.alerts`,
    dlq: `${name}.dlq`,
  };
}

async function withAdmin<T>(brokers: string, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ clientId: "eventops-bench", bootstrapBrokers: [brokers], strict: false });
  try {
    return await use(admin);
  } finally {
    await admin.close();
  }
}

/** Creates the topics (fresh, unique names) with `partitions` partitions. */
export async function createTopics(brokers: string, topics: BenchTopics, partitions: number): Promise<void> {
  await withAdmin(
    brokers,
    (admin) => admin.createTopics({ topics: Object.values(topics), partitions, replicas: 1 }),
  );
}

/** Deletes the topics (best effort). */
export async function deleteTopics(brokers: string, topics: BenchTopics): Promise<void> {
  try {
    await withAdmin(brokers, (admin) => admin.deleteTopics({ topics: Object.values(topics) }));
  } catch (error) {
    console.error(`warning: could not delete topics: ${error}`);
  }
}

/** librdkafka producer settings for large batches (what a fast edge collector would use). */
export const KCAT_PRODUCER_FLAGS = [
  "-X",
  "linger.ms=20",
  "-X",
  "batch.num.messages=10000",
  "-X",
  "batch.size=1000000",
  "-X",
  "queue.buffering.max.messages=2000000",
  "-X",
  "queue.buffering.max.kbytes=1048576",
];

/**
 * Produces the messages of `file`, separated by `delimiter` (kcat `-D` syntax), to `topic`; with
 * `keyDelimiter` (kcat `-K`), each message is `key<keyDelimiter>value`.
 */
export async function kcatProduceFile(
  brokers: string,
  topic: string,
  file: string,
  delimiter: string,
  keyDelimiter?: string,
): Promise<void> {
  const output = await new Deno.Command("kcat", {
    args: [
      "-b",
      brokers,
      "-t",
      topic,
      "-P",
      "-D",
      delimiter,
      ...(keyDelimiter === undefined ? [] : ["-K", keyDelimiter]),
      ...KCAT_PRODUCER_FLAGS,
      "-l",
      file,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (output.code !== 0) throw new Error(`kcat -P failed: ${new TextDecoder().decode(output.stderr)}`);
}

/** Newline-separated messages written to a topic as they come. */
export interface LinePipe {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/** Newline-terminated messages as UTF-8 bytes, written to a topic (the load, see `bench/line_bytes.ts`). */
export interface LoadPipe {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts `kcat -P` on `topic` fed through stdin: for load (kcat holds lines until its stdin buffer
 * fills, so it is no clock; see {@link markerProducer}). With `keyDelimiter` (kcat `-K`), each line
 * is `key<keyDelimiter>value`.
 */
export function kcatPipe(brokers: string, topic: string, keyDelimiter?: string): LoadPipe {
  const keyed = keyDelimiter === undefined ? [] : ["-K", keyDelimiter];
  const args = ["-b", brokers, "-t", topic, "-P", ...keyed, ...KCAT_PRODUCER_FLAGS, "-X", "linger.ms=5"];
  const process = new Deno.Command("kcat", { args, stdin: "piped", stdout: "null", stderr: "piped" }).spawn();
  const writer = process.stdin.getWriter();
  return {
    write: (bytes) => writer.write(bytes),
    close: async () => {
      await writer.close();
      const output = await process.output();
      if (output.code !== 0) {
        throw new Error(`kcat -P failed: ${new TextDecoder().decode(output.stderr)}`);
      }
    },
  };
}

const MARKER_KEY = Buffer.from("bench-marker");

/**
 * A producer for latency markers: each `send` goes out at once. (`kcat -P` reading a pipe holds
 * stdin lines until its buffer fills or the pipe closes: markers written through it waited up to
 * ~0.8 s at 10 markers/s before they were even produced.) Resolves once connected to the brokers.
 */
export async function markerProducer(brokers: string, topic: string): Promise<LinePipe> {
  const producer = new Producer({ clientId: "eventops-bench-markers", bootstrapBrokers: [brokers], acks: 1 });
  // Connected before the run: otherwise the first markers wait for the metadata and the connection,
  // which the bench would count as the agent's latency.
  await producer.metadata({ topics: [topic] });
  await producer.connectToBrokers();
  let sending: Promise<unknown> = Promise.resolve();
  return {
    write: (text) => {
      // One key, so one partition: markers of the one series are consumed in order. Unkeyed, they
      // spread over the raw partitions, and a marker read before its predecessor is late data for the
      // rule (no alert for it or the next one).
      const messages = text.split("\n").filter((line) => line !== "").map((line) => ({
        topic,
        key: MARKER_KEY,
        value: Buffer.from(line),
      }));
      sending = producer.send({ messages });
      return Promise.resolve();
    },
    close: async () => {
      await sending;
      await producer.close();
    },
  };
}

/** Number of messages on `topic` (read to the end with kcat). */
export async function countMessages(brokers: string, topic: string): Promise<number> {
  const output = await new Deno.Command("kcat", {
    args: ["-b", brokers, "-t", topic, "-C", "-o", "beginning", "-e", "-q", "-f", "x"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (output.code !== 0) throw new Error(`kcat -C failed: ${new TextDecoder().decode(output.stderr)}`);
  return output.stdout.length;
}

/**
 * The read limit: seconds for `kcat -C ... -o beginning -e -q > /dev/null` over the whole topic
 * (librdkafka in C, no processing).
 */
export async function kcatReadSeconds(brokers: string, topic: string): Promise<number> {
  const started = performance.now();
  const output = await new Deno.Command("kcat", {
    args: ["-b", brokers, "-t", topic, "-C", "-o", "beginning", "-e", "-q"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (output.code !== 0) throw new Error(`kcat -C failed: ${new TextDecoder().decode(output.stderr)}`);
  return (performance.now() - started) / 1000;
}
