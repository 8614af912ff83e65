/**
 * Producing a batch's messages so that no record can stop the group: a request the broker refuses
 * because of a record in it (too large, invalid) is split in halves down to the single message, and
 * a single refused message goes to the DLQ with the reason instead of being retried forever. Other
 * errors (the broker away, a leader election) reject: the caller retries the batch with backoff.
 *
 * @module
 */
import { findErrorBy } from "@platformatic/kafka";
import type { DeadLetter } from "../model/dlq.ts";
import { DeadLetterSchema } from "../model/dlq.ts";
import { type MessageSender, type OutgoingMessage, sendInChunks } from "./clients.ts";
import { deadLetter, encodeDeadLetter, withAddedReason } from "./dlq.ts";

/**
 * Produce errors a record causes by itself: the broker refuses it however often it is sent.
 * (The client retries none of them except CORRUPT_MESSAGE, which Kafka also answers for a record it
 * cannot accept, such as one without a key on a compacted topic.)
 */
const RECORD_REFUSALS = [
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "INVALID_TIMESTAMP",
] as const;

/** The broker's refusal of a record in the request (`CODE: message`), or undefined for other errors. */
export function recordRefusal(error: unknown): string | undefined {
  for (const apiId of RECORD_REFUSALS) {
    const found = findErrorBy(error instanceof Error ? error : null, "apiId", apiId);
    if (found) return `${apiId}: ${found.message}`;
  }
  return undefined;
}

/** Where refused messages go. */
export interface RefusalOptions {
  /** The DLQ topic. */
  dlqTopic: string;
  /** Most bytes of a dead letter. */
  dlqMaxBytes: number;
  /** Most bytes of one produce request (see {@link sendInChunks}). */
  maxRequestBytes: number;
  /** The dead letters' `stage`. */
  stage: string;
}

/** Most bytes of the second dead letter of a refused message, when the first was refused too. */
const MINIMAL_DEAD_LETTER_BYTES = 4_096;

/** The dead letter of `message`, refused by the broker for `refusal`. */
function refusedDeadLetter(message: OutgoingMessage, refusal: string, options: RefusalOptions): DeadLetter {
  const where = `${message.topic}${message.partition === undefined ? "" : `[${message.partition}]`}`;
  const reason = `the broker refused a ${message.value.length}-byte message for ${where} (${refusal})`;
  if (message.topic === options.dlqTopic) {
    // A dead letter already: keep its source and stage, add why it was refused.
    const parsed = DeadLetterSchema.safeParse(safeJson(message.value));
    if (parsed.success) return withAddedReason(parsed.data, reason);
  }
  return deadLetter(
    options.stage,
    reason,
    { topic: message.topic, partition: message.partition ?? -1, offset: "-1" },
    message.value,
    Date.now(),
  );
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Sends `messages` in order in requests of at most `options.maxRequestBytes` (see
 * {@link sendInChunks}); the messages the broker refuses are dead-lettered (see the module's
 * description). Resolves with the number of messages dead-lettered; rejects on any other error.
 * Messages of a request that was split may be produced twice (at least once: the store and the
 * DLQ's readers deduplicate by source position).
 */
export async function produceAll(
  producer: MessageSender,
  messages: readonly OutgoingMessage[],
  options: RefusalOptions,
): Promise<number> {
  let refused = 0;
  const sendOrSplit = async (chunk: OutgoingMessage[]): Promise<void> => {
    try {
      await producer.send({ messages: chunk });
      return;
    } catch (error) {
      const refusal = recordRefusal(error);
      if (refusal === undefined) throw error;
      if (chunk.length > 1) {
        const half = Math.ceil(chunk.length / 2);
        await sendOrSplit(chunk.slice(0, half));
        await sendOrSplit(chunk.slice(half));
        return;
      }
      const record = refusedDeadLetter(chunk[0], refusal, options);
      const dlq = (maxBytes: number) => ({
        topic: options.dlqTopic,
        value: encodeDeadLetter(record, maxBytes),
      });
      try {
        await producer.send({ messages: [dlq(options.dlqMaxBytes)] });
      } catch (dlqError) {
        // Refused again (the topic's limit went down since the start?): keep next to nothing of it.
        if (recordRefusal(dlqError) === undefined) throw dlqError;
        await producer.send({ messages: [dlq(MINIMAL_DEAD_LETTER_BYTES)] });
      }
      refused++;
    }
  };
  await sendInChunks({ send: ({ messages }) => sendOrSplit(messages) }, messages, options.maxRequestBytes);
  return refused;
}
