import assert from "node:assert/strict";
import { formatDuration, humanizeDuration, parseDuration } from "../../../lib/duration.ts";
import { formatNumber, showValue } from "../../../lib/format.ts";
import { jsonErrorPosition } from "../../../stages/json_position.ts";
import { CANONICAL_UNITS, canonicalUnit, convertValue } from "../../../lib/units.ts";

// [unit as sent, value, expected canonical value, expected canonical unit]
const CONVERSIONS: readonly (readonly [string | undefined, number, number, string])[] = [
  // percent
  ["%", 85, 85, "percent"],
  ["pct", 85, 85, "percent"],
  ["percent", 85, 85, "percent"],
  ["PERCENT", 85, 85, "percent"],
  ["percentage", 12.5, 12.5, "percent"],
  ["ratio", 0.855, 85.5, "percent"],
  ["fraction", 1, 100, "percent"],
  ["Ratio", 0.07, 7, "percent"],
  // bytes (decimal SI, binary IEC, case-insensitive)
  ["B", 1, 1, "bytes"],
  ["byte", 3, 3, "bytes"],
  ["bytes", 3, 3, "bytes"],
  ["octets", 3, 3, "bytes"],
  ["KB", 1, 1_000, "bytes"],
  ["kb", 2, 2_000, "bytes"],
  ["KiB", 1, 1_024, "bytes"],
  ["MB", 2, 2_000_000, "bytes"],
  ["MiB", 1, 1_048_576, "bytes"],
  ["GB", 1.5, 1_500_000_000, "bytes"],
  ["GiB", 1, 1_073_741_824, "bytes"],
  ["TB", 1, 1e12, "bytes"],
  ["TiB", 1, 1_099_511_627_776, "bytes"],
  ["PB", 1, 1e15, "bytes"],
  ["megabytes", 1, 1e6, "bytes"],
  // bits -> bytes
  ["bit", 8, 1, "bytes"],
  ["bits", 16, 2, "bytes"],
  ["Kbit", 8, 1_000, "bytes"],
  ["Mbit", 1, 125_000, "bytes"],
  ["Gbit", 1, 125_000_000, "bytes"],
  ["Kibit", 8, 1_024, "bytes"],
  // rates
  ["B/s", 10, 10, "bytes_per_second"],
  ["bytes/s", 10, 10, "bytes_per_second"],
  ["KB/s", 1, 1_000, "bytes_per_second"],
  ["MB/s", 1, 1e6, "bytes_per_second"],
  ["MiB/s", 1, 1_048_576, "bytes_per_second"],
  ["GB/s", 2, 2e9, "bytes_per_second"],
  ["KB / s", 1, 1_000, "bytes_per_second"],
  ["MB/sec", 1, 1e6, "bytes_per_second"],
  ["bytes per second", 5, 5, "bytes_per_second"],
  ["bytes_per_second", 5, 5, "bytes_per_second"],
  ["bps", 8, 1, "bytes_per_second"],
  ["kbps", 8, 1_000, "bytes_per_second"],
  ["Mbps", 1, 125_000, "bytes_per_second"],
  ["Gbps", 1, 125_000_000, "bytes_per_second"],
  ["Mbit/s", 8, 1e6, "bytes_per_second"],
  ["bit/s", 8, 1, "bytes_per_second"],
  // durations -> seconds
  ["ns", 1_500_000_000, 1.5, "seconds"],
  ["us", 250_000, 0.25, "seconds"],
  ["µs", 1_000_000, 1, "seconds"],
  ["μs", 2_000_000, 2, "seconds"],
  ["ms", 1_500, 1.5, "seconds"],
  ["milliseconds", 20, 0.02, "seconds"],
  ["s", 3, 3, "seconds"],
  ["sec", 3, 3, "seconds"],
  ["seconds", 3, 3, "seconds"],
  ["min", 2, 120, "seconds"],
  ["minutes", 1.5, 90, "seconds"],
  ["h", 1, 3_600, "seconds"],
  ["hours", 2, 7_200, "seconds"],
  ["d", 1, 86_400, "seconds"],
  // temperatures -> celsius
  ["°C", 21.5, 21.5, "celsius"],
  ["℃", 21.5, 21.5, "celsius"],
  ["C", -5, -5, "celsius"],
  ["celsius", 30, 30, "celsius"],
  ["degC", 30, 30, "celsius"],
  ["°F", 212, 100, "celsius"],
  ["°F", 32, 0, "celsius"],
  ["fahrenheit", -40, -40, "celsius"],
  ["F", 98.6, 37, "celsius"],
  ["℉", 50, 10, "celsius"],
  ["kelvin", 273.15, 0, "celsius"],
  // unknown and missing
  ["RPM", 1200, 1200, "rpm"],
  ["requests", 7, 7, "requests"],
  [" Widgets ", 7, 7, "widgets"],
  ["", 7, 7, ""],
  ["   ", 7, 7, ""],
  [undefined, 7, 7, ""],
];

Deno.test("canonicalUnit converts every unit family", async (t) => {
  for (const [unit, value, expected, canonical] of CONVERSIONS) {
    await t.step(`${value} ${unit ?? "(none)"} -> ${expected} ${canonical}`, () => {
      const conversion = canonicalUnit(unit);
      assert.equal(conversion.unit, canonical);
      assert.equal(convertValue(value, conversion), expected);
    });
  }
});

Deno.test("canonicalUnit details", async (t) => {
  await t.step("canonical names map to themselves with factor 1", () => {
    for (const unit of CANONICAL_UNITS) {
      assert.deepEqual({ ...canonicalUnit(unit) }, { unit, factor: 1, offset: 0 });
    }
  });
  await t.step("results are cached and frozen", () => {
    assert.equal(canonicalUnit("MiB"), canonicalUnit("MiB"));
    assert.ok(Object.isFrozen(canonicalUnit("MiB")));
  });
  await t.step("Mb reads as megabytes (case-insensitive); bits need 'bit'", () => {
    assert.equal(canonicalUnit("Mb").factor, 1e6);
    assert.equal(canonicalUnit("Mbit").factor, 125_000);
  });
  await t.step("fahrenheit has an offset", () => {
    const f = canonicalUnit("°F");
    assert.equal(f.factor, 5 / 9);
    assert.ok(Math.abs(f.offset + 160 / 9) < 1e-12);
  });
  await t.step("conversion rounds float noise to 15 significant digits", () => {
    assert.equal(0.07 * 100, 7.000000000000001);
    assert.equal(convertValue(0.07, canonicalUnit("ratio")), 7);
    assert.equal(convertValue(0.29, canonicalUnit("ratio")), 29);
  });
  await t.step("overflow stays non-finite (normalize rejects it)", () => {
    assert.equal(convertValue(1e300, canonicalUnit("TB")), Infinity);
  });
  await t.step("factor 1 returns the value untouched", () => {
    assert.equal(convertValue(0.1 + 0.2, canonicalUnit("percent")), 0.1 + 0.2);
  });
});

Deno.test("formatDuration", async (t) => {
  const cases: [number, string][] = [
    [60_000, "1m"],
    [300_000, "5m"],
    [30_000, "30s"],
    [90_000, "90s"],
    [3_600_000, "1h"],
    [5_400_000, "90m"],
    [86_400_000, "1d"],
    [604_800_000, "1w"],
    [1_500, "1500ms"],
    [250, "250ms"],
    [0, "0s"],
  ];
  for (const [ms, text] of cases) {
    await t.step(`${ms} -> ${text} (round-trips)`, () => {
      assert.equal(formatDuration(ms), text);
      assert.equal(parseDuration(text), ms);
    });
  }
});

Deno.test("humanizeDuration, formatNumber, showValue", async (t) => {
  const human: [number, string][] = [
    [500, "500 ms"],
    [1_000, "1 second"],
    [59_999, "59 seconds"],
    [61_000, "1 minute"],
    [7_200_000, "2 hours"],
    [2 * 86_400_000, "2 days"],
    [73.2 * 365 * 86_400_000, "73 years"],
    [-61_000, "1 minute"],
  ];
  for (const [ms, text] of human) {
    await t.step(`humanize ${ms} -> ${text}`, () => assert.equal(humanizeDuration(ms), text));
  }
  const numbers: [number, string][] = [[85, "85"], [85.5, "85.5"], [1 / 3, "0.333333"], [-2.25, "-2.25"], [
    1e21,
    "1e+21",
  ]];
  for (const [value, text] of numbers) {
    await t.step(`formatNumber ${value} -> ${text}`, () => assert.equal(formatNumber(value), text));
  }
  await t.step("showValue quotes strings and shortens", () => {
    assert.equal(showValue("abc"), '"abc"');
    assert.equal(showValue(true), "true");
    assert.equal(showValue(undefined), "undefined");
    assert.equal(showValue({ a: 1 }), '{"a":1}');
    assert.equal(showValue("x".repeat(100), 10), `"xxxxxxxx…`);
  });
});

Deno.test("jsonErrorPosition", async (t) => {
  const cases: [string, number | undefined, number, number][] = [
    ['{"a":1}', undefined, 0, 0],
    ["[1, 2, {}]", undefined, 0, 0],
    ['{"a":tru}', 8, 1, 9],
    ['{"a":1,}', 7, 1, 8],
    ['{"a":1} x', 8, 1, 9],
    ["", 0, 1, 1],
    ['{\n  "a": 1,\n  "b": ?\n}', 19, 3, 8],
    ['"bad \\q escape"', 6, 1, 7],
    ['"\\u12G4"', 2, 1, 3],
    ["[1,]", 3, 1, 4],
    ["01", 1, 1, 2],
    ['{"a" 1}', 5, 1, 6],
    ['"unterminated', 13, 1, 14],
  ];
  for (const [text, offset, line, column] of cases) {
    await t.step(`${JSON.stringify(text)} -> ${offset ?? "valid"}`, () => {
      const position = jsonErrorPosition(text);
      if (offset === undefined) assert.equal(position, undefined);
      else assert.deepEqual(position, { offset, line, column });
    });
  }
  await t.step("agrees with JSON.parse on validity", () => {
    for (const text of ["1", "-0.5e3", "null", "true", '"x"', "[]", "{}", " [ ] ", "1 2", "[", "nul", "+1"]) {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      assert.equal(jsonErrorPosition(text) === undefined, valid, text);
    }
  });
});
