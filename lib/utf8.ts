/**
 * Strict UTF-8: text must be valid Unicode. A message that is not valid UTF-8 is rejected (and
 * kept as base64 in its dead letter), never decoded with U+FFFD in place of what the sender sent.
 *
 * @module
 */
import { Buffer } from "node:buffer";

const STRICT = new TextDecoder("utf-8", { fatal: true });
const REPLACEMENT_CHARACTER = "\uFFFD";
const BOM = 0xfeff;

/**
 * `bytes` as text, or undefined when they are not valid UTF-8; a leading BOM is dropped, as
 * TextDecoder does. Node's Buffer decoding is ~3x cheaper per message than a fatal TextDecoder
 * (~200 vs ~640 ns for a 160-byte event), but replaces invalid sequences with U+FFFD instead of
 * failing: only a text that contains U+FFFD is decoded again, strictly.
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let text = buffer.toString("utf8");
  if (text.includes(REPLACEMENT_CHARACTER)) {
    try {
      return STRICT.decode(bytes);
    } catch {
      return undefined;
    }
  }
  if (text.charCodeAt(0) === BOM) text = text.slice(1);
  return text;
}
