import assert from "node:assert/strict";
import { type Envelope, EnvelopeSchema, eventId, toEnvelope } from "../../../model/envelope.ts";
import { RawEventSchema } from "../../../model/raw.ts";
import {
  canonicalMetricName,
  compileNormalizeOptions,
  conformsToRawSchema,
  EPOCH_CUTOFFS,
  normalizeMessage,
  normalizeMessageTo,
  normalizeMetricName,
  type NormalizeReject,
  parseTimestamp,
} from "../../../stages/normalize/mod.ts";
import { bytes, normalizeOptions, rawEvent, T0 } from "./helpers.ts";

const OPTIONS = normalizeOptions();
const NOW = T0 + 5 * 60_000; // 10:05Z
const SOURCE = { topic: "ingest.raw.agent", partition: 2, offset: "41" };

function run(text: string, options = OPTIONS, now = NOW) {
  return normalizeMessage(bytes(text), SOURCE, options, now);
}

function one(event: Record<string, unknown>, options = OPTIONS, now = NOW) {
  return run(JSON.stringify(event), options, now);
}

/** The reject reason of a single-event message (fails when it was accepted). */
function reason(event: Record<string, unknown>, options = OPTIONS, now = NOW): string {
  const result = one(event, options, now);
  assert.equal(result.events.length, 0, `expected a reject, got ${JSON.stringify(result.events)}`);
  assert.equal(result.rejects.length, 1);
  return result.rejects[0].reason;
}

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

Deno.test("metric names: snake_case, accents, aliases, limits", async (t) => {
  const canonical: [string, string][] = [
    ["cpu.load", "cpu_load"],
    ["CPU_Load", "cpu_load"],
    ["cpuLoad", "cpu_load"],
    ["cpu-load", "cpu_load"],
    [" cpu load ", "cpu_load"],
    ["CPULoad", "cpu_load"],
    ["cpu__load", "cpu_load"],
    ["_cpu_load_", "cpu_load"],
    ["cpu/load%", "cpu_load"],
    ["diskIOPS", "disk_iops"],
    ["HTTPServerErrors", "http_server_errors"],
    ["http2xx", "http2xx"],
    ["température", "temperature"],
    ["net.rx-bytes.total", "net_rx_bytes_total"],
    ["...", ""],
    ["温度", ""],
  ];
  for (const [name, expected] of canonical) {
    await t.step(`canonical ${JSON.stringify(name)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(canonicalMetricName(name), expected);
    });
  }
  const resolved: [string, string][] = [
    ["cpu", "cpu_load"],
    ["CPU", "cpu_load"],
    ["Cpu.", "cpu_load"],
    ["load", "cpu_load"],
    ["mem", "mem_used"],
    ["Mem", "mem_used"],
    ["cpu_load", "cpu_load"],
    ["cpu_user", "cpu_user"],
  ];
  for (const [name, expected] of resolved) {
    await t.step(`default aliases ${JSON.stringify(name)} -> ${expected}`, () => {
      assert.deepEqual(normalizeMetricName(name, OPTIONS), { name: expected });
    });
  }
  await t.step("custom alias keys and targets are normalized the same way", () => {
    const options = normalizeOptions({ aliases: { "Disk.Used": "disk-used-bytes", "temp": "température" } });
    assert.deepEqual(normalizeMetricName("diskUsed", options), { name: "disk_used_bytes" });
    assert.deepEqual(normalizeMetricName("TEMP", options), { name: "temperature" });
    assert.deepEqual(
      normalizeMetricName("cpu", options),
      { name: "cpu" },
      "defaults replaced by the configured table",
    );
  });
  await t.step("aliases are applied once (not chained)", () => {
    const options = normalizeOptions({ aliases: { a: "b", b: "c" } });
    assert.deepEqual(normalizeMetricName("a", options), { name: "b" });
  });
  const rejects: [string, string][] = [
    ["...", 'metric: "..." is empty after normalization'],
    ["5xx_errors", 'metric: "5xx_errors" must start with a letter (normalized to "5xx_errors")'],
    [
      "a".repeat(129),
      `metric: "${"a".repeat(58)}… is 129 chars after normalization, over the 128-char limit`,
    ],
  ];
  for (const [name, why] of rejects) {
    await t.step(
      `reject ${name.slice(0, 20)}`,
      () => assert.deepEqual(normalizeMetricName(name, OPTIONS), { reason: why }),
    );
  }
  await t.step("128 chars is allowed", () => {
    assert.deepEqual(normalizeMetricName("a".repeat(128), OPTIONS), { name: "a".repeat(128) });
  });
  await t.step("a bad alias table fails at compile time, naming the key", () => {
    assert.throws(
      () => compileNormalizeOptions(normalizeOptions({ aliases: { x: "9lives" } })),
      /normalize\.aliases\.x: target "9lives"/,
    );
    assert.throws(
      () => compileNormalizeOptions(normalizeOptions({ aliases: { "--": "cpu" } })),
      /normalize\.aliases\.--: alias name is empty/,
    );
  });
});

Deno.test("message shapes: object, array, NDJSON", async (t) => {
  await t.step("one object -> one envelope with deterministic id and source", () => {
    const { events, rejects } = one(rawEvent());
    assert.deepEqual(rejects, []);
    assert.deepEqual(events, [{
      v: 1,
      id: "ingest.raw.agent:2:41:0",
      tenant: "acme",
      host: "host-a",
      metric: "cpu_load",
      value: 85,
      unit: "percent",
      ts: T0,
      ts_ingest: NOW,
      tags: { env: "prod" },
      ctx: {},
      source: { topic: "ingest.raw.agent", partition: 2, offset: "41", index: 0 },
    }]);
    assert.ok(EnvelopeSchema.safeParse(events[0]).success);
  });
  await t.step("array: each element its own index; a bad element rejected alone", () => {
    const text = JSON.stringify([
      rawEvent({ value: 1 }),
      rawEvent({ value: "x" }),
      7,
      rawEvent({ value: 3 }),
    ]);
    const { events, rejects } = run(text);
    assert.deepEqual(events.map((e) => [e.id, e.value]), [["ingest.raw.agent:2:41:0", 1], [
      "ingest.raw.agent:2:41:3",
      3,
    ]]);
    assert.deepEqual(rejects, [
      {
        index: 1,
        reason: 'value: expected a finite number, got "x"',
        original: JSON.stringify(rawEvent({ value: "x" })),
        encoding: "utf8",
      },
      { index: 2, reason: "element is a number, expected a JSON object", original: "7", encoding: "utf8" },
    ]);
  });
  await t.step("NDJSON: blank lines and CRLF ignored, indices count events", () => {
    const lines = [
      JSON.stringify(rawEvent({ value: 1 })),
      "",
      "  ",
      JSON.stringify(rawEvent({ value: 2 })),
      "",
    ];
    const { events, rejects } = run(lines.join("\r\n"));
    assert.deepEqual(rejects, []);
    assert.deepEqual(events.map((e) => [e.source.index, e.value]), [[0, 1], [1, 2]]);
  });
  await t.step("NDJSON with leading blank lines", () => {
    const { events } = run(
      `\n\n${JSON.stringify(rawEvent({ value: 1 }))}\n${JSON.stringify(rawEvent({ value: 2 }))}`,
    );
    assert.equal(events.length, 2);
  });
  await t.step("NDJSON: a bad line is rejected alone, with its line number and text", () => {
    const text = [
      JSON.stringify(rawEvent({ value: 1 })),
      '{"tenant_id": oops}',
      JSON.stringify([rawEvent()]),
      JSON.stringify(rawEvent({ value: 4 })),
    ].join("\n");
    const { events, rejects } = run(text);
    assert.deepEqual(events.map((e) => [e.source.index, e.value]), [[0, 1], [3, 4]]);
    assert.equal(rejects.length, 2);
    assert.equal(rejects[0].index, 1);
    assert.match(rejects[0].reason, /^NDJSON line 2 is not valid JSON: .*position 14/);
    assert.equal(rejects[0].original, '{"tenant_id": oops}');
    assert.deepEqual(rejects[1], {
      index: 2,
      reason: "NDJSON line 3 is an array, expected one JSON object per line",
      original: JSON.stringify([rawEvent()]),
      encoding: "utf8",
    });
  });
  await t.step("pretty-printed object and array are one JSON document, not NDJSON", () => {
    assert.equal(run(JSON.stringify(rawEvent(), null, 2)).events.length, 1);
    assert.equal(run(JSON.stringify([rawEvent(), rawEvent()], null, 2)).events.length, 2);
  });
  await t.step("trailing newline and BOM", () => {
    assert.equal(run(`${JSON.stringify(rawEvent())}\n`).events.length, 1);
    assert.equal(run(`\uFEFF${JSON.stringify(rawEvent())}`).events.length, 1);
  });
  await t.step("empty array: nothing to do", () => {
    assert.deepEqual(run("[]"), { events: [], rejects: [] });
  });
});

Deno.test("whole-message rejects (index 0)", async (t) => {
  const cases: [string, string | RegExp][] = [
    ["", "message is empty"],
    [" \n \n", "message is empty"],
    ["42", "message is a number, expected a JSON object, an array of objects or NDJSON lines"],
    ['"text"', "message is a string, expected a JSON object, an array of objects or NDJSON lines"],
    ["null", "message is null, expected a JSON object, an array of objects or NDJSON lines"],
    ["true", "message is a boolean, expected a JSON object, an array of objects or NDJSON lines"],
    [
      '{"a":1,}',
      "message is not valid JSON: Expected double-quoted property name in JSON at position 7 (line 1 column 8)",
    ],
    ['{"a":tru}', /^message is not valid JSON: .* \(at position 8, line 1 column 9\)$/],
    ['{\n  "tenant_id": "acme",\n  oops\n}', /^message is not valid JSON: .*(position 27|line 3 column 3)/],
    ["hello world", /^message is not valid JSON: .*/],
  ];
  for (const [text, expected] of cases) {
    await t.step(JSON.stringify(text), () => {
      const { events, rejects } = run(text);
      assert.deepEqual(events, []);
      assert.equal(rejects.length, 1);
      assert.equal(rejects[0].index, 0);
      assert.equal(rejects[0].original, text);
      assert.equal(rejects[0].encoding, "utf8");
      if (typeof expected === "string") assert.equal(rejects[0].reason, expected);
      else assert.match(rejects[0].reason, expected);
    });
  }
  await t.step("over-size message: reason with sizes, original truncated", () => {
    const big = new Uint8Array(2_000_000).fill(0x61);
    const { events, rejects } = normalizeMessage(big, SOURCE, OPTIONS, NOW);
    assert.deepEqual(events, []);
    assert.equal(
      rejects[0].reason,
      "message is 2000000 bytes, over the 1048576-byte limit (original truncated to 65536 bytes)",
    );
    assert.equal(rejects[0].original.length, 65_536);
    assert.equal(rejects[0].encoding, "utf8");
  });
  await t.step("over-size truncation does not split a UTF-8 character", () => {
    const options = normalizeOptions({ max_message_bytes: 64 });
    const text = "é".repeat(40); // 80 bytes; byte 64 starts a character, byte 63 ends one
    const odd = `a${text}`; // 81 bytes; byte 64 is a continuation byte
    assert.equal(normalizeMessage(bytes(text), SOURCE, options, NOW).rejects[0].original, "é".repeat(32));
    assert.equal(
      normalizeMessage(bytes(odd), SOURCE, options, NOW).rejects[0].original,
      `a${"é".repeat(31)}`,
    );
  });
  await t.step("exactly max_message_bytes is accepted", () => {
    const text = JSON.stringify(rawEvent());
    const options = normalizeOptions({ max_message_bytes: bytes(text).length });
    assert.equal(normalizeMessage(bytes(text), SOURCE, options, NOW).events.length, 1);
  });
  await t.step("over-size and invalid UTF-8: truncated base64 original", () => {
    const options = normalizeOptions({ max_message_bytes: 64 });
    const { rejects } = normalizeMessage(new Uint8Array(100).fill(0xff), SOURCE, options, NOW);
    assert.equal(rejects[0].encoding, "base64");
    assert.equal(rejects[0].original, btoa(String.fromCharCode(...new Uint8Array(64).fill(0xff))));
  });
  await t.step("a real U+FFFD is valid UTF-8; a truncated sequence in a Buffer slice is not", () => {
    const valid = run(JSON.stringify(rawEvent({ tags: { note: "bad \uFFFD byte" } })));
    assert.equal(valid.rejects.length, 0);
    assert.equal(valid.events[0].tags.note, "bad \uFFFD byte");
    // Kafka hands out Buffers that are slices of a larger fetch response.
    const whole = Buffer.concat([
      Buffer.from("xx"),
      Buffer.from('{"a":"\u00e9'),
      Buffer.from([0xc3]),
      Buffer.from('"}yy'),
    ]);
    const slice = whole.subarray(2, whole.length - 2);
    const { events, rejects } = normalizeMessage(slice, SOURCE, OPTIONS, NOW);
    assert.equal(events.length, 0);
    assert.equal(rejects[0].reason, "message is not valid UTF-8");
    assert.equal(rejects[0].original, btoa(String.fromCharCode(...slice)));
  });
  await t.step("invalid UTF-8: base64 original", () => {
    const { rejects } = normalizeMessage(new Uint8Array([0x7b, 0xff, 0x7d]), SOURCE, OPTIONS, NOW);
    assert.deepEqual(rejects, [{
      index: 0,
      reason: "message is not valid UTF-8",
      original: "e/99",
      encoding: "base64",
    }]);
  });
});

Deno.test("element reject reasons", async (t) => {
  const long = "h".repeat(257);
  const cases: [string, Record<string, unknown>, string][] = [
    ["missing tenant_id", rawEvent({ tenant_id: undefined }), "missing field tenant_id"],
    [
      "missing several",
      { tenant_id: "acme" },
      "missing field host; missing field metric; missing field value; missing field ts_event",
    ],
    ["value string", rawEvent({ value: "abc" }), 'value: expected a finite number, got "abc"'],
    ["value numeric string", rawEvent({ value: "85" }), 'value: expected a finite number, got "85"'],
    ["value null", rawEvent({ value: null }), "value: expected a finite number, got null"],
    ["value bool", rawEvent({ value: true }), "value: expected a finite number, got true"],
    ["tenant number", rawEvent({ tenant_id: 42 }), "tenant_id: expected a string, got 42"],
    ["tenant empty", rawEvent({ tenant_id: "" }), "tenant_id: must not be empty"],
    ["tenant blank", rawEvent({ tenant_id: "   " }), "tenant_id: must not be blank"],
    [
      "tenant pipe",
      rawEvent({ tenant_id: "a|b" }),
      'tenant_id: must not contain "|" (the series key separator)',
    ],
    ["host control char", rawEvent({ host: "a\u0001b" }), "host: contains control characters"],
    ["host DEL", rawEvent({ host: "a\u007fb" }), "host: contains control characters"],
    ["host too long", rawEvent({ host: long }), "host: 257 chars, over the 256-char limit"],
    ["host pipe", rawEvent({ host: "h|x" }), 'host: must not contain "|" (the series key separator)'],
    ["host object", rawEvent({ host: { a: 1 } }), 'host: expected a string, got {"a":1}'],
    ["metric empty", rawEvent({ metric: "" }), "metric: must not be empty"],
    ["metric punctuation", rawEvent({ metric: "..." }), 'metric: "..." is empty after normalization'],
    [
      "metric digit",
      rawEvent({ metric: "5xx" }),
      'metric: "5xx" must start with a letter (normalized to "5xx")',
    ],
    ["unit number", rawEvent({ unit: 5 }), "unit: expected a string, got 5"],
    ["ts unparseable", rawEvent({ ts_event: "yesterday" }), 'ts_event: unparseable timestamp "yesterday"'],
    [
      "ts bool",
      rawEvent({ ts_event: true }),
      "ts_event: expected an ISO 8601 string or an epoch number, got true",
    ],
    ["ts empty", rawEvent({ ts_event: "" }), "ts_event: must not be empty"],
    [
      "ts null",
      rawEvent({ ts_event: null }),
      "ts_event: expected an ISO 8601 string or an epoch number, got null",
    ],
    [
      "ts no offset",
      rawEvent({ ts_event: "2025-10-21T10:00:00" }),
      'ts_event: "2025-10-21T10:00:00" has no UTC offset (ambiguous); add Z or an offset like +02:00',
    ],
    [
      "ts far future",
      rawEvent({ ts_event: "2099-01-01T00:00:00Z" }),
      "ts_event 2099-01-01T00:00:00.000Z is 73 years in the future (max skew 10m)",
    ],
    [
      "ts just past the skew",
      rawEvent({ ts_event: NOW + 600_001 }),
      "ts_event 2025-10-21T10:15:00.001Z is 10 minutes in the future (max skew 10m)",
    ],
    [
      "tags not an object",
      rawEvent({ tags: ["a"] }),
      'tags: expected an object of string, number or boolean values, got ["a"]',
    ],
    [
      "tag value object",
      rawEvent({ tags: { a: { b: 1 } } }),
      'tags.a: expected a string, number or boolean, got {"b":1}',
    ],
    [
      "tag value null",
      rawEvent({ tags: { a: null } }),
      "tags.a: expected a string, number or boolean, got null",
    ],
    ["tag empty key", rawEvent({ tags: { " ": "x" } }), "tags: empty tag key"],
    [
      "tag duplicate after trim",
      rawEvent({ tags: { env: "a", " env": "b" } }),
      'tags: duplicate key "env" after trimming',
    ],
    [
      "tag key __proto__",
      { ...rawEvent(), tags: JSON.parse('{"__proto__": "x"}') },
      'tags: key "__proto__" is not allowed',
    ],
    [
      "too many tags",
      rawEvent({ tags: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) }),
      "tags: 33 tags, over the limit of 32",
    ],
    [
      "tag key too long",
      rawEvent({ tags: { ["k".repeat(257)]: "v" } }),
      `tags: key "${"k".repeat(38)}… is 257 chars, over the 256-char limit`,
    ],
    [
      "tag value too long",
      rawEvent({ tags: { env: "v".repeat(257) } }),
      'tags."env": value is 257 chars, over the 256-char limit',
    ],
    [
      "not finite after conversion",
      rawEvent({ value: 1e300, unit: "TB" }),
      "value 1e+300 TB is not finite after conversion to bytes",
    ],
    [
      "several problems are joined",
      rawEvent({ value: "abc", ts_event: "yesterday", host: " " }),
      'value: expected a finite number, got "abc"; host: must not be blank; ts_event: unparseable timestamp "yesterday"',
    ],
  ];
  for (const [name, event, expected] of cases) {
    await t.step(name, () => assert.equal(reason(event), expected));
  }
  await t.step("value 1e999 (Infinity after JSON.parse)", () => {
    const text = JSON.stringify(rawEvent({ value: 0 })).replace('"value":0', '"value":1e999');
    assert.equal(run(text).rejects[0].reason, "value is not finite (NaN/Infinity)");
  });
  await t.step("ts_event 1e999 (Infinity after JSON.parse)", () => {
    const text = JSON.stringify(rawEvent({ ts_event: 0 })).replace('"ts_event":0', '"ts_event":1e999');
    assert.equal(run(text).rejects[0].reason, "ts_event is not finite (NaN/Infinity)");
  });
  await t.step("array elements that are not objects", () => {
    assert.deepEqual(run('[[1], null, "s"]').rejects.map((r) => r.reason), [
      "element is an array, expected a JSON object",
      "element is null, expected a JSON object",
      "element is a string, expected a JSON object",
    ]);
  });
  await t.step("too old (max_age)", () => {
    const options = normalizeOptions({ max_age: "1d" });
    assert.equal(
      reason(rawEvent({ ts_event: "2025-10-19T10:00:00Z" }), options),
      "ts_event 2025-10-19T10:00:00.000Z is 2 days old (max age 1d)",
    );
  });
  await t.step("max_age 0 disables the age check", () => {
    assert.equal(one(rawEvent({ ts_event: 86_400 }), normalizeOptions({ max_age: "0s" })).events.length, 1);
  });
  await t.step("exactly at the skew and age limits is accepted", () => {
    const options = normalizeOptions({ max_age: "1d" });
    assert.equal(one(rawEvent({ ts_event: NOW + 600_000 }), options).events.length, 1);
    assert.equal(one(rawEvent({ ts_event: NOW - 86_400_000 }), options).events.length, 1);
  });
  await t.step("tag limits are configurable (max_tags 0, max_tag_length 3)", () => {
    assert.equal(
      reason(rawEvent({ tags: { a: "b" } }), normalizeOptions({ max_tags: 0 })),
      "tags: 1 tags, over the limit of 0",
    );
    assert.equal(
      reason(rawEvent({ tags: { abcd: "x" } }), normalizeOptions({ max_tag_length: 3 })),
      'tags: key "abcd" is 4 chars, over the 3-char limit',
    );
    assert.equal(
      one(rawEvent({ tags: { abc: "xyz" } }), normalizeOptions({ max_tag_length: 3 })).events.length,
      1,
    );
  });
});

Deno.test("accepted events: coercions and conversions", async (t) => {
  await t.step("tenant/host trimmed, tag keys trimmed, tag values coerced to strings", () => {
    const { events } = one(
      rawEvent({ tenant_id: " acme ", host: "\thost-a ", tags: { " env ": "prod", n: 1.5, b: true, z: 0 } }),
    );
    assert.equal(events[0].tenant, "acme");
    assert.equal(events[0].host, "host-a");
    assert.deepEqual(events[0].tags, { env: "prod", n: "1.5", b: "true", z: "0" });
  });
  await t.step("tag values keep their whitespace", () => {
    assert.deepEqual(one(rawEvent({ tags: { env: " prod " } })).events[0].tags, { env: " prod " });
  });
  await t.step("missing tags and unit", () => {
    const { events } = one(rawEvent({ tags: undefined, unit: undefined }));
    assert.deepEqual(events[0].tags, {});
    assert.equal(events[0].unit, "");
    assert.equal("unit_original" in events[0], false);
  });
  await t.step("unknown extra fields are ignored", () => {
    assert.equal(one(rawEvent({ extra: { deep: [1] }, seq: 9 })).events.length, 1);
  });
  const units: [string, number, number, string, string | undefined][] = [
    ["percent", 85, 85, "percent", undefined],
    ["%", 85, 85, "percent", "%"],
    ["ratio", 0.855, 85.5, "percent", "ratio"],
    ["MiB", 2, 2_097_152, "bytes", "MiB"],
    ["Mbit/s", 8, 1_000_000, "bytes_per_second", "Mbit/s"],
    ["ms", 250, 0.25, "seconds", "ms"],
    ["°F", 212, 100, "celsius", "°F"],
    ["RPM", 900, 900, "rpm", "RPM"],
    ["rpm", 900, 900, "rpm", undefined],
    [" percent ", 5, 5, "percent", undefined],
    ["", 5, 5, "", undefined],
  ];
  for (const [unit, value, expected, canonical, original] of units) {
    await t.step(`${value} ${JSON.stringify(unit)} -> ${expected} ${canonical}`, () => {
      const [event] = one(rawEvent({ value, unit })).events;
      assert.equal(event.value, expected);
      assert.equal(event.unit, canonical);
      assert.equal(event.unit_original, original);
      assert.ok(EnvelopeSchema.safeParse(event).success);
    });
  }
  await t.step("metric aliasing through the message path", () => {
    assert.equal(one(rawEvent({ metric: "CPU" })).events[0].metric, "cpu_load");
    assert.equal(one(rawEvent({ metric: "cpu.user" })).events[0].metric, "cpu_user");
  });
  await t.step("every timestamp form through the message path", () => {
    for (
      const ts of [
        "2025-10-21T12:00:00+02:00",
        1_761_040_800,
        1_761_040_800_000,
        "1761040800000000",
        1_761_040_800_000_000_000,
      ]
    ) {
      assert.equal(one(rawEvent({ ts_event: ts })).events[0].ts, T0, String(ts));
    }
  });
});

Deno.test("the hot-path schema check agrees with RawEventSchema", async (t) => {
  const base = rawEvent();
  const variants: Record<string, unknown>[] = [
    base,
    { ...base, tags: undefined },
    { ...base, unit: undefined },
    { ...base, ts_event: 1_761_040_800 },
    { ...base, extra: 1 },
    { ...base, tags: {} },
    { ...base, tags: { a: 1, b: true, c: "x" } },
  ];
  const fields = ["tenant_id", "host", "metric", "value", "ts_event", "unit", "tags"];
  const badValues: unknown[] = [
    undefined,
    null,
    "",
    "x",
    0,
    -1.5,
    Infinity,
    NaN,
    true,
    [],
    {},
    [1],
    { a: {} },
    { a: null },
    { a: Infinity },
    { a: "s", b: 2 },
  ];
  for (const field of fields) {
    for (const value of badValues) variants.push({ ...base, [field]: value });
  }
  for (const variant of variants) {
    await t.step(
      JSON.stringify(variant, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)),
      () => {
        assert.equal(conformsToRawSchema(variant), RawEventSchema.safeParse(variant).success);
      },
    );
  }
});

Deno.test("normalize agrees with RawEventSchema (schema is the contract)", () => {
  const samples: unknown[] = [
    rawEvent(),
    rawEvent({ value: "1" }),
    rawEvent({ tags: { a: [1] } }),
    rawEvent({ unit: null }),
    rawEvent({ ts_event: {} }),
    rawEvent({ metric: 7 }),
    { tenant_id: "a", host: "b", metric: "c", value: 1, ts_event: 1_761_040_800 },
    rawEvent({ tags: { a: 1, b: false } }),
  ];
  for (const sample of samples) {
    const accepted = one(sample as Record<string, unknown>).events.length === 1;
    if (accepted) assert.ok(RawEventSchema.safeParse(sample).success, JSON.stringify(sample));
    if (!RawEventSchema.safeParse(sample).success) assert.equal(accepted, false, JSON.stringify(sample));
  }
});

Deno.test("options objects are compiled once and stay independent", () => {
  const a = normalizeOptions({ aliases: { foo: "bar" } });
  const b = normalizeOptions({ aliases: { foo: "baz" } });
  assert.equal(one(rawEvent({ metric: "foo" }), a).events[0].metric, "bar");
  assert.equal(one(rawEvent({ metric: "foo" }), b).events[0].metric, "baz");
  assert.equal(one(rawEvent({ metric: "foo" }), a).events[0].metric, "bar");
});

Deno.test("normalizeMessageTo hands events and rejects to the sink in element order", () => {
  const text = [
    JSON.stringify(rawEvent({ value: 1 })),
    "{broken",
    JSON.stringify(rawEvent({ value: 2 })),
    JSON.stringify(rawEvent({ metric: "" })),
    JSON.stringify(rawEvent({ value: 3 })),
  ].join("\n");
  const seen: string[] = [];
  const events: Envelope[] = [];
  const rejects: NormalizeReject[] = [];
  normalizeMessageTo(
    {
      event: (event, index) => {
        seen.push(`event ${index}`);
        events.push(toEnvelope(event, { ...SOURCE, index }, {}));
      },
      reject: (reject) => {
        seen.push(`reject ${reject.index}`);
        rejects.push(reject);
      },
    },
    bytes(text),
    OPTIONS,
    NOW,
  );
  assert.deepEqual(seen, ["event 0", "reject 1", "event 2", "reject 3", "event 4"]);
  // The same events and rejects as the collecting form.
  assert.deepEqual({ events, rejects }, run(text));
  // Whole-message rejects go to the sink too.
  const whole: NormalizeReject[] = [];
  normalizeMessageTo(
    { event: () => assert.fail("no event"), reject: (r) => whole.push(r) },
    new Uint8Array([0xff, 0xfe]),
    OPTIONS,
    NOW,
  );
  assert.deepEqual(whole.map((r) => [r.index, r.reason, r.encoding]), [[
    0,
    "message is not valid UTF-8",
    "base64",
  ]]);
});

Deno.test("normalizeMessageTo: a sink may normalize another message, and a throwing sink leaves no trace", () => {
  const outer = `[${JSON.stringify(rawEvent({ value: 1 }))},${JSON.stringify(rawEvent({ value: 2 }))}]`;
  const innerSource = { topic: "other", partition: 0, offset: "7" };
  const ids: string[] = [];
  normalizeMessageTo(
    {
      event: (_event, index) => {
        ids.push(eventId({ ...SOURCE, index }));
        // Re-entrant use of the same options object, from inside the sink.
        for (
          const inner of normalizeMessage(bytes(JSON.stringify(rawEvent())), innerSource, OPTIONS, NOW).events
        ) {
          ids.push(inner.id);
        }
      },
      reject: () => assert.fail("no reject"),
    },
    bytes(outer),
    OPTIONS,
    NOW,
  );
  assert.deepEqual(ids, ["ingest.raw.agent:2:41:0", "other:0:7:0", "ingest.raw.agent:2:41:1", "other:0:7:0"]);
  assert.throws(
    () =>
      normalizeMessageTo(
        {
          event: () => {
            throw new Error("sink failed");
          },
          reject: () => {},
        },
        bytes(outer),
        OPTIONS,
        NOW,
      ),
    /sink failed/,
  );
  // The next message is normalized as if nothing happened.
  assert.deepEqual(run(outer).events.map((e) => e.value), [1, 2]);
});

Deno.test("tags that need no change are kept as parsed; any that do go through the checks", () => {
  const atLimits = Object.fromEntries(
    Array.from({ length: 32 }, (_, i) => [`${i}`.padStart(256, "k"), "v".repeat(256)]),
  );
  assert.deepEqual(one(rawEvent({ tags: atLimits })).events[0].tags, atLimits);
  // Unicode whitespace is trimmed as String.prototype.trim does (no-break space, BOM, line separator).
  assert.deepEqual(one(rawEvent({ tags: { "\u00a0env\ufeff": "prod", "\u2028b": "x" } })).events[0].tags, {
    env: "prod",
    b: "x",
  });
  // One value to coerce: the whole map is rebuilt, in order.
  assert.deepEqual(one(rawEvent({ tags: { a: "x", n: 2, c: "y" } })).events[0].tags, {
    a: "x",
    n: "2",
    c: "y",
  });
  // The limits still apply to tags that are otherwise clean.
  assert.match(reason(rawEvent({ tags: { ...atLimits, extra: "x" } })), /33 tags, over the limit of 32/);
  assert.match(reason(rawEvent({ tags: { env: "v".repeat(257) } })), /over the 256-char limit/);
});

Deno.test("lone surrogates: the element is rejected with the field named, valid pairs pass", async (t) => {
  const fix = "not valid Unicode; send the character itself or a complete surrogate pair";
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "tag value",
      rawEvent({ tags: { s: "\udfff" } }),
      `tags.s: lone surrogate "\\udfff" at character 1, ${fix}`,
    ],
    [
      "tag key",
      rawEvent({ tags: { ["k\ud800"]: "v" } }),
      `tags: key "k\\ud800" has a lone surrogate "\\ud800" at character 2, ${fix}`,
    ],
    [
      "tenant",
      rawEvent({ tenant_id: "a\udc00" }),
      `tenant_id: lone surrogate "\\udc00" at character 2, ${fix}`,
    ],
    ["host", rawEvent({ host: "\ud83dh" }), `host: lone surrogate "\\ud83d" at character 1, ${fix}`],
    ["metric", rawEvent({ metric: "cpu\udfff" }), `metric: lone surrogate "\\udfff" at character 4, ${fix}`],
    ["unit", rawEvent({ unit: "%\udfff" }), `unit: lone surrogate "\\udfff" at character 2, ${fix}`],
  ];
  for (const [name, event, want] of cases) {
    await t.step(name, () => {
      // JSON.stringify escapes lone surrogates: the message is the JSON text a sender writes.
      const got = reason(event);
      assert.ok(got.includes(want), `${got}\n  does not include\n${want}`);
      assert.ok(got.isWellFormed(), "the reason itself is valid Unicode");
    });
  }
  await t.step("an NDJSON line and an array element are rejected alone", () => {
    const bad = JSON.stringify(rawEvent({ tags: { s: "\udfff" } }));
    const good = JSON.stringify(rawEvent());
    const lines = run(`${good}\n${bad}\n${good}`);
    assert.deepEqual([lines.events.length, lines.rejects.map((r) => r.index)], [2, [1]]);
    const array = run(`[${good},${bad}]`);
    assert.deepEqual([array.events.length, array.rejects.map((r) => r.index)], [1, [1]]);
  });
  await t.step("valid pairs, escaped or not, and an escaped backslash before u are accepted", () => {
    const result = run(
      JSON.stringify(rawEvent({ tags: { e: "\ud83d\ude00", raw: "😀", text: "\\udfff" } })).replace(
        "😀",
        "\\ud83d\\ude00",
      ),
    );
    assert.equal(result.rejects.length, 0, JSON.stringify(result.rejects));
    assert.deepEqual(result.events[0].tags, { e: "😀", raw: "😀", text: "\\udfff" });
  });
});
