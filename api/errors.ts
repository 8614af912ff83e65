/**
 * JSON errors: every error response is `{ "error": { status, message, details? } }` with a message
 * that says what to change.
 *
 * @module
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";

/** An error that becomes a JSON error response. */
export class ApiError extends Error {
  /** Creates an error with an HTTP status, a message that says what to fix and optional details. */
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The JSON body of an error response. */
export interface ErrorBody {
  error: { status: number; message: string; details?: unknown };
}

/**
 * A copy of `value` whose strings are well-formed UTF-16: lone surrogates (a parser's message cut
 * between the two halves of a pair, or input quoted back) become U+FFFD, so the JSON is valid UTF-8
 * for every client. Arrays and plain objects are copied deeply; other values are returned as they are.
 */
export function wellFormed<T>(value: T): T {
  if (typeof value === "string") return value.toWellFormed() as T;
  if (Array.isArray(value)) return value.map((item) => wellFormed(item)) as T;
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key.toWellFormed()] = wellFormed(item);
    return out as T;
  }
  return value;
}

/** Builds the JSON error body (strings made well-formed, see {@link wellFormed}). */
export function errorBody(status: number, message: string, details?: unknown): ErrorBody {
  return details === undefined
    ? { error: { status, message: wellFormed(message) } }
    : { error: { status, message: wellFormed(message), details: wellFormed(details) } };
}

/** Sends a JSON error response. */
export function sendError(
  c: Context,
  status: ContentfulStatusCode,
  message: string,
  details?: unknown,
  headers?: Record<string, string>,
): Response {
  const res = c.json(errorBody(status, message, details), status);
  res.headers.set("Cache-Control", "no-store");
  for (const [name, value] of Object.entries(headers ?? {})) res.headers.set(name, value);
  return res;
}

/** One invalid input, as reported in `details`. */
export interface InputProblem {
  /** Query parameter or body path, e.g. `limit` or `[3].value`. */
  param: string;
  message: string;
}

/** Turns zod issues into readable problems; `prefix` names where the input came from. */
export function zodProblems(issues: readonly z.core.$ZodIssue[]): InputProblem[] {
  const problems: InputProblem[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        problems.push({ param: key, message: `unknown parameter "${key}"` });
      }
      continue;
    }
    const param = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".") ||
      "(input)";
    problems.push({ param, message: issue.message });
  }
  return problems;
}

/** Summarises problems in one sentence for `message`. */
export function problemsMessage(what: string, problems: readonly InputProblem[]): string {
  const list = problems.map((p) => (p.message.includes(p.param) ? p.message : `${p.param}: ${p.message}`));
  return `invalid ${what}: ${list.join("; ")}`;
}
