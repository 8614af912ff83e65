/** Configuration: defaults, the documented example file, precedence, and error messages. */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { buildConfig, ConfigError } from "../../../config/load.ts";
import { ConfigSchema } from "../../../config/schema.ts";
import { derivedPaths, deriveMemorySettings } from "../../../config/memory.ts";

const noEnv = () => undefined;

function leafPaths(value: unknown, prefix = ""): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, inner]) => leafPaths(inner, prefix ? `${prefix}.${key}` : key));
}

Deno.test("eventops.yaml is valid, equals the defaults and documents every key", async () => {
  const text = await Deno.readTextFile("eventops.yaml");
  const fromFile = buildConfig(parse(text), "eventops.yaml", noEnv);
  const defaults = ConfigSchema.parse({});
  assert.deepEqual(fromFile, defaults);
  const documented = new Set(leafPaths(parse(text)));
  // The keys memory_budget derives are documented commented out: set in the file, they would win over it.
  const derived = new Set(derivedPaths(deriveMemorySettings(256e6)).map(([path]) => path.join(".")));
  for (const path of leafPaths(defaults)) {
    if (path.startsWith("normalize.aliases.")) continue;
    if (path === "normalize.age_limit") continue; // derived: the retention bounds max_age, not a setting
    if (derived.has(path)) {
      assert.ok(!documented.has(path), `eventops.yaml sets ${path}: memory_budget could not derive it`);
      const leaf = path.split(".").at(-1);
      assert.match(text, new RegExp(`^\\s*# ${leaf}: \\S`, "m"), `eventops.yaml does not document ${path}`);
      continue;
    }
    assert.ok(documented.has(path), `eventops.yaml does not document ${path}`);
  }
});

Deno.test("memory_budget applies to the documented eventops.yaml (its derived keys are commented out)", async () => {
  const text = await Deno.readTextFile("eventops.yaml");
  const env = (name: string) => name === "EVENTOPS_MEMORY_BUDGET" ? "256MB" : undefined;
  const config = buildConfig(parse(text), "eventops.yaml", env);
  assert.equal(config.store.memory_limit, "32MB");
  assert.equal(config.kafka.batch_max_messages, 2_000);
  assert.equal(config.features.max_series, 25_000);
});

Deno.test("precedence: defaults < file < environment < flags", () => {
  const env = (name: string) =>
    ({
      EVENTOPS_BROKERS: "10.0.0.1:9092, 10.0.0.2:9092",
      EVENTOPS_HTTP_PORT: "9000",
      EVENTOPS_DATA_DIR: "/env",
    })[
      name
    ];
  const config = buildConfig({ data_dir: "/file", http: { port: 1 } }, "f.yaml", env, { port: 7000 });
  assert.deepEqual(config.kafka.brokers, ["10.0.0.1:9092", "10.0.0.2:9092"]);
  assert.equal(config.data_dir, "/env");
  assert.equal(config.http.port, 7000);
  assert.equal(config.kafka.batch_max_wait, 50, 'the default, parsed from "50ms"');
  assert.equal(config.store.parquet.retention, 30 * 86_400_000);
});

Deno.test("topology: auto by default, EVENTOPS_TOPOLOGY and --topology set it, anything else is an error", () => {
  assert.equal(buildConfig({}, "f.yaml", () => undefined).topology, "auto");
  const env = (name: string) => name === "EVENTOPS_TOPOLOGY" ? "local" : undefined;
  assert.equal(buildConfig({ topology: "partitioned" }, "f.yaml", env).topology, "local");
  assert.equal(buildConfig({}, "f.yaml", env, { topology: "auto" }).topology, "auto");
  assert.throws(() => buildConfig({ topology: "single" }, "f.yaml", () => undefined), /topology/);
});

Deno.test("EVENTOPS_RETENTION sets store.parquet.retention (0s keeps everything)", () => {
  const env = (name: string) => name === "EVENTOPS_RETENTION" ? "0s" : undefined;
  assert.equal(buildConfig({}, "f.yaml", env).store.parquet.retention, 0);
  const week = (name: string) => name === "EVENTOPS_RETENTION" ? "7d" : undefined;
  assert.equal(buildConfig({}, "f.yaml", week).store.parquet.retention, 7 * 86_400_000);
});

Deno.test("errors name the file, the key path and what was expected", () => {
  const cases: [unknown, RegExp][] = [
    [{ http: { port: "eighty" } }, /^f\.yaml: http\.port: .*expected number/m],
    [{ kafka: { brokers: ["nohost"] } }, /^f\.yaml: kafka\.brokers\.0: expected HOST:PORT$/m],
    [{ features: { windows: ["1 minute"] } }, /features\.windows\.0: expected a duration like 30s/],
    [
      { features: { windows: ["1m", "30d"] } },
      /^f\.yaml: features\.windows\.1: a feature window must be at most 7d$/m,
    ],
    [{ store: { memory_limit: "lots" } }, /store\.memory_limit: expected a size like 256MB/],
    [{ typo_key: 1 }, /\(top level\): Unrecognized key: "typo_key"/],
    [{ http: { tokn: "x" } }, /http: Unrecognized key: "tokn"/],
    [["a list"], /f\.yaml: \(top level\): expected a mapping of settings/],
    [
      { http: { sse_heartbeat: "30s", idle_timeout: "20s" } },
      /^f\.yaml: http\.idle_timeout: must be longer than sse_heartbeat/m,
    ],
    [
      {
        http: {
          max_connections: 10,
          max_connections_per_ip: 20,
          sse_max_clients: 5,
          sse_max_clients_per_ip: 5,
        },
      },
      /^f\.yaml: http\.max_connections_per_ip: must be at most max_connections \(10\)$/m,
    ],
    [{ http: { sse_max_clients: 300 } }, /^f\.yaml: http\.sse_max_clients: must be at most max_connections/m],
  ];
  for (const [input, expected] of cases) {
    assert.throws(() => buildConfig(input, "f.yaml", noEnv), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, expected);
      return true;
    });
  }
  assert.throws(
    () => buildConfig({}, "f.yaml", (name) => (name === "EVENTOPS_HTTP_PORT" ? "abc" : undefined)),
    /f\.yaml \(with EVENTOPS_HTTP_PORT\): http\.port/,
  );
});

Deno.test("errors in a file give the line and column of the key, as rule files do", () => {
  const text = [
    "http:",
    "  host: 127.0.0.1",
    "  port: eighty",
    "kafka:",
    "  brokers:",
    "    - localhost:9092",
    "    - nohost",
    "typo_key: 1",
  ].join("\n");
  const fail = (env: (name: string) => string | undefined = noEnv) => {
    try {
      buildConfig(parse(text), "eventops.yaml", env, {}, text);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message.split("\n");
    }
    throw new Error("expected a ConfigError");
  };
  const lines = fail();
  assert.ok(
    lines.includes("eventops.yaml:3:9: http.port: Invalid input: expected number, received string"),
    lines.join("\n"),
  );
  assert.ok(lines.includes("eventops.yaml:7:7: kafka.brokers.1: expected HOST:PORT"), lines.join("\n"));
  assert.ok(
    lines.some((line) => /^eventops\.yaml:8:1: \(top level\): Unrecognized key: "typo_key"$/.test(line)),
    lines.join("\n"),
  );
  // A key the environment set has no position in the file.
  const withEnv = fail((name) => (name === "EVENTOPS_HTTP_PORT" ? "abc" : undefined));
  assert.ok(
    withEnv.includes(
      "eventops.yaml (with EVENTOPS_HTTP_PORT): http.port: Invalid input: expected number, received string",
    ),
    withEnv.join("\n"),
  );
});
