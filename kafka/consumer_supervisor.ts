/**
 * Keeps one consumer-group member consuming through broker outages. The client's message stream
 * dies for good when its fetches fail a few times in a row (the broker stopped, a network cut):
 * the supervisor notices (the stream's `error` or `close`, or the consumer's own `error`), lets the
 * owner finish what the dead stream delivered, and opens a new stream with backoff until the
 * broker answers. A new stream rejoins the group and starts from the group's committed offsets.
 * The same consumer (same member id: no wait for the old member's session to expire) is reused;
 * it is replaced by a fresh one only when reopening keeps failing or it closed itself.
 *
 * @module
 */
import type { MessagesStream } from "@platformatic/kafka";
import type { ByteConsumer } from "./clients.ts";
import type { ConsumedMessage } from "./batch_consumer.ts";

/** Whether the member has a live stream. */
export type StreamState = "consuming" | "lost" | "stopped";

/** What a state change comes with. */
export interface StateDetail {
  /** Why the stream was lost. */
  error?: unknown;
  /** On `consuming` after a loss: how long consumption was down, and the attempts it took. */
  downMs?: number;
  attempts?: number;
}

/** Partitions assigned to the member, per topic. */
export type Assignment = { topic: string; partitions: number[] }[];

/** Where the supervisor reports. */
export interface SupervisorHooks {
  /** A message of the live stream. */
  onMessage(message: ConsumedMessage): void;
  /**
   * The stream died: called once per loss, before a new stream opens (which waits for the
   * promise): finish and commit what the dead stream delivered, so the new one starts after it.
   */
  onLost(error: unknown): Promise<void>;
  /** Each state change (one call per change, so one log line each). */
  onState?(state: StreamState, detail: StateDetail): void;
  /** The partitions assigned to this member after each (re)join. */
  onAssignment?(assignment: Assignment): void;
}

/** How to consume, and the reconnection backoff. */
export interface SupervisorOptions {
  topics: string[];
  fromBeginning: boolean;
  /** First wait before reopening (default 500 ms); doubles up to `maxDelayMs` (default 5 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Failed reopenings after which the consumer is replaced by a fresh one (default 12, ~1 min). */
  replaceAfter?: number;
}

/** Leaving the group during a rebalance (or with the broker away) can hang; shutdown must not. */
const CLOSE_TIMEOUT_MS = 5_000;

/** `promise`, or a rejection after `ms`. */
export function withTimeout<T>(promise: Promise<T> | void, ms: number, what: string): Promise<T | void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

/** Opens, watches and reopens the message stream of one consumer-group member. */
export class ConsumerSupervisor {
  readonly #createConsumer: () => ByteConsumer;
  readonly #options: SupervisorOptions;
  readonly #hooks: SupervisorHooks;
  #consumer: ByteConsumer | undefined;
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  #recovery: Promise<void> = Promise.resolve();
  #stopping = false;
  /** Cuts a backoff wait short (on close). */
  #wake: (() => void) | undefined;

  /** A supervisor of members made by `createConsumer` (with `autocommit: false`). */
  constructor(createConsumer: () => ByteConsumer, options: SupervisorOptions, hooks: SupervisorHooks) {
    this.#createConsumer = createConsumer;
    this.#options = options;
    this.#hooks = hooks;
  }

  /** Joins the group and opens the stream; rejects when that fails (no retry: the caller decides). */
  async open(): Promise<void> {
    await this.#openStream();
    this.#hooks.onState?.("consuming", {});
  }

  /** Stops the flow of messages (backpressure) until {@link resume}. */
  pause(): void {
    this.#stream?.pause();
  }

  /** Resumes the flow of messages. */
  resume(): void {
    this.#stream?.resume();
  }

  /** Stops reconnecting, closes the stream and leaves the group (each bounded in time). */
  async close(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    const stream = this.#stream;
    this.#stream = undefined;
    try {
      if (stream) await withTimeout(stream.close(), CLOSE_TIMEOUT_MS, "closing the stream");
    } catch {
      // Best effort: offsets are committed, the broker ends the membership on its own.
    }
    await withTimeout(this.#recovery, CLOSE_TIMEOUT_MS, "stopping the reconnection").catch(() => undefined);
    await this.#closeConsumer();
    this.#hooks.onState?.("stopped", {});
  }

  #consumerOf(): ByteConsumer {
    if (this.#consumer !== undefined) return this.#consumer;
    const consumer = this.#createConsumer();
    // Emitted when a rejoin after a failed heartbeat fails: without a listener it would crash the
    // process. The member is out of its group: treat the stream as lost.
    consumer.on("error", (error: unknown) => {
      if (this.#consumer === consumer) this.#lost(this.#stream, error);
    });
    consumer.on("consumer:group:join", (event: { assignments?: Assignment }) => {
      if (this.#consumer === consumer) this.#hooks.onAssignment?.(event.assignments ?? []);
    });
    this.#consumer = consumer;
    return consumer;
  }

  async #openStream(): Promise<void> {
    const stream = await this.#consumerOf().consume({
      topics: this.#options.topics,
      mode: "committed",
      fallbackMode: this.#options.fromBeginning ? "earliest" : "latest",
      autocommit: false,
    });
    if (this.#stopping) {
      await withTimeout(stream.close(), CLOSE_TIMEOUT_MS, "closing the stream").catch(() => undefined);
      throw new Error("the consumer is stopping");
    }
    this.#stream = stream;
    stream.on("data", (message: ConsumedMessage) => {
      if (this.#stream === stream) this.#hooks.onMessage(message);
    });
    stream.on("error", (error: unknown) => this.#lost(stream, error));
    stream.on("close", () => this.#lost(stream, new Error("the consumer stream closed")));
  }

  /** The live stream `stream` died: recover (once per stream). */
  #lost(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined, error: unknown): void {
    if (this.#stopping || stream === undefined || stream !== this.#stream) return;
    this.#stream = undefined;
    this.#recovery = this.#recover(stream, error);
  }

  async #recover(dead: MessagesStream<Buffer, Buffer, Buffer, Buffer>, error: unknown): Promise<void> {
    const lostAt = Date.now();
    this.#hooks.onState?.("lost", { error });
    await withTimeout(dead.close(), CLOSE_TIMEOUT_MS, "closing the dead stream").catch(() => undefined);
    await this.#hooks.onLost(error);
    const { minDelayMs = 500, maxDelayMs = 5_000, replaceAfter = 12 } = this.#options;
    let delay = minDelayMs;
    for (let attempts = 1; !this.#stopping; attempts++) {
      await this.#sleep(delay);
      if (this.#stopping) return;
      try {
        await this.#openStream();
        this.#hooks.onState?.("consuming", { downMs: Date.now() - lostAt, attempts });
        return;
      } catch (openError) {
        if (this.#stopping) return;
        if (attempts % replaceAfter === 0 || /closed/i.test(String((openError as Error)?.message))) {
          await this.#closeConsumer();
        }
        delay = Math.min(delay * 2, maxDelayMs);
      }
    }
  }

  async #closeConsumer(): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    if (consumer) {
      await withTimeout(consumer.close(true), CLOSE_TIMEOUT_MS, "closing the consumer").catch(() =>
        undefined
      );
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
