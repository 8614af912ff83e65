/**
 * A seeded generator of hostile raw messages for the accounting check: bad JSON, deep nesting, huge
 * numbers, NaN-ish strings, wrong types, bad timestamps, unicode oddities, empty and whitespace
 * messages, arrays of mixed good and bad elements, NDJSON with bad lines, binary, oversized. Each
 * message says what becomes of each of its elements (as the agent counts them: array items,
 * non-blank NDJSON lines, or the whole message when it is unreadable): stored, dead-lettered, or
 * either (where the rules allow both readings).
 *
 * @module
 */
import { prng } from "../../lib/prng.ts";

/** What becomes of one element. */
export type Fate = "stored" | "dlq" | "either";

/** One hostile message: its kind, its bytes (null: a message without a value), its elements' fates. */
export interface HostileMessage {
  kind: string;
  value: Uint8Array | null;
  fates: Fate[];
}

/** `normalize.max_message_bytes` the corpus is made for (its oversized messages are larger). */
export const CORPUS_MAX_MESSAGE_BYTES = 65_536;

const encoder = new TextEncoder();

type Random = () => number;

/** A message of text whose elements have `fates`. */
function text(kind: string, body: string, fates: Fate[]): HostileMessage {
  return { kind, value: encoder.encode(body), fates };
}

/** Builds the raw events of the corpus around `nowMs`. */
class Events {
  #serial = 0;
  constructor(readonly nowMs: number, readonly random: Random) {}

  /** A valid event object (a fresh host/time so every one is stored). */
  valid(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const n = this.#serial++;
    return {
      tenant_id: "acme",
      host: `hostile-${n % 97}`,
      metric: "cpu_load",
      value: Math.round(this.random() * 7000) / 100,
      ts_event: new Date(this.nowMs - 60_000 + n).toISOString(),
      unit: "percent",
      tags: { corpus: "hostile", n: String(n) },
      ...extra,
    };
  }

  json(extra: Record<string, unknown> = {}): string {
    return JSON.stringify(this.valid(extra));
  }
}

/** The kinds: each makes one message from the events and the random source. */
const KINDS: ((e: Events, r: Random) => HostileMessage)[] = [
  (e) => text("valid object", e.json(), ["stored"]),
  (e) => text("valid array", `[${e.json()},${e.json()},${e.json()}]`, ["stored", "stored", "stored"]),
  (e) => text("valid NDJSON", `${e.json()}\n${e.json()}\n`, ["stored", "stored"]),
  (e) =>
    text("NDJSON with CRLF and blank lines", `\r\n${e.json()}\r\n\r\n${e.json()}\r\n`, ["stored", "stored"]),
  (e, r) => text("truncated JSON", e.json().slice(0, 5 + Math.floor(r() * 40)), ["dlq"]),
  () => text("bare garbage", "}{][,,:", ["dlq"]),
  () => text("deep array nesting", "[".repeat(20_000) + "]".repeat(20_000), ["dlq"]),
  (e) =>
    text("deep object in tags", e.json({ tags: JSON.parse(`${'{"a":'.repeat(500)}"x"${"}".repeat(500)}`) }), [
      "dlq",
    ]),
  (e) => text("huge number value", e.json().replace(/"value":[^,]+/, `"value":1${"0".repeat(400)}`), ["dlq"]),
  (e) => text("exponent overflow", e.json().replace(/"value":[^,]+/, '"value":1e999'), ["dlq"]),
  (e) =>
    text(
      "denormal and extreme finite values",
      `[${e.json({ value: 5e-324 })},${e.json({ value: -1.7976931348623157e308 })}]`,
      ["stored", "stored"],
    ),
  (e, r) =>
    text(
      "NaN-ish string value",
      e.json({ value: ["NaN", "Infinity", "-Infinity", "1e309", "", " 42 "][Math.floor(r() * 6)] }),
      ["dlq"],
    ),
  (e, r) => {
    const wrong: Record<string, unknown>[] = [
      { tenant_id: 42 },
      { host: null },
      { metric: [] },
      { value: true },
      { value: null },
      { tags: "x" },
      { tags: [1, 2] },
      { unit: 5 },
      { ts_event: { at: 1 } },
    ];
    return text("wrong types", e.json(wrong[Math.floor(r() * wrong.length)]), ["dlq"]);
  },
  (e, r) => {
    const bad = [
      "2025-13-40T00:00:00Z",
      "yesterday",
      1e25,
      "2025-10-21T10:00:00",
      "2025-10-21",
      new Date(e.nowMs + 86_400_000).toISOString(),
      "1900-01-01T00:00:00Z",
      "2025-02-29T00:00:00Z",
      "",
    ];
    return text("bad timestamp", e.json({ ts_event: bad[Math.floor(r() * bad.length)] }), ["dlq"]);
  },
  (e) => {
    const at = e.nowMs - 30_000;
    return text(
      "timestamp forms",
      `[${e.json({ ts_event: at / 1000 })},${e.json({ ts_event: at })},${e.json({ ts_event: at * 1000 })},${
        e.json({ ts_event: new Date(at).toISOString().replace("Z", "+00:00") })
      }]`,
      ["stored", "stored", "stored", "stored"],
    );
  },
  (e) =>
    text(
      "emoji, ZWJ and RTL override in names",
      e.json({ host: "🛰️‍🚀 edge-\u202Egw", tags: { "ключ": "值" } }),
      ["stored"],
    ),
  (e) => text("control character in the host", e.json({ host: "gw\u0000-1" }), ["dlq"]),
  (e) => text("lone surrogate in a rejected element", e.json({ value: "x", tags: { s: "\udfff" } }), ["dlq"]),
  (e) => text("pipe in the tenant (the series key separator)", e.json({ tenant_id: "a|b" }), ["dlq"]),
  (e) => text("overlong tenant", e.json({ tenant_id: "t".repeat(300) }), ["dlq"]),
  (e) => text("overlong metric", e.json({ metric: "m".repeat(200) }), ["dlq"]),
  (e) => {
    const tags: Record<string, string> = {};
    for (let i = 0; i < 40; i++) tags[`k${i}`] = "v";
    return text("too many tags", e.json({ tags }), ["dlq"]);
  },
  (e) => text("overlong tag value", e.json({ tags: { k: "v".repeat(400) } }), ["dlq"]),
  (e) => text("__proto__ tag key", e.json().replace('"tags":{', '"tags":{"__proto__":"x",'), ["dlq"]),
  (e) =>
    text(
      "duplicate keys, the last one bad",
      e.json().replace(/"value":([^,]+)/, '"value":$1,"value":"one"'),
      ["dlq"],
    ),
  () => text("empty message", "", ["dlq"]),
  (_, r) => text("whitespace message", [" ", "\n\n", "\t \r\n", "\u00a0"][Math.floor(r() * 4)], ["dlq"]),
  () => ({ kind: "no value (tombstone)", value: null, fates: ["dlq"] }),
  () => text("empty array", "[]", []),
  (_, r) => text("JSON scalar", ['"hello"', "42", "null", "true"][Math.floor(r() * 4)], ["dlq"]),
  (e) =>
    text(
      "array of mixed good and bad elements",
      `[${e.json()},1,null,"x",{},[],${e.json({ ts_event: "soon" })},${e.json()}]`,
      ["stored", "dlq", "dlq", "dlq", "dlq", "dlq", "dlq", "stored"],
    ),
  (e) =>
    text(
      "NDJSON with bad lines",
      `${e.json()}\n{bad\n\n${e.json()}\n[1,2]\n   \n${e.json({ value: "NaN" })}\n${e.json()}`,
      ["stored", "dlq", "stored", "dlq", "dlq", "stored"],
    ),
  (_, r) => {
    const bytes = new Uint8Array(200 + Math.floor(r() * 4_000));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
    bytes[0] = 0xff; // never valid UTF-8
    return { kind: "binary", value: bytes, fates: ["dlq"] };
  },
  (e) => text("UTF-8 BOM before valid JSON", `\uFEFF${e.json()}`, ["either"]),
  (e) => text("numeric string value", e.json({ value: "42" }), ["dlq"]),
  (e) => {
    // Over normalize.max_message_bytes: rejected whole (one element), its original truncated.
    const lines: string[] = [];
    while (lines.join("\n").length <= CORPUS_MAX_MESSAGE_BYTES) lines.push(e.json());
    return text("oversized NDJSON", lines.join("\n"), ["dlq"]);
  },
];

/** `count` hostile messages, every kind in turn, with seeded variations. */
export function hostileCorpus(count: number, nowMs: number, seed = 22): HostileMessage[] {
  const random = prng(seed);
  const events = new Events(nowMs, random);
  return Array.from({ length: count }, (_, index) => KINDS[index % KINDS.length](events, random));
}

/** Number of kinds the corpus cycles through. */
export const HOSTILE_KINDS = KINDS.length;
