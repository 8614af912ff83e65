/**
 * Protobuf message types from `.proto` text (protobufjs reflection): the one way the receivers
 * decode and encode protobuf, so no module holds a hand-written codec.
 *
 * @module
 */
import protobuf from "protobufjs";

/** A message type: decode bytes or convert a JSON object (proto3 JSON mapping) to a plain object. */
export interface MessageType {
  /** Decodes `bytes`; throws a readable error for truncated or malformed input. */
  decode(bytes: Uint8Array): Record<string, unknown>;
  /** Reads a proto3-JSON object (camelCase or original field names); throws for wrong shapes. */
  fromJson(value: unknown): Record<string, unknown>;
  /** Encodes a plain object. */
  encode(value: Record<string, unknown>): Uint8Array;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, arrays: true };

/** The message type `name` of the `.proto` text `proto`. */
export function messageType(proto: string, name: string): MessageType {
  const type = protobuf.parse(proto, { keepCase: false }).root.lookupType(name);
  return {
    decode: (bytes) => type.toObject(type.decode(bytes), TO_OBJECT),
    fromJson: (value) => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new Error(`expected a JSON object for ${name}`);
      }
      return type.toObject(type.fromObject(value as Record<string, unknown>), TO_OBJECT);
    },
    encode: (value) => type.encode(type.fromObject(value)).finish(),
  };
}
