/**
 * Consumes topics in batches with manual commits: a batch is handed to the handler, and its
 * offsets are committed only after the handler resolved (the handler makes the batch durable).
 * A failing handler pauses consumption and retries the same batch with backoff, so nothing is
 * committed and nothing is lost while, say, the disk is full.
 *
 * A {@link BatchBuilder} turns each message into its part of the batch as it arrives (the
 * stateless group normalizes and packs it there): the message objects then die young instead of
 * waiting for their batch, which kept them alive across scavenges into the old generation. The
 * next batch is built while the previous one is handled.
 *
 * The stream is supervised (`consumer_supervisor.ts`): when it dies (a broker outage), what it
 * delivered is handled and committed first, then a new stream starts from the committed offsets.
 *
 * @module
 */
import type { Message } from "@platformatic/kafka";
import type { ByteConsumer } from "./clients.ts";
import {
  ConsumerSupervisor,
  type SupervisorHooks,
  type SupervisorOptions,
  withTimeout,
} from "./consumer_supervisor.ts";

/** A consumed message with raw bytes. */
export type ConsumedMessage = Message<Buffer, Buffer, Buffer, Buffer>;

/** Handles one batch; must resolve only when the batch's effects are durable. */
export type BatchHandler<BatchT> = (batch: BatchT) => Promise<void>;

/**
 * Builds batches from messages as they arrive. `add` is called once per message, in order, and
 * should not throw: a message it throws on fails its batch (retried with backoff, like a failing
 * handler). A batch is retried as the same value, so the handler must not consume it.
 */
export interface BatchBuilder<BatchT> {
  /** Adds a message to the open batch. */
  add(message: ConsumedMessage): void;
  /** Closes the open batch and returns it; the next `add` starts a new one. */
  take(): BatchT;
}

/** A builder whose batches are the messages themselves. */
export function messageBatches(): BatchBuilder<ConsumedMessage[]> {
  let open: ConsumedMessage[] = [];
  return {
    add: (message) => void open.push(message),
    take: () => {
      const batch = open;
      open = [];
      return batch;
    },
  };
}

/** Options of a batch consumer. */
export interface BatchConsumerOptions {
  topics: string[];
  maxMessages: number;
  /** Most bytes (message values) per batch; a batch holds at least one message. Default 4 MiB. */
  maxBytes?: number;
  /** Longest a batch waits for more messages after its first one arrived (a full batch goes at once). */
  maxWaitMs: number;
  fromBeginning: boolean;
  /** Called when a batch failed and will be retried (the error and the next delay in ms). */
  onRetry?: (error: unknown, delayMs: number) => void;
  /**
   * Called after each handled batch: its size, the handler's milliseconds, and the age of its first
   * message when the handler started (now - the message's Kafka timestamp): how far behind the
   * group runs, whatever delayed the data (producer, broker, fetch, earlier batches).
   */
  onBatch?: (size: number, handlerMs: number, ageMs: number) => void;
  /** Called when an offset commit failed (e.g. after a rebalance); the batch will be replayed. */
  onCommitError?: (error: unknown) => void;
  /** Called when the stream is lost, consuming again (after a loss: how long it was down) or stopped. */
  onState?: SupervisorHooks["onState"];
  /** Called with the partitions assigned to this member after each (re)join. */
  onAssignment?: SupervisorHooks["onAssignment"];
  /** Reconnection backoff (see {@link SupervisorOptions}). */
  reconnect?: Pick<SupervisorOptions, "minDelayMs" | "maxDelayMs" | "replaceAfter">;
}

const MAX_RETRY_DELAY_MS = 10_000;
/** A commit issued during a group rebalance can wait for the rejoin indefinitely: give up (the batch replays, deduplicated). */
const COMMIT_TIMEOUT_MS = 5_000;

/** A partition's newest handled offset and the function that commits it. */
interface PendingCommit {
  offset: bigint;
  commit: ConsumedMessage["commit"];
}

/** Per topic and partition, the newest offset of some messages. */
type Offsets = Map<string, Map<number, PendingCommit>>;

/** The partitions of `topic` in `offsets` (created). */
function partitionsOf(offsets: Offsets, topic: string): Map<number, PendingCommit> {
  let partitions = offsets.get(topic);
  if (partitions === undefined) offsets.set(topic, partitions = new Map());
  return partitions;
}

/** Keeps `offset` (and its commit) as its partition's newest, unless a newer one is there. */
function keepNewest(
  offsets: Offsets,
  topic: string,
  partition: number,
  offset: bigint,
  commit: PendingCommit["commit"],
): void {
  const partitions = partitionsOf(offsets, topic);
  const previous = partitions.get(partition);
  if (previous === undefined) partitions.set(partition, { offset, commit });
  else if (previous.offset < offset) {
    previous.offset = offset;
    previous.commit = commit;
  }
}

/** Adds `from` to `into`, keeping the newer offset of each partition. */
function mergeOffsets(into: Offsets, from: Offsets): void {
  for (const [topic, partitions] of from) {
    for (const [partition, { offset, commit }] of partitions) {
      keepNewest(into, topic, partition, offset, commit);
    }
  }
}

/** A closed batch, with what the consumer needs to know of its messages. */
interface ClosedBatch<BatchT> {
  readonly batch: BatchT;
  readonly size: number;
  /** Kafka timestamp (ms) of the first message. */
  readonly firstTimestamp: number;
  readonly offsets: Offsets;
  /** What `add` threw on one of the messages: the batch fails with it. */
  readonly error: unknown;
}

/** Hands a closed batch to the handler; a batch whose building failed fails with that error. */
function handleOnce<BatchT>(handler: BatchHandler<BatchT>, closed: ClosedBatch<BatchT>): Promise<void> {
  return closed.error === undefined ? handler(closed.batch) : Promise.reject(closed.error);
}

/** A consumer-group member that processes its partitions in batches. */
export class BatchConsumer<BatchT = ConsumedMessage[]> {
  readonly #supervisor: ConsumerSupervisor;
  readonly #options: BatchConsumerOptions;
  readonly #maxBytes: number;
  #builder: BatchBuilder<BatchT> | undefined;
  #handler: BatchHandler<BatchT> | undefined;
  /** The batch being built: its messages, bytes, first timestamp, newest offsets, `add` failure. */
  #openSize = 0;
  #openBytes = 0;
  #openFirstTimestamp = 0;
  #openOffsets: Offsets = new Map();
  #openError: unknown = undefined;
  /** Full batches waiting for the handler (the stream is paused meanwhile). */
  readonly #ready: ClosedBatch<BatchT>[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = 0;
  #flushing: Promise<void> = Promise.resolve();
  /**
   * Per topic and partition, the commit of the newest handled message not committed yet. Commits run
   * behind the batches, one round at a time: the next batch need not wait for the round trip, and a
   * round commits only the newest offsets, so handled batches are not kept alive by a commit queue.
   */
  readonly #toCommit: Offsets = new Map();
  #committing: Promise<void> = Promise.resolve();
  #commitRunning = false;
  #stopping = false;
  /** The stream was lost: no batch is scheduled until what it delivered is drained. */
  #draining = false;
  #drained: Promise<void> = Promise.resolve();
  #stopped: PromiseWithResolvers<void> = Promise.withResolvers();

  /** Consumes with members made by `createConsumer` (with `autocommit: false`), one at a time. */
  constructor(createConsumer: () => ByteConsumer, options: BatchConsumerOptions) {
    this.#options = options;
    this.#maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    this.#supervisor = new ConsumerSupervisor(createConsumer, {
      topics: options.topics,
      fromBeginning: options.fromBeginning,
      ...options.reconnect,
    }, {
      onMessage: (message) => this.#onMessage(message),
      onLost: () => (this.#drained = this.#drain()),
      onState: options.onState,
      onAssignment: options.onAssignment,
    });
  }

  /** Joins the group and starts consuming; returns once the stream is open. */
  async start(builder: BatchBuilder<BatchT>, handler: BatchHandler<BatchT>): Promise<void> {
    this.#builder = builder;
    this.#handler = handler;
    await this.#supervisor.open();
  }

  #onMessage(message: ConsumedMessage): void {
    const builder = this.#builder;
    const handler = this.#handler;
    if (builder === undefined || handler === undefined) return;
    this.#add(builder, message);
    if (this.#openSize >= this.#options.maxMessages || this.#openBytes >= this.#maxBytes) {
      // Backpressure: a full batch stops the stream (and so the fetch loop) until it is taken.
      this.#ready.push(this.#close(builder));
      this.#supervisor.pause();
      this.#schedule(handler, 0);
    } else if (this.#timer === undefined) {
      this.#schedule(handler, this.#options.maxWaitMs);
    }
  }

  /**
   * The stream died: handles and commits, in order, the batch in flight and everything the stream
   * delivered (retrying as usual), so the next stream starts right after it.
   */
  async #drain(): Promise<void> {
    this.#draining = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      await this.#flushing;
      const handler = this.#handler;
      for (let closed = this.#next(); handler && closed !== undefined; closed = this.#next()) {
        if (!(await this.#handleWithRetry(handler, closed))) return;
        this.#queueCommit(closed.offsets);
      }
      await this.#committing;
    } finally {
      this.#draining = false;
    }
  }

  /** Adds a message to the open batch. */
  #add(builder: BatchBuilder<BatchT>, message: ConsumedMessage): void {
    if (this.#openSize === 0) this.#openFirstTimestamp = Number(message.timestamp);
    this.#openSize++;
    this.#openBytes += message.value?.length ?? 0;
    keepNewest(this.#openOffsets, message.topic, message.partition, message.offset, message.commit);
    if (this.#openError !== undefined) return;
    try {
      builder.add(message);
    } catch (error) {
      this.#openError = error ?? new Error("the batch builder threw");
    }
  }

  /** Closes the open batch. */
  #close(builder: BatchBuilder<BatchT>): ClosedBatch<BatchT> {
    let batch: BatchT | undefined;
    let error = this.#openError;
    try {
      batch = builder.take();
    } catch (takeError) {
      error ??= takeError ?? new Error("the batch builder threw");
    }
    const closed = {
      batch: batch as BatchT,
      size: this.#openSize,
      firstTimestamp: this.#openFirstTimestamp,
      offsets: this.#openOffsets,
      error,
    };
    this.#openSize = 0;
    this.#openBytes = 0;
    this.#openOffsets = new Map();
    this.#openError = undefined;
    return closed;
  }

  /** Flushes in `delayMs` at the latest: an earlier pending flush is kept (never postponed). */
  #schedule(handler: BatchHandler<BatchT>, delayMs: number): void {
    if (this.#draining) return;
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

  /** The next full batch, else the open one if it has messages. */
  #next(): ClosedBatch<BatchT> | undefined {
    const ready = this.#ready.shift();
    if (ready !== undefined || this.#openSize === 0 || this.#builder === undefined) return ready;
    return this.#close(this.#builder);
  }

  /**
   * Handles (and commits) the next batch. The stream keeps delivering while the batch is handled
   * (the next batch is built meanwhile), and pauses only when that one is full.
   */
  async #flush(handler: BatchHandler<BatchT>): Promise<void> {
    if (this.#stopping || this.#draining) return;
    const closed = this.#next();
    if (closed === undefined) return;
    if (this.#ready.length === 0) this.#supervisor.resume();
    const handled = await this.#handleWithRetry(handler, closed);
    if (handled) this.#queueCommit(closed.offsets);
    // A full batch goes at once. The open one keeps the deadline its first message set (maxWaitMs
    // after it arrived; a deadline that passed during this batch has queued its flush already):
    // taking it as soon as this one is done would make a batch per handling time under a steady
    // load (~37 a second at 5,000 events/s), each with its commit, fsync and per-batch costs.
    if (this.#ready.length > 0 && !this.#stopping) this.#schedule(handler, 0);
  }

  async #handleWithRetry(handler: BatchHandler<BatchT>, closed: ClosedBatch<BatchT>): Promise<boolean> {
    let delay = 250;
    for (;;) {
      const started = performance.now();
      const ageMs = closed.size > 0 ? Date.now() - closed.firstTimestamp : 0;
      try {
        await handleOnce(handler, closed);
        this.#options.onBatch?.(closed.size, performance.now() - started, ageMs);
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

  /** Remembers a handled batch's newest offsets and starts a commit round unless one runs. */
  #queueCommit(offsets: Offsets): void {
    mergeOffsets(this.#toCommit, offsets);
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
    this.#supervisor.pause();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    await this.#drained;
    await this.#committing;
    // What is built but not handled yet: handled once each, in order, up to the first failure (a
    // later batch's offsets would skip the failed one's messages).
    for (let closed = this.#next(); handler && closed !== undefined; closed = this.#next()) {
      try {
        await handleOnce(handler, closed);
        this.#queueCommit(closed.offsets);
        await this.#committing;
      } catch {
        // Not committed: the messages are consumed again after the restart.
        break;
      }
    }
    try {
      await this.#supervisor.close();
    } finally {
      this.#stopped.resolve();
    }
  }
}
