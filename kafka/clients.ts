/**
 * Kafka clients built from the agent's configuration (`@platformatic/kafka`, pure TypeScript).
 *
 * @module
 */
import { Admin, Consumer, Producer } from "@platformatic/kafka";
import type { Config } from "../config/schema.ts";
import { AGENT_INSTANCE, agentStore, encodeMemberData } from "./membership.ts";

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

/**
 * Creates a consumer in `groupId` with manual commits. With `http.advertise` set, the member's
 * subscription carries the agent's HTTP address (`membership.ts`: scale-out reads).
 */
export function createConsumer(config: Config, groupId: string, role: string): ByteConsumer {
  const advertise = config.http.advertise;
  return new Consumer({
    ...(advertise === "" ? {} : {
      protocols: [{
        name: "roundrobin",
        version: 1,
        metadata: encodeMemberData({ http: advertise, instance: AGENT_INSTANCE, store: agentStore() }),
      }],
    }),
    clientId: `${config.kafka.client_id}-${role}`,
    groupId,
    bootstrapBrokers: config.kafka.brokers,
    autocommit: false,
    sessionTimeout: config.kafka.session_timeout,
    heartbeatInterval: Math.max(500, Math.floor(config.kafka.session_timeout / 10)),
    rebalanceTimeout: Math.max(config.kafka.session_timeout, 60_000),
    maxWaitTime: Math.max(10, config.kafka.batch_max_wait),
    // Memory: a fetch response is decoded whole into message objects (~1 KB each with the bytes),
    // and the stream pushes all of them even past its high-water mark. 2 MB (~12k raw events) and
    // 1,024 buffered messages instead of 8 MB and 4,096 (the default fetch is 50 MB, ~150k
    // messages): -60 MB peak RSS in the 1M backlog bench at the same throughput (77k vs 81k, 63k vs
    // 62k events/s, alternating runs).
    highWaterMark: 1024,
    maxBytes: config.kafka.fetch_max_bytes,
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

/** What {@link sendInChunks} needs of a producer (a {@link ByteProducer}, or a stand-in in unit tests). */
export interface MessageSender {
  send(request: { messages: OutgoingMessage[] }): Promise<unknown>;
}

/** A message for {@link sendInChunks}. */
export interface OutgoingMessage {
  topic: string;
  key?: Buffer;
  /** An explicit partition (else: the key's, or round robin without a key). */
  partition?: number;
  value: Buffer;
  /** Record headers (the alerts' origin, `alert_origin.ts`). */
  headers?: Map<Buffer, Buffer>;
}

/**
 * Most bytes (keys + values + per-record overhead) per produce request. Brokers reject a record
 * batch above `message.max.bytes` (Kafka and Redpanda default: 1 MiB) with MESSAGE_TOO_LARGE, and
 * the client puts all of a request's messages for one partition into one batch.
 */
export const MAX_REQUEST_BYTES = 768 * 1024;
const RECORD_OVERHEAD_BYTES = 32;

/**
 * Sends `messages` in requests of at most `maxBytes` each, one request after the other, so the
 * messages of a partition (a series, on the enriched topic) are appended in the order given: with
 * several requests in flight, one that waits for a topic's metadata (the DLQ's, say) lands after
 * later ones. Resolves when every request is acked; rejects if one fails (the caller retries the
 * whole batch; the store deduplicates by event id).
 */
export async function sendInChunks(
  producer: MessageSender,
  messages: readonly OutgoingMessage[],
  maxBytes: number = MAX_REQUEST_BYTES,
): Promise<void> {
  let from = 0;
  let bytes = 0;
  for (let index = 0; index < messages.length; index++) {
    const size = messages[index].value.length + (messages[index].key?.length ?? 0) + RECORD_OVERHEAD_BYTES;
    if (bytes + size > maxBytes && index > from) {
      await producer.send({ messages: messages.slice(from, index) });
      from = index;
      bytes = 0;
    }
    bytes += size;
  }
  if (from < messages.length) await producer.send({ messages: messages.slice(from) });
}

/** How {@link planChunks} splits messages: groups of indices to send one after the other, and those too large alone. */
export interface ChunkPlan {
  /** Indices of the messages that fit, in order, in groups of at most the request budget. */
  chunks: number[][];
  /** Indices of the messages larger than a record may be. */
  oversized: number[];
}

/**
 * Splits messages of the given sizes into consecutive requests of at most `maxRequestBytes`
 * (with {@link sendInChunks}'s per-record overhead) and sets apart those whose size is above
 * `maxRecordBytes`, which the broker would refuse however they are sent.
 */
export function planChunks(
  sizes: readonly number[],
  maxRecordBytes: number,
  maxRequestBytes: number = MAX_REQUEST_BYTES,
): ChunkPlan {
  const chunks: number[][] = [];
  const oversized: number[] = [];
  let current: number[] = [];
  let bytes = 0;
  for (let index = 0; index < sizes.length; index++) {
    if (sizes[index] > maxRecordBytes) {
      oversized.push(index);
      continue;
    }
    const size = sizes[index] + RECORD_OVERHEAD_BYTES;
    if (bytes + size > maxRequestBytes && current.length > 0) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(index);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return { chunks, oversized };
}
