/** `memory_budget`: the settings derived from one number, where they apply, and a bad value. */
import assert from "node:assert/strict";
import { buildConfig, ConfigError } from "../../../config/load.ts";
import { deriveMemorySettings, v8OldSpaceMiB, v8SemiSpaceMiB } from "../../../config/memory.ts";

const noEnv = () => undefined;

Deno.test("memory budget: the derivation for 256 MB, 512 MB and 1 GB (the table of config/memory.ts)", () => {
  assert.deepEqual(deriveMemorySettings(256e6), {
    v8OldSpaceMiB: 97,
    v8SemiSpaceMiB: 2,
    store: {
      memory_limit: "32MB",
      threads: 1,
      checkpoint_threshold: "4MB",
      allocator_flush_threshold: "8MB",
      query: { max_memory: "32MB" },
    },
    kafka: { fetch_max_bytes: 1_000_000, batch_max_bytes: 2_000_000, batch_max_messages: 2_000 },
    features: { max_series: 25_000 },
  });
  const half = deriveMemorySettings(512e6);
  assert.deepEqual([half.v8OldSpaceMiB, half.store.memory_limit, half.kafka.batch_max_messages], [
    195,
    "64MB",
    4_000,
  ]);
  const gig = deriveMemorySettings(1e9);
  assert.deepEqual(
    [gig.v8OldSpaceMiB, gig.store.threads, gig.kafka.fetch_max_bytes, gig.kafka.batch_max_bytes],
    [381, 2, 2 * 1024 * 1024, 4 * 1024 * 1024],
  );
  assert.equal(deriveMemorySettings(64e9).v8OldSpaceMiB, 1024, "the heap is capped at 1 GiB");
  assert.equal(deriveMemorySettings(64e9).features.max_series, 100_000);
});

Deno.test("memory budget: derived keys fill in what the file does not set; an explicit key wins", () => {
  const config = buildConfig(
    { memory_budget: "256MB", kafka: { batch_max_messages: 777 } },
    "f.yaml",
    noEnv,
  );
  assert.equal(config.memory_budget, 256e6);
  assert.equal(config.store.memory_limit, "32MB");
  assert.equal(config.store.threads, 1);
  assert.equal(config.store.checkpoint_threshold, "4MB");
  assert.equal(config.store.query.max_memory, 32e6);
  assert.equal(config.kafka.fetch_max_bytes, 1_000_000);
  assert.equal(config.kafka.batch_max_bytes, 2_000_000);
  assert.equal(config.kafka.batch_max_messages, 777, "set in the file");
  assert.equal(config.features.max_series, 25_000);
  const defaults = buildConfig({}, "f.yaml", noEnv);
  assert.equal(defaults.memory_budget, 0);
  assert.equal(defaults.store.memory_limit, "128MB");
  assert.equal(defaults.store.checkpoint_threshold, "16MB");
  assert.equal(deriveMemorySettings(512e6).store.checkpoint_threshold, "8MB");
  assert.equal(deriveMemorySettings(1e9).store.checkpoint_threshold, "15MB");
  assert.equal(config.store.allocator_flush_threshold, "8MB");
  assert.equal(defaults.store.allocator_flush_threshold, "128MiB", "DuckDB's own default");
  assert.equal(deriveMemorySettings(512e6).store.allocator_flush_threshold, "16MB");
  assert.equal(deriveMemorySettings(64e9).store.allocator_flush_threshold, "64MB");
  assert.equal(defaults.kafka.fetch_max_bytes, 2 * 1024 * 1024);
});

Deno.test("memory budget: EVENTOPS_MEMORY_BUDGET sets it", () => {
  const env = (name: string) => name === "EVENTOPS_MEMORY_BUDGET" ? "1GiB" : undefined;
  const config = buildConfig({}, "f.yaml", env);
  assert.equal(config.memory_budget, 1024 ** 3);
  assert.equal(config.store.threads, 2);
});

Deno.test("memory budget: a bad value stops the start with the file, line, path and what is expected", () => {
  for (const [value, expected] of [["lots", /"lots"/], ["64MB", /at least 128 MiB/]] as const) {
    const text = `data_dir: ./data\nmemory_budget: ${value}\n`;
    assert.throws(
      () => buildConfig({ data_dir: "./data", memory_budget: value }, "eventops.yaml", noEnv, {}, text),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(
          error.message,
          /^eventops\.yaml:2:\d+: memory_budget: expected a size of at least 128 MiB/,
        );
        assert.match(error.message, expected);
        return true;
      },
    );
  }
});

Deno.test("memory budget: the package stub's V8 heap for EVENTOPS_MEMORY_BUDGET is config/memory.ts's", async () => {
  const stub = await Deno.readTextFile(new URL("../../../scripts/package/stub.sh", import.meta.url));
  const start = stub.indexOf("v8_heap_mib() {");
  const end = stub.indexOf("\n}\n", start) + 3;
  assert.ok(start > 0 && end > start, "the stub defines v8_heap_mib");
  const cases = ["128MiB", "256MB", "300MB", "512MB", "1GB", "1.5GiB", "8GB", "256 mb"];
  const script = stub.slice(start, end) + cases.map((budget) => `v8_heap_mib '${budget}'`).join("\n");
  const output = await new Deno.Command("sh", { args: ["-c", script], stdout: "piped" }).output();
  assert.ok(output.success);
  const sizes = {
    "128MiB": 128 * 1024 ** 2,
    "256MB": 256e6,
    "300MB": 300e6,
    "512MB": 512e6,
    "1GB": 1e9,
    "1.5GiB": 1.5 * 1024 ** 3,
    "8GB": 8e9,
    "256 mb": 256e6,
  };
  assert.deepEqual(
    new TextDecoder().decode(output.stdout).trim().split("\n").map(Number),
    cases.map((budget) => v8OldSpaceMiB(sizes[budget as keyof typeof sizes])),
  );
  const semiStart = stub.indexOf("v8_semi_mib() {");
  const semiEnd = stub.indexOf("\n}\n", semiStart) + 3;
  const olds = [64, 97, 159, 160, 195, 319, 320, 381, 1024];
  const semis = await new Deno.Command("sh", {
    args: ["-c", stub.slice(semiStart, semiEnd) + olds.map((old) => `v8_semi_mib ${old}`).join("\n")],
    stdout: "piped",
  }).output();
  assert.deepEqual(
    new TextDecoder().decode(semis.stdout).trim().split("\n").map(Number),
    olds.map(v8SemiSpaceMiB),
    "the stub's semi-space is config/memory.ts's",
  );
  const bad = await new Deno.Command("sh", {
    args: ["-c", stub.slice(start, end) + "v8_heap_mib lots"],
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(bad.stdout), "", "nothing for a value that is not a size");
});
