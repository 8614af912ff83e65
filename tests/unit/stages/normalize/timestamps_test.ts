/** Normalize: timestamps (`stages/normalize/timestamps.ts`). */
import assert from "node:assert/strict";
import { EPOCH_CUTOFFS, parseTimestamp } from "../../../../stages/normalize/mod.ts";
import { T0 } from "../helpers.ts";

Deno.test("parseTimestamp: ISO 8601 with offsets", async (t) => {
  const cases: [string, number][] = [
    ["2025-10-21T10:00:00Z", T0],
    ["2025-10-21T10:00:00z", T0],
    ["2025-10-21t10:00:00Z", T0],
    ["2025-10-21T12:00:00+02:00", T0],
    ["2025-10-21T15:30:00+0530", T0],
    ["2025-10-21T15:30:00+05:30", T0],
    ["2025-10-21T05:00:00-05", T0],
    ["2025-10-21T04:15:00-05:45", T0],
    ["2025-10-21T10:00:00+00:00", T0],
    ["2025-10-21T10:00:00-00:00", T0],
    ["2025-10-21T10:00:00.123Z", T0 + 123],
    ["2025-10-21T10:00:00.1Z", T0 + 100],
    ["2025-10-21T10:00:00.12Z", T0 + 120],
    ["2025-10-21T10:00:00.123456789Z", T0 + 123],
    ["2025-10-21T10:00:00,5Z", T0 + 500],
    ["2025-10-21 10:00:00Z", T0],
    ["2025-10-21T10:00Z", T0],
    ["2025-10-21T12:00:00 +02:00", T0],
    ["  2025-10-21T10:00:00Z  ", T0],
    ["20251021T100000Z", T0],
    ["20251021T120000+0200", T0],
    ["20251021T100000.250Z", T0 + 250],
    ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
    ["2000-02-29T00:00:00Z", Date.UTC(2000, 1, 29)],
    ["1969-12-31T23:59:59Z", -1_000],
    ["0050-01-01T00:00:00Z", -60_589_296_000_000],
  ];
  for (const [text, ms] of cases) {
    await t.step(`${text} -> ${ms}`, () => assert.deepEqual(parseTimestamp(text), { ms }));
  }
});

Deno.test("parseTimestamp: epoch numbers by magnitude (s < 1e11 <= ms < 1e14 <= µs < 1e17 <= ns < 1e20)", async (t) => {
  const cases: [number | string, number][] = [
    [1_761_040_800, T0],
    [1_761_040_800.5, T0 + 500],
    [1_761_040_800.123, T0 + 123],
    [1_761_040_800_123, T0 + 123],
    [1_761_040_800_123.9, T0 + 123],
    [1_761_040_800_123_456, T0 + 123],
    [1_761_040_800_123_456_789, T0 + 123],
    ["1761040800", T0],
    [" 1761040800123 ", T0 + 123],
    ["1761040800123456", T0 + 123],
    ["1.7610408e9", T0],
    ["+1761040800", T0],
    [0, 0],
    [-86_400, -86_400_000],
    [EPOCH_CUTOFFS.seconds - 1, (EPOCH_CUTOFFS.seconds - 1) * 1_000],
    [EPOCH_CUTOFFS.seconds, EPOCH_CUTOFFS.seconds],
    [EPOCH_CUTOFFS.milliseconds - 1, EPOCH_CUTOFFS.milliseconds - 1],
    [EPOCH_CUTOFFS.milliseconds, EPOCH_CUTOFFS.milliseconds / 1_000],
    [EPOCH_CUTOFFS.microseconds, EPOCH_CUTOFFS.microseconds / 1_000_000],
  ];
  for (const [input, ms] of cases) {
    await t.step(`${JSON.stringify(input)} -> ${ms}`, () => assert.deepEqual(parseTimestamp(input), { ms }));
  }
});

Deno.test("parseTimestamp: rejects", async (t) => {
  const cases: [string | number, string][] = [
    ["yesterday", 'ts_event: unparseable timestamp "yesterday"'],
    [
      "2025-10-21T10:00:00",
      'ts_event: "2025-10-21T10:00:00" has no UTC offset (ambiguous); add Z or an offset like +02:00',
    ],
    [
      "2025-10-21T10:00",
      'ts_event: "2025-10-21T10:00" has no UTC offset (ambiguous); add Z or an offset like +02:00',
    ],
    [
      "2025-10-21",
      'ts_event: "2025-10-21" has no time of day and no UTC offset (ambiguous); send e.g. 2025-10-21T10:00:00Z',
    ],
    ["2025-13-01T00:00:00Z", 'ts_event: "2025-13-01T00:00:00Z": month 13 is out of range'],
    ["2025-00-01T00:00:00Z", 'ts_event: "2025-00-01T00:00:00Z": month 0 is out of range'],
    ["2025-02-29T00:00:00Z", 'ts_event: "2025-02-29T00:00:00Z": day 29 is out of range for the month'],
    ["2025-04-31T00:00:00Z", 'ts_event: "2025-04-31T00:00:00Z": day 31 is out of range for the month'],
    ["1900-02-29T00:00:00Z", 'ts_event: "1900-02-29T00:00:00Z": day 29 is out of range for the month'],
    ["2025-10-21T24:00:00Z", 'ts_event: "2025-10-21T24:00:00Z": time of day is out of range'],
    ["2025-10-21T10:60:00Z", 'ts_event: "2025-10-21T10:60:00Z": time of day is out of range'],
    ["2025-10-21T10:00:60Z", 'ts_event: "2025-10-21T10:00:60Z": time of day is out of range'],
    ["2025-10-21T10:00:00+24:00", 'ts_event: "2025-10-21T10:00:00+24:00": UTC offset is out of range'],
    ["2025-10-21T10:00:00+02:60", 'ts_event: "2025-10-21T10:00:00+02:60": UTC offset is out of range'],
    ["2025-10-21T10:00:00 UTC", 'ts_event: unparseable timestamp "2025-10-21T10:00:00 UTC"'],
    ["Tue, 21 Oct 2025 10:00:00 GMT", 'ts_event: unparseable timestamp "Tue, 21 Oct 2025 10:00:00 GMT"'],
    ["2025-10-21T10:00:00.Z", 'ts_event: unparseable timestamp "2025-10-21T10:00:00.Z"'],
    ["2025-10-21T10:00:0aZ", 'ts_event: unparseable timestamp "2025-10-21T10:00:0aZ"'],
    ["2025-10-21T10:00:00.1xZ", 'ts_event: unparseable timestamp "2025-10-21T10:00:00.1xZ"'],
    ["2025-10-21X10:00:00Z", 'ts_event: unparseable timestamp "2025-10-21X10:00:00Z"'],
    [
      "1e20",
      "ts_event: epoch number 100000000000000000000 is out of range (expected seconds, milliseconds, microseconds or nanoseconds)",
    ],
    [
      -1e21,
      "ts_event: epoch number -1e+21 is out of range (expected seconds, milliseconds, microseconds or nanoseconds)",
    ],
    [Infinity, "ts_event is not finite (NaN/Infinity)"],
    [NaN, "ts_event is not finite (NaN/Infinity)"],
  ];
  for (const [input, error] of cases) {
    await t.step(String(input), () => assert.deepEqual(parseTimestamp(input), { error }));
  }
});

Deno.test("parseTimestamp agrees with Date.parse on random UTC timestamps (fast and general paths)", () => {
  let seed = 12345;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pad = (value: number, width: number) => String(value).padStart(width, "0");
  for (let i = 0; i < 5_000; i++) {
    const year = 1970 + next(130);
    const month = 1 + next(12);
    const day = 1 + next(31);
    const time = `${pad(next(24), 2)}:${pad(next(60), 2)}:${pad(next(60), 2)}`;
    const fraction = ["", `.${pad(next(10), 1)}`, `.${pad(next(100), 2)}`, `.${pad(next(1000), 3)}`][next(4)];
    const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${time}${fraction}Z`;
    const expected = Date.parse(text);
    const valid = !Number.isNaN(expected) && new Date(expected).getUTCDate() === day;
    const got = parseTimestamp(text);
    if (valid) assert.deepEqual(got, { ms: expected }, text);
    else assert.ok("error" in got, text);
    // the same instant with an offset goes through the general parser
    const shifted = parseTimestamp(text.replace("Z", "+01:30"));
    if (valid) assert.deepEqual(shifted, { ms: expected - 90 * 60_000 }, text);
  }
});
