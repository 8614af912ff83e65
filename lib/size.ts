/**
 * Sizes written as text in config (`512KB`, `16MB`, `1GiB`): decimal units (KB = 1000) and binary
 * units (KiB = 1024), as DuckDB reads them.
 *
 * @module
 */
import { z } from "zod";

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)$/i;

/** Parses a size like `16MB` into bytes; returns undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const match = SIZE_PATTERN.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_BYTES[match[2].toLowerCase()]);
}

/** Formats bytes for messages: `1 MiB`, `512 KiB`, `1.5 GiB`, `300 B`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "unbounded";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
  return `${text} ${units[unit]}`;
}

/** A zod schema for a size string, parsed to bytes. */
export const SizeSchema = z.string().transform((text, ctx) => {
  const value = parseSize(text);
  if (value === undefined) {
    ctx.addIssue({ code: "custom", message: `expected a size like 512KB, 16MB or 1GiB, got "${text}"` });
    return z.NEVER;
  }
  return value;
});
