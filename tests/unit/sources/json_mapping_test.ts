/**
 * The JSON mapping (pure): dotted paths give tenant, host, metric, value, time, unit and tags; `fields`
 * makes every numeric field a metric; a path that fails is named in the rejection.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type JsonMapping, parseMappedJson, valueAt } from "../../../sources/json_mapping.ts";

const none: JsonMapping = {
  tenant: "",
  host: "",
  metric: "",
  value: "",
  fields: "",
  time: "",
  unit: "",
  tags: {},
};

Deno.test("json mapping: dotted paths give the event's parts; an array yields one event per element", () => {
  const mapping: JsonMapping = {
    ...none,
    tenant: "org.id",
    host: "device.name",
    metric: "reading.kind",
    value: "reading.v",
    time: "at",
    unit: "reading.unit",
    tags: { site: "device.site", floor: "device.floor" },
  };
  const body = JSON.stringify([
    {
      org: { id: "acme" },
      device: { name: "pi-7", site: "lab", floor: 2 },
      reading: { kind: "temp", v: 48.3, unit: "celsius" },
      at: "2026-12-04T10:00:00Z",
    },
    { org: { id: "acme" }, device: { name: "pi-8" }, reading: { kind: "temp", v: "hot" }, at: 1 },
  ]);
  const { events, rejected } = parseMappedJson(body, mapping, { nowMs: 5 });
  assert.deepEqual(events, [{
    tenant_id: "acme",
    host: "pi-7",
    metric: "temp",
    value: 48.3,
    ts_event: "2026-12-04T10:00:00Z",
    unit: "celsius",
    tags: { site: "lab", floor: 2 },
  }]);
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0].reason, 'element 1: value at reading.v: expected a finite number, found "hot"');
});

Deno.test("json mapping: fields makes every finite number of an object a metric; defaults fill tenant and host", () => {
  const mapping: JsonMapping = { ...none, fields: "m", time: "ts" };
  const body = JSON.stringify({ ts: 1_700_000_000_000, m: { cpu: 12.5, mem: 40, note: "x", nan: null } });
  const { events, rejected } = parseMappedJson(body, mapping, { tenant: "t", host: "h", nowMs: 0 });
  assert.deepEqual(rejected, []);
  assert.deepEqual(events.map((e) => [e.tenant_id, e.host, e.metric, e.value, e.ts_event]), [
    ["t", "h", "cpu", 12.5, 1_700_000_000_000],
    ["t", "h", "mem", 40, 1_700_000_000_000],
  ]);
});

Deno.test("json mapping: a missing path, no tenant and invalid JSON are rejected with what to fix", () => {
  const mapping: JsonMapping = { ...none, host: "h", metric: "m", value: "v" };
  assert.equal(
    parseMappedJson('{"m":"x","v":1}', mapping, { tenant: "t", nowMs: 0 }).rejected[0].reason,
    "message: host at h: expected a non-empty string, found nothing",
  );
  assert.match(
    parseMappedJson('{"h":"a","m":"x","v":1}', mapping, { nowMs: 0 }).rejected[0].reason,
    /no tenant: map mapping.tenant or set the input's tenant/,
  );
  assert.match(parseMappedJson("{oops", mapping, { nowMs: 0 }).rejected[0].reason, /not valid JSON/);
  assert.equal(valueAt({ a: { b: [1] } }, "a.b.0"), 1);
  assert.equal(valueAt({ a: 1 }, "a.b"), undefined);
});
