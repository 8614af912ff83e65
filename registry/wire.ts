/**
 * The Confluent wire format (pure): magic byte 0, the schema id as 4 bytes big-endian, then the
 * payload (Avro binary or JSON text). A JSON message never starts with byte 0, so the first byte
 * alone tells framed messages from unframed JSON on the same topic.
 *
 * @module
 */

/** The first byte of a framed message. */
export const MAGIC_BYTE = 0;
/** Bytes before the payload: the magic byte and the schema id. */
export const HEADER_BYTES = 5;

/** Whether `bytes` is framed with a schema id (first byte 0 and room for the id). */
export function isFramed(bytes: Uint8Array): boolean {
  return bytes.length >= HEADER_BYTES && bytes[0] === MAGIC_BYTE;
}

/** The schema id of a framed message (see {@link isFramed}). */
export function schemaIdOf(bytes: Uint8Array): number {
  return ((bytes[1] << 24) >>> 0) + (bytes[2] << 16) + (bytes[3] << 8) + bytes[4];
}

/** The payload of a framed message (a view, no copy). */
export function payloadOf(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(HEADER_BYTES);
}

/** `payload` framed with schema `id`. */
export function frame(id: number, payload: Uint8Array): Uint8Array {
  const framed = new Uint8Array(HEADER_BYTES + payload.length);
  framed[0] = MAGIC_BYTE;
  new DataView(framed.buffer).setUint32(1, id >>> 0);
  framed.set(payload, HEADER_BYTES);
  return framed;
}
