/**
 * The parsers of the `inputs` topics (config `inputs`): the stateless group picks one per topic and
 * turns each message into raw events the way the matching HTTP receiver does (`sources/`): the same
 * decoders, one message being one request body.
 *
 * @module
 */
import type { Config } from "../../config/schema.ts";
import type { Conversion } from "../../sources/convert.ts";
import { parseInfluxLines, precisionNs } from "../../sources/influx.ts";
import { parseMappedJson } from "../../sources/json_mapping.ts";
import { decodeOtlpMetrics } from "../../sources/otlp.ts";
import { decodeRemoteWrite } from "../../sources/prometheus.ts";

/**
 * Converts one message of an input topic to raw events; `nowMs` for items without a time. Throws
 * `UnreadableBody` (`sources/convert.ts`) for a message that is not the format at all (the builder
 * dead-letters the whole message with the reason).
 */
export type InputConverter = (value: Uint8Array, nowMs: number) => Conversion;

/** The converter of one configured input; undefined for `envelope` (read as the raw topic is). */
export function inputConverter(input: Config["inputs"][number]): InputConverter | undefined {
  const tenant = input.tenant === "" ? undefined : input.tenant;
  const host = input.host === "" ? undefined : input.host;
  switch (input.format) {
    case "envelope":
      return undefined;
    case "otlp-proto":
      return (value, nowMs) => decodeOtlpMetrics(value, "protobuf", { tenant, host, nowMs });
    case "otlp-json":
      return (value, nowMs) => decodeOtlpMetrics(value, "json", { tenant, host, nowMs });
    case "prometheus-remote-write":
      return (value, nowMs) => decodeRemoteWrite(value, { tenant, host, nowMs });
    case "json": {
      const mapping = input.mapping;
      if (mapping === undefined) throw new Error(`inputs: ${input.topic} (json) has no mapping`);
      const decoder = new TextDecoder("utf-8", { fatal: false });
      return (value, nowMs) => parseMappedJson(decoder.decode(value), mapping, { tenant, host, nowMs });
    }
    case "influx": {
      const nsPerUnit = precisionNs(input.precision);
      if (nsPerUnit === undefined) throw new Error(`inputs: precision ${input.precision} is not a precision`);
      const decoder = new TextDecoder("utf-8", { fatal: false });
      return (value, nowMs) => parseInfluxLines(decoder.decode(value), nsPerUnit, { tenant, host, nowMs });
    }
  }
}

/** The converters of `inputs` by topic (`envelope` inputs have none: their messages are raw events). */
export function inputConverters(inputs: Config["inputs"]): ReadonlyMap<string, InputConverter> {
  const converters = new Map<string, InputConverter>();
  for (const input of inputs) {
    const converter = inputConverter(input);
    if (converter !== undefined) converters.set(input.topic, converter);
  }
  return converters;
}
