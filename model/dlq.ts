/**
 * Dead-letter records: bad input with the original bytes, the stage and a readable reason.
 *
 * @module
 */
import { z } from "zod";

/** A message that could not be processed. */
export const DeadLetterSchema = z.object({
  stage: z.string(),
  reason: z.string(),
  source: z.object({ topic: z.string(), partition: z.int(), offset: z.string(), index: z.int().optional() }),
  /** The original bytes, as UTF-8 text when valid, else base64 (see `encoding`). */
  original: z.string(),
  encoding: z.enum(["utf8", "base64"]),
  ts: z.int(),
  /**
   * Set when `original` holds only the start of the original: the whole record would have been
   * larger than the broker accepts (`max.message.bytes`), or the message was over
   * `normalize.max_message_bytes`. `original_bytes` and `original_sha256` then describe the whole
   * original (its bytes: the UTF-8 text, or the decoded base64).
   */
  truncated: z.boolean().optional(),
  /** Length in bytes of the whole original (with `truncated`). */
  original_bytes: z.int().optional(),
  /** Hex SHA-256 of the whole original (with `truncated`). */
  original_sha256: z.string().optional(),
});
/** A message that could not be processed. */
export type DeadLetter = z.infer<typeof DeadLetterSchema>;
