/**
 * `eventops schemas check|push`, and the registration step of `eventops init`: the agent's subjects
 * in the schema registry (`schema_registry.*`).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { RegistryClient, RegistryError } from "../registry/client.ts";
import { checkSubjects, pushSubjects, type SubjectResult } from "../registry/register.ts";
import { agentSubjects } from "../registry/subjects.ts";

function print(results: SubjectResult[]): void {
  for (const result of results) {
    const id = result.id === undefined ? "" : ` (id ${result.id})`;
    console.log(`${result.outcome.padEnd(12)} ${result.subject}${id}`);
    for (const message of result.messages ?? []) console.log(`             ${message}`);
  }
}

function clientOf(config: Config): RegistryClient {
  if (config.schema_registry.url === "") {
    throw new Error("schema_registry.url is not set (or EVENTOPS_SCHEMA_REGISTRY_URL)");
  }
  return new RegistryClient(config.schema_registry);
}

/** `eventops schemas check`: 0 when every schema is compatible with the registry's, 1 otherwise. */
export async function schemasCheckCommand(config: Config): Promise<number> {
  const results = await checkSubjects(clientOf(config), agentSubjects(config));
  print(results);
  return results.every((result) => result.outcome === "compatible") ? 0 : 1;
}

/** `eventops schemas push`: registers the schemas and sets the compatibility; 1 when one is refused. */
export async function schemasPushCommand(config: Config): Promise<number> {
  try {
    print(await pushSubjects(clientOf(config), agentSubjects(config), config.schema_registry.compatibility));
    return 0;
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    console.error(`eventops: ${error.message}`);
    return 1;
  }
}

/** The registration step of `eventops init` (when `schema_registry.url` is set and `register` is on). */
export async function registerOnInit(config: Config): Promise<void> {
  if (config.schema_registry.url === "" || !config.schema_registry.register) return;
  print(await pushSubjects(clientOf(config), agentSubjects(config), config.schema_registry.compatibility));
}
