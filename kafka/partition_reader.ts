/**
 * Reads a range of one partition outside any consumer group (Kafka's Fetch API on the partition's
 * leader): the restore of a dead agent's rows reads `events.enriched` between two offsets without
 * joining, or disturbing, the group that owns the partition.
 *
 * @module
 */
import { Consumer } from "@platformatic/kafka";
import type { Config } from "../config/schema.ts";
import type { ByteConsumer } from "./clients.ts";

/** One record of the range, as the enriched decoder reads it. */
export interface RangeMessage {
  topic: string;
  partition: number;
  offset: bigint;
  value: Uint8Array | null;
  /** The record's headers, as the broker sent them. */
  headers: readonly (readonly [Buffer | null, Buffer | null])[];
}

/** Bit 5 of a record batch's attributes: a control batch (transaction markers), not data. */
const CONTROL_BATCH = 0x20;

/** A consumer that never joins a group: only its Fetch and Metadata calls are used. */
export function createRangeConsumer(config: Config, role: string): ByteConsumer {
  return new Consumer({
    clientId: `${config.kafka.client_id}-${role}`,
    // Required by the client; never joined (no consume(), no commit).
    groupId: `${config.kafka.group_stateful}.${role}`,
    bootstrapBrokers: config.kafka.brokers,
    autocommit: false,
    retries: 5,
    retryDelay: 250,
    strict: false,
  });
}

/** What {@link readPartitionRange} read. */
export interface RangeReport {
  /** Records handed to `onBatch`. */
  records: number;
  /** Fetch requests made. */
  fetches: number;
  /** The first offset read (the log may start after `from` when retention deleted the head). */
  firstOffset: bigint;
}

/**
 * Reads the records of `topic`/`partition` with offsets in [`from`, `to`), in order, handing them to
 * `onBatch` one fetch response at a time (at most `maxBytes` each) and waiting for it before the next
 * fetch: memory stays bounded whatever the range. Starts at the log's start when retention deleted
 * `from` already.
 */
export async function readPartitionRange(
  consumer: ByteConsumer,
  range: { topic: string; partition: number; from: bigint; to: bigint },
  onBatch: (messages: RangeMessage[]) => Promise<void>,
  maxBytes = 2 * 1024 * 1024,
): Promise<RangeReport> {
  const { topic, partition, to } = range;
  const report: RangeReport = { records: 0, fetches: 0, firstOffset: range.from };
  let next = range.from;
  if (next >= to) return report;
  // The client routes each fetch to the partition's current leader itself; this names the topic's id.
  const metadata = await consumer.metadata({ topics: [topic] });
  const described = metadata.topics.get(topic);
  const leader = described?.partitions[partition]?.leader;
  if (described === undefined || leader === undefined || leader < 0) {
    throw new Error(`no leader for ${topic} partition ${partition}`);
  }
  while (next < to) {
    const response = await consumer.fetch({
      node: leader,
      topics: [{
        topicId: described.id,
        partitions: [{
          partition,
          fetchOffset: next,
          currentLeaderEpoch: -1,
          lastFetchedEpoch: -1,
          partitionMaxBytes: maxBytes,
        }],
      }],
      maxBytes,
      minBytes: 1,
      maxWaitTime: 500,
    });
    report.fetches++;
    const answered = response.responses.flatMap((topicResponse) => topicResponse.partitions)
      .find((entry) => entry.partitionIndex === partition);
    if (answered === undefined) {
      throw new Error(`the broker did not answer for ${topic} partition ${partition}`);
    }
    if (answered.errorCode === 1 && answered.logStartOffset > next) {
      // OFFSET_OUT_OF_RANGE: retention deleted the head of the range.
      next = answered.logStartOffset;
      report.firstOffset = next;
      continue;
    }
    if (answered.errorCode !== 0) {
      throw new Error(
        `fetching ${topic} partition ${partition} at ${next}: Kafka error ${answered.errorCode}`,
      );
    }
    const messages: RangeMessage[] = [];
    let last = next - 1n;
    for (const batch of answered.records ?? []) {
      last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
      if ((batch.attributes & CONTROL_BATCH) !== 0) continue;
      for (const record of batch.records) {
        const offset = batch.firstOffset + BigInt(record.offsetDelta);
        if (offset < next || offset >= to) continue;
        messages.push({ topic, partition, offset, value: record.value, headers: record.headers });
      }
    }
    if (last < next) {
      // Nothing at or after `next`: the range ends before `to` (the log's end).
      if (answered.highWatermark <= next) break;
      throw new Error(
        `no records returned for ${topic} partition ${partition} at ${next} (batch larger than ${maxBytes} B?)`,
      );
    }
    if (messages.length > 0) {
      report.records += messages.length;
      await onBatch(messages);
    }
    next = last + 1n;
  }
  return report;
}
