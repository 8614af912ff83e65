/**
 * Packs many small JSON records into few Kafka messages: each message is a JSON array of records
 * whose keys all map to the message's partition (the caller partitions them, see `partition.ts`).
 * A consumer sees each key on one partition and in order, exactly as with one keyed message per
 * record, at a fraction of the client's per-message cost (encoding, CRC, decoding, allocations).
 *
 * @module
 */
import { MAX_REQUEST_BYTES, type OutgoingMessage } from "./clients.ts";

/** Most UTF-16 units per message: at most 3 UTF-8 bytes each, so a message stays under the request limit. */
export const MAX_BATCH_CHARS = Math.floor(MAX_REQUEST_BYTES / 3);

interface Pending {
  parts: string[];
  chars: number;
}

/** Collects JSON records per partition and packs them into array messages of at most `maxChars`. */
export class JsonBatcher {
  readonly #topic: string;
  readonly #maxChars: number;
  readonly #pending: (Pending | undefined)[];
  #done: OutgoingMessage[] = [];
  #records = 0;

  /** A batcher for `topic`, which has `partitions` partitions. */
  constructor(topic: string, partitions: number, maxChars = MAX_BATCH_CHARS) {
    this.#topic = topic;
    this.#maxChars = maxChars;
    this.#pending = new Array(partitions);
  }

  /** Number of records added since the last {@link take}. */
  get records(): number {
    return this.#records;
  }

  /** Adds one record (`json`: a serialized JSON value) to `partition` (its key's, see `partition.ts`). */
  add(partition: number, json: string): void {
    let pending = this.#pending[partition];
    if (pending === undefined) {
      pending = { parts: [], chars: 2 };
      this.#pending[partition] = pending;
    } else if (pending.chars + json.length + 1 > this.#maxChars) {
      this.#finish(partition, pending);
    }
    pending.parts.push(json);
    pending.chars += json.length + 1;
    this.#records++;
  }

  /** The messages of every record added so far (in order within each partition), and a fresh start. */
  take(): OutgoingMessage[] {
    for (let partition = 0; partition < this.#pending.length; partition++) {
      const pending = this.#pending[partition];
      if (pending !== undefined && pending.parts.length > 0) this.#finish(partition, pending);
    }
    const done = this.#done;
    this.#done = [];
    this.#records = 0;
    return done;
  }

  #finish(partition: number, pending: Pending): void {
    this.#done.push({
      topic: this.#topic,
      partition,
      value: Buffer.from(`[${pending.parts.join(",")}]`),
    });
    pending.parts = [];
    pending.chars = 2;
  }
}
