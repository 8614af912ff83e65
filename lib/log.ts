/**
 * Structured logs: one JSON object per line on stderr (journald and `jq` friendly).
 *
 * @module
 */

/** Log levels, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

import { describeError } from "./errors.ts";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Extra fields of a log line. */
export type LogFields = Record<string, unknown>;

/** A structured logger. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const encoder = new TextEncoder();

function describe(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: describeError(value) };
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** Creates a logger that drops lines below `level` and writes the rest to `sink` (stderr). */
export function createLogger(
  level: LogLevel,
  sink: (line: Uint8Array) => void = (line) => Deno.stderr.writeSync(line),
): Logger {
  const minimum = RANK[level];
  const write = (lineLevel: LogLevel, message: string, fields?: LogFields): void => {
    if (RANK[lineLevel] < minimum) return;
    const record: LogFields = { ts: new Date().toISOString(), level: lineLevel, msg: message };
    if (fields) { for (const [key, value] of Object.entries(fields)) record[key] = describe(value); }
    sink(encoder.encode(JSON.stringify(record) + "\n"));
  };
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
  };
}
