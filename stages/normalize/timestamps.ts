/**
 * Event timestamps (pure): ISO 8601 text or epoch numbers to epoch milliseconds UTC, with a
 * readable reason for anything else. A fast path reads the common `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
 *
 * @module
 */
import { EPOCH_CUTOFFS, epochToMs } from "../../lib/epoch.ts";
import { showValue } from "../../lib/format.ts";

export { EPOCH_CUTOFFS };

const ISO_EXTENDED =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)? ?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;
const ISO_BASIC =
  /^(\d{4})(\d{2})(\d{2})(?:[Tt](\d{2})(\d{2})(?:(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(\d{2})?)?)?$/;
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Epoch milliseconds of an epoch number ({@link EPOCH_CUTOFFS}), or the reason it is out of range. */
function epochMsOrReason(n: number): number | string {
  return epochToMs(n) ??
    `ts_event: epoch number ${n} is out of range (expected seconds, milliseconds, microseconds or nanoseconds)`;
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

/**
 * {@link parseTimestamp} without a result object: epoch ms, or the reason (a string). The hot path's
 * form.
 */
export function timestampToMs(input: string | number): number | string {
  if (typeof input === "number") {
    return Number.isFinite(input) ? epochMsOrReason(input) : "ts_event is not finite (NaN/Infinity)";
  }
  const fast = fastIsoUtc(input);
  if (fast === fast) return fast; // not NaN
  const text = input.trim();
  if (NUMERIC.test(text)) return epochMsOrReason(Number(text));
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
