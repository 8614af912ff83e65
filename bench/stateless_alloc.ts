/**
 * Garbage and time per event of the stateless hot path (`StatelessBatchBuilder.add`: normalize,
 * enrich, pack), without Kafka: the bench workload's raw events as consumed messages, batches of
 * 5,000. Run with a young generation larger than one round's garbage, so no GC runs while it is
 * measured and the heap growth is the bytes allocated: a figure that does not drift with the VM's
 * speed, unlike events/s. Not a test.
 *
 * ```sh
 * deno task bench:alloc [events per round, default 100000]
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { ConfigSchema } from "../config/schema.ts";
import { type RawMessage, StatelessBatchBuilder } from "../pipeline/stateless/mod.ts";
import { parseInventory } from "../stages/inventory.ts";
import { DEFAULT_WORKLOAD, generateWorkload } from "./workload.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const EVENTS = Number(Deno.args[0] ?? 100_000);
const ROUNDS = 5;
const BATCH = 5_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  throw new Error("run with --v8-flags=--expose-gc,--max-semi-space-size=512,--min-semi-space-size=512");
}

const config = ConfigSchema.parse({});
const inventoryFile = `${ROOT}config/inventory.yaml`;
const inventory = parseInventory(await Deno.readTextFile(inventoryFile), inventoryFile);
const messages: RawMessage[] = [];
generateWorkload({ ...DEFAULT_WORKLOAD, events: EVENTS, endMs: Date.now() }, (text) => {
  const offset = BigInt(messages.length);
  messages.push({ topic: "raw", partition: messages.length % 3, offset, value: Buffer.from(text) });
});
const builder = new StatelessBatchBuilder({ config, inventory: () => inventory, enrichedPartitions: 3 });

/** One pass over the messages; returns its milliseconds. */
function round(): number {
  const started = performance.now();
  for (let i = 0; i < messages.length; i++) {
    builder.add(messages[i]);
    if (i % BATCH === BATCH - 1) builder.take();
  }
  builder.take();
  return performance.now() - started;
}

round(); // warm-up: compiled code, the packer's series
const bytes: number[] = [];
const micros: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  gc();
  gc();
  const before = Deno.memoryUsage().heapUsed;
  const ms = round();
  bytes.push((Deno.memoryUsage().heapUsed - before) / messages.length);
  micros.push((ms * 1000) / messages.length);
}
const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`stateless builder: ${messages.length} events x ${ROUNDS} rounds (medians)`);
console.log(
  `  garbage  ${median(bytes).toFixed(0)} bytes/event (rounds: ${bytes.map((b) => b.toFixed(0)).join(", ")})`,
);
console.log(
  `  time     ${median(micros).toFixed(2)} µs/event (rounds: ${micros.map((m) => m.toFixed(2)).join(", ")})`,
);
