import { equal, ok } from "node:assert/strict";
import {
  MAX_TIME_MS,
  MIN_TIME_MS,
  parseStep,
  parseTime,
  STEP_PATTERN,
  TIME_PATTERN,
} from "../../api/times.ts";

const NOW = Date.parse("2025-10-21T10:30:00Z");

Deno.test("parseTime reads every form of the grammar", () => {
  const cases: [string, string][] = [
    ["now", "2025-10-21T10:30:00.000Z"],
    ["-1h", "2025-10-21T09:30:00.000Z"],
    ["now-15m", "2025-10-21T10:15:00.000Z"],
    ["+1.5h", "2025-10-21T12:00:00.000Z"],
    ["-250ms", "2025-10-21T10:29:59.750Z"],
    ["-2w", "2025-10-07T10:30:00.000Z"],
    ["1761040800", "2025-10-21T10:00:00.000Z"],
    ["1761040800000", "2025-10-21T10:00:00.000Z"],
    ["1761040800000000", "2025-10-21T10:00:00.000Z"],
    ["2025-10-21", "2025-10-21T00:00:00.000Z"],
    ["2025-10-21T10:00", "2025-10-21T10:00:00.000Z"],
    ["2025-10-21T10:00:00Z", "2025-10-21T10:00:00.000Z"],
    ["2025-10-21t10:00:00.123456789z", "2025-10-21T10:00:00.123Z"],
    ["2025-10-21 12:00:00+02:00", "2025-10-21T10:00:00.000Z"],
    ["2025-10-21T12:00:00 0200", "2025-10-21T10:00:00.000Z"], // an unencoded + arrives as a space
    ["2025-10-21T05:00:00-05:00", "2025-10-21T10:00:00.000Z"],
    ["0099-01-01", "0099-01-01T00:00:00.000Z"], // not 1999: two-digit years are years
    ["2025-02-31", "2025-03-03T00:00:00.000Z"], // days roll over, as Date.parse does
  ];
  for (const [text, iso] of cases) {
    const ms = parseTime(text, NOW);
    ok(ms !== undefined, text);
    equal(new Date(ms).toISOString(), iso, text);
  }
});

Deno.test("parseTime refuses what the grammar does not allow", () => {
  for (
    const text of [
      "",
      " now",
      "NOW",
      "yesterday",
      "-1y",
      "-1000000d",
      "-99999999999999ms",
      "12345678901234567",
      "2025-13-01",
      "2025-10-21T24:00:00Z",
      "2025-10-21T10:60Z",
      "2025-10-21T10:00:00+24:00",
      "0000-01-01",
      "1e3",
      "٣",
    ]
  ) {
    equal(parseTime(text, NOW), undefined, JSON.stringify(text));
  }
});

Deno.test("every time the grammar allows is inside the store's range (clamped at the extremes)", () => {
  equal(parseTime("0001-01-01T00:00:00+23:59", NOW), MIN_TIME_MS);
  equal(parseTime("9999-12-31T23:59:59.999-23:59", NOW), MAX_TIME_MS);
  for (const text of ["-9999999999999ms", "-9999999999s", "-99999999m", "-999999h", "-99999d", "-9999w"]) {
    const ms = parseTime(text, NOW) as number;
    ok(ms > MIN_TIME_MS && ms < NOW, text);
    const ahead = parseTime(text.replace("-", "+"), NOW) as number;
    ok(ahead < MAX_TIME_MS && ahead > NOW, text);
  }
});

Deno.test("the OpenAPI patterns are the grammar the parsers use", () => {
  const time = new RegExp(TIME_PATTERN);
  const step = new RegExp(STEP_PATTERN);
  for (const text of ["now", "-1h", "2025-10-21", "2025-10-21T10:00:00Z", "1761040800", "-1000000d", "x"]) {
    equal(time.test(text), parseTime(text, NOW) !== undefined, text);
  }
  for (const text of ["1m", "30s", "600", "1.5", "250ms", "0s", "0", "0.5", "-1m", "1y", "99999999999"]) {
    equal(step.test(text), parseStep(text) !== undefined, text);
  }
  equal(parseStep("1m"), 60_000);
  equal(parseStep("600"), 600_000);
  equal(parseStep("1.5"), 1_500);
  equal(parseStep("1.4ms"), 1);
});
