/**
 * How large a produced message may be. A broker refuses a record batch larger than the topic's
 * `max.message.bytes` (Kafka: 1 MiB + 12 bytes by default, Redpanda: 1 MiB) with MESSAGE_TOO_LARGE,
 * a refusal that no retry can change. The agent reads each topic's limit from the broker at start
 * (`describeConfigs`), caps it with `kafka.max_message_bytes`, and sizes what it produces to fit:
 * enriched and feature batches are split, dead letters truncated (`dlq.ts`).
 *
 * @module
 */
import { type Admin, ConfigResourceTypes } from "@platformatic/kafka";

/** Most bytes of one record batch per topic (`max.message.bytes`, capped by the configuration). */
export type TopicLimits = Readonly<Record<string, number>>;

/**
 * Bytes of a record batch around one record's key and value: the batch header (61 bytes) and the
 * record's framing (at most 32 bytes of lengths, deltas and attributes), rounded up generously.
 */
export const FRAMING_BYTES = 1_024;

/** The smallest limit the agent works with (`kafka.max_message_bytes`'s minimum). */
export const MIN_MESSAGE_BYTES = 16_384;

/** The limit of a topic missing from the limits: Redpanda's default (Kafka's is 12 bytes more). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_576;

/** Most bytes of key + value of one message produced alone to `topic`. */
export function recordBudget(limits: TopicLimits, topic: string): number {
  return (limits[topic] ?? DEFAULT_MAX_MESSAGE_BYTES) - FRAMING_BYTES;
}

/** Most bytes of key + value of any one message produced to one of `topics`. */
export function smallestBudget(limits: TopicLimits, topics: readonly string[]): number {
  let smallest = Number.POSITIVE_INFINITY;
  for (const topic of topics) smallest = Math.min(smallest, recordBudget(limits, topic));
  return smallest;
}

/**
 * Reads `max.message.bytes` of each topic from the broker and caps it with `cap`. A topic the broker
 * does not describe (or a broker that refuses DescribeConfigs) gets `cap`; `onUnknown` says why.
 */
export async function readTopicLimits(
  admin: Admin,
  topics: readonly string[],
  cap: number,
  onUnknown?: (topic: string, reason: string) => void,
): Promise<TopicLimits> {
  const limits: Record<string, number> = {};
  for (const topic of topics) limits[topic] = cap;
  let described;
  try {
    described = await admin.describeConfigs({
      resources: topics.map((topic) => ({
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: topic,
        configurationKeys: ["max.message.bytes"],
      })),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    for (const topic of topics) onUnknown?.(topic, reason);
    return limits;
  }
  for (const topic of topics) {
    const value = described.find((resource) => resource.resourceName === topic)?.configs.find((config) =>
      config.name === "max.message.bytes"
    )?.value;
    const bytes = Number(value);
    if (value === null || value === undefined || !Number.isInteger(bytes) || bytes <= 2 * FRAMING_BYTES) {
      onUnknown?.(topic, `max.message.bytes is ${JSON.stringify(value ?? null)}`);
      continue;
    }
    limits[topic] = Math.min(cap, bytes);
  }
  return limits;
}
