/**
 * `eventops seed`: sends the brief's two example events to the raw topic.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { createProducer } from "../kafka/clients.ts";
import { SEED_EVENTS } from "./seed_events.ts";

/** Produces the seed events and prints where they landed. */
export async function seedCommand(config: Config): Promise<void> {
  const producer = createProducer(config, "seed");
  try {
    const result = await producer.send({
      messages: SEED_EVENTS.map((line) => ({ topic: config.topics.raw, value: Buffer.from(line) })),
    });
    for (const offset of result.offsets ?? []) {
      console.log(`sent to ${offset.topic}[${offset.partition}] at offset ${offset.offset}`);
    }
    console.log(`${SEED_EVENTS.length} seed events sent to ${config.topics.raw}`);
  } finally {
    await producer.close();
  }
}
