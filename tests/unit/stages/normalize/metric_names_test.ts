/** Normalize: metric names and compiled options (`metric_names.ts`, `options.ts`). */
import assert from "node:assert/strict";
import {
  canonicalMetricName,
  compileNormalizeOptions,
  normalizeMetricName,
} from "../../../../stages/normalize/mod.ts";
import { normalizeOptions, rawEvent } from "../helpers.ts";
import { one, OPTIONS } from "./fixtures.ts";

Deno.test("metric names: snake_case, accents, aliases, limits", async (t) => {
  const canonical: [string, string][] = [
    ["cpu.load", "cpu_load"],
    ["CPU_Load", "cpu_load"],
    ["cpuLoad", "cpu_load"],
    ["cpu-load", "cpu_load"],
    [" cpu load ", "cpu_load"],
    ["CPULoad", "cpu_load"],
    ["cpu__load", "cpu_load"],
    ["_cpu_load_", "cpu_load"],
    ["cpu/load%", "cpu_load"],
    ["diskIOPS", "disk_iops"],
    ["HTTPServerErrors", "http_server_errors"],
    ["http2xx", "http2xx"],
    ["température", "temperature"],
    ["net.rx-bytes.total", "net_rx_bytes_total"],
    ["...", ""],
    ["温度", ""],
  ];
  for (const [name, expected] of canonical) {
    await t.step(`canonical ${JSON.stringify(name)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(canonicalMetricName(name), expected);
    });
  }
  const resolved: [string, string][] = [
    ["cpu", "cpu_load"],
    ["CPU", "cpu_load"],
    ["Cpu.", "cpu_load"],
    ["load", "cpu_load"],
    ["mem", "mem_used"],
    ["Mem", "mem_used"],
    ["cpu_load", "cpu_load"],
    ["cpu_user", "cpu_user"],
  ];
  for (const [name, expected] of resolved) {
    await t.step(`default aliases ${JSON.stringify(name)} -> ${expected}`, () => {
      assert.deepEqual(normalizeMetricName(name, OPTIONS), { name: expected });
    });
  }
  await t.step("custom alias keys and targets are normalized the same way", () => {
    const options = normalizeOptions({ aliases: { "Disk.Used": "disk-used-bytes", "temp": "température" } });
    assert.deepEqual(normalizeMetricName("diskUsed", options), { name: "disk_used_bytes" });
    assert.deepEqual(normalizeMetricName("TEMP", options), { name: "temperature" });
    assert.deepEqual(
      normalizeMetricName("cpu", options),
      { name: "cpu" },
      "defaults replaced by the configured table",
    );
  });
  await t.step("aliases are applied once (not chained)", () => {
    const options = normalizeOptions({ aliases: { a: "b", b: "c" } });
    assert.deepEqual(normalizeMetricName("a", options), { name: "b" });
  });
  const rejects: [string, string][] = [
    ["...", 'metric: "..." is empty after normalization'],
    ["5xx_errors", 'metric: "5xx_errors" must start with a letter (normalized to "5xx_errors")'],
    [
      "a".repeat(129),
      `metric: "${"a".repeat(58)}… is 129 chars after normalization, over the 128-char limit`,
    ],
  ];
  for (const [name, why] of rejects) {
    await t.step(
      `reject ${name.slice(0, 20)}`,
      () => assert.deepEqual(normalizeMetricName(name, OPTIONS), { reason: why }),
    );
  }
  await t.step("128 chars is allowed", () => {
    assert.deepEqual(normalizeMetricName("a".repeat(128), OPTIONS), { name: "a".repeat(128) });
  });
  await t.step("a bad alias table fails at compile time, naming the key", () => {
    assert.throws(
      () => compileNormalizeOptions(normalizeOptions({ aliases: { x: "9lives" } })),
      /normalize\.aliases\.x: target "9lives"/,
    );
    assert.throws(
      () => compileNormalizeOptions(normalizeOptions({ aliases: { "--": "cpu" } })),
      /normalize\.aliases\.--: alias name is empty/,
    );
  });
});

Deno.test("options objects are compiled once and stay independent", () => {
  const a = normalizeOptions({ aliases: { foo: "bar" } });
  const b = normalizeOptions({ aliases: { foo: "baz" } });
  assert.equal(one(rawEvent({ metric: "foo" }), a).events[0].metric, "bar");
  assert.equal(one(rawEvent({ metric: "foo" }), b).events[0].metric, "baz");
  assert.equal(one(rawEvent({ metric: "foo" }), a).events[0].metric, "bar");
});
