/**
 * Base64 of bytes (dead letters keep an original that is not valid UTF-8 this way).
 *
 * @module
 */

/** Bytes per `String.fromCharCode` call: well under the engine's argument limit. */
const CHUNK = 0x8000;

/** Standard base64 (with padding) of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let index = 0; index < bytes.length; index += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(index, index + CHUNK));
  }
  return btoa(binary);
}
