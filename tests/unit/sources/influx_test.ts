import assert from "node:assert/strict";
import { influxMetricName, parseInfluxLines, parseLine, precisionNs } from "../../../sources/influx.ts";

const NOW = Date.parse("2026-01-02T03:04:05Z");
const DEFAULTS = { tenant: "acme", nowMs: NOW };

Deno.test("influx: a line with tags, every field type and a timestamp", () => {
  const point = parseLine(
    'cpu,host=h1,region=eu\\ west usage=12.5,count=3i,big=7u,up=true,note="a \\"b\\"" 1700000000000000000',
  );
  assert.deepEqual(point, {
    measurement: "cpu",
    tags: { host: "h1", region: "eu west" },
    fields: { usage: 12.5, count: 3, big: 7, up: true, note: 'a "b"' },
    timestamp: 1700000000000000000n,
  });
});

Deno.test("influx: escaped commas, spaces and equals in measurement, tag keys and values", () => {
  const point = parseLine("my\\ disk\\,io,path\\=x=/var\\,log free=1 ");
  assert.equal(point.measurement, "my disk,io");
  assert.deepEqual(point.tags, { "path=x": "/var,log" });
  assert.deepEqual(point.fields, { free: 1 });
  assert.equal(point.timestamp, undefined);
});

Deno.test("influx: fields become events; tenant_id and host tags name the event; precision converts", () => {
  const text =
    "# a comment\n\nmem,host=h1,tenant_id=t1,dc=a used=10i,value=2 1700000000\r\nmem,host=h2 free=1.5\n";
  const { events, rejected } = parseInfluxLines(text, precisionNs("s")!, DEFAULTS);
  assert.deepEqual(rejected, []);
  assert.deepEqual(events, [
    {
      tenant_id: "t1",
      host: "h1",
      metric: "mem_used",
      value: 10,
      ts_event: 1_700_000_000_000,
      tags: { dc: "a" },
    },
    { tenant_id: "t1", host: "h1", metric: "mem", value: 2, ts_event: 1_700_000_000_000, tags: { dc: "a" } },
    { tenant_id: "acme", host: "h2", metric: "mem_free", value: 1.5, ts_event: NOW },
  ]);
});

Deno.test("influx: every precision gives the same millisecond", () => {
  const cases: [string, string][] = [
    ["ns", "1700000000123456789"],
    ["us", "1700000000123456"],
    ["ms", "1700000000123"],
    ["s", "1700000000"],
  ];
  for (const [precision, ts] of cases) {
    const { events } = parseInfluxLines(`m,host=h v=1 ${ts}`, precisionNs(precision)!, DEFAULTS);
    const expected = precision === "s" ? 1_700_000_000_000 : 1_700_000_000_123;
    assert.equal(events[0].ts_event, expected, precision);
  }
  assert.equal(precisionNs(undefined), 1n);
  assert.equal(precisionNs("h"), 3_600_000_000_000n);
  assert.equal(precisionNs("fortnight"), undefined);
});

Deno.test("influx: malformed lines, string fields and a missing host are rejected with the line and a reason", () => {
  const text = [
    "ok,host=h v=1",
    "nofields,host=h",
    "bad,host=h v=abc",
    'str,host=h msg="hi",n=2',
    "notag,host v=1",
    "nohost v=1",
    "badts,host=h v=1 12:00",
    'open,host=h s="no end',
  ].join("\n");
  const { events, rejected } = parseInfluxLines(text, 1n, DEFAULTS);
  assert.deepEqual(events.map((e) => e.metric), ["ok_v", "str_n"]);
  assert.deepEqual(rejected.map((r) => r.where), [
    "line 2",
    "line 3",
    "line 4",
    "line 5",
    "line 6",
    "line 7",
    "line 8",
  ]);
  assert.match(rejected[0].reason, /line 2: the line has no fields/);
  assert.match(rejected[1].reason, /field "v" has value abc, which is not a number/);
  assert.match(rejected[2].reason, /field "msg" is a string/);
  assert.equal(rejected[2].original, 'str,host=h msg="hi",n=2');
  assert.match(rejected[3].reason, /tag "host" has no "=value"/);
  assert.match(rejected[4].reason, /no host: add a host tag, or \?host= to the URL/);
  assert.match(rejected[5].reason, /timestamp "12:00" is not an integer/);
  assert.match(rejected[6].reason, /no closing quote/);
});

Deno.test("influx: without a tenant anywhere the line is rejected", () => {
  const { events, rejected } = parseInfluxLines("m,host=h v=1", 1n, { nowMs: NOW });
  assert.equal(events.length, 0);
  assert.match(rejected[0].reason, /no tenant_id: add a tenant_id tag, or \?tenant= to the URL/);
});

Deno.test("influx: metric names", () => {
  assert.equal(influxMetricName("cpu", "usage_user"), "cpu_usage_user");
  assert.equal(influxMetricName("temperature", "value"), "temperature");
});
