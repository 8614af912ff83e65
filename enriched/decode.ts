/**
 * Decodes the stateful group's input: each `events.enriched` message is an enriched batch
 * (`schema.ts`, `kafka.enriched_encoding: columns`), a JSON array of envelopes `v1`
 * (`envelopes`), or one envelope (earlier versions, and by hand). Anything else goes to the DLQ with
 * a reason: a message that is not JSON or not a valid batch whole, an array element that is not an
 * envelope alone.
 *
 * @module
 */
import type { DeadLetter } from "../model/dlq.ts";
import type { Envelope } from "../model/envelope.ts";
import { deadLetter } from "../kafka/dlq.ts";
import { isEnrichedBatchLike, readEnrichedBatch } from "./read.ts";
import { isExactEnvelope, parseEnvelope } from "./envelope_guard.ts";

/** The parts of a consumed message the decoder reads. */
export interface EnrichedMessage {
  topic: string;
  partition: number;
  offset: bigint;
  value?: Uint8Array | null;
}

/** Decoded envelopes in order, the rejects, and how many elements there were. */
export interface DecodedEnriched {
  events: Envelope[];
  deadLetters: DeadLetter[];
  elements: number;
}

const textDecoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** Decodes a batch of enriched messages (pure: `nowMs` stamps the dead letters). */
export function decodeEnriched(batch: readonly EnrichedMessage[], nowMs: number): DecodedEnriched {
  const events: Envelope[] = [];
  const deadLetters: DeadLetter[] = [];
  let elements = 0;
  for (const message of batch) {
    const bytes = message.value ?? EMPTY;
    const source = { topic: message.topic, partition: message.partition, offset: message.offset.toString() };
    let parsed: unknown;
    try {
      parsed = JSON.parse(textDecoder.decode(bytes));
    } catch (error) {
      elements++;
      const reason = `not JSON: ${error instanceof Error ? error.message : String(error)}`;
      deadLetters.push(deadLetter("stateful", reason, source, bytes, nowMs));
      continue;
    }
    if (isEnrichedBatchLike(parsed)) {
      const result = readEnrichedBatch(parsed);
      if (result.success) {
        elements += result.events.length;
        for (const event of result.events) events.push(event);
      } else {
        elements++;
        deadLetters.push(
          deadLetter("stateful", `not an enriched batch: ${result.reason}`, source, bytes, nowMs),
        );
      }
      continue;
    }
    if (!Array.isArray(parsed)) {
      elements++;
      const result = parseEnvelope(parsed);
      if (result.success) events.push(result.data);
      else {deadLetters.push(
          deadLetter("stateful", `not an envelope v1: ${result.reason}`, source, bytes, nowMs),
        );}
      continue;
    }
    elements += parsed.length;
    for (let index = 0; index < parsed.length; index++) {
      const element: unknown = parsed[index];
      // The common case without a result object per event; zod decides (and explains) the rest.
      if (isExactEnvelope(element)) {
        events.push(element);
        continue;
      }
      const result = parseEnvelope(element);
      if (result.success) {
        events.push(result.data);
      } else {
        deadLetters.push(
          deadLetter(
            "stateful",
            `element ${index}: not an envelope v1: ${result.reason}`,
            { ...source, index },
            JSON.stringify(parsed[index]) ?? "undefined",
            nowMs,
          ),
        );
      }
    }
  }
  return { events, deadLetters, elements };
}
