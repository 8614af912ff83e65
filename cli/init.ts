/**
 * `eventops init`: creates the agent's topics (idempotent).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { createAdmin } from "../kafka/clients.ts";
import { ensureTopics, topicNames } from "../kafka/topics.ts";

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
}
