/**
 * Consumer lag from the broker: per partition, the topic's end offset minus the group's committed
 * offset (a partition without a commit counts from its first offset when the group starts from the
 * beginning, else 0). Read with the admin client, so it is right whatever the consumer's state: just
 * after a restart, while a stream is dead, while a batch is retried.
 *
 * @module
 */
import type { Admin } from "@platformatic/kafka";

/** Lag (messages) of each partition of a topic for one group, by partition index. */
export type PartitionLags = Map<number, number>;

/** End and first offsets and the group's committed offset of one partition. */
export interface PartitionOffsets {
  end: bigint;
  start: bigint;
  /** Negative when the group has no commit on the partition. */
  committed: bigint;
}

/** The lag of one partition (see the module's description). */
export function partitionLag(offsets: PartitionOffsets, fromBeginning: boolean): number {
  const { end, start, committed } = offsets;
  const from = committed >= 0n ? committed : fromBeginning ? start : end;
  return end > from ? Number(end - from) : 0;
}

/**
 * The partitions where `group` has not handled every message yet, with the end offset each must
 * reach (a drain's target: messages produced later do not count).
 */
export function drainTargets(
  offsets: ReadonlyMap<number, PartitionOffsets>,
  fromBeginning: boolean,
): Map<number, bigint> {
  const targets = new Map<number, bigint>();
  for (const [partition, partitionOffsets] of offsets) {
    if (partitionLag(partitionOffsets, fromBeginning) > 0) targets.set(partition, partitionOffsets.end);
  }
  return targets;
}

/** Messages still below `targets` (partition -> offset): the lag measured to the targets, not the end. */
export function lagToTargets(
  targets: ReadonlyMap<number, bigint>,
  offsets: ReadonlyMap<number, PartitionOffsets>,
  fromBeginning: boolean,
): number {
  let sum = 0;
  for (const [partition, target] of targets) {
    const current = offsets.get(partition);
    if (current) sum += partitionLag({ ...current, end: target }, fromBeginning);
  }
  return sum;
}

/** Sum of the lags of `partitions` (every partition when undefined). */
export function sumLags(lags: PartitionLags, partitions?: readonly number[]): number {
  let sum = 0;
  if (partitions === undefined) { for (const lag of lags.values()) sum += lag; }
  else for (const partition of partitions) sum += lags.get(partition) ?? 0;
  return sum;
}

/** Reads the end, first and committed offsets of `group` on every partition of `topic`. */
export async function readGroupOffsets(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Map<number, PartitionOffsets>> {
  const metadata = await admin.metadata({ topics: [topic] });
  const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
  const indexes = Array.from({ length: count }, (_, index) => index);
  const listed = (timestamp: bigint) =>
    admin.listOffsets({
      topics: [{ name: topic, partitions: indexes.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
    });
  const [ends, starts, groups] = await Promise.all([
    listed(-1n),
    listed(-2n),
    admin.listConsumerGroupOffsets({
      groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: indexes }] }],
    }),
  ]);
  const offsetsOf = (topics: typeof ends) => {
    const byPartition = new Map<number, bigint>();
    for (const listedTopic of topics) {
      if (listedTopic.name !== topic) continue;
      for (const partition of listedTopic.partitions) {
        byPartition.set(partition.partitionIndex, partition.offset);
      }
    }
    return byPartition;
  };
  const end = offsetsOf(ends);
  const start = offsetsOf(starts);
  const committed = new Map<number, bigint>();
  for (const groupOffsets of groups) {
    for (const committedTopic of groupOffsets.topics) {
      if (committedTopic.name !== topic) continue;
      for (const partition of committedTopic.partitions) {
        committed.set(partition.partitionIndex, partition.committedOffset);
      }
    }
  }
  const offsets = new Map<number, PartitionOffsets>();
  for (const index of indexes) {
    offsets.set(index, {
      end: end.get(index) ?? 0n,
      start: start.get(index) ?? 0n,
      committed: committed.get(index) ?? -1n,
    });
  }
  return offsets;
}

/** Reads the lag of `group` on every partition of `topic`. */
export async function readGroupLag(
  admin: Admin,
  group: string,
  topic: string,
  fromBeginning: boolean,
): Promise<PartitionLags> {
  const lags: PartitionLags = new Map();
  for (const [index, offsets] of await readGroupOffsets(admin, group, topic)) {
    lags.set(index, partitionLag(offsets, fromBeginning));
  }
  return lags;
}
