/**
 * Query-parameter building blocks: times (ISO or relative), durations, limits, and validation of a
 * request's query string against a strict zod object.
 *
 * @module
 */
import { z } from "zod";
import type { Context } from "hono";
import { parseDuration } from "../lib/duration.ts";
import { ApiError, problemsMessage, zodProblems } from "./errors.ts";

const RELATIVE = /^(?:now)?\s*([+-])\s*(\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w))$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const SPACE_OFFSET = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?) (\d{2}:?\d{2})$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Query parameters that every route accepts and validation ignores. */
export const GLOBAL_PARAMS: readonly string[] = ["access_token"];

/**
 * Parses a time: `now`, relative (`-1h`, `now-15m`, `+5m`), ISO 8601 (`2025-10-21`,
 * `2025-10-21T10:00:00Z`; without an offset it is UTC) or epoch digits (seconds below 1e11,
 * milliseconds below 1e14, else microseconds). Returns epoch ms, or undefined when unparseable.
 */
export function parseTime(text: string, nowMs: number): number | undefined {
  const ms = parseTimeUnchecked(text, nowMs);
  return ms !== undefined && Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms : undefined;
}

/** Largest epoch ms a JavaScript Date can hold. */
const MAX_DATE_MS = 8.64e15;

function parseTimeUnchecked(text: string, nowMs: number): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (t.toLowerCase() === "now") return nowMs;
  const rel = RELATIVE.exec(t.toLowerCase());
  if (rel) {
    const ms = parseDuration(rel[2].replace(/\s+/g, ""));
    if (ms === undefined) return undefined;
    return rel[1] === "-" ? nowMs - ms : nowMs + ms;
  }
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (!Number.isSafeInteger(n)) return undefined;
    if (n < 1e11) return n * 1000;
    if (n < 1e14) return n;
    return Math.floor(n / 1000);
  }
  if (DATE_ONLY.test(t)) {
    const ms = Date.parse(`${t}T00:00:00Z`);
    return Number.isFinite(ms) ? ms : undefined;
  }
  // An unencoded `+` in a query string arrives as a space: `...T12:00:00 02:00` means `+02:00`.
  const plus = SPACE_OFFSET.exec(t);
  if (plus) return parseTimeUnchecked(`${plus[1]}+${plus[2]}`, nowMs);
  const dt = DATE_TIME.exec(t);
  if (dt) {
    const iso = t.replace(" ", "T") + (dt[1] ? "" : "Z");
    const ms = Date.parse(iso);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

/** Parses a step: a duration (`30s`, `5m`, `1h`) or a bare number of seconds. Returns ms. */
export function parseStep(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const ms = Math.round(Number(t) * 1000);
    return ms > 0 ? ms : undefined;
  }
  const ms = parseDuration(t);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

const TIME_HELP =
  "use ISO 8601 (2025-10-21T10:00:00Z), a relative time (-1h, now-15m), now, or epoch seconds/ms";

/** A time query parameter (validated as text; convert with `parseTime`). */
export function timeParam(name: string, description: string): z.ZodOptional<z.ZodString> {
  return z.string()
    .refine((s) => parseTime(s, 0) !== undefined, {
      message: `${name}: cannot read "\${value}" as a time; ${TIME_HELP}`,
    })
    .optional()
    .meta({
      description: `${description} ${TIME_HELP[0].toUpperCase()}${TIME_HELP.slice(1)}.`,
      examples: ["-1h"],
    });
}

/** A positive integer `limit` parameter with a default and a hard maximum. */
export function limitParam(
  defaultValue: number,
  max: number,
  what: string,
): z.ZodDefault<z.ZodCoercedNumber> {
  return z.coerce.number({
    error: (issue) =>
      issue.code === "invalid_type"
        ? `limit must be an integer between 1 and ${max}, got "\${value}"`
        : undefined,
  })
    .int(`limit must be an integer between 1 and ${max}`)
    .min(1, `limit must be at least 1`)
    .max(max, `limit must be at most ${max}; narrow the time range (from/to) and page instead`)
    .default(defaultValue)
    .meta({ description: `Most ${what} returned (1..${max}).` });
}

/** An optional non-empty string filter (tenant, host, rule...). */
export function textParam(name: string, description: string, maxLength = 256): z.ZodOptional<z.ZodString> {
  return z.string()
    .min(1, `${name} must not be empty; omit it to match any ${name}`)
    .max(maxLength, `${name} is longer than ${maxLength} characters`)
    .optional()
    .meta({ description });
}

/** Reads the request's query string into an object, refusing repeated parameters. */
export function queryObject(c: Context): Record<string, string> {
  const all = c.req.queries();
  const out: Record<string, string> = {};
  const repeated: string[] = [];
  for (const [key, values] of Object.entries(all)) {
    if (GLOBAL_PARAMS.includes(key)) continue;
    if (values.length > 1) repeated.push(key);
    out[key] = values[0] ?? "";
  }
  if (repeated.length > 0) {
    throw new ApiError(
      400,
      `invalid query: ${
        repeated.map((k) => `"${k}"`).join(", ")
      } given more than once; pass each parameter once`,
      repeated.map((param) => ({ param, message: "given more than once" })),
    );
  }
  return out;
}

/** Validates the query string with a strict zod object; throws a 400 `ApiError` that lists every problem. */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const input = queryObject(c);
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = zodProblems(result.error.issues).map((p) => ({
    ...p,
    message: p.message.replace("${value}", input[p.param] ?? ""),
  }));
  const unknown = result.error.issues.some((i) => i.code === "unrecognized_keys");
  let message = problemsMessage("query", problems);
  if (unknown && schema instanceof z.ZodObject) {
    message += ` (known parameters: ${Object.keys(schema.shape).join(", ")})`;
  }
  throw new ApiError(400, message, problems);
}

/** Converts optional `from`/`to` texts to epoch ms; throws 400 when unreadable or inverted. */
export function timeRange(
  from: string | undefined,
  to: string | undefined,
  nowMs: number,
): { fromMs?: number; toMs?: number } {
  const fromMs = from === undefined ? undefined : parseTime(from, nowMs);
  const toMs = to === undefined ? undefined : parseTime(to, nowMs);
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) {
    throw new ApiError(
      400,
      `invalid time range: from (${new Date(fromMs).toISOString()}) must be before to (${
        new Date(toMs).toISOString()
      }); swap them`,
      [{ param: "from", message: "must be before to" }],
    );
  }
  return { fromMs, toMs };
}

/** ISO string of an epoch ms value, or null. */
export function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
