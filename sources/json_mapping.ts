/**
 * Arbitrary JSON to raw events by a mapping (pure): dotted paths name where an object holds its
 * tenant, host, metric, value, time, unit and tags. With `fields`, every numeric field of the object
 * at that path becomes a metric named by its key, so one object can yield several metrics. A message
 * is one object or an array of them; a path that is missing or of the wrong type is rejected with the
 * path and what was found.
 *
 * @module
 */
import type { RawEvent } from "../model/raw.ts";
import type { Conversion, Unconvertible } from "./convert.ts";

/** Where the parts of an event are in an object (dotted paths; empty: not mapped). */
export interface JsonMapping {
  /** Path of the tenant; empty: `defaults.tenant`. */
  tenant: string;
  /** Path of the host; empty: `defaults.host`. */
  host: string;
  /** Path of the metric name (with `value`); empty when `fields` is used. */
  metric: string;
  /** Path of the numeric value (with `metric`). */
  value: string;
  /** Path of an object whose numeric fields are each a metric named by the key (instead of metric/value). */
  fields: string;
  /** Path of the time (epoch ms, or an ISO 8601 string); empty: the time the message was read. */
  time: string;
  /** Path of the unit; empty or missing in the object: none. */
  unit: string;
  /** Tag name -> path of its value (strings, numbers, booleans; missing in the object: left out). */
  tags: Readonly<Record<string, string>>;
}

/** The value at dotted `path` of `root` (undefined when a step is missing or not an object). */
export function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const step of path.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[step];
  }
  return node;
}

class MappingError extends Error {}

function text(object: unknown, path: string, what: string): string {
  const found = valueAt(object, path);
  if (typeof found === "string" && found !== "") return found;
  if (typeof found === "number" && Number.isFinite(found)) return String(found);
  throw new MappingError(`${what} at ${path}: expected a non-empty string, found ${describe(found)}`);
}

function describe(found: unknown): string {
  if (found === undefined) return "nothing";
  const shown = JSON.stringify(found) ?? String(found);
  return shown.length > 60 ? `${shown.slice(0, 60)}...` : shown;
}

/** The events of one object (throws a {@link MappingError} naming the failing path). */
function eventsOf(
  object: unknown,
  mapping: JsonMapping,
  defaults: { tenant?: string; host?: string; nowMs: number },
): RawEvent[] {
  const tenant = mapping.tenant !== "" ? text(object, mapping.tenant, "tenant") : defaults.tenant;
  if (tenant === undefined) throw new MappingError("no tenant: map mapping.tenant or set the input's tenant");
  const host = mapping.host !== "" ? text(object, mapping.host, "host") : defaults.host;
  if (host === undefined) throw new MappingError("no host: map mapping.host or set the input's host");
  let ts: string | number = defaults.nowMs;
  if (mapping.time !== "") {
    const found = valueAt(object, mapping.time);
    if (!(typeof found === "number" || (typeof found === "string" && found !== ""))) {
      throw new MappingError(
        `time at ${mapping.time}: expected epoch ms or an ISO 8601 string, found ${describe(found)}`,
      );
    }
    ts = found;
  }
  // A unit or tag that is not there is left out; one of the wrong type is an error.
  const unit = mapping.unit !== "" && valueAt(object, mapping.unit) !== undefined
    ? text(object, mapping.unit, "unit")
    : undefined;
  const tags: Record<string, string | number | boolean> = {};
  for (const [name, path] of Object.entries(mapping.tags)) {
    const found = valueAt(object, path);
    if (typeof found === "string" || typeof found === "number" || typeof found === "boolean") {
      tags[name] = found;
    } else if (found !== undefined) {
      throw new MappingError(`tag ${name} at ${path}: found ${describe(found)}`);
    }
  }
  const event = (metric: string, value: number): RawEvent => {
    const built: RawEvent = { tenant_id: tenant, host, metric, value, ts_event: ts };
    if (unit !== undefined) built.unit = unit;
    if (Object.keys(tags).length > 0) built.tags = { ...tags };
    return built;
  };
  if (mapping.fields !== "") {
    const found = valueAt(object, mapping.fields);
    if (found === null || typeof found !== "object" || Array.isArray(found)) {
      throw new MappingError(`fields at ${mapping.fields}: expected an object, found ${describe(found)}`);
    }
    const events = Object.entries(found as Record<string, unknown>)
      .filter((entry): entry is [string, number] => typeof entry[1] === "number" && Number.isFinite(entry[1]))
      .map(([metric, value]) => event(metric, value));
    if (events.length === 0) throw new MappingError(`fields at ${mapping.fields}: no finite number in it`);
    return events;
  }
  const metric = text(object, mapping.metric, "metric");
  const value = valueAt(object, mapping.value);
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new MappingError(`value at ${mapping.value}: expected a finite number, found ${describe(value)}`);
  }
  return [event(metric, value)];
}

/**
 * Converts one message (a JSON object or an array of them) by `mapping`; an object whose mapping
 * fails is rejected with the path that failed, the others convert.
 */
export function parseMappedJson(
  body: string,
  mapping: JsonMapping,
  defaults: { tenant?: string; host?: string; nowMs: number },
): Conversion {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    return {
      events: [],
      rejected: [{ where: "message", reason: `not valid JSON: ${(err as Error).message}`, original: body }],
    };
  }
  const objects = Array.isArray(parsed) ? parsed : [parsed];
  const events: RawEvent[] = [];
  const rejected: Unconvertible[] = [];
  objects.forEach((object, index) => {
    const where = Array.isArray(parsed) ? `element ${index}` : "message";
    try {
      events.push(...eventsOf(object, mapping, defaults));
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      rejected.push({ where, reason: `${where}: ${err.message}`, original: JSON.stringify(object) ?? "" });
    }
  });
  return { events, rejected };
}
