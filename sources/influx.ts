/**
 * Influx line protocol (pure): `measurement[,tag=value...] field=value[,field=value...] [timestamp]`
 * lines to raw events, one per numeric field. The metric is `<measurement>_<field>` (just the
 * measurement for a field named `value`); tags become tags, except `tenant_id` and `host`, which
 * name the event's tenant and host (else the request's defaults). Integers (`1i`, `1u`), floats and
 * booleans (1/0) convert; string fields, non-finite numbers and malformed lines are rejected with a
 * reason. Timestamps are integers in the request's precision (default nanoseconds).
 *
 * @module
 */
import type { RawEvent } from "../model/raw.ts";
import type { Conversion, RequestDefaults, Unconvertible } from "./convert.ts";

/** Line-protocol timestamp precisions and their nanoseconds (InfluxDB 1.x and 2.x spellings). */
const PRECISION_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  n: 1n,
  us: 1_000n,
  u: 1_000n,
  "µ": 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** The precisions `precision=` accepts. */
export const INFLUX_PRECISIONS: readonly string[] = Object.keys(PRECISION_NS);

/** Nanoseconds per unit of `precision`, or undefined when it is not one (default `ns`). */
export function precisionNs(precision: string | undefined): bigint | undefined {
  return PRECISION_NS[precision === undefined || precision === "" ? "ns" : precision];
}

/** One parsed line. */
export interface InfluxPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | boolean | string>;
  /** The timestamp as written, undefined when the line has none. */
  timestamp?: bigint;
}

class LineError extends Error {}

/** Reads an escaped token up to one of `stops` (unescaped), from `line[start]`. */
function token(line: string, start: number, stops: string): { text: string; end: number } {
  let text = "";
  let i = start;
  while (i < line.length) {
    const ch = line[i];
    if (ch === "\\" && i + 1 < line.length) {
      const next = line[i + 1];
      if (stops.includes(next) || next === "\\" || next === "=" || next === "," || next === " ") {
        text += next;
        i += 2;
        continue;
      }
    }
    if (stops.includes(ch)) break;
    text += ch;
    i++;
  }
  return { text, end: i };
}

function fieldValue(raw: string, key: string): number | boolean | string {
  if (raw.length === 0) throw new LineError(`field ${JSON.stringify(key)} has no value`);
  const last = raw[raw.length - 1];
  if ((last === "i" || last === "u") && /^[+-]?\d+[iu]$/.test(raw)) {
    if (last === "u" && raw.startsWith("-")) {
      throw new LineError(`field ${JSON.stringify(key)}: unsigned integer ${raw} is negative`);
    }
    return Number(raw.slice(0, -1));
  }
  if (/^(t|T|true|True|TRUE)$/.test(raw)) return true;
  if (/^(f|F|false|False|FALSE)$/.test(raw)) return false;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) return Number(raw);
  throw new LineError(
    `field ${JSON.stringify(key)} has value ${raw.slice(0, 40)}, which is not a number (1.5, 1i, 1u), ` +
      `a boolean or a "string"`,
  );
}

/** Reads a quoted string field value starting at the opening quote; returns it and the index after. */
function quoted(line: string, start: number): { text: string; end: number } {
  let text = "";
  let i = start + 1;
  while (i < line.length) {
    const ch = line[i];
    if (ch === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) {
      text += line[i + 1];
      i += 2;
      continue;
    }
    if (ch === '"') return { text, end: i + 1 };
    text += ch;
    i++;
  }
  throw new LineError("a string field value has no closing quote");
}

/** Parses one line (not blank, not a comment); throws a readable error for a malformed one. */
export function parseLine(line: string): InfluxPoint {
  const head = token(line, 0, ", ");
  if (head.text === "") throw new LineError("the line has no measurement");
  const tags: Record<string, string> = {};
  let i = head.end;
  while (line[i] === ",") {
    const key = token(line, i + 1, "=, ");
    if (line[key.end] !== "=" || key.text === "") {
      throw new LineError(`tag ${JSON.stringify(key.text)} has no "=value"`);
    }
    const value = token(line, key.end + 1, ", ");
    if (value.text === "") throw new LineError(`tag ${JSON.stringify(key.text)} has an empty value`);
    tags[key.text] = value.text;
    i = value.end;
  }
  if (line[i] !== " ") throw new LineError("the line has no fields (expected a space, then field=value)");
  while (line[i] === " ") i++;
  const fields: Record<string, number | boolean | string> = {};
  let any = false;
  for (;;) {
    const key = token(line, i, "= ,");
    if (line[key.end] !== "=" || key.text === "") {
      throw new LineError(`field ${JSON.stringify(key.text)} has no "=value"`);
    }
    i = key.end + 1;
    if (line[i] === '"') {
      const text = quoted(line, i);
      fields[key.text] = text.text;
      i = text.end;
    } else {
      let end = i;
      while (end < line.length && line[end] !== "," && line[end] !== " ") end++;
      fields[key.text] = fieldValue(line.slice(i, end), key.text);
      i = end;
    }
    any = true;
    if (line[i] === ",") {
      i++;
      continue;
    }
    break;
  }
  if (!any) throw new LineError("the line has no fields");
  while (line[i] === " ") i++;
  const rest = line.slice(i).trim();
  let timestamp: bigint | undefined;
  if (rest !== "") {
    if (!/^-?\d{1,19}$/.test(rest)) {
      throw new LineError(`timestamp ${JSON.stringify(rest.slice(0, 40))} is not an integer`);
    }
    timestamp = BigInt(rest);
  }
  return { measurement: head.text, tags, fields, timestamp };
}

/** `<measurement>_<field>`, or the measurement alone for a field named `value`. */
export function influxMetricName(measurement: string, field: string): string {
  return field === "value" ? measurement : `${measurement}_${field}`;
}

/**
 * Converts a line-protocol body to raw events. `nsPerUnit` is the request's precision
 * ({@link precisionNs}); lines without a timestamp take `defaults.nowMs`.
 */
export function parseInfluxLines(text: string, nsPerUnit: bigint, defaults: RequestDefaults): Conversion {
  const events: RawEvent[] = [];
  const rejected: Unconvertible[] = [];
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].endsWith("\r") ? lines[n].slice(0, -1) : lines[n];
    const trimmed = line.trimStart();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const where = `line ${n + 1}`;
    let point: InfluxPoint;
    try {
      point = parseLine(trimmed);
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      rejected.push({ where, reason: `${where}: ${err.message}`, original: line });
      continue;
    }
    const { tenant_id: tenantTag, host: hostTag, ...tags } = point.tags;
    const tenant = tenantTag ?? defaults.tenant;
    const host = hostTag ?? defaults.host;
    if (tenant === undefined || host === undefined) {
      const missing = tenant === undefined ? "tenant_id" : "host";
      rejected.push({
        where,
        reason: `${where}: no ${missing}: add a ${missing} tag, or ?${
          missing === "tenant_id" ? "tenant" : "host"
        }= to the URL`,
        original: line,
      });
      continue;
    }
    const tsMs = point.timestamp === undefined
      ? defaults.nowMs
      : Number((point.timestamp * nsPerUnit) / 1_000_000n);
    for (const [field, value] of Object.entries(point.fields)) {
      const metric = influxMetricName(point.measurement, field);
      if (typeof value === "string") {
        rejected.push({
          where,
          reason: `${where}: field ${
            JSON.stringify(field)
          } is a string; only numbers and booleans are metrics`,
          original: line,
        });
        continue;
      }
      const number = typeof value === "boolean" ? (value ? 1 : 0) : value;
      if (!Number.isFinite(number)) {
        rejected.push({
          where,
          reason: `${where}: field ${JSON.stringify(field)} is not finite`,
          original: line,
        });
        continue;
      }
      const event: RawEvent = { tenant_id: tenant, host, metric, value: number, ts_event: tsMs };
      if (Object.keys(tags).length > 0) event.tags = { ...tags };
      events.push(event);
    }
  }
  return { events, rejected };
}
