/**
 * Dead-letter records: the original bytes, the stage and a readable reason, produced to the DLQ topic.
 * This module is the one place records are made ({@link deadLetter}), amended
 * ({@link withAddedReason}) and serialized ({@link encodeDeadLetter}).
 *
 * A record must fit what the broker accepts (`limits.ts`): the original's escaping (quotes, control
 * characters) or base64 can make it several times larger than the message it describes, and a record
 * the broker refuses would stop the group that produces it. {@link encodeDeadLetter} keeps such a
 * record under the limit by cutting the original (and a long reason), and says so in the record:
 * `truncated`, the whole original's `original_bytes` and `original_sha256`, with its position in
 * `source` as always.
 *
 * @module
 */
import { encodeBase64 } from "../lib/base64.ts";
import { sha256Hex } from "../lib/digest.ts";
import { decodeUtf8 } from "../lib/utf8.ts";
import type { DeadLetter } from "../model/dlq.ts";

/**
 * An original already in the form a record holds it (normalize's rejects): the text or base64, and
 * when it is only the start of the message, the whole message's length and hex SHA-256.
 */
export interface EncodedOriginal {
  original: string;
  encoding: DeadLetter["encoding"];
  whole?: { bytes: number; sha256: string };
}

/**
 * Builds a dead-letter record for `original`: bytes are kept as UTF-8 text when valid, base64
 * otherwise; a string is UTF-8 text; an {@link EncodedOriginal} is taken as it is (and marked
 * `truncated` when it has `whole`).
 */
export function deadLetter(
  stage: string,
  reason: string,
  source: DeadLetter["source"],
  original: Uint8Array | string | EncodedOriginal,
  nowMs: number,
): DeadLetter {
  if (typeof original === "string") {
    return { stage, reason, source, original, encoding: "utf8", ts: nowMs };
  }
  if (!(original instanceof Uint8Array)) {
    const record: DeadLetter = {
      stage,
      reason,
      source,
      original: original.original,
      encoding: original.encoding,
      ts: nowMs,
    };
    if (original.whole !== undefined) {
      record.truncated = true;
      record.original_bytes = original.whole.bytes;
      record.original_sha256 = original.whole.sha256;
    }
    return record;
  }
  const text = decodeUtf8(original);
  return text === undefined
    ? { stage, reason, source, original: encodeBase64(original), encoding: "base64", ts: nowMs }
    : { stage, reason, source, original: text, encoding: "utf8", ts: nowMs };
}

/** `record` with `more` added to its reason (a dead letter that met another problem on its way). */
export function withAddedReason(record: DeadLetter, more: string): DeadLetter {
  return { ...record, reason: `${record.reason}; ${more}` };
}

/** The bytes `original` stands for: the UTF-8 text, or the decoded base64. */
function originalBytes(record: Pick<DeadLetter, "original" | "encoding">): Uint8Array {
  return record.encoding === "base64" ? Buffer.from(record.original, "base64") : Buffer.from(record.original);
}

/** Most characters of a reason kept in a truncated record (a tag bomb's reason lists every tag). */
const MAX_TRUNCATED_REASON_CHARS = 4_096;

/** `text` cut to `max` characters (never inside a surrogate pair), saying how much was cut. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = isHighSurrogate(text.charCodeAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}… (${text.length - end} more characters)`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** UTF-8 bytes of `text` as a JSON string without its quotes. */
function escapedBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text)) - 2;
}

/**
 * The longest start of `original` whose JSON escaping takes at most `budget` bytes: a multiple of 4
 * characters for base64 (so it still decodes), never half a surrogate pair for text.
 */
function longestPrefix(original: string, encoding: DeadLetter["encoding"], budget: number): string {
  if (budget <= 0) return "";
  // Every character takes 1 to 6 bytes escaped: search between those bounds.
  let low = Math.min(original.length, Math.floor(budget / 6));
  let high = Math.min(original.length, budget);
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (escapedBytes(original.slice(0, middle)) <= budget) low = middle;
    else high = middle - 1;
  }
  let end = low;
  if (encoding === "base64") end -= end % 4;
  else if (end > 0 && isHighSurrogate(original.charCodeAt(end - 1))) end--;
  return original.slice(0, end);
}

/**
 * Serializes `record` in at most `maxBytes` UTF-8 bytes. A record that is too large keeps the start
 * of its original, a reason that says it was truncated (and why), and the whole original's length
 * and SHA-256; one that fits is written as is.
 */
export function encodeDeadLetter(record: DeadLetter, maxBytes: number): Buffer {
  const whole = Buffer.from(JSON.stringify(record));
  if (whole.length <= maxBytes) return whole;
  const bytes = record.original_bytes === undefined ? originalBytes(record) : undefined;
  const note =
    `; dead-letter record truncated: with the whole original (${
      record.original_bytes ?? bytes?.length
    } bytes) it would be ${whole.length} bytes, over the ${maxBytes} bytes a record may take ` +
    `(the topic's max.message.bytes less the batch framing); original_bytes and original_sha256 ` +
    `describe the whole original`;
  const frame: DeadLetter = {
    ...record,
    reason: shorten(record.reason, MAX_TRUNCATED_REASON_CHARS) + note,
    original: "",
    truncated: true,
    original_bytes: record.original_bytes ?? bytes!.length,
    original_sha256: record.original_sha256 ?? sha256Hex(bytes!),
  };
  // Only a limit below a few KiB needs the shorter reason (the configuration does not allow one).
  if (Buffer.byteLength(JSON.stringify(frame)) > maxBytes) frame.reason = shorten(record.reason, 200) + note;
  const frameBytes = Buffer.byteLength(JSON.stringify(frame));
  frame.original = longestPrefix(record.original, record.encoding, maxBytes - frameBytes);
  return Buffer.from(JSON.stringify(frame));
}
