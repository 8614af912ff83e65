/**
 * Topic management: the agent's topics are created by `eventops init` (and at start when missing).
 *
 * @module
 */
import type { Admin } from "@platformatic/kafka";
import type { Config } from "../config/schema.ts";

/** The agent's topic names, in a stable order. */
export function topicNames(config: Config): string[] {
  const { raw, enriched, features, alerts, dlq } = config.topics;
  return [raw, enriched, features, alerts, dlq];
}

/** Creates the topics that do not exist yet; returns the names it created. Idempotent. */
export async function ensureTopics(admin: Admin, config: Config): Promise<string[]> {
  const existing = new Set(await admin.listTopics({ includeInternals: false }));
  const missing = topicNames(config).filter((name) => !existing.has(name));
  if (missing.length === 0) return [];
  try {
    await admin.createTopics({
      topics: missing,
      partitions: config.topics.partitions,
      replicas: config.topics.replication_factor,
    });
  } catch (error) {
    // Another agent may have created them concurrently: only fail if they are still missing.
    const now = new Set(await admin.listTopics({ includeInternals: false }));
    if (missing.some((name) => !now.has(name))) throw error;
  }
  return missing;
}

/**
 * Throws, naming them, when topics of `inputs` do not exist: the agent creates its own topics, not a
 * producer's (their partitions are the user's to choose), and its consumers cannot join a group over
 * a topic the broker does not know.
 */
export async function requireInputTopics(admin: Admin, config: Config): Promise<void> {
  if (config.inputs.length === 0) return;
  const existing = new Set(await admin.listTopics({ includeInternals: false }));
  const missing = config.inputs.map((input) => input.topic).filter((topic) => !existing.has(topic));
  if (missing.length === 0) return;
  throw new Error(
    `inputs: topic ${missing.join(", ")} does not exist on the broker; create it (kafka-topics.sh ` +
      "--create, rpk topic create) or let its producer write to it first, then start the agent",
  );
}

/** The partition count of `topic` (from the cluster's metadata). */
export async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const metadata = await admin.metadata({ topics: [topic] });
  const count = metadata.topics.get(topic)?.partitionsCount;
  if (count === undefined || count < 1) throw new Error(`topic ${topic}: no partitions in the metadata`);
  return count;
}
