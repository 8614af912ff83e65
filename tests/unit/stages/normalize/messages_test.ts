/** Normalize: message shapes, whole-message rejects, the sink (`stages/normalize/messages.ts`). */
import assert from "node:assert/strict";
import { type Envelope, EnvelopeSchema, eventId, toEnvelope } from "../../../../model/envelope.ts";
import {
  normalizeMessage,
  normalizeMessageTo,
  type NormalizeReject,
} from "../../../../stages/normalize/mod.ts";
import { bytes, normalizeOptions, rawEvent, T0 } from "../helpers.ts";
import { NOW, one, OPTIONS, run, SOURCE } from "./fixtures.ts";

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
