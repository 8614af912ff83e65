/**
 * Dead-letter records: the original bytes, the stage and a readable reason, produced to the DLQ topic.
 *
 * @module
 */
import type { DeadLetter } from "../model/dlq.ts";

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** Builds a dead-letter record for `original` (kept as UTF-8 text when valid, base64 otherwise). */
export function deadLetter(
  stage: string,
  reason: string,
  source: DeadLetter["source"],
  original: Uint8Array | string,
  nowMs: number,
): DeadLetter {
  if (typeof original === "string") {
    return { stage, reason, source, original, encoding: "utf8", ts: nowMs };
  }
  try {
    return { stage, reason, source, original: strictDecoder.decode(original), encoding: "utf8", ts: nowMs };
  } catch {
    return { stage, reason, source, original: encodeBase64(original), encoding: "base64", ts: nowMs };
  }
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let index = 0; index < bytes.length; index += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000));
  }
  return btoa(binary);
}
