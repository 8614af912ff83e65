/**
 * Decoders of registered schemas (pure once compiled): an Avro schema decodes Avro binary with the
 * locked `avsc`, a JSON Schema parses the JSON payload and validates it with `ajv`. The decoded value
 * is handed to normalize as JSON, so framed events are checked and stored exactly as JSON ones.
 *
 * @module
 */
import avro from "avsc";
import { Ajv } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describeError } from "../lib/errors.ts";
import { decodeUtf8 } from "../lib/utf8.ts";

/** A schema as the registry returns it by id. */
export interface RegisteredSchema {
  /** `AVRO` (the registry's default), `JSON` or `PROTOBUF`. */
  schemaType: string;
  /** The schema text. */
  schema: string;
}

/** What a decoder makes of one payload. */
export type Decoded = { ok: true; value: unknown } | { ok: false; reason: string };

/** Decodes the payload of a message framed with one schema id. */
export type Decoder = (payload: Uint8Array) => Decoded;

/** Compiles the decoder of `schema` (registered as `id`); throws with a readable reason when it cannot. */
export function compileDecoder(id: number, schema: RegisteredSchema): Decoder {
  const type = (schema.schemaType || "AVRO").toUpperCase();
  if (type === "AVRO") return avroDecoder(id, JSON.parse(schema.schema));
  if (type === "JSON") return jsonDecoder(id, JSON.parse(schema.schema));
  throw new Error(`schema id ${id} is a ${type} schema; the agent reads AVRO and JSON`);
}

/** Avro: the writer's schema (the id's) decodes the record; optional fields sent as null are left out. */
function avroDecoder(id: number, definition: unknown): Decoder {
  const type = avro.Type.forSchema(definition as avro.Schema, { wrapUnions: false });
  return (payload) => {
    let decoded: { value: unknown; offset: number };
    try {
      decoded = type.decode(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), 0);
    } catch (error) {
      return {
        ok: false,
        reason: `Avro payload of schema id ${id} does not decode: ${describeError(error)}`,
      };
    }
    if (decoded.offset < 0) {
      return { ok: false, reason: `Avro payload of schema id ${id} is truncated (${payload.length} bytes)` };
    }
    if (decoded.offset !== payload.length) {
      return {
        ok: false,
        reason: `Avro payload of schema id ${id} has ${
          payload.length - decoded.offset
        } bytes after the record`,
      };
    }
    return { ok: true, value: withoutNulls(decoded.value) };
  };
}

/** A record's fields without those that are null (an absent optional field in JSON terms). */
function withoutNulls(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) if (field !== null) out[key] = field;
  return out;
}

/** The validator class of a JSON Schema's `$schema` (draft-07 when absent). */
function ajvFor(definition: unknown): Ajv {
  const dialect = typeof definition === "object" && definition !== null
    ? String((definition as { $schema?: unknown }).$schema ?? "")
    : "";
  const options = { strict: false, allErrors: false, validateFormats: false };
  if (dialect.includes("2020-12")) return new Ajv2020(options);
  if (dialect.includes("2019-09")) return new Ajv2019(options);
  return new Ajv(options);
}

/** JSON Schema: the payload is JSON text, valid against the schema. */
function jsonDecoder(id: number, definition: unknown): Decoder {
  const validate = ajvFor(definition).compile(definition as object);
  return (payload) => {
    const text = decodeUtf8(payload);
    if (text === undefined) {
      return { ok: false, reason: `JSON payload of schema id ${id} is not valid UTF-8` };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { ok: false, reason: `JSON payload of schema id ${id} is not JSON: ${describeError(error)}` };
    }
    if (!validate(value)) {
      const first = validate.errors?.[0];
      const where = first?.instancePath ? `${first.instancePath} ` : "";
      return {
        ok: false,
        reason: `JSON payload does not match schema id ${id}: ${where}${first?.message ?? "invalid"}`,
      };
    }
    return { ok: true, value };
  };
}
