/**
 * The parsers of the `inputs` topics (config `inputs`): the stateless group picks one per topic and
 * turns each message into raw events the way the matching HTTP receiver does (`sources/`).
 *
 * @module
 */
import type { Config } from "../../config/schema.ts";
import type { Conversion } from "../../sources/convert.ts";
import { parseInfluxLines, precisionNs } from "../../sources/influx.ts";
import { parseMappedJson } from "../../sources/json_mapping.ts";

/** Converts one message of an input topic to raw events; `nowMs` for items without a time. */
export type InputConverter = (value: Uint8Array, nowMs: number) => Conversion;

/** The converter of one configured input. */
export function inputConverter(input: Config["inputs"][number]): InputConverter {
  const decoder = new TextDecoder("utf-8", { fatal: false });
  const tenant = input.tenant === "" ? undefined : input.tenant;
  const host = input.host === "" ? undefined : input.host;
  if (input.format === "json") {
    const mapping = input.mapping;
    if (mapping === undefined) throw new Error(`inputs: ${input.topic} (json) has no mapping`);
    return (value, nowMs) => parseMappedJson(decoder.decode(value), mapping, { tenant, host, nowMs });
  }
  const nsPerUnit = precisionNs(input.precision);
  if (nsPerUnit === undefined) throw new Error(`inputs: precision ${input.precision} is not a precision`);
  return (value, nowMs) => parseInfluxLines(decoder.decode(value), nsPerUnit, { tenant, host, nowMs });
}

/** The converters of `inputs` by topic. */
export function inputConverters(inputs: Config["inputs"]): ReadonlyMap<string, InputConverter> {
  return new Map(inputs.map((input) => [input.topic, inputConverter(input)]));
}
