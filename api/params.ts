/**
 * Query-parameter building blocks: times (ISO or relative), durations, limits, and validation of a
 * request's query string against a strict zod object.
 *
 * @module
 */
import { z } from "zod";
import type { Context } from "hono";
import { ApiError, problemsMessage, zodProblems } from "./errors.ts";
import { outOfRangeHint, parseTime, TIME_PATTERN } from "./times.ts";

/** Query parameters that every route accepts and validation ignores. */
export const GLOBAL_PARAMS: readonly string[] = ["access_token"];

const TIME_HELP =
  "use ISO 8601 (2025-10-21T10:00:00Z), a relative time (-1h, now-15m), now, or epoch seconds/ms";

/** A time query parameter (validated as text against {@link TIME_PATTERN}; convert with `parseTime`). */
export function timeParam(name: string, description: string): z.ZodOptional<z.ZodString> {
  return z.string()
    .regex(new RegExp(TIME_PATTERN), {
      error: (issue) => {
        const text = String(issue.input);
        const hint = outOfRangeHint(text);
        return hint === undefined
          ? `${name}: cannot read "${text}" as a time; ${TIME_HELP}`
          : `${name}: "${text}" is out of range: ${hint}`;
      },
    })
    .optional()
    .meta({
      description: `${description} ${TIME_HELP[0].toUpperCase()}${TIME_HELP.slice(1)}.`,
      examples: ["-1h"],
    });
}

/** Number of Unicode code points (what JSON Schema's `minLength`/`maxLength` count). */
export function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * A string of `min..max` Unicode code points (JSON Schema counts code points; JavaScript's
 * `length` counts UTF-16 units, which would refuse 200 emoji as "longer than 256").
 */
export function boundedText(min: number, max: number, tooShort: string, tooLong: string): z.ZodString {
  return z.string()
    .refine((s) => codePoints(s) >= min, { error: tooShort, abort: true })
    .refine((s) => codePoints(s) <= max, { error: tooLong })
    .meta({ minLength: min, maxLength: max });
}

/**
 * An integer query parameter. Only plain decimal digits (with an optional `-`) are read as a number:
 * `""`, `0x10`, `1e3` or ` 5` are refused like any other text, as the OpenAPI type `integer` says.
 */
export function intParam(
  min: number,
  max: number,
  messages: { invalid: (text: string) => string; tooSmall: string; tooBig: string },
): z.ZodPreprocess<z.ZodInt, unknown> {
  return z.preprocess(
    (value) => typeof value === "string" && /^-?[0-9]{1,16}$/.test(value) ? Number(value) : value,
    z.int({ error: (issue) => messages.invalid(String(issue.input)) })
      .min(min, messages.tooSmall)
      .max(max, messages.tooBig),
  );
}

/** A positive integer `limit` parameter with a default and a hard maximum. */
export function limitParam(
  defaultValue: number,
  max: number,
  what: string,
): z.ZodDefault<z.ZodPreprocess<z.ZodInt, unknown>> {
  return intParam(1, max, {
    invalid: (text) => `limit must be an integer between 1 and ${max}, got "${text}"`,
    tooSmall: "limit must be at least 1",
    tooBig: `limit must be at most ${max}; narrow the time range (from/to) and page instead`,
  })
    .default(defaultValue)
    .meta({ description: `Most ${what} returned (1..${max}).`, default: defaultValue });
}

/** An optional non-empty string filter (tenant, host, rule...). */
export function textParam(name: string, description: string, maxLength = 256): z.ZodOptional<z.ZodString> {
  return boundedText(
    1,
    maxLength,
    `${name} must not be empty; omit it to match any ${name}`,
    `${name} is longer than ${maxLength} characters`,
  )
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
  return parseQueryObject(queryObject(c), schema);
}

/** {@link parseQuery} of a query object already read (e.g. with some parameters taken out). */
export function parseQueryObject<S extends z.ZodType>(input: Record<string, string>, schema: S): z.output<S> {
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

/**
 * Converts optional `from`/`to` texts (already validated) to epoch ms. A range with `from` at or
 * after `to` is empty (`empty: true`): it selects nothing.
 */
export function timeRange(
  from: string | undefined,
  to: string | undefined,
  nowMs: number,
): { fromMs?: number; toMs?: number; empty: boolean } {
  const fromMs = from === undefined ? undefined : parseTime(from, nowMs);
  const toMs = to === undefined ? undefined : parseTime(to, nowMs);
  return { fromMs, toMs, empty: fromMs !== undefined && toMs !== undefined && fromMs >= toMs };
}

/** ISO string of an epoch ms value, or null. */
export function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
