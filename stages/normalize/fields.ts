/**
 * Field checks of a raw element (pure): a zod-free check of the common valid shape
 * ({@link conformsToRawSchema}), readable reasons for zod's issues, names, tags and lone surrogates.
 * Each check appends its reasons to a list, so an element's reject names every problem.
 *
 * @module
 */
import type { RawEvent } from "../../model/raw.ts";
import { showValue } from "../../lib/format.ts";
import type { NormalizeOptions } from "./options.ts";

/** Longest tenant id or host name, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 256;

// deno-lint-ignore no-control-regex -- control characters are exactly what this rejects
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export function checkName(field: string, raw: string, problems: string[]): string {
  const value = raw.trim();
  if (value === "") problems.push(`${field}: must not be blank`);
  else if (value.length > MAX_NAME_LENGTH) {
    problems.push(`${field}: ${value.length} chars, over the ${MAX_NAME_LENGTH}-char limit`);
  } else if (CONTROL.test(value)) problems.push(`${field}: contains control characters`);
  else if (value.includes("|")) problems.push(`${field}: must not contain "|" (the series key separator)`);
  return value;
}

/**
 * Whether parsed tags are already what {@link checkTags} would make of them, so they can be kept
 * instead of copied (the common case): string values, keys that need no trimming, all within the
 * limits, no `__proto__`.
 */
function areCleanTags(tags: NonNullable<RawEvent["tags"]>, options: NormalizeOptions): boolean {
  const max = options.max_tag_length;
  let count = 0;
  for (const key in tags) {
    const value = tags[key];
    if (
      typeof value !== "string" || key === "" || key.length > max || value.length > max ||
      key === "__proto__" || key.trim() !== key
    ) return false;
    count++;
  }
  return count <= options.max_tags;
}

export function checkTags(
  tags: RawEvent["tags"],
  options: NormalizeOptions,
  problems: string[],
): Record<string, string> {
  if (tags === undefined) return {};
  if (areCleanTags(tags, options)) return tags as Record<string, string>;
  const out: Record<string, string> = {};
  const max = options.max_tag_length;
  let count = 0;
  for (const rawKey in tags) {
    count++;
    const key = rawKey.trim();
    const rawValue = tags[rawKey];
    const value = typeof rawValue === "string" ? rawValue : String(rawValue);
    if (key === "") {
      problems.push("tags: empty tag key");
      continue;
    }
    if (key === "__proto__") {
      problems.push(`tags: key "__proto__" is not allowed`);
      continue;
    }
    if (key.length > max) {
      problems.push(`tags: key ${showValue(key, 40)} is ${key.length} chars, over the ${max}-char limit`);
    }
    if (value.length > max) {
      problems.push(`tags.${showValue(key, 40)}: value is ${value.length} chars, over the ${max}-char limit`);
    }
    if (Object.hasOwn(out, key)) problems.push(`tags: duplicate key ${showValue(key, 40)} after trimming`);
    out[key] = value;
  }
  if (count > options.max_tags) problems.push(`tags: ${count} tags, over the limit of ${options.max_tags}`);
  return out;
}

/** No field failed the schema check. */
export const NO_KEYS: ReadonlySet<string> = new Set();

/**
 * Hot-path equivalent of `RawEventSchema.safeParse(record).success` for plain JSON objects (no
 * zod call, no copy). Must never accept what the schema rejects: a test checks both agree; when
 * raw.ts changes, update this too. Anything it does not accept goes through zod.
 */
export function conformsToRawSchema(record: Record<string, unknown>): boolean {
  const { tenant_id, host, metric, value, ts_event, unit, tags } = record;
  if (typeof tenant_id !== "string" || tenant_id === "" || typeof host !== "string" || host === "") {
    return false;
  }
  if (typeof metric !== "string" || metric === "" || typeof value !== "number" || !Number.isFinite(value)) {
    return false;
  }
  if (
    typeof ts_event === "string"
      ? ts_event === ""
      : typeof ts_event !== "number" || !Number.isFinite(ts_event)
  ) {
    return false;
  }
  if (unit !== undefined && typeof unit !== "string") return false;
  if (tags !== undefined) {
    if (typeof tags !== "object" || tags === null || Array.isArray(tags)) return false;
    for (const key in tags) {
      const tag = (tags as Record<string, unknown>)[key];
      if (
        typeof tag !== "string" && typeof tag !== "boolean" &&
        (typeof tag !== "number" || !Number.isFinite(tag))
      ) {
        return false;
      }
    }
  }
  return true;
}

/** Appends a readable reason per zod issue; returns the top-level fields that failed. */
export function describeIssues(
  element: Record<string, unknown>,
  issues: readonly { path: PropertyKey[]; message: string }[],
  reasons: string[],
): ReadonlySet<string> {
  const bad = new Set<string>();
  for (const issue of issues) {
    const key = typeof issue.path[0] === "string" ? issue.path[0] : "";
    bad.add(key);
    const value = element[key];
    if (value === undefined && issue.path.length === 1) {
      reasons.push(`missing field ${key}`);
      continue;
    }
    switch (key) {
      case "value":
        reasons.push(
          typeof value === "number"
            ? "value is not finite (NaN/Infinity)"
            : `value: expected a finite number, got ${showValue(value)}`,
        );
        break;
      case "ts_event":
        if (typeof value === "number") reasons.push("ts_event is not finite (NaN/Infinity)");
        else if (value === "") reasons.push("ts_event: must not be empty");
        else {reasons.push(
            `ts_event: expected an ISO 8601 string or an epoch number, got ${showValue(value)}`,
          );}
        break;
      case "tags": {
        if (issue.path.length === 1) {
          reasons.push(
            `tags: expected an object of string, number or boolean values, got ${showValue(value)}`,
          );
        } else {
          const tag = String(issue.path[1]);
          const tagValue = (value as Record<string, unknown>)[tag];
          reasons.push(
            typeof tagValue === "number"
              ? `tags.${tag} is not finite (NaN/Infinity)`
              : `tags.${tag}: expected a string, number or boolean, got ${showValue(tagValue)}`,
          );
        }
        break;
      }
      case "tenant_id":
      case "host":
      case "metric":
      case "unit":
        reasons.push(
          typeof value === "string"
            ? `${key}: must not be empty`
            : `${key}: expected a string, got ${showValue(value)}`,
        );
        break;
      default:
        reasons.push(`${issue.path.join(".") || "(event)"}: ${issue.message}`);
    }
  }
  return bad;
}

/** A JSON escape of a UTF-16 surrogate: the only way a lone one gets into a parsed string. */
export const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** `"\udfff" at character 3` for the first lone surrogate of `text` (escaped, so the reason is valid text). */
function loneSurrogateAt(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xd800 || code > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    return `"\\u${code.toString(16)}" at character ${i + 1}`;
  }
  return "";
}

/**
 * Appends a reason for each field holding a lone surrogate (text that is not valid Unicode and that
 * UTF-8, hence the store, cannot hold).
 */
export function checkWellFormed(raw: RawEvent, bad: ReadonlySet<string>, problems: string[]): void {
  const fix = "not valid Unicode; send the character itself or a complete surrogate pair";
  const check = (field: string, value: unknown) => {
    if (typeof value === "string" && !value.isWellFormed()) {
      problems.push(`${field}: lone surrogate ${loneSurrogateAt(value)}, ${fix}`);
    }
  };
  for (
    const [field, key] of [["tenant_id", "tenant_id"], ["host", "host"], ["metric", "metric"], [
      "unit",
      "unit",
    ]] as const
  ) {
    if (!bad.has(key)) check(field, raw[key]);
  }
  if (raw.tags === undefined || bad.has("tags")) return;
  for (const key in raw.tags) {
    if (!key.isWellFormed()) {
      problems.push(`tags: key ${JSON.stringify(key)} has a lone surrogate ${loneSurrogateAt(key)}, ${fix}`);
    } else check(`tags.${key}`, raw.tags[key]);
  }
}

export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
