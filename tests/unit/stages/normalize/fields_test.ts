/** Normalize: element checks and conversions, the schema agreement, tags, lone surrogates (`fields.ts`). */
import { ConfigSchema } from "../../../../config/schema.ts";
import assert from "node:assert/strict";
import { EnvelopeSchema } from "../../../../model/envelope.ts";
import { RawEventSchema } from "../../../../model/raw.ts";
import { conformsToRawSchema } from "../../../../stages/normalize/mod.ts";
import { normalizeOptions, rawEvent, T0 } from "../helpers.ts";
import { NOW, one, reason, run } from "./fixtures.ts";

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
  await t.step("max_age 0 with retention 0s disables the age check", () => {
    const options =
      ConfigSchema.parse({ normalize: { max_age: "0s" }, store: { parquet: { retention: "0s" } } })
        .normalize;
    assert.equal(one(rawEvent({ ts_event: 86_400 }), options).events.length, 1);
  });
  await t.step("the retention bounds the age: older events are refused, not stored and deleted", () => {
    const defaults = ConfigSchema.parse({}).normalize;
    assert.equal(defaults.max_age, 30 * 86_400_000);
    assert.equal(
      reason(rawEvent({ ts_event: "2025-09-01T10:00:00Z" }), defaults),
      "ts_event 2025-09-01T10:00:00.000Z is 50 days old (max age 30d, the store's retention " +
        "store.parquet.retention: older events would be deleted at once)",
    );
    assert.equal(one(rawEvent({ ts_event: NOW - 29 * 86_400_000 }), defaults).events.length, 1);
    // max_age 0 (no limit of its own) and a longer max_age are bounded by the retention too
    assert.equal(normalizeOptions({ max_age: "0s" }).max_age, 30 * 86_400_000);
    assert.equal(normalizeOptions({ max_age: "400d" }).max_age, 30 * 86_400_000);
    // a shorter max_age stays; without a retention, max_age alone
    assert.equal(normalizeOptions({ max_age: "1d" }).max_age, 86_400_000);
    const keepAll = ConfigSchema.parse({ store: { parquet: { retention: "0s" } } }).normalize;
    assert.equal(keepAll.max_age, 3650 * 86_400_000);
    assert.equal(one(rawEvent({ ts_event: "2025-09-01T10:00:00Z" }), keepAll).events.length, 1);
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
