/**
 * The grammar of times and steps in query strings, written once as regular expressions that both
 * the validation and the OpenAPI document use (`pattern`), so a value the document allows is always
 * one the API can read, and the reverse.
 *
 * A time is `now`, a relative time (`-1h`, `now-15m`, `+5m`), epoch digits (by magnitude, as event
 * timestamps are read, `lib/epoch.ts`: seconds below 1e11, milliseconds below 1e14, else
 * microseconds), a date (`2025-10-21`) or a date-time (`2025-10-21T10:00:00Z`; without an offset it
 * is UTC; `T` may be a space, and an unencoded `+` of the offset arrives as a space). The number of
 * digits is bounded, so every time the grammar allows lies within a few centuries of now: well inside
 * what the store can hold (years 0001-9999).
 *
 * @module
 */
import { parseDuration } from "../lib/duration.ts";
import { epochToMs } from "../lib/epoch.ts";

/** Most digits of a relative amount or a step per unit: each unit's largest value is about 100-320 years. */
const UNIT_DIGITS: readonly [unit: string, digits: number][] = [
  ["ms", 13],
  ["s", 10],
  ["m", 8],
  ["h", 6],
  ["d", 5],
  ["w", 4],
];

const amount = (first: string, digits: number) => `${first}[0-9]{0,${digits - 1}}(?:\\.[0-9]{1,3})?`;
const DURATION = `(?:${UNIT_DIGITS.map(([unit, digits]) => `${amount("[0-9]", digits)}${unit}`).join("|")})`;
/** A positive duration: the first digit is not 0. */
const POSITIVE_DURATION = `(?:${
  UNIT_DIGITS.map(([unit, digits]) => `${amount("[1-9]", digits)}${unit}`).join("|")
})`;
const YEAR = "(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})";
const DATE = `${YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])`;
const CLOCK = "(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,9})?)?";
const OFFSET = "(?:[Zz]|[-+ ](?:[01][0-9]|2[0-3]):?[0-5][0-9])";

/** The grammar of a time (a JSON Schema `pattern`: ECMA-262 syntax, anchored). */
export const TIME_PATTERN =
  `^(?:now|(?:now)?[-+]${DURATION}|[0-9]{1,16}|${DATE}(?:[Tt ]${CLOCK}${OFFSET}?)?)$`;

/** The grammar of a step: a positive duration, or a positive number of seconds (up to ~317 years). */
export const STEP_PATTERN = `^(?:${POSITIVE_DURATION}|${amount("[1-9]", 10)})$`;

const TIME_RE = new RegExp(TIME_PATTERN);
const STEP_RE = new RegExp(STEP_PATTERN);
const RELATIVE_RE = /^(?:now)?([-+])([0-9.]+)(ms|s|m|h|d|w)$/;
const DATE_TIME_RE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(?:[Zz]|([-+ ])([0-9]{2}):?([0-9]{2}))?)?$/;

/** Earliest and latest instants the store can hold (epoch ms): 0001-01-01 and 9999-12-31T23:59:59.999Z. */
export const MIN_TIME_MS = -62_135_596_800_000;
/** @see MIN_TIME_MS */
export const MAX_TIME_MS = 253_402_300_799_999;

/** The valid range, for messages. */
export const TIME_RANGE_TEXT = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z";

/** Epoch ms of a UTC calendar time (years 0-99 too, which `Date.UTC` would read as 19xx). */
function utcMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

/** Parses an amount of one of the grammar's units into ms. */
function durationMs(value: string, unit: string): number {
  return parseDuration(`${value}${unit}`) as number;
}

/**
 * Parses a time of the grammar ({@link TIME_PATTERN}) into epoch ms relative to `nowMs`; undefined
 * when the text does not follow the grammar. The result is clamped to the store's range (a bound
 * outside it selects the same rows).
 */
export function parseTime(text: string, nowMs: number): number | undefined {
  if (!TIME_RE.test(text)) return undefined;
  return Math.min(MAX_TIME_MS, Math.max(MIN_TIME_MS, parseValidTime(text, nowMs)));
}

function parseValidTime(text: string, nowMs: number): number {
  if (text === "now") return nowMs;
  const rel = RELATIVE_RE.exec(text);
  if (rel) {
    const ms = durationMs(rel[2], rel[3]);
    return rel[1] === "-" ? nowMs - ms : nowMs + ms;
  }
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    // At most 16 digits (the grammar): seconds, milliseconds or microseconds by magnitude.
    return epochToMs(n) as number;
  }
  const m = DATE_TIME_RE.exec(text) as RegExpExecArray;
  const [, year, month, day, hour, minute, second, fraction, sign, offsetHours, offsetMinutes] = m;
  const ms = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, "0"));
  const local = utcMs(
    Number(year),
    Number(month),
    Number(day),
    Number(hour ?? 0),
    Number(minute ?? 0),
    Number(second ?? 0),
    ms,
  );
  if (sign === undefined) return local;
  const offset = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  return sign === "-" ? local + offset : local - offset;
}

/** Parses a step ({@link STEP_PATTERN}): a duration, or a bare number of seconds. Returns ms (at least 1). */
export function parseStep(text: string): number | undefined {
  if (!STEP_RE.test(text)) return undefined;
  const unit = /(ms|s|m|h|d|w)$/.exec(text);
  const ms = unit ? durationMs(text.slice(0, -unit[1].length), unit[1]) : Math.round(Number(text) * 1000);
  return Math.max(1, ms);
}

/** Why a time of the right shape was refused, when it is a relative time or epoch too far out. */
export function outOfRangeHint(text: string): string | undefined {
  const rel = /^(?:now)?[-+]([0-9]+)(?:\.[0-9]+)?(ms|s|m|h|d|w)$/.exec(text);
  if (rel) {
    const digits = UNIT_DIGITS.find(([unit]) => unit === rel[2])?.[1] ?? 0;
    return `relative times go back or ahead at most ${digits} digits of ${rel[2]} (${"9".repeat(digits)}${
      rel[2]
    }); times must lie between ${TIME_RANGE_TEXT}`;
  }
  if (/^[0-9]{17,}$/.test(text)) {
    return `epoch values have at most 16 digits; times must lie between ${TIME_RANGE_TEXT}`;
  }
  return undefined;
}
