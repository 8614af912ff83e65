import assert from "node:assert/strict";
import { ConfigSchema } from "../../../../config/schema.ts";
import { createLogger } from "../../../../lib/log.ts";
import { MemoryCounters } from "../../../../telemetry/counters.ts";
import { startStatelessWorker } from "../../../../pipeline/stateless/thread.ts";
import { eventually } from "../../../../testing/eventually.ts";

Deno.test("stateless thread: a worker that dies is logged and started again until the group stops", async () => {
  const counters = new MemoryCounters();
  const lines: string[] = [];
  const decoder = new TextDecoder();
  const log = createLogger("warn", (line) => lines.push(decoder.decode(line)));
  const states: string[] = [];
  const hooks = {
    counters,
    onBatch: () => {},
    onState: (state: string) => states.push(state),
    onAssignment: () => {},
    onFailure: () => {},
  };
  const group = await startStatelessWorker(ConfigSchema.parse({}), log, hooks, {
    enrichedPartitions: 3,
    limits: {},
  }, {
    module: new URL("./dying_worker.ts", import.meta.url),
    restartDelayMs: 20,
  });
  const started = () => counters.get("normalize", "in");
  await eventually(() => started() >= 3, 10_000, "three starts").catch(() => undefined);
  await group.stop();
  const starts = started();
  assert.ok(starts >= 3, `started ${starts} times`);
  const crashes = lines.filter((line) => line.includes("the stateless worker failed"));
  assert.ok(crashes.length >= 2, lines.join(""));
  assert.match(crashes[0], /simulated crash/);
  assert.ok(lines.filter((line) => line.includes("restarting the stateless worker")).length >= 2);
  // Readiness hears of each death: the group's stream is lost until the new worker consumes.
  assert.ok(states.filter((state) => state === "lost").length >= 2, states.join(","));
  // Stopped: no worker starts again.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(started(), starts);
});
