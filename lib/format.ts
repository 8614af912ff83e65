/**
 * Values shown in messages: a JSON value in a reason, shortened ({@link showValue}); a number in an
 * alert annotation ({@link formatNumber}). Durations are in `duration.ts`, sizes in `size.ts`.
 *
 * @module
 */

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
