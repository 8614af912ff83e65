/**
 * `eventops seed`: sends the brief's two example events to the raw topic.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { createProducer } from "../kafka/clients.ts";
import { SEED_EVENTS } from "./seed_events.ts";
import { formatDuration } from "../lib/duration.ts";

/**
 * A warning when an agent with this configuration refuses the seed events (dated 2025-10-21) as older
 * than its age limit (`normalize.max_age`, bounded by the store's retention); undefined otherwise.
 */
export function seedAgeWarning(config: Config, nowMs: number): string | undefined {
  const maxAge = config.normalize.max_age;
  const oldest = Math.min(...SEED_EVENTS.map((line) => Date.parse(JSON.parse(line).ts_event)));
  if (!(maxAge > 0) || oldest >= nowMs - maxAge) return undefined;
  const limit = config.normalize.age_limit === "retention"
    ? `the store's retention (store.parquet.retention ${formatDuration(maxAge)})`
    : `normalize.max_age (${formatDuration(maxAge)})`;
  return `eventops seed: warning: the brief's events are from ${
    new Date(oldest).toISOString().slice(0, 10)
  }, ` +
    `older than ${limit}: an agent with this configuration refuses them to the DLQ (${config.topics.dlq}) ` +
    "with that reason. To keep them, run the agent with EVENTOPS_RETENTION=0s, as ./scripts/demo.sh does";
}

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
    const warning = seedAgeWarning(config, Date.now());
    if (warning) console.error(warning);
  } finally {
    await producer.close();
  }
}
