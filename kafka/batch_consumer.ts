/**
 * Consumes topics in batches with manual commits: a batch is handed to the handler, and its
 * offsets are committed only after the handler resolved (the handler makes the batch durable).
 * A failing handler pauses consumption and retries the same batch with backoff, so nothing is
 * committed and nothing is lost while, say, the disk is full.
 *
 * @module
 */
import type { Message, MessagesStream } from "@platformatic/kafka";
import type { ByteConsumer } from "./clients.ts";

/** A consumed message with raw bytes. */
export type ConsumedMessage = Message<Buffer, Buffer, Buffer, Buffer>;

/** Handles one batch; must resolve only when the batch's effects are durable. */
export type BatchHandler = (batch: readonly ConsumedMessage[]) => Promise<void>;

/** Options of a batch consumer. */
export interface BatchConsumerOptions {
  topics: string[];
  maxMessages: number;
  /** Most bytes (message values) per batch; a batch holds at least one message. Default 4 MiB. */
  maxBytes?: number;
  maxWaitMs: number;
  fromBeginning: boolean;
  /** Called when a batch failed and will be retried (the error and the next delay in ms). */
  onRetry?: (error: unknown, delayMs: number) => void;
  /** Called with the total lag (messages) of the assigned partitions, every few seconds. */
  onLag?: (lag: number) => void;
  /**
   * Called after each handled batch: its size, the handler's milliseconds, and the age of its first
   * message when the handler started (now - the message's Kafka timestamp): how far behind the
   * group runs, whatever delayed the data (producer, broker, fetch, earlier batches).
   */
  onBatch?: (size: number, handlerMs: number, ageMs: number) => void;
  /** Called when an offset commit failed (e.g. after a rebalance); the batch will be replayed. */
  onCommitError?: (error: unknown) => void;
}

const MAX_RETRY_DELAY_MS = 10_000;
/** A commit issued during a group rebalance can wait for the rejoin indefinitely: give up (the batch replays, deduplicated). */
const COMMIT_TIMEOUT_MS = 5_000;
/** Leaving the group during a rebalance can hang as well; shutdown must not. */
const CLOSE_TIMEOUT_MS = 5_000;

/** `promise`, or a rejection after `ms`. */
function withTimeout<T>(promise: Promise<T> | void, ms: number, what: string): Promise<T | void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}
const LAG_INTERVAL_MS = 5_000;

/** A partition's newest handled offset and the function that commits it. */
interface PendingCommit {
  offset: bigint;
  commit: ConsumedMessage["commit"];
}

/** A consumer-group member that processes its partitions in batches. */
export class BatchConsumer {
  readonly #consumer: ByteConsumer;
  readonly #options: BatchConsumerOptions;
  readonly #maxBytes: number;
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  #buffer: ConsumedMessage[] = [];
  #bufferBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = 0;
  #handler: BatchHandler | undefined;
  #flushing: Promise<void> = Promise.resolve();
  /**
   * Per topic and partition, the commit of the newest handled message not committed yet. Commits run
   * behind the batches, one round at a time: the next batch need not wait for the round trip, and a
   * round commits only the newest offsets, so handled batches are not kept alive by a commit queue.
   */
  readonly #toCommit = new Map<string, Map<number, PendingCommit>>();
  #committing: Promise<void> = Promise.resolve();
  #commitRunning = false;
  #stopping = false;
  #stopped: PromiseWithResolvers<void> = Promise.withResolvers();

  /** Wraps a consumer (created with `autocommit: false`). */
  constructor(consumer: ByteConsumer, options: BatchConsumerOptions) {
    this.#consumer = consumer;
    this.#options = options;
    this.#maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  }

  /** Joins the group and starts consuming; returns once the stream is open. */
  async start(handler: BatchHandler): Promise<void> {
    this.#handler = handler;
    const stream = await this.#consumer.consume({
      topics: this.#options.topics,
      mode: "committed",
      fallbackMode: this.#options.fromBeginning ? "earliest" : "latest",
      autocommit: false,
    });
    this.#stream = stream;
    stream.on("data", (message: ConsumedMessage) => {
      this.#buffer.push(message);
      this.#bufferBytes += message.value?.length ?? 0;
      if (this.#buffer.length >= this.#options.maxMessages || this.#bufferBytes >= this.#maxBytes) {
        // Backpressure: a full batch stops the stream (and so the fetch loop) until it is taken.
        stream.pause();
        this.#schedule(handler, 0);
      } else if (this.#timer === undefined) {
        this.#schedule(handler, this.#options.maxWaitMs);
      }
    });
    stream.on("error", (error: unknown) => this.#options.onRetry?.(error, 0));
    if (this.#options.onLag) {
      const onLag = this.#options.onLag;
      this.#consumer.on("consumer:lag", (offsets: Map<string, bigint[]>) => {
        let total = 0n;
        for (const lags of offsets.values()) for (const lag of lags) if (lag > 0n) total += lag;
        onLag(Number(total));
      });
      this.#consumer.startLagMonitoring({ topics: this.#options.topics }, LAG_INTERVAL_MS);
    }
  }

  /** Flushes in `delayMs` at the latest: an earlier pending flush is kept (never postponed). */
  #schedule(handler: BatchHandler, delayMs: number): void {
    const due = performance.now() + delayMs;
    if (this.#timer !== undefined) {
      if (this.#timerDue <= due) return;
      clearTimeout(this.#timer);
    }
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#flushing.then(() => this.#flush(handler));
    }, delayMs);
  }

  /**
   * Handles (and commits) the next batch of at most `maxMessages`. The stream keeps fetching while
   * the batch is handled (the next batch fills meanwhile), and pauses only when that one is full.
   */
  async #flush(handler: BatchHandler): Promise<void> {
    if (this.#buffer.length === 0 || this.#stopping) return;
    const batch = this.#takeBatch();
    if (this.#buffer.length < this.#options.maxMessages && this.#bufferBytes < this.#maxBytes) {
      this.#stream?.resume();
    }
    const handled = await this.#handleWithRetry(handler, batch);
    if (handled) this.#queueCommit(batch);
    // What arrived during the batch has waited long enough: next batch at once.
    if (this.#buffer.length > 0 && !this.#stopping) this.#schedule(handler, 0);
  }

  /** Removes and returns the next batch: at most `maxMessages` messages and about `maxBytes` bytes. */
  #takeBatch(): ConsumedMessage[] {
    const buffer = this.#buffer;
    let count = 0;
    let bytes = 0;
    while (
      count < buffer.length && count < this.#options.maxMessages && (count === 0 || bytes < this.#maxBytes)
    ) {
      bytes += buffer[count].value?.length ?? 0;
      count++;
    }
    this.#bufferBytes -= bytes;
    if (count === buffer.length) {
      this.#buffer = [];
      return buffer;
    }
    this.#buffer = buffer.slice(count);
    return buffer.slice(0, count);
  }

  async #handleWithRetry(handler: BatchHandler, batch: readonly ConsumedMessage[]): Promise<boolean> {
    let delay = 250;
    for (;;) {
      const started = performance.now();
      const ageMs = batch.length > 0 ? Date.now() - Number(batch[0].timestamp) : 0;
      try {
        await handler(batch);
        this.#options.onBatch?.(batch.length, performance.now() - started, ageMs);
        return true;
      } catch (error) {
        if (this.#stopping) return false;
        this.#options.onRetry?.(error, delay);
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (this.#stopping) return false;
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      }
    }
  }

  /** Remembers the batch's newest offset per partition and starts a commit round unless one runs. */
  #queueCommit(batch: readonly ConsumedMessage[]): void {
    for (const message of batch) {
      let partitions = this.#toCommit.get(message.topic);
      if (partitions === undefined) this.#toCommit.set(message.topic, partitions = new Map());
      const previous = partitions.get(message.partition);
      if (previous === undefined || previous.offset < message.offset) {
        partitions.set(message.partition, { offset: message.offset, commit: message.commit });
      }
    }
    if (this.#commitRunning) return;
    this.#commitRunning = true;
    this.#committing = this.#commitRounds();
  }

  /** Commits what is pending, round after round, until nothing is. */
  async #commitRounds(): Promise<void> {
    try {
      while (this.#toCommit.size > 0) {
        const due: PendingCommit[] = [];
        for (const partitions of this.#toCommit.values()) due.push(...partitions.values());
        this.#toCommit.clear();
        const results = await Promise.allSettled(
          due.map((pending) => withTimeout(pending.commit(), COMMIT_TIMEOUT_MS, "offset commit")),
        );
        for (const result of results) {
          if (result.status === "rejected") this.#options.onCommitError?.(result.reason);
        }
      }
    } finally {
      this.#commitRunning = false;
    }
  }

  /** Stops consuming, finishes the batch in flight (and what is buffered), commits, and closes. */
  async stop(): Promise<void> {
    const handler = this.#handler;
    if (this.#stopping) return this.#stopped.promise;
    this.#stopping = true;
    this.#stream?.pause();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    await this.#committing;
    if (handler && this.#buffer.length > 0) {
      const batch = this.#buffer;
      this.#buffer = [];
      this.#bufferBytes = 0;
      try {
        await handler(batch);
        this.#queueCommit(batch);
        await this.#committing;
      } catch {
        // Not committed: the messages are consumed again after the restart.
      }
    }
    try {
      this.#consumer.stopLagMonitoring();
      if (this.#stream) await withTimeout(this.#stream.close(), CLOSE_TIMEOUT_MS, "closing the stream");
    } catch {
      // Closing is best effort: offsets are committed, the broker ends the membership on its own.
    } finally {
      await withTimeout(this.#consumer.close(true), CLOSE_TIMEOUT_MS, "closing the consumer").catch(() =>
        undefined
      );
      this.#stopped.resolve();
    }
  }
}
