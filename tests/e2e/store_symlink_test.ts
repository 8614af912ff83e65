/**
 * Issue 22 (7), against the real agent: a symbolic link in the data directory (DuckDB would follow it
 * out of the directory) stops the agent at start with a message that names the link and what to do;
 * nothing is written where it points.
 */
import assert from "node:assert/strict";
import { startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { symlink } from "../store/helpers.ts";
import { removeTestDir } from "./store_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("the agent refuses a data directory holding a symbolic link", async () => {
  const name = uniqueName("store-symlink");
  const { file, port, dataDir } = await writeTestConfig(name);
  const outside = await Deno.makeTempDir({ dir: "/tmp", prefix: "eventops-outside-" });
  try {
    await Deno.mkdir(`${ROOT}${dataDir}/parquet`, { recursive: true });
    await symlink(outside, `${ROOT}${dataDir}/parquet/tenant=acme`);
    const error = await startAgent(file, port).then(
      async (agent) => {
        await agent.stop();
        return undefined;
      },
      (e: Error) => e,
    );
    assert.ok(error, "the agent started");
    assert.match(error.message, /agent exited with code 1 before it was ready/);
    assert.match(
      error.message,
      /contains symbolic links \(parquet\/tenant=acme -> \/tmp\/eventops-outside-\w+\); the store refuses them/,
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(outside)), []);
  } finally {
    await Deno.remove(outside, { recursive: true });
    await removeTestDir(name);
  }
});
