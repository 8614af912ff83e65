/**
 * Loads the configuration: defaults <- YAML file <- `EVENTOPS_*` environment <- command-line flags.
 * A bad file stops the agent with the file, the line and column, the key path and what was expected
 * (`eventops.yaml:12:9: http.port: ...`), as the rule and inventory files do.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { lineOf } from "../lib/yaml_spec.ts";
import { type Config, ConfigSchema } from "./schema.ts";
import { derivedPaths, deriveMemorySettings, MIN_MEMORY_BUDGET } from "./memory.ts";
import { parseSize } from "../lib/size.ts";

/** Settings given on the command line; they win over everything else. */
export interface ConfigOverrides {
  brokers?: string;
  data?: string;
  port?: number;
  stages?: string;
  topology?: string;
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
  EVENTOPS_NOTIFY: ["notify"],
  EVENTOPS_STAGES: ["stages"],
  EVENTOPS_TOPOLOGY: ["topology"],
  EVENTOPS_LOG_LEVEL: ["log_level"],
  EVENTOPS_MEMORY_BUDGET: ["memory_budget"],
  EVENTOPS_RETENTION: ["store", "parquet", "retention"],
  EVENTOPS_SCHEMA_REGISTRY_URL: ["schema_registry", "url"],
  EVENTOPS_COLLECT_HOST: ["collect", "host", "enabled"],
};

/** The config file used when `--config` is not given and `EVENTOPS_CONFIG` is unset (optional). */
export const DEFAULT_CONFIG_FILE = "eventops.yaml";

/** A configuration that failed to load or validate, with a message naming file, path and expectation. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const LIST_KEYS = new Set(["kafka.brokers", "stages"]);
const BOOLEAN_KEYS = new Set(["collect.host.enabled"]);
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

function getPath(source: Record<string, unknown>, path: readonly string[]): unknown {
  let node: unknown = source;
  for (const key of path) {
    if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/**
 * Fills in the settings derived from `memory_budget` (`config/memory.ts`) that `input` does not set;
 * an invalid budget is left to the schema, which reports it.
 */
function applyMemoryBudget(input: Record<string, unknown>): void {
  const budget = typeof input.memory_budget === "string" ? parseSize(input.memory_budget) : undefined;
  if (budget === undefined || budget < MIN_MEMORY_BUDGET) return;
  for (const [path, value] of derivedPaths(deriveMemorySettings(budget))) {
    if (getPath(input, path) === undefined) setPath(input, path, value);
  }
}

function coerce(path: readonly string[], text: string): unknown {
  const joined = path.join(".");
  if (LIST_KEYS.has(joined)) return text.split(",").map((part) => part.trim()).filter(Boolean);
  if (NUMBER_KEYS.has(joined)) return /^\d+$/.test(text) ? Number(text) : text;
  if (BOOLEAN_KEYS.has(joined)) return text === "true" ? true : text === "false" ? false : text;
  return text;
}

/**
 * Formats zod issues as `file: path: message` lines: `file:line:col: path: message` when `position`
 * finds the issue's key in the file, `file (with EVENTOPS_X): ...` when `others` set values too.
 */
export function formatIssues(
  file: string,
  issues: readonly z.core.$ZodIssue[],
  position: (issue: z.core.$ZodIssue) => string = () => "",
  others: readonly string[] = [],
): string {
  const withOthers = others.length > 0 ? ` (with ${others.join(", ")})` : "";
  return issues.map((issue) => {
    const path = issue.path.length ? issue.path.join(".") : "(top level)";
    return `${file}${position(issue)}${withOthers}: ${path}: ${issue.message}`;
  }).join("\n");
}

/** A configuration file: its text and what it holds (empty file: `{}`). */
export interface YamlFile {
  text: string;
  value: unknown;
}

/** Reads a YAML file, or throws a ConfigError. */
export async function readYamlFile(file: string): Promise<YamlFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new ConfigError(`${file}: cannot read: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return { text, value: parseYaml(text) ?? {} };
  } catch (error) {
    throw new ConfigError(`${file}: invalid YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Whether `path` is at or under one of `paths`. */
function isUnder(path: readonly PropertyKey[], paths: readonly (readonly string[])[]): boolean {
  return paths.some((prefix) => prefix.every((key, index) => path[index] === key));
}

/**
 * Where an issue's key is in the file's `text` (`:line:col`), or `""`: not for a key the
 * environment or a flag set, nor one the file does not hold.
 */
function issuePosition(text: string, overridden: readonly (readonly string[])[]) {
  return (issue: z.core.$ZodIssue): string => {
    if (isUnder(issue.path, overridden)) return "";
    if (issue.code === "unrecognized_keys") return lineOf(text, issue.path, issue.keys[0]);
    return lineOf(text, issue.path);
  };
}

/**
 * Builds the configuration from a raw object (already read from YAML), the environment and flags.
 * Pure: the caller passes the environment lookup, and the file's text (`fileText`) when errors
 * should give the line and column of the key.
 */
export function buildConfig(
  fileValue: unknown,
  origin: string,
  env: (name: string) => string | undefined,
  overrides: ConfigOverrides = {},
  fileText?: string,
): Config {
  if (typeof fileValue !== "object" || fileValue === null || Array.isArray(fileValue)) {
    throw new ConfigError(`${origin}: (top level): expected a mapping of settings`);
  }
  const input = structuredClone(fileValue) as Record<string, unknown>;
  const sources: string[] = [origin];
  const overridden: (readonly string[])[] = [];
  const override = (path: readonly string[], value: unknown) => {
    setPath(input, path, value);
    overridden.push(path);
  };
  for (const [name, path] of Object.entries(ENV_VARIABLES)) {
    const text = env(name);
    if (text !== undefined && text !== "") {
      override(path, coerce(path, text));
      sources.push(name);
    }
  }
  if (overrides.brokers !== undefined) {
    override(["kafka", "brokers"], coerce(["kafka", "brokers"], overrides.brokers));
  }
  if (overrides.data !== undefined) override(["data_dir"], overrides.data);
  if (overrides.port !== undefined) override(["http", "port"], overrides.port);
  if (overrides.stages !== undefined) override(["stages"], coerce(["stages"], overrides.stages));
  if (overrides.topology !== undefined) override(["topology"], coerce(["topology"], overrides.topology));
  applyMemoryBudget(input);
  const result = ConfigSchema.safeParse(input);
  if (!result.success) {
    const position = fileText === undefined ? undefined : issuePosition(fileText, overridden);
    throw new ConfigError(formatIssues(origin, result.error.issues, position, sources.slice(1)));
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
    const { value, text } = await readYamlFile(chosen);
    return buildConfig(value, chosen, safeEnv, overrides, text);
  }
  let exists = false;
  try {
    exists = (await Deno.stat(DEFAULT_CONFIG_FILE)).isFile;
  } catch {
    exists = false;
  }
  if (!exists) return buildConfig({}, "(defaults)", safeEnv, overrides);
  const { value, text } = await readYamlFile(DEFAULT_CONFIG_FILE);
  return buildConfig(value, DEFAULT_CONFIG_FILE, safeEnv, overrides, text);
}
