/**
 * Durations written as text in config and queries (`30s`, `5m`, `1h`, `7d`, `250ms`).
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
