/**
 * The real schema registry and the real registry-aware producer for the tests: AxonOps Schema
 * Registry (built by scripts/install-schema-registry.sh, in-memory storage, on a free port) and the
 * Python confluent-kafka client with its Avro and JSON serializers (scripts/install-confluent-kafka.sh,
 * driven through testing/confluent_producer.py).
 *
 * @module
 */
import { BROKERS, freePort } from "./agent.ts";
import { eventually } from "./eventually.ts";
import { installed } from "./install.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** A running registry. */
export interface RunningRegistry {
  url: string;
  port: number;
  /** Stops it (its in-memory schemas are gone). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty unless `restore` gives the schemas back). */
  restart(): Promise<void>;
}

/** Starts a registry on a free port (or `port`) and waits until it answers. */
export async function startRegistry(port?: number): Promise<RunningRegistry> {
  const binary = await installed("install-schema-registry.sh");
  const chosen = port ?? freePort();
  const url = `http://127.0.0.1:${chosen}`;
  let child: Deno.ChildProcess | undefined;
  const start = async () => {
    child = new Deno.Command(binary, {
      env: {
        SCHEMA_REGISTRY_HOST: "127.0.0.1",
        SCHEMA_REGISTRY_PORT: String(chosen),
        SCHEMA_REGISTRY_STORAGE_TYPE: "memory",
      },
      stdout: "null",
      stderr: "null",
    }).spawn();
    await eventually(
      async () => {
        try {
          const response = await fetch(`${url}/config`);
          await response.body?.cancel();
          return response.ok || undefined;
        } catch {
          return undefined;
        }
      },
      20_000,
      `the schema registry on ${url}`,
    );
  };
  const stop = async () => {
    if (child === undefined) return;
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    child = undefined;
  };
  await start();
  return { url, port: chosen, stop, restart: start };
}

/** What the producer sends. */
export interface ProduceRequest {
  registry: string;
  topic: string;
  format: "avro" | "json";
  /** The schema text (Avro JSON or JSON Schema). */
  schema: string;
  events: readonly Record<string, unknown>[];
  key?: string;
  /** Let the serializer register the schema (default true). */
  auto_register?: boolean;
  /** The subject: `<topic>-value` (default) or the record's name (Avro full name, JSON Schema title). */
  subject_strategy?: "topic" | "record";
}

/** Sends `request.events` with the Python confluent-kafka serializer; returns the schema id used. */
export async function confluentProduce(
  request: ProduceRequest,
): Promise<{ sent: number; schema_id: number }> {
  const python = await installed("install-confluent-kafka.sh");
  const child = new Deno.Command(python, {
    args: [`${ROOT}testing/confluent_producer.py`],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ bootstrap: BROKERS, ...request })));
  await writer.close();
  const output = await child.output();
  if (!output.success) {
    throw new Error(`confluent producer failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** What the consumer reads. */
export interface ConsumeRequest {
  registry: string;
  topic: string;
  format: "avro" | "json";
  count: number;
  timeout_s?: number;
}

/**
 * The first `request.count` values of a topic decoded by the Python confluent-kafka deserializer with
 * no schema given (the writer's schema comes from the registry by the id in each message).
 */
export async function confluentConsume(request: ConsumeRequest): Promise<Record<string, unknown>[]> {
  const python = await installed("install-confluent-kafka.sh");
  const child = new Deno.Command(python, {
    args: [`${ROOT}testing/confluent_consumer.py`],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ bootstrap: BROKERS, ...request })));
  await writer.close();
  const output = await child.output();
  if (!output.success) {
    throw new Error(`confluent consumer failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout));
}
