/**
 * The README's collect examples, run as written (bash, curl) against the real agent, broker and
 * DuckDB; only the address is the test agent's and the token the one the README sets.
 */
import assert from "node:assert/strict";
import { eventually, freePort, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The bash blocks between the collect markers of the README. */
async function collectBlocks(): Promise<string[]> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const start = readme.indexOf("<!-- collect examples:");
  const end = readme.indexOf("<!-- end of collect examples -->");
  assert.ok(start > 0 && end > start, "the README has the collect examples markers");
  return [...readme.slice(start, end).matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
}

async function bash(script: string): Promise<string> {
  const output = await new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", script],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, `${script}\n${text}\n${new TextDecoder().decode(output.stderr)}`);
  return text;
}

Deno.test("README: the collect examples work as written", async () => {
  const blocks = await collectBlocks();
  assert.equal(blocks.length, 2);
  const token = /^TOKEN=(\S+)$/m.exec(blocks[0])?.[1];
  assert.ok(token, "the first block sets TOKEN");
  const name = uniqueName("collect-readme");
  const port = await freePort();
  const { file } = await writeTestConfig(name, { http: { host: "127.0.0.1", port, token } });
  const agent = await startAgent(file, port);
  const local = (script: string) => script.replaceAll("localhost:8088", `127.0.0.1:${port}`);
  try {
    const lines = (await bash(local(blocks[0]))).trim().split("\n");
    assert.equal(lines[0], "204");
    assert.equal(lines[1], "{}");
    const partial = JSON.parse(lines[2]);
    assert.equal(partial.error.status, 400);
    assert.match(partial.errors[0], /field "state" is a string/);
    const stored = await eventually(
      async () => {
        const body = JSON.parse(await bash(local(blocks[1])));
        return body.points?.length > 0 ? body : undefined;
      },
      30_000,
      "room_temperature stored",
    );
    assert.equal(stored.points[0].value, 21.5);
  } finally {
    await agent.stop();
  }
});
