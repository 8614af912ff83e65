/**
 * Durations: written as text in config and queries (`30s`, `5m`, `1h`, `7d`, `250ms`), parsed to
 * milliseconds and formatted back ({@link formatDuration}), and told to people in reasons
 * ({@link humanizeDuration}: `73 years`).
 *
 * @module
 */
import { z } from "zod";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;

/** Parses a duration like `5m` into milliseconds; returns undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[match[2]]);
}

/** A zod schema for a duration string, parsed to milliseconds. */
export const DurationSchema = z.string().transform((text, ctx) => {
  const value = parseDuration(text);
  if (value === undefined) {
    ctx.addIssue({ code: "custom", message: `expected a duration like 30s, 5m, 1h or 7d, got "${text}"` });
    return z.NEVER;
  }
  return value;
});

const COMPACT_UNITS: readonly (readonly [string, number])[] = [
  ["w", 604_800_000],
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/**
 * Formats milliseconds as the shortest duration text that {@link parseDuration} reads back exactly:
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
