import assert from "node:assert/strict";
import { LineBytes } from "../../../bench/line_bytes.ts";

const text = (views: Iterable<Uint8Array>) =>
  [...views].map((view) => new TextDecoder().decode(view)).join("");

Deno.test("LineBytes: any range of lines comes back as its text, across chunks", () => {
  const lines = new LineBytes();
  const all: string[] = [];
  // Lines of up to ~1 MB with multi-byte characters: the 16 MB chunks fill and several are used.
  for (let i = 0; i < 60; i++) {
    const line = `${i}:${"é€x".repeat((i * 7919) % 120_000)}`;
    lines.push(line);
    all.push(`${line}\n`);
  }
  assert.equal(lines.length, 60);
  for (const [from, to] of [[0, 60], [0, 1], [5, 6], [13, 47], [59, 60], [20, 20]]) {
    assert.equal(text(lines.ranges(from, to)), all.slice(from, to).join(""), `lines ${from}-${to}`);
  }
  assert.ok([...lines.ranges(0, 60)].length > 1, "the lines span several chunks");
});
