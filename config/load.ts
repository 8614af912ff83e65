/**
 * Loads the configuration: defaults <- YAML file <- `EVENTOPS_*` environment <- command-line flags.
 * A bad file stops the agent with the file, the key path and what was expected.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { type Config, ConfigSchema } from "./schema.ts";

/** Settings given on the command line; they win over everything else. */
export interface ConfigOverrides {
  brokers?: string;
  data?: string;
  port?: number;
  stages?: string;
}

/** Environment variables read (and allowed by the sandbox), with the config path each sets. */
export const ENV_VARIABLES: Readonly<Record<string, readonly string[]>> = {
  EVENTOPS_BROKERS: ["kafka", "brokers"],
  EVENTOPS_DATA_DIR: ["data_dir"],
  EVENTOPS_HTTP_HOST: ["http", "host"],
  EVENTOPS_HTTP_PORT: ["http", "port"],
  EVENTOPS_HTTP_TOKEN: ["http", "token"],
  EVENTOPS_INVENTORY: ["inventory"],
  EVENTOPS_RULES: ["rules"],
  EVENTOPS_STAGES: ["stages"],
  EVENTOPS_LOG_LEVEL: ["log_level"],
  EVENTOPS_RETENTION: ["store", "parquet", "retention"],
};

/** The config file used when `--config` is not given and `EVENTOPS_CONFIG` is unset (optional). */
export const DEFAULT_CONFIG_FILE = "eventops.yaml";

/** A configuration that failed to load or validate, with a message naming file, path and expectation. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const LIST_KEYS = new Set(["kafka.brokers", "stages"]);
const NUMBER_KEYS = new Set(["http.port"]);

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

function coerce(path: readonly string[], text: string): unknown {
  const joined = path.join(".");
  if (LIST_KEYS.has(joined)) return text.split(",").map((part) => part.trim()).filter(Boolean);
  if (NUMBER_KEYS.has(joined)) return /^\d+$/.test(text) ? Number(text) : text;
  return text;
}

/** Formats zod issues as `file: path: message` lines. */
export function formatIssues(origin: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => {
    const path = issue.path.length ? issue.path.join(".") : "(top level)";
    return `${origin}: ${path}: ${issue.message}`;
  }).join("\n");
}

/** Reads a YAML file into a plain object (empty file: `{}`), or throws a ConfigError. */
export async function readYamlFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new ConfigError(`${file}: cannot read: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(`${file}: invalid YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Builds the configuration from a raw object (already read from YAML), the environment and flags.
 * Pure: the caller passes the environment lookup.
 */
export function buildConfig(
  fileValue: unknown,
  origin: string,
  env: (name: string) => string | undefined,
  overrides: ConfigOverrides = {},
): Config {
  if (typeof fileValue !== "object" || fileValue === null || Array.isArray(fileValue)) {
    throw new ConfigError(`${origin}: (top level): expected a mapping of settings`);
  }
  const input = structuredClone(fileValue) as Record<string, unknown>;
  const sources: string[] = [origin];
  for (const [name, path] of Object.entries(ENV_VARIABLES)) {
    const text = env(name);
    if (text !== undefined && text !== "") {
      setPath(input, path, coerce(path, text));
      sources.push(name);
    }
  }
  if (overrides.brokers !== undefined) {
    setPath(input, ["kafka", "brokers"], coerce(["kafka", "brokers"], overrides.brokers));
  }
  if (overrides.data !== undefined) setPath(input, ["data_dir"], overrides.data);
  if (overrides.port !== undefined) setPath(input, ["http", "port"], overrides.port);
  if (overrides.stages !== undefined) setPath(input, ["stages"], coerce(["stages"], overrides.stages));
  const result = ConfigSchema.safeParse(input);
  if (!result.success) {
    const where = sources.length > 1 ? `${origin} (with ${sources.slice(1).join(", ")})` : origin;
    throw new ConfigError(formatIssues(where, result.error.issues));
  }
  return result.data;
}

function safeEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Loads the configuration from `file` (or `EVENTOPS_CONFIG`, or `eventops.yaml` when it exists),
 * the environment and the overrides.
 */
export async function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Promise<Config> {
  const chosen = file ?? safeEnv("EVENTOPS_CONFIG");
  if (chosen !== undefined) {
    return buildConfig(await readYamlFile(chosen), chosen, safeEnv, overrides);
  }
  let exists = false;
  try {
    exists = (await Deno.stat(DEFAULT_CONFIG_FILE)).isFile;
  } catch {
    exists = false;
  }
  const value = exists ? await readYamlFile(DEFAULT_CONFIG_FILE) : {};
  return buildConfig(value, exists ? DEFAULT_CONFIG_FILE : "(defaults)", safeEnv, overrides);
}
