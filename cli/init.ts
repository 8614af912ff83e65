/**
 * `eventops init`: creates the agent's topics and, with `schema_registry.url` set, registers the
 * agent's schemas and sets their compatibility (both idempotent).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { createAdmin } from "../kafka/clients.ts";
import { ensureTopics, topicNames } from "../kafka/topics.ts";
import { registerOnInit } from "./schemas.ts";

/** Creates the missing topics and prints what it did. */
export async function initCommand(config: Config): Promise<void> {
  const admin = createAdmin(config);
  try {
    const created = await ensureTopics(admin, config);
    for (const name of topicNames(config)) {
      console.log(`${created.includes(name) ? "created" : "exists "}  ${name}`);
    }
  } finally {
    await admin.close();
  }
  await registerOnInit(config);
}
