/**
 * Small formatting helpers shared by the stages: durations back to config text (`1m`), human
 * durations for reject reasons (`73 years`), numbers for alert annotations.
 *
 * @module
 */

const COMPACT_UNITS: readonly (readonly [string, number])[] = [
  ["w", 604_800_000],
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/**
 * Formats milliseconds as the shortest duration text that `parseDuration` reads back exactly:
 * the largest unit that divides the value (`60000` -> `1m`, `90000` -> `90s`, `1500` -> `1500ms`).
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return `${ms}ms`;
  const whole = Math.round(ms);
  if (whole === 0) return "0s";
  for (const [unit, size] of COMPACT_UNITS) {
    if (whole % size === 0) return `${whole / size}${unit}`;
  }
  return `${whole}ms`;
}

const HUMAN_UNITS: readonly (readonly [string, number])[] = [
  ["year", 365 * 86_400_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1_000],
];

/** Formats a (positive) duration for people, truncated to its largest unit: `73 years`, `5 minutes`. */
export function humanizeDuration(ms: number): string {
  const abs = Math.abs(ms);
  for (const [unit, size] of HUMAN_UNITS) {
    if (abs >= size) {
      const count = Math.floor(abs / size);
      return `${count} ${unit}${count === 1 ? "" : "s"}`;
    }
  }
  return `${Math.round(abs)} ms`;
}

/** Formats a number for annotations: integers as is, others with at most 6 significant digits. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(6)));
}

/** Shows a (JSON) value in a reason, shortened to `max` characters: `"abc"`, `true`, `{"a":1}`. */
export function showValue(value: unknown, max = 60): string {
  let text: string;
  if (value === undefined) text = "undefined";
  else if (typeof value === "number") text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  if (text.length <= max) return text;
  // Never cut a surrogate pair in two (the reason would not be valid Unicode).
  const high = text.charCodeAt(max - 2);
  const cut = high >= 0xd800 && high <= 0xdbff ? max - 2 : max - 1;
  return `${text.slice(0, cut)}…`;
}
