/**
 * Reaching the broker at start: wait for it (`kafka.connect_timeout`; `/readyz` says why the agent
 * is not ready meanwhile), check that the `inputs` topics exist (where this process reads them), then read the topics' `max.message.bytes`.
 *
 * @module
 */
import type { Admin } from "@platformatic/kafka";
import type { Config } from "../config/schema.ts";
import { type BrokerLink, waitForBroker } from "../kafka/connect.ts";
import { readTopicLimits, type TopicLimits } from "../kafka/limits.ts";
import { requireInputTopics, topicNames } from "../kafka/topics.ts";
import type { Logger } from "../lib/log.ts";
import { runs } from "./stages.ts";

/** Waits for the broker, refuses missing `inputs` topics, then reads the topics' limits (`kafka.max_message_bytes` where unreadable). */
export async function reachBroker(
  admin: Admin,
  config: Config,
  log: Logger,
  broker: BrokerLink,
  signal?: AbortSignal,
): Promise<TopicLimits> {
  await waitForBroker(admin, config, log, broker, signal);
  // The stateless stages read the inputs topics (the stateless group, or the local consumer).
  if (runs(config, "normalize", "enrich")) await requireInputTopics(admin, config);
  return await readTopicLimits(
    admin,
    topicNames(config),
    config.kafka.max_message_bytes,
    (topic, reason) =>
      log.warn("could not read the topic's max.message.bytes; using kafka.max_message_bytes", {
        topic,
        reason,
        max_message_bytes: config.kafka.max_message_bytes,
      }),
  );
}
