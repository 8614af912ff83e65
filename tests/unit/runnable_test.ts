/** The extraction of runnable commands from Markdown and file headers (`testing/runnable.ts`). */
import assert from "node:assert/strict";
import { markdownCommands, promptCommands } from "../../testing/runnable.ts";

Deno.test("markdown: only marked blocks; lines, continuations and here-documents are commands", () => {
  const text = [
    "```bash",
    "not marked",
    "```",
    "<!-- runnable -->",
    "",
    "```bash",
    "# a comment",
    "echo one   # trailing comment",
    "kcat -P <<'EOF'",
    '{"a":1}',
    "# not a comment inside",
    "EOF",
    "curl -X POST \\",
    "  http://x",
    "```",
    "text between",
    "```bash",
    "also not marked",
    "```",
  ].join("\n");
  assert.deepEqual(markdownCommands(text, "R.md"), [
    { command: "echo one   # trailing comment", where: "R.md:8" },
    { command: "kcat -P <<'EOF'\n{\"a\":1}\n# not a comment inside\nEOF", where: "R.md:9" },
    { command: "curl -X POST \\\n  http://x", where: "R.md:13" },
  ]);
});

Deno.test("headers: prompt lines in comments", () => {
  const text = "# Validate with:\n#   $ ./eventops check x.yaml\n// $ ./eventops version\n * $ a b\n# $not\n";
  assert.deepEqual(promptCommands(text, "f").map((c) => c.command), [
    "./eventops check x.yaml",
    "./eventops version",
    "a b",
  ]);
});
