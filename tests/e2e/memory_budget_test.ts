/**
 * `memory_budget` through a real start: `/status` and the start-up log report the settings it
 * derived, and an isolate started without the derived heap flag (`deno task eventops` keeps its
 * `--max-old-space-size=256`) is reported as not limited, with what to do.
 */
import assert from "node:assert/strict";
import { startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";

Deno.test("memory_budget: /status and the start log report the derived settings; an unlimited heap is warned about", async () => {
  const name = uniqueName("memory-budget");
  const { file, port } = await writeTestConfig(name, {
    topology: "local",
    memory_budget: "256MB",
    features: { max_series: 5_000 },
  });
  const agent = await startAgent(file, port);
  try {
    const status = await (await fetch(`${agent.baseUrl}/status`)).json();
    assert.deepEqual(status.memory, {
      budget_bytes: 256e6,
      store_memory_limit: "32MB",
      store_threads: 1,
      store_allocator_flush_threshold: "8MB",
      query_max_memory_bytes: 32e6,
      fetch_max_bytes: 1_000_000,
      batch_max_bytes: 2_000_000,
      batch_max_messages: 2_000,
      features_max_series: 5_000,
      v8_old_space_derived_mib: 97,
      v8_heap_limit_mib: status.memory.v8_heap_limit_mib,
    });
    assert.ok(status.memory.v8_heap_limit_mib > 256, "the task's --max-old-space-size=256 stays");
    const logs = agent.logs();
    assert.match(logs, /"msg":"memory".*"budget_bytes":256000000.*"store_memory_limit":"32MB"/);
    assert.match(logs, /V8 heap not limited.*--max-old-space-size=97/);
  } finally {
    assert.equal(await agent.stop(), 0);
  }
});
