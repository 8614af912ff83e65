/**
 * Kafka clients built from the agent's configuration (`@platformatic/kafka`, pure TypeScript).
 *
 * @module
 */
import { Admin, Consumer, Producer } from "@platformatic/kafka";
import type { Config } from "../config/schema.ts";

/** A producer of raw bytes (keys and values are Buffers). */
export type ByteProducer = Producer<Buffer, Buffer, Buffer, Buffer>;
/** A consumer of raw bytes. */
export type ByteConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;

/** Creates a producer that waits for all in-sync replicas (acks=-1) before a send resolves. */
export function createProducer(config: Config, role: string): ByteProducer {
  return new Producer({
    clientId: `${config.kafka.client_id}-${role}`,
    bootstrapBrokers: config.kafka.brokers,
    acks: -1,
    autocreateTopics: false,
    retries: 5,
    retryDelay: 250,
    strict: false,
  });
}

/** Creates a consumer in `groupId` with manual commits. */
export function createConsumer(config: Config, groupId: string, role: string): ByteConsumer {
  return new Consumer({
    clientId: `${config.kafka.client_id}-${role}`,
    groupId,
    bootstrapBrokers: config.kafka.brokers,
    autocommit: false,
    sessionTimeout: config.kafka.session_timeout,
    heartbeatInterval: Math.max(500, Math.floor(config.kafka.session_timeout / 10)),
    rebalanceTimeout: Math.max(config.kafka.session_timeout, 60_000),
    maxWaitTime: Math.max(10, config.kafka.batch_max_wait),
    highWaterMark: 4096,
    retries: 5,
    retryDelay: 250,
    strict: false,
  });
}

/** Creates an admin client (topic management, metadata). */
export function createAdmin(config: Config): Admin {
  return new Admin({
    clientId: `${config.kafka.client_id}-admin`,
    bootstrapBrokers: config.kafka.brokers,
    retries: 3,
    retryDelay: 250,
    strict: false,
  });
}
