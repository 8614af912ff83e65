/**
 * The batch consumer's offset commits, against a stand-in consumer whose stream is driven by hand
 * (the broker path is covered end to end; this pins the ordering rules that are hard to provoke
 * there): a batch is committed only after its handler resolved, commits run one round at a time,
 * and a round commits only the newest offset per partition; a builder gets each message as it
 * arrives, and a message it throws on fails its batch.
 *
 * @module
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { BatchConsumer, type ConsumedMessage, messageBatches } from "../../../kafka/batch_consumer.ts";
import type { ByteConsumer } from "../../../kafka/clients.ts";
import { eventually } from "../../../testing/eventually.ts";

class HandDrivenStream extends EventEmitter {
  pause(): void {}
  resume(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Commits seen (`partition:offset`), each resolved by hand. */
class CommitLog {
  readonly done: string[] = [];
  readonly waiting: { name: string; resolve: () => void }[] = [];

  commitOf(partition: number, offset: bigint): ConsumedMessage["commit"] {
    return () =>
      new Promise<void>((resolve) => {
        const name = `${partition}:${offset}`;
        this.waiting.push({ name, resolve: () => (this.done.push(name), resolve()) });
      });
  }

  /** Resolves the commits issued so far; returns their names. */
  resolveAll(): string[] {
    const round = this.waiting.splice(0);
    for (const commit of round) commit.resolve();
    return round.map((commit) => commit.name);
  }
}

function message(log: CommitLog, partition: number, offset: number): ConsumedMessage {
  return {
    topic: "raw",
    partition,
    offset: BigInt(offset),
    timestamp: BigInt(Date.now()),
    key: Buffer.from(""),
    value: Buffer.from("x"),
    headers: new Map(),
    metadata: {},
    commit: log.commitOf(partition, BigInt(offset)),
    toJSON: () => ({}),
  } as unknown as ConsumedMessage;
}

function standInConsumer(stream: HandDrivenStream): ByteConsumer {
  return {
    consume: () => Promise.resolve(stream),
    on: () => undefined,
    close: () => Promise.resolve(),
    stopLagMonitoring: () => undefined,
  } as unknown as ByteConsumer;
}

const until = (condition: () => boolean) => eventually(condition, 2_000);

Deno.test("batch consumer: commits after the handler, one round at a time, newest offset per partition", async () => {
  const log = new CommitLog();
  const stream = new HandDrivenStream();
  const consumer = new BatchConsumer(() => standInConsumer(stream), {
    topics: ["raw"],
    maxMessages: 2,
    maxWaitMs: 1,
    fromBeginning: true,
  });
  const handled: number[][] = [];
  let release: (() => void) | undefined;
  await consumer.start(messageBatches(), async (batch) => {
    handled.push(batch.map((m) => Number(m.offset)));
    if (handled.length === 1) await new Promise<void>((resolve) => release = resolve);
  });

  // Batch 1 (partition 0: 0, 1): nothing is committed while its handler runs.
  stream.emit("data", message(log, 0, 0));
  stream.emit("data", message(log, 0, 1));
  await until(() => release !== undefined);
  assert.deepEqual(log.waiting.length, 0);
  release!();
  await until(() => log.waiting.length === 1);
  assert.deepEqual(log.waiting[0].name, "0:1");

  // While that commit is in flight, three batches are handled: one round follows, with only the
  // newest offset of each partition.
  for (const [partition, offset] of [[0, 2], [1, 0], [0, 3], [1, 1], [0, 4], [2, 0]]) {
    stream.emit("data", message(log, partition, offset));
  }
  await until(() => handled.length === 4);
  assert.deepEqual(log.waiting.length, 1);
  assert.deepEqual(log.resolveAll(), ["0:1"]);
  await until(() => log.waiting.length === 3);
  assert.deepEqual(log.resolveAll().sort(), ["0:4", "1:1", "2:0"]);
  await consumer.stop();
  assert.deepEqual(log.waiting.length, 0);
  assert.deepEqual(log.done.sort(), ["0:1", "0:4", "1:1", "2:0"]);
});

/**
 * A started consumer (batches of at most 2) whose builder collects offsets x 10 and whose handler
 * holds the first batch until `release` is called.
 */
async function heldFirstBatch(maxWaitMs: number) {
  const log = new CommitLog();
  const stream = new HandDrivenStream();
  const consumer = new BatchConsumer<number[]>(() => standInConsumer(stream), {
    topics: ["raw"],
    maxMessages: 2,
    maxWaitMs,
    fromBeginning: true,
  });
  let open: number[] = [];
  const added: number[] = [];
  const handled: number[][] = [];
  let release: (() => void) | undefined;
  await consumer.start({
    add: (message) => {
      added.push(Number(message.offset));
      open.push(Number(message.offset) * 10);
    },
    take: () => {
      const batch = open;
      open = [];
      return batch;
    },
  }, async (batch) => {
    handled.push(batch);
    if (handled.length === 1) await new Promise<void>((resolve) => release = resolve);
  });
  return {
    log,
    consumer,
    added,
    handled,
    send: (offset: number) => stream.emit("data", message(log, 0, offset)),
    /** Waits until the first batch is being handled. */
    held: () => until(() => release !== undefined),
    release: () => release!(),
  };
}

Deno.test("batch consumer: the builder gets messages as they arrive, while the previous batch is handled", async () => {
  const { log, consumer, added, handled, send, held, release } = await heldFirstBatch(1);
  send(0);
  send(1);
  await held();
  // Batch 1 is being handled: the next messages are built into batch 2 at once.
  send(2);
  send(3);
  assert.deepEqual(added, [0, 1, 2, 3]);
  assert.deepEqual(handled, [[0, 10]]);
  release();
  await until(() => handled.length === 2);
  assert.deepEqual(handled, [[0, 10], [20, 30]]);
  await until(() => log.waiting.length === 1);
  assert.deepEqual(log.resolveAll(), ["0:1"]);
  await until(() => log.waiting.length === 1);
  assert.deepEqual(log.resolveAll(), ["0:3"]);
  await consumer.stop();
});

Deno.test("batch consumer: a partial batch waits maxWaitMs from its first message, also after a batch was handled", async () => {
  const { consumer, handled, send, held, release } = await heldFirstBatch(1_000);
  send(0);
  send(1); // full: handled at once
  await held();
  send(2); // opens batch 2, due 1 s from now
  const openedAt = performance.now();
  release();
  await new Promise((resolve) => setTimeout(resolve, 200));
  // Batch 1 is done, but batch 2 is not taken right after it (that made a batch per handling time).
  assert.deepEqual(handled, [[0, 10]]);
  await eventually(() => handled.length === 2, 5_000);
  assert.deepEqual(handled, [[0, 10], [20]]);
  assert.ok(performance.now() - openedAt >= 900, "batch 2 waited for its deadline");
  await consumer.stop();
});

Deno.test("batch consumer: a message the builder throws on fails its batch, which is retried and not committed", async () => {
  const log = new CommitLog();
  const stream = new HandDrivenStream();
  const retries: string[] = [];
  const consumer = new BatchConsumer<string[]>(() => standInConsumer(stream), {
    topics: ["raw"],
    maxMessages: 2,
    maxWaitMs: 1,
    fromBeginning: true,
    onRetry: (error) => retries.push(error instanceof Error ? error.message : String(error)),
  });
  let handlerCalls = 0;
  await consumer.start({
    add: (message) => {
      if (message.offset === 1n) throw new Error("builder bug at offset 1");
    },
    take: () => [],
  }, () => {
    handlerCalls++;
    return Promise.resolve();
  });
  stream.emit("data", message(log, 0, 0));
  stream.emit("data", message(log, 0, 1));
  await until(() => retries.length >= 1);
  assert.deepEqual(retries[0], "builder bug at offset 1");
  assert.equal(handlerCalls, 0);
  await consumer.stop();
  assert.deepEqual(log.waiting.length, 0);
  assert.deepEqual(log.done, []);
});

/** A consumer whose `consume` answers from a script: a stream, or an error (the broker still away). */
function scriptedConsumer(
  answers: (HandDrivenStream | Error)[],
): { consumer: ByteConsumer; calls: () => number } {
  let calls = 0;
  const consumer = {
    consume: () => {
      const answer = answers[calls++];
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    on: () => undefined,
    close: () => Promise.resolve(),
  } as unknown as ByteConsumer;
  return { consumer, calls: () => calls };
}

Deno.test("batch consumer: a dead stream is drained and committed, then a new one opens with backoff", async () => {
  const log = new CommitLog();
  const first = new HandDrivenStream();
  const second = new HandDrivenStream();
  const script = scriptedConsumer([first, new Error("connect ECONNREFUSED"), second]);
  const states: string[] = [];
  const consumer = new BatchConsumer(() => script.consumer, {
    topics: ["raw"],
    maxMessages: 100,
    maxWaitMs: 60_000,
    fromBeginning: true,
    reconnect: { minDelayMs: 1, maxDelayMs: 2 },
    onState: (state, detail) => states.push(`${state}${detail.attempts ? ` after ${detail.attempts}` : ""}`),
  });
  const handled: number[][] = [];
  await consumer.start(messageBatches(), (batch) => {
    handled.push(batch.map((m) => Number(m.offset)));
    return Promise.resolve();
  });
  assert.deepEqual(states, ["consuming"]);
  // Two messages wait in the open batch (the wait is long) when the stream dies.
  first.emit("data", message(log, 0, 0));
  first.emit("data", message(log, 0, 1));
  first.emit("error", new Error("fetch failed 6 times"));
  first.emit("close");
  // What it delivered is handled and committed before the next stream opens.
  await until(() => log.waiting.length === 1);
  assert.deepEqual(handled, [[0, 1]]);
  assert.equal(script.calls(), 1);
  assert.deepEqual(log.resolveAll(), ["0:1"]);
  await until(() => states.length === 3);
  assert.deepEqual(states, ["consuming", "lost", "consuming after 2"]);
  assert.equal(script.calls(), 3);
  // The dead stream is ignored; the new one is consumed.
  first.emit("data", message(log, 0, 1));
  second.emit("data", message(log, 0, 2));
  const stopped = consumer.stop();
  await until(() => log.waiting.length === 1);
  log.resolveAll();
  await stopped;
  assert.deepEqual(handled, [[0, 1], [2]]);
  assert.deepEqual(log.done, ["0:1", "0:2"]);
  assert.deepEqual(states.at(-1), "stopped");
});

Deno.test("batch consumer: stop while the broker is away ends the reconnection", async () => {
  const stream = new HandDrivenStream();
  const script = scriptedConsumer([stream, ...Array.from({ length: 1000 }, () => new Error("down"))]);
  const consumer = new BatchConsumer(() => script.consumer, {
    topics: ["raw"],
    maxMessages: 10,
    maxWaitMs: 1,
    fromBeginning: true,
    reconnect: { minDelayMs: 1, maxDelayMs: 5 },
  });
  await consumer.start(messageBatches(), () => Promise.resolve());
  stream.emit("error", new Error("fetch failed"));
  await until(() => script.calls() >= 3);
  await consumer.stop();
  const calls = script.calls();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(script.calls(), calls, "no attempt after the stop");
});
