/**
 * The command line as a user starts it: `./eventops` at the repository root and `deno task eventops`
 * print what the command prints, and nothing from Deno they can do nothing about.
 */
import assert from "node:assert/strict";
import { VERSION } from "../../version.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function run(command: string, args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(command, { args, cwd: ROOT, env: { NO_COLOR: "1", ...env } })
    .output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

Deno.test("./eventops runs a command with the agent's permissions and prints no Deno warning", async () => {
  const result = await run(`${ROOT}eventops`, ["version"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `eventops ${VERSION} (deno ${Deno.version.deno})\n`);
  assert.equal(result.stderr, "");
});

Deno.test("./eventops works without deno on PATH and from another directory", async () => {
  const output = await new Deno.Command(`${ROOT}eventops`, {
    args: ["version"],
    cwd: "/tmp",
    env: { PATH: "/usr/bin:/bin", NO_COLOR: "1" },
    clearEnv: true,
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.match(new TextDecoder().decode(output.stdout), /^eventops /);
});

Deno.test("deno task eventops prints no 'experimental feature' warning (issue 18, item 2)", async () => {
  const result = await run(Deno.execPath(), ["task", "-q", "eventops", "urls"]);
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /experimental/i);
  assert.match(result.stdout, /^dashboard {3}http:\/\//m);
});
