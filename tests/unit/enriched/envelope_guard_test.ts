import assert from "node:assert/strict";
import { EnvelopeSchema } from "../../../model/envelope.ts";
import { isExactEnvelope, parseEnvelope } from "../../../enriched/envelope_guard.ts";
import { VALID_ENVELOPE } from "../pipeline/fixtures.ts";

const VALID = VALID_ENVELOPE;

type Json = Record<string, unknown>;

function withField(base: Json, path: string[], value: unknown): Json {
  const copy: Json = structuredClone(base);
  let target = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Json;
  if (value === DELETE) delete target[path[path.length - 1]];
  else target[path[path.length - 1]] = value;
  return copy;
}

const DELETE = Symbol("delete");

/** The guard never accepts what zod rejects, and accepts exactly zod's output when it accepts. */
function agrees(value: unknown, what: string): void {
  const zod = EnvelopeSchema.safeParse(value);
  if (isExactEnvelope(value)) {
    assert.ok(zod.success, `${what}: guard accepted, zod rejected`);
    assert.deepEqual(zod.data, value, `${what}: zod's output differs from the input`);
  }
  const ours = parseEnvelope(value);
  assert.equal(ours.success, zod.success, `${what}: parseEnvelope and zod disagree`);
  if (ours.success && zod.success) assert.deepEqual(ours.data, zod.data, what);
}

Deno.test("envelope guard: accepts the common valid shapes without zod", () => {
  assert.ok(isExactEnvelope(VALID));
  assert.ok(isExactEnvelope({ ...VALID, unit_original: "MiB", tags: {}, ctx: {} }));
  assert.ok(isExactEnvelope(JSON.parse(JSON.stringify(VALID))));
  agrees(VALID, "valid");
});

const VARIANTS: unknown[] = [
  undefined,
  null,
  1,
  "x",
  true,
  [],
  {},
  [VALID],
  Object.create(null),
  -1,
  0,
  1.5,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "",
  "1",
  "01",
  "a b",
  "Cpu",
  "cpu_load",
  "9x",
  { a: "b" },
  { a: 1 },
  JSON.parse(`{"__proto__":"x"}`),
  DELETE,
];

Deno.test("envelope guard: agrees with zod on every field replaced by every variant", () => {
  const fields = [
    ...Object.keys(VALID).map((key) => [key]),
    ["unit_original"],
    ["extra"],
    ["source", "topic"],
    ["source", "partition"],
    ["source", "offset"],
    ["source", "index"],
    ["source", "extra"],
    ["tags", "k"],
    ["ctx", "k"],
  ];
  let checked = 0;
  for (const path of fields) {
    for (const variant of VARIANTS) {
      agrees(withField(VALID, path, variant), `${path.join(".")} = ${Deno.inspect(variant)}`);
      checked++;
    }
  }
  for (const variant of VARIANTS) agrees(variant, `whole value ${Deno.inspect(variant)}`);
  assert.ok(checked > 400);
});

Deno.test("envelope guard: extra keys and bad values go through zod (stripped or explained)", () => {
  const extra = parseEnvelope({ ...VALID, extra: 1, source: { ...VALID.source, more: true } });
  assert.ok(extra.success);
  assert.deepEqual(extra.data, VALID);
  const bad = parseEnvelope({ ...VALID, metric: "Bad Metric" });
  assert.equal(bad.success, false);
  if (!bad.success) assert.match(bad.reason, /^metric: /);
});

Deno.test("envelope guard: JSON round trip of 1,000 random envelopes agrees with zod", () => {
  let a = 7;
  const random = () => {
    a = (a * 1_103_515_245 + 12_345) % 2 ** 31;
    return a / 2 ** 31;
  };
  for (let i = 0; i < 1_000; i++) {
    const base: Json = {
      ...VALID,
      value: (random() - 0.5) * 10 ** Math.floor(random() * 12),
      ts: Math.floor(random() * 2e12),
      tags: Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, k) => [`t${k}`, `${k}`])),
      source: {
        ...VALID.source,
        offset: String(Math.floor(random() * 1e9)),
        index: Math.floor(random() * 5),
      },
    };
    const mutated = random() < 0.3
      ? withField(base, ["value"], random() < 0.5 ? String(base.value) : null)
      : base;
    agrees(JSON.parse(JSON.stringify(mutated)), `random ${i}`);
  }
});
