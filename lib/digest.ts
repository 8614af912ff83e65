/**
 * Digests of bytes (dead letters name the whole original by its SHA-256 when they keep only its start).
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
