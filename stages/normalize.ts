/**
 * Normalize stage (pure): one Kafka message (bytes) -> normalized envelopes + rejects with reasons.
 *
 * - A message holds one JSON object, a JSON array of objects, or NDJSON lines (blank lines ignored;
 *   NDJSON is assumed when the whole text is not JSON but its first non-blank line is). Element `i`
 *   (0-based, counting non-blank lines) gets the id `<topic>:<partition>:<offset>:<i>`.
 * - Elements are validated against `RawEventSchema` (a zod-free check for the common valid shape,
 *   {@link conformsToRawSchema}; zod itself for everything else, to explain the problem), then: tenant/host trimmed, non-blank, at most 256
 *   chars, no control characters, no `|` (the series key separator); metric snake-cased and aliased;
 *   value converted to its canonical unit ({@link canonicalUnit}); tags coerced to strings and
 *   bounded; timestamps parsed (see {@link parseTimestamp}) and checked against `max_future_skew`
 *   and `max_age` (0 = no age limit) relative to `nowMs`.
 * - A bad element is rejected alone; an unreadable message is rejected whole (index 0).
 * - Text must be valid Unicode: a message that is not valid UTF-8 is rejected whole, and an element
 *   whose tenant, host, metric, unit, tag key or tag value holds a lone surrogate (a JSON escape such
 *   as `\udfff` without its pair, which no UTF-8 text can hold) is rejected with the field named.
 *   Rejected rather than repaired with U+FFFD: the store never holds a text the sender did not
 *   send, and the DLQ keeps the original to fix and replay (see README, "Bad input").
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { type Envelope, type NormalizedEvent, toEnvelope } from "../model/envelope.ts";
import { type RawEvent, RawEventSchema } from "../model/raw.ts";
import { formatDuration, humanizeDuration, showValue } from "./format.ts";
import { jsonErrorPosition } from "./json_position.ts";
import { canonicalUnit, convertValue } from "./units.ts";
import { sha256Hex } from "../lib/digest.ts";

/** The `normalize` section of the configuration, taken as is. */
export type NormalizeOptions = Config["normalize"];

/** Where a message came from (the element index is added per event). */
export interface MessageSource {
  topic: string;
  partition: number;
  offset: string;
}

/** One rejected element (or the whole message, index 0), ready for the DLQ. */
export interface NormalizeReject {
  /** Element index within the message; 0 for a whole-message reject. */
  index: number;
  reason: string;
  /** The element's original text (the message, the NDJSON line, or the array element re-serialized). */
  original: string;
  /** `base64` only when the message is not valid UTF-8 (same meaning as the DLQ record's field). */
  encoding: "utf8" | "base64";
  /** When `original` is only the start of the message: the whole message's length and hex SHA-256. */
  whole?: { bytes: number; sha256: string };
}

/** The result of normalizing one message. */
export interface NormalizeResult {
  events: Envelope[];
  rejects: NormalizeReject[];
}

/**
 * Receives what {@link normalizeMessageTo} makes of a message, element by element, in order. An
 * event comes with its element index: its envelope is `toEnvelope(event, source, ctx)` with the
 * message's source and that index (what {@link normalizeMessage} collects). The event object is
 * the normalizer's, rewritten for the next element: read it (or copy it, as `toEnvelope` does)
 * during the call, do not keep it. Its `tags` may be kept.
 */
export interface NormalizeSink {
  event(event: NormalizedEvent, index: number): void;
  reject(reject: NormalizeReject): void;
  /**
   * The message is an empty JSON array (`[]`): well-formed, zero events, nothing to reject. Counted
   * (`normalize.empty`) so that the messages read add up: with events, with rejects, or empty.
   */
  empty?(): void;
}

/** Longest tenant id or host name, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 256;
/** Longest canonical metric name. */
export const MAX_METRIC_LENGTH = 128;
/** Most bytes of an over-size message kept in its reject's `original`. */
export const REJECT_ORIGINAL_MAX_BYTES = 65_536;

// ---------------------------------------------------------------------------------------------
// Timestamps

/**
 * Epoch numbers are told apart by magnitude (absolute value):
 * below 1e11 seconds (up to year 5138), below 1e14 milliseconds (from 1973-03-03), below 1e17
 * microseconds, below 1e20 nanoseconds; larger numbers are rejected. Seconds may have a fraction
 * (rounded to the millisecond); finer units are truncated to the millisecond.
 */
export const EPOCH_CUTOFFS = {
  seconds: 1e11,
  milliseconds: 1e14,
  microseconds: 1e17,
  nanoseconds: 1e20,
} as const;

const ISO_EXTENDED =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)? ?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;
const ISO_BASIC =
  /^(\d{4})(\d{2})(\d{2})(?:[Tt](\d{2})(\d{2})(?:(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(\d{2})?)?)?$/;
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function epochToMs(n: number): number | string {
  const abs = Math.abs(n);
  if (abs < EPOCH_CUTOFFS.seconds) return Math.round(n * 1_000);
  if (abs < EPOCH_CUTOFFS.milliseconds) return Math.floor(n);
  if (abs < EPOCH_CUTOFFS.microseconds) return Math.floor(n / 1_000);
  if (abs < EPOCH_CUTOFFS.nanoseconds) return Math.floor(n / 1_000_000);
  return `ts_event: epoch number ${n} is out of range (expected seconds, milliseconds, microseconds or nanoseconds)`;
}

function isoToMs(text: string): number | string {
  const m = ISO_EXTENDED.exec(text) ?? ISO_BASIC.exec(text);
  if (m === null) return `ts_event: unparseable timestamp ${showValue(text)}`;
  if (m[4] === undefined) {
    return `ts_event: ${
      showValue(text)
    } has no time of day and no UTC offset (ambiguous); send e.g. 2025-10-21T10:00:00Z`;
  }
  if (m[8] === undefined && m[9] === undefined) {
    return `ts_event: ${showValue(text)} has no UTC offset (ambiguous); add Z or an offset like +02:00`;
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const leap = month === 2 && (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0));
  if (month < 1 || month > 12) return `ts_event: ${showValue(text)}: month ${month} is out of range`;
  if (day < 1 || day > DAYS_IN_MONTH[month - 1] + (leap ? 1 : 0)) {
    return `ts_event: ${showValue(text)}: day ${day} is out of range for the month`;
  }
  if (hour > 23 || minute > 59 || second > 59) {
    return `ts_event: ${showValue(text)}: time of day is out of range`;
  }
  const millis = m[7] === undefined ? 0 : Number(m[7].length >= 3 ? m[7].slice(0, 3) : m[7].padEnd(3, "0"));
  let ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  if (year < 100) {
    const date = new Date(ms);
    date.setUTCFullYear(year);
    ms = date.getTime();
  }
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10]);
    const offsetMinutes = m[11] === undefined ? 0 : Number(m[11]);
    if (offsetHours > 23 || offsetMinutes > 59) {
      return `ts_event: ${showValue(text)}: UTC offset is out of range`;
    }
    const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
    ms += m[9] === "-" ? offset : -offset;
  }
  return ms;
}

/** Reads `count` decimal digits at `at`; -1 when one is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * Fast path for the common `YYYY-MM-DDTHH:MM:SS[.fff…]Z` form: NaN when the text is anything else
 * or out of range (the general parser then gives the precise reason).
 */
function fastIsoUtc(text: string): number {
  const n = text.length;
  if (
    n < 20 || text.charCodeAt(n - 1) !== 90 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58
  ) return NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  let millis = 0;
  if (n > 20) {
    if (n === 21 || text.charCodeAt(19) !== 46 || digits(text, 20, n - 21) < 0) return NaN;
    millis = digits(text, 20, Math.min(3, n - 21)) * (n - 21 === 1 ? 100 : n - 21 === 2 ? 10 : 1);
  }
  if (
    year < 100 || month < 1 || month > 12 || day < 1 || day > 28 && day > daysIn(year, month) || hour < 0 ||
    hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59
  ) return NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis);
}

function daysIn(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1];
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

function timestampToMs(input: string | number): number | string {
  if (typeof input === "number") {
    return Number.isFinite(input) ? epochToMs(input) : "ts_event is not finite (NaN/Infinity)";
  }
  const fast = fastIsoUtc(input);
  if (fast === fast) return fast; // not NaN
  const text = input.trim();
  if (NUMERIC.test(text)) return epochToMs(Number(text));
  return isoToMs(text);
}

/**
 * Parses a raw timestamp to epoch milliseconds UTC: ISO 8601 (extended `2025-10-21T10:00:00.123+02:00`
 * or basic `20251021T100000Z`; offsets `Z`, `±hh`, `±hh:mm`, `±hhmm`; fraction truncated to ms),
 * epoch numbers or numeric strings by magnitude ({@link EPOCH_CUTOFFS}). ISO without an offset is
 * rejected as ambiguous. Returns `{ ms }` or `{ error }` (a readable reason).
 */
export function parseTimestamp(input: string | number): { ms: number } | { error: string } {
  const result = timestampToMs(input);
  return typeof result === "number" ? { ms: result } : { error: result };
}

// ---------------------------------------------------------------------------------------------
// Metric names

const NON_ASCII = /[^ -~]/; // anything outside printable ASCII (control characters are replaced anyway)
const COMBINING_MARKS = /[\u0300-\u036f]/g;
const ACRONYM_BOUNDARY = /([A-Z]+)([A-Z][a-z])/g;
const CAMEL_BOUNDARY = /([a-z0-9])([A-Z])/g;
const NON_ALNUM = /[^A-Za-z0-9]+/g;
const EDGE_UNDERSCORES = /^_+|_+$/g;
const METRIC_PATTERN = /^[a-z][a-z0-9_]*$/;

/**
 * Canonical snake_case of a metric name, before aliases: `cpu.load`, `CPU_Load`, `cpuLoad`,
 * `cpu-load`, ` cpu load ` -> `cpu_load`; accents dropped (`température` -> `temperature`).
 * May return `""` or a name starting with a digit; {@link normalizeMetricName} rejects those.
 */
export function canonicalMetricName(name: string): string {
  let text = name.trim();
  if (NON_ASCII.test(text)) text = text.normalize("NFKD").replace(COMBINING_MARKS, "");
  return text.replace(ACRONYM_BOUNDARY, "$1_$2").replace(CAMEL_BOUNDARY, "$1_$2").replace(NON_ALNUM, "_")
    .replace(EDGE_UNDERSCORES, "").toLowerCase();
}

/** A normalized metric name, or the reason it is unusable. */
export type MetricResult = { readonly name: string; readonly reason?: undefined } | {
  readonly name?: undefined;
  readonly reason: string;
};

function resolveMetric(raw: string, aliases: ReadonlyMap<string, string>): MetricResult {
  const canonical = canonicalMetricName(raw);
  const name = aliases.get(canonical) ?? canonical;
  if (name === "") return { reason: `metric: ${showValue(raw)} is empty after normalization` };
  if (name.length > MAX_METRIC_LENGTH) {
    return {
      reason: `metric: ${
        showValue(raw)
      } is ${name.length} chars after normalization, over the ${MAX_METRIC_LENGTH}-char limit`,
    };
  }
  if (!METRIC_PATTERN.test(name)) {
    return {
      reason: `metric: ${showValue(raw)} must start with a letter (normalized to ${showValue(name)})`,
    };
  }
  return { name };
}

// ---------------------------------------------------------------------------------------------
// Compiled options (cached per options object)

interface Compiled {
  readonly options: NormalizeOptions;
  readonly aliases: ReadonlyMap<string, string>;
  readonly metrics: Map<string, MetricResult>;
  readonly skewText: string;
  readonly ageText: string;
  /** Created on first use (normalization is synchronous: one at a time per options object). */
  normalizer?: Normalizer;
}

const METRIC_CACHE_MAX = 10_000;
const COMPILED = new WeakMap<NormalizeOptions, Compiled>();

/**
 * Validates and precompiles the options (alias keys and targets snake-cased). `normalizeMessage`
 * does this once per options object; call it at startup to fail early on a bad alias table.
 * Throws an Error naming `normalize.aliases.<key>`.
 */
export function compileNormalizeOptions(options: NormalizeOptions): void {
  compiled(options);
}

function compiled(options: NormalizeOptions): Compiled {
  let found = COMPILED.get(options);
  if (found !== undefined) return found;
  const aliases = new Map<string, string>();
  for (const [from, to] of Object.entries(options.aliases)) {
    const key = canonicalMetricName(from);
    const target = canonicalMetricName(to);
    if (key === "") throw new Error(`normalize.aliases.${from}: alias name is empty after normalization`);
    if (!METRIC_PATTERN.test(target) || target.length > MAX_METRIC_LENGTH) {
      throw new Error(`normalize.aliases.${from}: target ${showValue(to)} is not a valid metric name`);
    }
    aliases.set(key, target);
  }
  found = {
    options,
    aliases,
    metrics: new Map(),
    skewText: formatDuration(options.max_future_skew),
    ageText: formatDuration(options.max_age),
  };
  COMPILED.set(options, found);
  return found;
}

/** The canonical (snake-cased, then aliased) metric name, or `{ reason }` when it is not usable. */
export function normalizeMetricName(name: string, options: NormalizeOptions): MetricResult {
  return metricOf(compiled(options), name);
}

function metricOf(c: Compiled, name: string): MetricResult {
  let result = c.metrics.get(name);
  if (result === undefined) {
    result = resolveMetric(name, c.aliases);
    if (c.metrics.size >= METRIC_CACHE_MAX) c.metrics.clear();
    c.metrics.set(name, result);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Field checks

// deno-lint-ignore no-control-regex -- control characters are exactly what this rejects
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkName(field: string, raw: string, problems: string[]): string {
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

function checkTags(
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

const NO_KEYS: ReadonlySet<string> = new Set();

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
function describeIssues(
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
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

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
function checkWellFormed(raw: RawEvent, bad: ReadonlySet<string>, problems: string[]): void {
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

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

// ---------------------------------------------------------------------------------------------
// Messages

const DECODER = new TextDecoder("utf-8", { fatal: true });
const REPLACEMENT_CHARACTER = "\uFFFD";
const BOM = 0xfeff;

/**
 * The message as text, or undefined when it is not valid UTF-8. Node's Buffer decoding is ~3x
 * cheaper per message than a fatal TextDecoder (~200 vs ~640 ns for a 160-byte event), but
 * replaces invalid sequences with U+FFFD instead of failing: only a text that contains U+FFFD is
 * decoded again, strictly. A leading BOM is dropped, as TextDecoder does.
 */
function utf8Text(bytes: Uint8Array): string | undefined {
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let text = buffer.toString("utf8");
  if (text.includes(REPLACEMENT_CHARACTER)) {
    try {
      return DECODER.decode(bytes);
    } catch {
      return undefined;
    }
  }
  if (text.charCodeAt(0) === BOM) text = text.slice(1);
  return text;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function originalOf(bytes: Uint8Array, keep: number): { original: string; encoding: "utf8" | "base64" } {
  let end = Math.min(keep, bytes.length);
  // Do not cut a UTF-8 sequence in half when the original is truncated.
  for (let back = 0; back < 3 && end > 0 && end < bytes.length && (bytes[end] & 0xc0) === 0x80; back++) end--;
  try {
    return { original: DECODER.decode(bytes.subarray(0, end)), encoding: "utf8" };
  } catch {
    return { original: toBase64(bytes.subarray(0, keep)), encoding: "base64" };
  }
}

/** The JSON.parse error message, with the position added when V8 did not give one. */
function parseErrorText(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/position \d+/.test(message)) return message;
  const position = jsonErrorPosition(text);
  return position === undefined
    ? message
    : `${message} (at position ${position.offset}, line ${position.line} column ${position.column})`;
}

/** The context of a normalized envelope: none yet (enrich adds it). One shared frozen object. */
const NO_CONTEXT: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The tags a normalizer's event holds between messages. */
const NO_TAGS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** A sink that drops everything: what a normalizer holds between messages. */
const NO_SINK: NormalizeSink = { event: () => {}, reject: () => {} };

/**
 * Normalizes the messages of one options object, one at a time (see {@link normalizeMessageTo}):
 * reused from message to message, so a message costs no normalizer and no scratch array.
 */
class Normalizer {
  sink: NormalizeSink = NO_SINK;
  readonly problems: string[] = [];
  nowMs = 0;
  /** Whether the message's text has a JSON surrogate escape (so a parsed string may hold a lone one). */
  surrogateEscapes = false;
  /**
   * The event handed to the sink, rewritten for each element (see {@link NormalizeSink}): an event
   * costs no object. One shape for every event: `unit_original` is undefined when not kept.
   */
  readonly event: NormalizedEvent = {
    tenant: "",
    host: "",
    metric: "",
    value: 0.5,
    unit: "",
    unit_original: undefined,
    ts: 0,
    ts_ingest: 0,
    tags: NO_TAGS,
  };

  constructor(readonly c: Compiled) {}

  /** Starts a message, whose elements go to `sink`. */
  start(sink: NormalizeSink, nowMs: number): void {
    this.sink = sink;
    this.nowMs = nowMs;
  }

  /** Ends a message: the normalizer keeps no reference to its sink or the message's tags. */
  finish(): void {
    this.sink = NO_SINK;
    this.event.tags = NO_TAGS;
  }

  reject(index: number, reason: string, original: string): void {
    this.sink.reject({ index, reason, original, encoding: "utf8" });
  }

  /** Normalizes one parsed element; returns the reject reason, or undefined when it became an event. */
  element(element: unknown, index: number): string | undefined {
    if (typeof element !== "object" || element === null || Array.isArray(element)) {
      return `element is ${kindOf(element)}, expected a JSON object`;
    }
    const record = element as Record<string, unknown>;
    const problems = this.problems;
    problems.length = 0;
    // Fields the schema accepted have their schema types; the others are skipped below (already
    // reported). The fast check accepts only what RawEventSchema accepts; zod runs on the rest.
    let bad = NO_KEYS;
    if (!conformsToRawSchema(record)) {
      const parsed = RawEventSchema.safeParse(record);
      if (!parsed.success) bad = describeIssues(record, parsed.error.issues, problems);
    }
    const raw = record as RawEvent;
    if (this.surrogateEscapes) checkWellFormed(raw, bad, problems);
    const { options } = this.c;
    const tenant = bad.has("tenant_id") ? "" : checkName("tenant_id", raw.tenant_id, problems);
    const host = bad.has("host") ? "" : checkName("host", raw.host, problems);
    const metric = bad.has("metric") ? "" : metricOf(this.c, raw.metric);
    if (typeof metric !== "string" && metric.reason !== undefined) problems.push(metric.reason);
    const ts = bad.has("ts_event") ? undefined : timestampToMs(raw.ts_event);
    if (typeof ts === "string") problems.push(ts);
    else if (ts === undefined) { /* reported by the schema check */ }
    else if (ts > this.nowMs + options.max_future_skew) {
      problems.push(
        `ts_event ${new Date(ts).toISOString()} is ${
          humanizeDuration(ts - this.nowMs)
        } in the future (max skew ${this.c.skewText})`,
      );
    } else if (options.max_age > 0 && ts < this.nowMs - options.max_age) {
      problems.push(
        `ts_event ${new Date(ts).toISOString()} is ${
          humanizeDuration(this.nowMs - ts)
        } old (max age ${this.c.ageText})`,
      );
    }
    const conversion = canonicalUnit(bad.has("unit") ? undefined : raw.unit);
    const value = bad.has("value") ? 0 : convertValue(raw.value, conversion);
    if (!Number.isFinite(value)) {
      problems.push(
        `value ${raw.value} ${raw.unit ?? ""} is not finite after conversion to ${conversion.unit}`,
      );
    }
    const tags = bad.has("tags") ? {} : checkTags(raw.tags, options, problems);
    if (problems.length > 0 || typeof metric === "string" || typeof ts !== "number") {
      return problems.join("; ");
    }
    const unitOriginal = raw.unit?.trim();
    const event = this.event;
    event.tenant = tenant;
    event.host = host;
    event.metric = metric.name as string;
    event.value = value;
    event.unit = conversion.unit;
    event.unit_original =
      unitOriginal !== undefined && unitOriginal !== "" && unitOriginal !== conversion.unit
        ? unitOriginal
        : undefined;
    event.ts = ts;
    event.ts_ingest = this.nowMs;
    event.tags = tags;
    this.sink.event(event, index);
    return undefined;
  }

  text(text: string): void {
    this.surrogateEscapes = text.includes("\\u") && SURROGATE_ESCAPE.test(text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      this.ndjsonOrReject(text, error);
      return;
    }
    if (Array.isArray(parsed)) {
      if (parsed.length === 0) this.sink.empty?.();
      for (let i = 0; i < parsed.length; i++) {
        const reason = this.element(parsed[i], i);
        if (reason !== undefined) this.reject(i, reason, JSON.stringify(parsed[i]) ?? String(parsed[i]));
      }
    } else if (typeof parsed === "object" && parsed !== null) {
      const reason = this.element(parsed, 0);
      if (reason !== undefined) this.reject(0, reason, text);
    } else {
      this.reject(
        0,
        `message is ${kindOf(parsed)}, expected a JSON object, an array of objects or NDJSON lines`,
        text,
      );
    }
  }

  ndjsonOrReject(text: string, error: unknown): void {
    const lines = text.split("\n");
    let first = 0;
    while (first < lines.length && lines[first].trim() === "") first++;
    if (first === lines.length) {
      this.reject(0, "message is empty", text);
      return;
    }
    let firstValue: unknown;
    let firstOk = false;
    if (first < lines.length - 1) {
      try {
        firstValue = JSON.parse(lines[first]);
        firstOk = true;
      } catch {
        firstOk = false;
      }
    }
    if (!firstOk) {
      this.reject(0, `message is not valid JSON: ${parseErrorText(text, error)}`, text);
      return;
    }
    let index = 0;
    for (let k = first; k < lines.length; k++) {
      const line = k === first ? lines[k] : lines[k].trim();
      if (line === "") continue;
      let value: unknown;
      let reason: string | undefined;
      if (k === first) value = firstValue;
      else {
        try {
          value = JSON.parse(line);
        } catch (lineError) {
          reason = `NDJSON line ${k + 1} is not valid JSON: ${parseErrorText(line, lineError)}`;
        }
      }
      if (reason === undefined) {
        reason = Array.isArray(value)
          ? `NDJSON line ${k + 1} is an array, expected one JSON object per line`
          : this.element(value, index);
      }
      if (reason !== undefined) this.reject(index, reason, line.trim());
      index++;
    }
  }
}

/**
 * Normalizes one message. Never throws for bad input: every element becomes an event or a reject.
 * `nowMs` is the ingest time (epoch ms), used for `ts_ingest` and the skew/age checks.
 */
export function normalizeMessage(
  bytes: Uint8Array,
  source: MessageSource,
  options: NormalizeOptions,
  nowMs: number,
): NormalizeResult {
  const result: NormalizeResult = { events: [], rejects: [] };
  normalizeMessageTo(
    {
      event: (event, index) => {
        const { topic, partition, offset } = source;
        result.events.push(toEnvelope(event, { topic, partition, offset, index }, NO_CONTEXT));
      },
      reject: (reject) => result.rejects.push(reject),
    },
    bytes,
    options,
    nowMs,
  );
  return result;
}

/**
 * {@link normalizeMessage} handing each event and reject to `sink` as it is made, in element
 * order, instead of collecting them: the hot path's form, with no result arrays per message.
 * The events carry no source: the sink knows the message it passed, and gets each element's index.
 */
export function normalizeMessageTo(
  sink: NormalizeSink,
  bytes: Uint8Array,
  options: NormalizeOptions,
  nowMs: number,
): void {
  const c = compiled(options);
  const limit = options.max_message_bytes;
  if (bytes.length > limit) {
    const keep = Math.min(limit, REJECT_ORIGINAL_MAX_BYTES);
    const { original, encoding } = originalOf(bytes, keep);
    const reason =
      `message is ${bytes.length} bytes, over the ${limit}-byte limit (original truncated to ${keep} bytes)`;
    sink.reject({
      index: 0,
      reason,
      original,
      encoding,
      whole: { bytes: bytes.length, sha256: sha256Hex(bytes) },
    });
    return;
  }
  const text = utf8Text(bytes);
  if (text === undefined) {
    sink.reject({
      index: 0,
      reason: "message is not valid UTF-8",
      original: toBase64(bytes),
      encoding: "base64",
    });
    return;
  }
  // A sink may normalize another message (the normalizer is per options object): use a fresh one then.
  const normalizer = c.normalizer?.sink === NO_SINK ? c.normalizer : (c.normalizer = new Normalizer(c));
  normalizer.start(sink, nowMs);
  try {
    normalizer.text(text);
  } finally {
    normalizer.finish();
  }
}
