/** Shared by the normalize tests: the options, the clock, the source, and shortcuts to normalize one message. */
import assert from "node:assert/strict";
import { normalizeMessage, type NormalizeResult } from "../../../../stages/normalize/mod.ts";
import { bytes, normalizeOptions, T0 } from "../helpers.ts";

/** The default normalize options. */
export const OPTIONS: ReturnType<typeof normalizeOptions> = normalizeOptions();
/** The ingest time of the tests: 10:05Z. */
export const NOW: number = T0 + 5 * 60_000;
/** The message's source. */
export const SOURCE = { topic: "ingest.raw.agent", partition: 2, offset: "41" };

/** Normalizes one message of `text`. */
export function run(text: string, options = OPTIONS, now = NOW): NormalizeResult {
  return normalizeMessage(bytes(text), SOURCE, options, now);
}

/** Normalizes one message holding `event`. */
export function one(event: Record<string, unknown>, options = OPTIONS, now = NOW): NormalizeResult {
  return run(JSON.stringify(event), options, now);
}

/** The reject reason of a single-event message (fails when it was accepted). */
export function reason(event: Record<string, unknown>, options = OPTIONS, now = NOW): string {
  const result = one(event, options, now);
  assert.equal(result.events.length, 0, `expected a reject, got ${JSON.stringify(result.events)}`);
  assert.equal(result.rejects.length, 1);
  return result.rejects[0].reason;
}
