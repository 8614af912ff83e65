/**
 * Message decoding (pure): one Kafka message (bytes) -> normalized events and rejects with reasons,
 * handed to a {@link NormalizeSink} element by element. See `mod.ts` for the rules.
 *
 * @module
 */
import { encodeBase64 } from "../../lib/base64.ts";
import { sha256Hex } from "../../lib/digest.ts";
import { decodeUtf8 } from "../../lib/utf8.ts";
import { type Envelope, type NormalizedEvent, toEnvelope } from "../../model/envelope.ts";
import { type RawEvent, RawEventSchema } from "../../model/raw.ts";
import { humanizeDuration } from "../../lib/duration.ts";
import { jsonErrorPosition } from "../json_position.ts";
import { canonicalUnit, convertValue } from "../../lib/units.ts";
import {
  checkName,
  checkTags,
  checkWellFormed,
  conformsToRawSchema,
  describeIssues,
  kindOf,
  NO_KEYS,
  SURROGATE_ESCAPE,
} from "./fields.ts";
import { type Compiled, compiled, metricOf, type NormalizeOptions } from "./options.ts";
import { timestampToMs } from "./timestamps.ts";

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

/** Most bytes of an over-size message kept in its reject's `original`. */
export const REJECT_ORIGINAL_MAX_BYTES = 65_536;

function originalOf(bytes: Uint8Array, keep: number): { original: string; encoding: "utf8" | "base64" } {
  let end = Math.min(keep, bytes.length);
  // Do not cut a UTF-8 sequence in half when the original is truncated.
  for (let back = 0; back < 3 && end > 0 && end < bytes.length && (bytes[end] & 0xc0) === 0x80; back++) end--;
  const text = decodeUtf8(bytes.subarray(0, end));
  return text === undefined
    ? { original: encodeBase64(bytes.subarray(0, keep)), encoding: "base64" }
    : { original: text, encoding: "utf8" };
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
export class Normalizer {
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
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    sink.reject({
      index: 0,
      reason: "message is not valid UTF-8",
      original: encodeBase64(bytes),
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
